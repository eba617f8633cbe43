use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_state::EmptyState;

#[component]
pub fn DatasetsPage() -> impl IntoView {
    view! {
        <Title text="Datasets" />
        <header class="page-header"><h1>"Datasets"</h1></header>
        <EmptyState icon=icondata::LuDatabase title="No datasets yet">
            <p>
                "A dataset is a named collection of training files with labels, kept in this hub's bucket. "
                "Creating datasets and uploading files becomes available once accounts are enabled on this hub."
            </p>
        </EmptyState>
    }
}
