//! Line charts of what Prometheus recorded during a test, drawn as SVG by `plotters` for the
//! book: the time axis in seconds from the window's start, and the moments the test acted on
//! the system marked as vertical lines.

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

/// One line of a chart: its legend and its points, (Unix time, value).
#[derive(Debug, Clone)]
pub struct Line {
    pub name: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// A chart of `lines` from `start` to `end` (Unix times), `unit` on the vertical axis, each
/// of `marks` (Unix time, what happened) a labelled vertical line; returns the SVG.
pub fn svg(
    title: &str,
    unit: &str,
    (start, end): (f64, f64),
    lines: &[Line],
    marks: &[(f64, &str)],
) -> String {
    let highest = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max);
    // Room above the lines for the legend; the marks' labels go at the foot.
    let top = highest * 1.4;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 320)).into_drawing_area();
        root.fill(&WHITE).expect("a canvas");
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..end - start, 0.0..top)
            .expect("a chart");
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc(unit)
            .light_line_style(WHITE)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .expect("the axes");
        let width = end - start;
        for (at, what) in marks {
            let x = at - start;
            chart
                .draw_series(LineSeries::new([(x, 0.0), (x, top)], BLACK.mix(0.35)))
                .expect("a mark");
            // Right of its line, or left of it near the right edge, where it would be cut.
            let (side, nudge) = match x > width * 0.8 {
                true => (HPos::Right, -0.005),
                false => (HPos::Left, 0.005),
            };
            let style =
                TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(side, VPos::Bottom));
            chart
                .draw_series([Text::new(
                    (*what).to_owned(),
                    (x + width * nudge, top * 0.03),
                    style,
                )])
                .expect("a mark's label");
        }
        for (i, line) in lines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    line.points.iter().map(|(t, v)| (t - start, *v)),
                    color.stroke_width(2),
                ))
                .expect("a line")
                .label(line.name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .expect("the legend");
        root.present().expect("the picture");
    }
    svg
}

#[cfg(test)]
mod tests {
    /// The title, the axis, each line's legend and each mark's label are in the picture.
    #[test]
    fn draws_lines_legends_and_marks() {
        let lines = [super::Line {
            name: "taken, per second",
            points: vec![(100.0, 1.0), (102.0, 3.0), (104.0, 2.0)],
        }];
        let marks = [(103.0, "update")];
        let svg = super::svg("A title", "answers", (100.0, 110.0), &lines, &marks);
        for text in [
            "<svg",
            "A title",
            "answers",
            "taken, per second",
            "update",
            "<polyline",
        ] {
            assert!(svg.contains(text), "{text} in:\n{svg}");
        }
    }
}
