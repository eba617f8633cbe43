//! Building URLs in the UI.

/// Percent-encodes a query-string value: everything but unreserved
/// characters and `/` (which a query value may carry as is).
pub fn encode_query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_characters_are_escaped() {
        assert_eq!(super::encode_query_value("/settings?a=b&c"), "/settings%3Fa%3Db%26c");
        assert_eq!(super::encode_query_value("Katzen & Hunde"), "Katzen%20%26%20Hunde");
    }
}
