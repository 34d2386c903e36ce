//! The dead letters: entries the workers could not store, kept whole for a person to look at,
//! and put back on the queue once the cause is fixed (`dead-letters --replay`). Replaying is
//! idempotent: an answer keeps its id, and the insert skips an id it already has.

use redis::{aio::ConnectionManager, streams::StreamRangeReply};

use crate::queue::{DEAD_LETTERS, STREAM, text};

/// The fields of a survey answer on the stream; a dead letter without them cannot be replayed.
const ANSWER_FIELDS: [&str; 5] = ["id", "name", "coat", "donut", "received_ms"];

/// Lists the dead letters; with `replay`, puts every one that is a survey answer back on the
/// queue and removes it from the dead letters, in one transaction each.
pub async fn run(redis: &mut ConnectionManager, replay: bool) -> redis::RedisResult<String> {
    let letters: StreamRangeReply = redis::cmd("XRANGE")
        .arg(DEAD_LETTERS)
        .arg("-")
        .arg("+")
        .query_async(redis)
        .await?;
    if letters.ids.is_empty() {
        return Ok("No dead letters.\n".into());
    }
    let mut report = String::new();
    let (mut replayed, mut kept) = (0, 0);
    for letter in &letters.ids {
        let field = |name: &str| letter.map.get(name).and_then(text).unwrap_or_default();
        report.push_str(&format!(
            "{}  {} / {} / {}  (id {}): {}\n",
            letter.id,
            field("name"),
            field("coat"),
            field("donut"),
            field("id"),
            field("reason")
        ));
        if !replay {
            continue;
        }
        let answer: Option<Vec<(&str, String)>> = ANSWER_FIELDS
            .iter()
            .map(|name| letter.map.get(*name).and_then(text).map(|v| (*name, v)))
            .collect();
        match answer {
            Some(fields) => {
                redis::pipe()
                    .atomic()
                    .cmd("XADD")
                    .arg(STREAM)
                    .arg("*")
                    .arg(&fields)
                    .ignore()
                    .cmd("XDEL")
                    .arg(DEAD_LETTERS)
                    .arg(&letter.id)
                    .ignore()
                    .exec_async(redis)
                    .await?;
                replayed += 1;
            }
            None => kept += 1,
        }
    }
    if replay {
        report.push_str(&format!(
            "Replayed {replayed} onto {STREAM}; kept {kept} that are not survey answers.\n"
        ));
    } else {
        let count = letters.ids.len();
        let plural = if count == 1 { "" } else { "s" };
        report.push_str(&format!(
            "{count} dead letter{plural}. `dead-letters --replay` puts them back on the queue.\n"
        ));
    }
    Ok(report)
}
