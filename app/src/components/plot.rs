//! Plotly figures in the browser. plotly.js is one of Agora's own assets
//! (`/vendor/plotly.min.js`, from npm's `plotly.js-strict-dist-min`, the
//! bundle that needs no `eval` under the pages' Content-Security-Policy),
//! loaded the first time a page draws a figure.

use leptos::html::Div;
use leptos::prelude::*;
use serde_json::Value;

pub const PLOTLY_SRC: &str = "/vendor/plotly.min.js";

/// An interactive figure (hover, zoom, pan) that follows its container's size.
#[component]
pub fn Plot(#[prop(into)] figure: Signal<Option<Value>>, #[prop(optional)] node: Option<NodeRef<Div>>) -> impl IntoView {
    let node = node.unwrap_or_default();
    Effect::new(move |_| {
        let figure = figure.get();
        if let (Some(figure), Some(element)) = (figure, node.get()) {
            js::draw(element, figure);
        }
    });
    view! { <div class="plot" node_ref=node data-testid="plot"></div> }
}

/// Re-fits a drawn figure to its container (after going full-screen).
pub fn resize(node: NodeRef<Div>) {
    if let Some(element) = node.get_untracked() {
        js::resize(element);
    }
}

/// Saves a drawn figure as a PNG.
pub fn download_png(node: NodeRef<Div>, name: &str) {
    if let Some(element) = node.get_untracked() {
        js::download_png(element, name);
    }
}

/// Saves text as a file.
pub fn download_text(file_name: &str, mime: &str, text: &str) {
    js::download_text(file_name, mime, text);
}

/// A file name from a title: letters, digits, `-` and `_`.
pub fn file_stem(title: &str) -> String {
    let stem: String = title.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let stem = stem.trim_matches('-').to_owned();
    if stem.is_empty() {
        "figure".into()
    } else {
        stem
    }
}

#[cfg(feature = "hydrate")]
mod js {
    use js_sys::{Array, Function, Object, Reflect, JSON};
    use wasm_bindgen::{JsCast, JsValue};

    fn plotly() -> Option<Object> {
        let value = Reflect::get(&window(), &"Plotly".into()).ok()?;
        (!value.is_undefined()).then(|| value.unchecked_into())
    }

    fn window() -> web_sys::Window {
        web_sys::window().expect("a window")
    }

    fn call(target: &Object, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let function: Function = Reflect::get(target, &name.into())?.dyn_into()?;
        function.apply(target, &args.iter().collect::<Array>())
    }

    /// Adds the plotly.js script once.
    fn load() {
        let document = window().document().expect("a document");
        if document.get_element_by_id("plotly-js").is_some() {
            return;
        }
        if let Ok(script) = document.create_element("script") {
            script.set_id("plotly-js");
            let _ = script.set_attribute("src", super::PLOTLY_SRC);
            if let Some(head) = document.head() {
                let _ = head.append_child(&script);
            }
        }
    }

    pub fn draw(element: web_sys::HtmlDivElement, figure: serde_json::Value) {
        draw_when_loaded(element, figure, 200);
    }

    fn draw_when_loaded(element: web_sys::HtmlDivElement, figure: serde_json::Value, tries: u32) {
        let Some(plotly) = plotly() else {
            load();
            if tries > 0 {
                leptos::prelude::set_timeout(move || draw_when_loaded(element, figure, tries - 1), std::time::Duration::from_millis(50));
            } else {
                element.set_text_content(Some("The plotting library did not load; reload the page."));
            }
            return;
        };
        let Ok(figure) = JSON::parse(&figure.to_string()) else { return };
        let data = Reflect::get(&figure, &"data".into()).unwrap_or_else(|_| Array::new().into());
        let layout = Reflect::get(&figure, &"layout".into()).ok().filter(|l| l.is_object()).unwrap_or_else(|| Object::new().into());
        let _ = Reflect::set(&layout, &"autosize".into(), &JsValue::TRUE);
        let _ = Reflect::delete_property(layout.unchecked_ref::<Object>(), &"width".into());
        let config = Object::new();
        let _ = Reflect::set(&config, &"responsive".into(), &JsValue::TRUE);
        let _ = Reflect::set(&config, &"displaylogo".into(), &JsValue::FALSE);
        if let Err(err) = call(&plotly, "react", &[element.clone().into(), data, layout, config.into()]) {
            let message = err.as_string().or_else(|| Reflect::get(&err, &"message".into()).ok().and_then(|m| m.as_string()));
            element.set_text_content(Some(&format!("Plotly could not draw this figure: {}", message.unwrap_or_default())));
        }
    }

    pub fn resize(element: web_sys::HtmlDivElement) {
        if let Some(plotly) = plotly() {
            if let Ok(plots) = Reflect::get(&plotly, &"Plots".into()) {
                let _ = call(plots.unchecked_ref(), "resize", &[element.into()]);
            }
        }
    }

    pub fn download_png(element: web_sys::HtmlDivElement, name: &str) {
        if let Some(plotly) = plotly() {
            let options = Object::new();
            let _ = Reflect::set(&options, &"format".into(), &"png".into());
            let _ = Reflect::set(&options, &"filename".into(), &name.into());
            let _ = call(&plotly, "downloadImage", &[element.into(), options.into()]);
        }
    }

    pub fn download_text(file_name: &str, mime: &str, text: &str) {
        let parts = Array::of1(&JsValue::from_str(text));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
        let document = window().document().expect("a document");
        if let Ok(anchor) = document.create_element("a") {
            let anchor: web_sys::HtmlAnchorElement = anchor.unchecked_into();
            anchor.set_href(&url);
            anchor.set_download(file_name);
            anchor.click();
        }
        leptos::prelude::set_timeout(move || drop(web_sys::Url::revoke_object_url(&url)), std::time::Duration::from_secs(30));
    }
}

/// Pages render on the server too; drawing happens in the browser only.
#[cfg(not(feature = "hydrate"))]
mod js {
    pub fn draw(_: leptos::web_sys::HtmlDivElement, _: serde_json::Value) {}
    pub fn resize(_: leptos::web_sys::HtmlDivElement) {}
    pub fn download_png(_: leptos::web_sys::HtmlDivElement, _: &str) {}
    pub fn download_text(_: &str, _: &str, _: &str) {}
}
