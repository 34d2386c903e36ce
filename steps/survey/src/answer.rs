//! What a visitor sends, and the rules that turn it into an [`Answer`] worth storing.

use std::fmt;

/// Longest cat name we keep, in characters (not bytes: "Pikachū" is 7).
pub const NAME_MAX: usize = 64;
/// Longest coat description, in characters.
pub const COAT_MAX: usize = 32;
/// Longest donut name, in characters.
pub const DONUT_MAX: usize = 32;

/// A validated survey answer: every field trimmed, non-empty, within its limit and free of
/// control characters. Only [`Submission::validate`] makes one, so a store never sees bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    name: String,
    coat: String,
    donut: String,
}

impl Answer {
    /// The cat's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The cat's coat (tabby, tortie, ...).
    pub fn coat(&self) -> &str {
        &self.coat
    }
    /// The cat's favourite donut.
    pub fn donut(&self) -> &str {
        &self.donut
    }

    /// Rebuilds an answer read back from a store, which only ever holds validated answers.
    pub fn from_stored(name: String, coat: String, donut: String) -> Self {
        Self { name, coat, donut }
    }
}

/// The form as the visitor filled it in, before any checks. Kept as typed so that an invalid
/// form can be shown again with the visitor's own text in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    pub name: String,
    pub coat: String,
    pub donut: String,
    /// The form's hidden key, as sent (see [`crate::key`]); empty when the form had none.
    pub key: String,
}

/// What is wrong with each field of a [`Submission`]; `None` means the field is fine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    pub name: Option<FieldError>,
    pub coat: Option<FieldError>,
    pub donut: Option<FieldError>,
}

/// Why one field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    Missing,
    TooLong { max: usize, got: usize },
    ControlCharacter,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("Please fill this in."),
            Self::TooLong { max, got } => {
                write!(
                    f,
                    "Please keep it to {max} characters (this one has {got})."
                )
            }
            Self::ControlCharacter => f.write_str(
                "Please use plain text: no tabs, line breaks or other control characters.",
            ),
        }
    }
}

impl Submission {
    /// Checks every field and reports all problems at once, so the visitor fixes them in one go.
    pub fn validate(&self) -> Result<Answer, FieldErrors> {
        let name = check(&self.name, NAME_MAX);
        let coat = check(&self.coat, COAT_MAX);
        let donut = check(&self.donut, DONUT_MAX);
        match (name, coat, donut) {
            (Ok(name), Ok(coat), Ok(donut)) => Ok(Answer { name, coat, donut }),
            (name, coat, donut) => Err(FieldErrors {
                name: name.err(),
                coat: coat.err(),
                donut: donut.err(),
            }),
        }
    }
}

fn check(value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::Missing);
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::ControlCharacter);
    }
    let got = value.chars().count();
    if got > max {
        return Err(FieldError::TooLong { max, got });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(name: &str, coat: &str, donut: &str) -> Submission {
        Submission {
            name: name.into(),
            coat: coat.into(),
            donut: donut.into(),
            key: String::new(),
        }
    }

    /// Surrounding spaces are trimmed and the rest is kept as typed.
    #[test]
    fn valid_answer_is_trimmed() {
        let answer = submission("  Pika ", "tortie", " strawberry")
            .validate()
            .expect("valid");
        assert_eq!(
            (answer.name(), answer.coat(), answer.donut()),
            ("Pika", "tortie", "strawberry")
        );
    }

    /// Limits count characters, not bytes, so non-ASCII names get the same room.
    #[test]
    fn limits_count_characters() {
        let name = "ü".repeat(NAME_MAX);
        assert!(submission(&name, "tabby", "jelly").validate().is_ok());
        let errors = submission(&format!("{name}ü"), "tabby", "jelly")
            .validate()
            .expect_err("too long");
        assert_eq!(
            errors.name,
            Some(FieldError::TooLong {
                max: NAME_MAX,
                got: NAME_MAX + 1
            })
        );
    }

    /// Every bad field is reported, not just the first.
    #[test]
    fn all_errors_reported_together() {
        let errors = submission(" ", "a\tb", &"x".repeat(DONUT_MAX + 1))
            .validate()
            .expect_err("invalid");
        assert_eq!(errors.name, Some(FieldError::Missing));
        assert_eq!(errors.coat, Some(FieldError::ControlCharacter));
        assert!(matches!(errors.donut, Some(FieldError::TooLong { .. })));
    }
}
