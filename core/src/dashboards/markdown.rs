//! Markdown panels: rendered on the server, then sanitised (no scripts,
//! event handlers, or `javascript:` links survive), so any reader's browser
//! can show the HTML as it is.

use std::sync::{Arc, Mutex};

use pulldown_cmark::{html, Options, Parser};
use sha2::{Digest, Sha256};

use crate::generations::Generations;

/// Rendered HTML kept per node, by the SHA-256 of its markdown: a saved
/// panel renders once, however many readers (a public dashboard's
/// included) open it. Misses render off the executor. Bounded by bytes, in
/// two generations (see [`Generations`]).
pub struct MarkdownCache {
    state: Mutex<Generations<[u8; 32], Arc<str>>>,
}

impl MarkdownCache {
    /// Holds at most about `max_bytes` of HTML.
    pub fn new(max_bytes: usize) -> Self {
        MarkdownCache { state: Mutex::new(Generations::new(max_bytes / 2)) }
    }

    pub async fn render(&self, text: &str) -> Arc<str> {
        let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if let Some(html) = self.get(&key) {
            return html;
        }
        let owned = text.to_owned();
        let html: Arc<str> = match tokio::task::spawn_blocking(move || render(&owned)).await {
            Ok(html) => html.into(),
            Err(_) => render(text).into(),
        };
        self.put(key, Arc::clone(&html));
        html
    }

    /// A hit is written again, so what readers keep opening stays.
    fn get(&self, key: &[u8; 32]) -> Option<Arc<str>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let html = Arc::clone(state.get(key)?);
        state.insert(*key, Arc::clone(&html), html.len());
        Some(html)
    }

    fn put(&self, key: [u8; 32], html: Arc<str>) {
        let cost = html.len();
        self.state.lock().unwrap_or_else(|e| e.into_inner()).insert(key, html, cost);
    }

    /// Bytes of HTML held (for tests).
    pub fn held_bytes(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).cost()
    }
}

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
    use super::{render, MarkdownCache};

    #[tokio::test]
    async fn the_cache_renders_once_and_stays_within_its_bytes() {
        let cache = MarkdownCache::new(64 * 1024);
        let first = cache.render("# Notes\n\nfell").await;
        let again = cache.render("# Notes\n\nfell").await;
        assert!(std::sync::Arc::ptr_eq(&first, &again), "the second reader gets the rendered HTML");
        assert_eq!(&*first, render("# Notes\n\nfell"));
        for i in 0..2_000 {
            cache.render(&format!("{i} {}", "word ".repeat(40))).await;
        }
        assert!(cache.held_bytes() <= 64 * 1024 + 512, "{}", cache.held_bytes());
    }

    #[test]
    fn the_usual_sanitiser_bypasses_run_nothing() {
        for hostile in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](&#106;avascript:alert(1))",
            "<a href=\"data:text/html,<script>alert(1)</script>\">d</a>",
            "<a href=\"vbscript:msgbox(1)\">v</a>",
            "<img src=x onerror=alert(1)>",
            "<svg><script>alert(1)</script></svg>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<div style=\"background:url(javascript:alert(1))\">c</div>",
            "<iframe src=\"javascript:alert(1)\"></iframe>",
            "<form action=\"javascript:alert(1)\"><button>b</button></form>",
            "![x](x\" onerror=\"alert(1))",
            "<details open ontoggle=alert(1)>",
            "<a href=\"#\" onclick=\"alert(1)\">c</a>",
        ] {
            let html = render(hostile).to_lowercase();
            // Text is escaped (no raw `<` in it), so every `<…>` is a tag.
            let tags: Vec<&str> = html.split('<').skip(1).map(|t| t.split('>').next().unwrap_or_default()).collect();
            for bad in
                ["script", "javascript:", "vbscript:", "data:", "onerror", "ontoggle", "onclick", "iframe", "form", "math", "svg", "style"]
            {
                assert!(!tags.iter().any(|t| t.contains(bad)), "{hostile:?} became {html:?}");
            }
        }
    }

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
