use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::empty_state::EmptyState;

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    view! {
        <Title text="Search" />
        <header class="page-header">
            <h1>"Search"</h1>
            <Show when=move || !q().is_empty()>
                <p class="muted" data-testid="search-query">"Results for " <q>{q}</q></p>
            </Show>
        </header>
        <EmptyState icon=icondata::LuSearch title="Nothing to search yet">
            <p>
                "Search covers datasets, files and their labels, and dashboards — whatever you may see. "
                "Try " <code>"label:split=train"</code> " or " <code>"type:image"</code>
                " once this hub has datasets."
            </p>
        </EmptyState>
    }
}
