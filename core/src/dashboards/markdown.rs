//! Markdown panels: rendered on the server, then sanitised (no scripts,
//! event handlers, or `javascript:` links survive), so any reader's browser
//! can show the HTML as it is.

use pulldown_cmark::{html, Options, Parser};

pub fn render(text: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS | Options::ENABLE_FOOTNOTES;
    let mut raw = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(text, options));
    ammonia::Builder::default()
        .add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_becomes_html_without_anything_that_runs() {
        let html = render("# Results\n\n*Loss* fell.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(html.contains("<h1>Results</h1>") && html.contains("<em>Loss</em>") && html.contains("<table>"), "{html}");
        let hostile =
            render("<script>alert(1)</script><img src=x onerror=alert(1)> <a href=\"https://e.org\">ok</a>\n\n[x](javascript:alert(1))");
        assert!(!hostile.contains("<script") && !hostile.contains("onerror") && !hostile.contains("href=\"javascript"), "{hostile}");
        assert!(hostile.contains("https://e.org") && hostile.contains("noopener"), "{hostile}");
    }
}
