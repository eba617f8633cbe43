//! Previews of a file's first bytes: what to fetch and how to show it.

/// Bytes of a text, CSV or JSON file a preview reads (one ranged GET).
pub const PREVIEW_BYTES: u64 = 64 * 1024;
/// Images up to this size are shown whole; larger ones only as thumbnails.
pub const PREVIEW_IMAGE_MAX_BYTES: u64 = 20 * 1024 * 1024;
/// Rows of a CSV preview.
pub const PREVIEW_ROWS: usize = 50;

/// The rows of a CSV (or TSV) text: quoted fields may hold the separator,
/// line breaks and doubled quotes. With `truncated`, the last line (likely
/// cut off by the byte range) is dropped.
pub fn csv_rows(text: &str, separator: char, truncated: bool, max_rows: usize) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            c if c == separator && !quoted => row.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                if rows.len() > max_rows {
                    break;
                }
            }
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            c => field.push(c),
        }
    }
    if !truncated && (!field.is_empty() || !row.is_empty()) {
        row.push(field);
        rows.push(row);
    }
    rows.truncate(max_rows);
    rows
}

/// JSON indented for reading, or `None` when the text is not whole JSON
/// (a truncated preview shows the raw text instead).
pub fn pretty_json(text: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| serde_json::to_string_pretty(&v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted_and_the_cut_line_is_dropped() {
        let text = "name,notes\n\"tom, the cat\",\"says \"\"hi\"\"\"\r\nrex,\"two\nlines\"\nfel";
        assert_eq!(
            csv_rows(text, ',', true, 10),
            vec![vec!["name", "notes"], vec!["tom, the cat", "says \"hi\""], vec!["rex", "two\nlines"]]
        );
        assert_eq!(csv_rows("a\tb\n1\t2", '\t', false, 10), vec![vec!["a", "b"], vec!["1", "2"]]);
        assert_eq!(csv_rows("a\nb\nc\n", ',', false, 2).len(), 2);
    }

    #[test]
    fn only_whole_json_is_reformatted() {
        assert_eq!(pretty_json("{\"a\":[1,2]}").unwrap(), "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
        assert_eq!(pretty_json("{\"a\":[1,"), None);
    }
}
