//! The form's key: made when the form is rendered, sent back in a hidden field, and stored
//! with the answer under a unique index. Sending the same form twice (a double click, a
//! resend after an error or a lost reply) then stores one answer, not two.

use uuid::Uuid;

/// A form key. Time-ordered (UUIDv7), so keys made later sort later.
pub type FormKey = Uuid;

/// A new key, for a form about to be rendered.
pub fn fresh() -> FormKey {
    Uuid::now_v7()
}

/// Why a sent key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the form's key is not a UUID")]
pub struct BadKey;

/// The key a form was sent with. A form with no key (sent by `curl`, say) gets a fresh one:
/// it is stored as usual, only a resend of it is not recognised.
pub fn from_form(raw: &str) -> Result<FormKey, BadKey> {
    match raw.trim() {
        "" => Ok(fresh()),
        text => Uuid::try_parse(text).map_err(|_| BadKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key survives the round trip through the page; a missing one is made; junk is refused.
    #[test]
    fn keys_from_forms() {
        let key = fresh();
        assert_eq!(from_form(&key.to_string()), Ok(key));
        assert_ne!(from_form(""), from_form(""));
        assert_eq!(from_form("not-a-key"), Err(BadKey));
    }
}
