//! What a person sees when a page fails: a friendly message, the reason when
//! it is theirs to fix, and the right HTTP status during server rendering.

use agora_model::{ApiError, ErrorKind};
use leptos::prelude::*;
use leptos_icons::Icon;

use super::status::set_http_status;

/// The kind of a thrown error: an [`ApiError`] keeps its kind, anything else
/// is internal.
fn classify(error: &leptos::error::Error) -> ApiError {
    match error.downcast_ref::<ApiError>() {
        Some(api) => api.clone(),
        None => ApiError::internal(),
    }
}

#[component]
pub fn ErrorView(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let shown = move || errors.get().into_iter().map(|(_, e)| classify(&e)).collect::<Vec<_>>();
    // The most serious error decides the status of the whole page.
    let status = shown().iter().map(ApiError::http_status).max().unwrap_or(500);
    set_http_status(status);

    view! {
        <section class="error-view" role="alert" data-testid="error-view">
            <div class="error-view-icon" aria-hidden="true"><Icon icon=icondata::LuCircleAlert /></div>
            <h1>{heading(status)}</h1>
            <ul class="error-list">
                {move || shown().into_iter().map(|e| view! { <li>{e.to_string()}</li> }).collect_view()}
            </ul>
            <p><a href="/" class="button">"Back to the start page"</a></p>
        </section>
    }
}

fn heading(status: u16) -> &'static str {
    match ErrorKind::from_http_status(status) {
        ErrorKind::Invalid => "That request wasn't quite right",
        ErrorKind::Unauthenticated => "Please log in first",
        ErrorKind::Forbidden => "You don't have access to this",
        ErrorKind::NotFound => "We couldn't find that",
        ErrorKind::Conflict => "Something changed in the meantime",
        ErrorKind::TooLarge => "That is larger than this hub allows",
        ErrorKind::RateLimited => "Too many attempts — please wait a moment",
        ErrorKind::Unavailable => "A part of Agora is unavailable right now",
        ErrorKind::Internal => "Something went wrong on our side",
    }
}
