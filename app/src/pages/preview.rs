//! A file's preview: images shown, text, CSV (as a table) and JSON read from
//! the file's first 64 KiB with one ranged GET straight from storage — a
//! large file is never loaded whole.

use agora_model::files::{human_bytes, FileEntry};
use agora_model::preview::{csv_rows, pretty_json, PREVIEW_BYTES, PREVIEW_IMAGE_MAX_BYTES, PREVIEW_ROWS};
use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // filled in the browser
enum Shown {
    Loading,
    Image(String),
    Text { text: String, truncated: bool },
    Table { rows: Vec<Vec<String>>, truncated: bool },
    Nothing(String),
}

/// What a file's first bytes show as.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn shown(file: &FileEntry, text: String) -> Shown {
    let truncated = file.size > PREVIEW_BYTES;
    let lower = file.name.to_lowercase();
    if file.file_type == "table" && (lower.ends_with(".csv") || lower.ends_with(".tsv")) {
        let separator = if lower.ends_with(".tsv") { '\t' } else { ',' };
        return Shown::Table { rows: csv_rows(&text, separator, truncated, PREVIEW_ROWS), truncated };
    }
    if file.file_type == "json" && !truncated {
        if let Some(pretty) = pretty_json(&text) {
            return Shown::Text { text: pretty, truncated };
        }
    }
    Shown::Text { text, truncated }
}

#[component]
pub fn Preview(id: String, file: FileEntry, close: Callback<()>) -> impl IntoView {
    let state = RwSignal::new(Shown::Loading);
    let previewable = matches!(file.file_type.as_str(), "image" | "text" | "json")
        || file.name.to_lowercase().ends_with(".csv")
        || file.name.to_lowercase().ends_with(".tsv");
    if !previewable {
        state.set(Shown::Nothing(format!("{} files have no preview; download it to look inside.", file.file_type)));
    } else if file.file_type == "image" && file.size > PREVIEW_IMAGE_MAX_BYTES {
        state.set(Shown::Nothing(format!("This image is {}; download it to see it whole.", human_bytes(file.size))));
    } else {
        #[cfg(feature = "hydrate")]
        {
            let file = file.clone();
            leptos::task::spawn_local(async move {
                let link = match crate::api::datasets::file_preview_link(id, file.path.clone()).await {
                    Ok(link) => link,
                    Err(err) => return state.set(Shown::Nothing(err.to_string())),
                };
                if file.file_type == "image" {
                    return state.set(Shown::Image(link.url));
                }
                match first_bytes(&link.url).await {
                    Ok(text) => state.set(shown(&file, text)),
                    Err(why) => state.set(Shown::Nothing(why)),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }
    let name = file.name.clone();
    let label = format!("Preview of {name}");
    view! {
        <section class="preview card" aria-label=label data-testid="preview"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { close.run(()) }>
            <header class="preview-header">
                <h3>{file.path.clone()}</h3>
                <span class="muted">{human_bytes(file.size)}</span>
                <button type="button" class="button button-small" data-testid="preview-close" on:click=move |_| close.run(())
                    autofocus=true>"Close"</button>
            </header>
            {move || match state.get() {
                Shown::Loading => view! { <p class="muted">"Loading the preview…"</p> }.into_any(),
                Shown::Image(url) => view! { <img class="preview-image" src=url alt=name.clone() data-testid="preview-image" /> }.into_any(),
                Shown::Text { text, truncated } => view! {
                    <pre class="preview-text" data-testid="preview-text">{text}</pre>
                    {truncated.then(|| view! { <p class="muted">"The first 64 KiB; download the file for the rest."</p> })}
                }.into_any(),
                Shown::Table { rows, truncated } => {
                    let mut rows = rows.into_iter();
                    let head = rows.next().unwrap_or_default();
                    view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="preview-table">
                                <thead><tr>{head.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                                <tbody>{rows.map(|r| view! { <tr>{r.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr> }).collect_view()}</tbody>
                            </table>
                        </div>
                        <p class="muted">{if truncated { format!("The first rows (at most {PREVIEW_ROWS}) of the first 64 KiB.") } else { format!("At most {PREVIEW_ROWS} rows.") }}</p>
                    }.into_any()
                }
                Shown::Nothing(why) => view! { <p class="muted" data-testid="preview-none">{why}</p> }.into_any(),
            }}
        </section>
    }
}

/// The first [`PREVIEW_BYTES`] of a presigned URL, as text.
#[cfg(feature = "hydrate")]
async fn first_bytes(url: &str) -> Result<String, String> {
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| "the browser refused the request".to_string())?;
    xhr.open("GET", url).map_err(|_| "the preview URL is not valid".to_string())?;
    let _ = xhr.set_request_header("Range", &format!("bytes=0-{}", PREVIEW_BYTES - 1));
    let (tx, rx) = futures::channel::oneshot::channel::<Result<String, String>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let on_load = {
        let (xhr, tx) = (xhr.clone(), tx.clone());
        Closure::<dyn FnMut()>::new(move || {
            let status = xhr.status().unwrap_or(0);
            let result = if (200..300).contains(&status) {
                Ok(xhr.response_text().ok().flatten().unwrap_or_default())
            } else {
                Err(format!("storage answered {status}"))
            };
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(result);
            }
        })
    };
    let on_error = Closure::<dyn FnMut()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(Err("could not reach storage".to_string()));
        }
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.send().map_err(|_| "the browser could not send the request".to_string())?;
    let result = rx.await.unwrap_or_else(|_| Err("the preview was interrupted".to_string()));
    drop((on_load, on_error));
    result
}
