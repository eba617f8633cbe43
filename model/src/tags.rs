//! Object tags (Agora's file labels) and AWS's rules for them.
//!
//! The same rules run in the browser (inline form errors), in the server
//! (before any write) and in the embedded S3 endpoint (`InvalidTag`), so a tag
//! set that one accepts, all accept — and AWS S3 too.
//!
//! Rules (AWS S3 object tagging):
//! - at most 10 tags per object, keys unique;
//! - key: 1 to 128 UTF-16 code units, value: 0 to 256;
//! - characters: Unicode letters and digits, spaces, and `+ - = . _ : / @`;
//! - keys must not start with `aws:` (any case).

use std::fmt;

pub const MAX_TAGS: usize = 10;
pub const MAX_KEY_UTF16: usize = 128;
pub const MAX_VALUE_UTF16: usize = 256;
const ALLOWED_PUNCTUATION: &str = "+-=._:/@";

/// One `key=value` tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

/// Which rule a tag set broke; the message says which tag and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRuleError {
    pub message: String,
}

impl fmt::Display for TagRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TagRuleError {}

fn broken(message: String) -> TagRuleError {
    TagRuleError { message }
}

fn allowed_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || ALLOWED_PUNCTUATION.contains(c)
}

/// Checks one key against the key rules.
pub fn validate_key(key: &str) -> Result<(), TagRuleError> {
    let units = key.encode_utf16().count();
    if units == 0 {
        return Err(broken("a label key must not be empty".into()));
    }
    if units > MAX_KEY_UTF16 {
        return Err(broken(format!("label key {key:?} is {units} characters long; the limit is {MAX_KEY_UTF16}")));
    }
    if key.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:")) {
        return Err(broken(format!("label key {key:?} starts with \"aws:\", which is reserved")));
    }
    if let Some(c) = key.chars().find(|c| !allowed_char(*c)) {
        return Err(broken(format!("label key {key:?} contains {c:?}; only letters, digits, spaces and + - = . _ : / @ are allowed")));
    }
    Ok(())
}

/// Checks one value against the value rules.
pub fn validate_value(key: &str, value: &str) -> Result<(), TagRuleError> {
    let units = value.encode_utf16().count();
    if units > MAX_VALUE_UTF16 {
        return Err(broken(format!("the value of label {key:?} is {units} characters long; the limit is {MAX_VALUE_UTF16}")));
    }
    if let Some(c) = value.chars().find(|c| !allowed_char(*c)) {
        return Err(broken(format!(
            "the value of label {key:?} contains {c:?}; only letters, digits, spaces and + - = . _ : / @ are allowed"
        )));
    }
    Ok(())
}

/// Checks a whole tag set: every tag, uniqueness of keys, and the count.
pub fn validate_tag_set(tags: &[Tag]) -> Result<(), TagRuleError> {
    if tags.len() > MAX_TAGS {
        return Err(broken(format!("a file can have at most {MAX_TAGS} labels; this one would have {}", tags.len())));
    }
    for (i, tag) in tags.iter().enumerate() {
        validate_key(&tag.key)?;
        validate_value(&tag.key, &tag.value)?;
        if tags[..i].iter().any(|earlier| earlier.key == tag.key) {
            return Err(broken(format!("label key {:?} appears more than once", tag.key)));
        }
    }
    Ok(())
}

/// Parses an `x-amz-tagging` header value (`k1=v1&k2=v2`, URL-encoded).
pub fn parse_tagging_header(header: &str) -> Result<Vec<Tag>, TagRuleError> {
    if header.is_empty() {
        return Ok(Vec::new());
    }
    header
        .split('&')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok(Tag::new(decode_component(key)?, decode_component(value)?))
        })
        .collect()
}

/// Formats tags as an `x-amz-tagging` header value.
pub fn format_tagging_header(tags: &[Tag]) -> String {
    let mut out = String::new();
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(&tag.key, &mut out);
        out.push('=');
        encode_component(&tag.value, &mut out);
    }
    out
}

/// RFC 3986 unreserved characters pass; everything else is %-encoded.
fn encode_component(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Decodes `%XX` escapes and `+` (form encoding of a space).
fn decode_component(s: &str) -> Result<String, TagRuleError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                match byte {
                    Some(b) => out.push(b),
                    None => return Err(broken(format!("the tagging header has a broken %-escape in {s:?}"))),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| broken(format!("the tagging header decodes to invalid UTF-8 in {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
        pairs.iter().map(|(k, v)| Tag::new(*k, *v)).collect()
    }

    #[test]
    fn accepts_what_aws_accepts() {
        validate_tag_set(&tags(&[("split", "train"), ("source", "cam 1/2@site:x+y=z"), ("empty", "")])).unwrap();
        validate_tag_set(&tags(&[("Größe", "groß"), ("ラベル", "猫")])).unwrap();
        validate_tag_set(&[]).unwrap();
        let ten: Vec<_> = (0..10).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        validate_tag_set(&ten).unwrap();
    }

    #[test]
    fn limits_are_counted_in_utf16_units() {
        validate_key(&"a".repeat(128)).unwrap();
        assert!(validate_key(&"a".repeat(129)).is_err());
        // An emoji is not allowed anyway, but a CJK letter counts as one unit.
        validate_value("k", &"猫".repeat(256)).unwrap();
        assert!(validate_value("k", &"猫".repeat(257)).is_err());
    }

    #[test]
    fn each_rule_has_a_message_naming_it() {
        let cases: Vec<(Vec<Tag>, &str)> = vec![
            ((0..11).map(|i| Tag::new(format!("k{i}"), "v")).collect(), "at most 10 labels"),
            (tags(&[("", "v")]), "must not be empty"),
            (tags(&[("AWS:x", "v")]), "reserved"),
            (tags(&[("a", "1"), ("a", "2")]), "more than once"),
            (tags(&[("bad*key", "v")]), "'*'"),
            (tags(&[("k", "semi;colon")]), "';'"),
            (tags(&[("k", "new\nline")]), "'\\n'"),
            (tags(&[(&*"x".repeat(200), "v")]), "limit is 128"),
        ];
        for (set, needle) in cases {
            let err = validate_tag_set(&set).unwrap_err();
            assert!(err.message.contains(needle), "{:?} -> {}", set, err.message);
        }
    }

    #[test]
    fn tagging_header_round_trips() {
        let set = tags(&[("split", "train"), ("note", "a b/c=d&e"), ("ünï", "çødé")]);
        let header = format_tagging_header(&set);
        assert!(!header.contains(' ') && header.matches('&').count() == 2, "{header}");
        assert_eq!(parse_tagging_header(&header).unwrap(), set);
        assert_eq!(parse_tagging_header("a=1&b").unwrap(), tags(&[("a", "1"), ("b", "")]));
        assert_eq!(parse_tagging_header("a=x+y").unwrap(), tags(&[("a", "x y")]));
        assert!(parse_tagging_header("a=%zz").is_err());
        assert!(parse_tagging_header("a=%FF").is_err());
        assert_eq!(parse_tagging_header("").unwrap(), vec![]);
    }
}
