use leptos::prelude::*;

/// A spinner with a label, for `Suspense`/`Transition` fallbacks.
#[component]
pub fn Loading(#[prop(default = "Loading…")] label: &'static str) -> impl IntoView {
    view! {
        <div class="loading" role="status" aria-live="polite" data-testid="loading">
            <span class="spinner" aria-hidden="true"></span>
            <span>{label}</span>
        </div>
    }
}
