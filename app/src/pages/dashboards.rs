use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_state::EmptyState;

#[component]
pub fn DashboardsPage() -> impl IntoView {
    view! {
        <Title text="Dashboards" />
        <header class="page-header"><h1>"Dashboards"</h1></header>
        <EmptyState icon=icondata::LuLayoutDashboard title="No dashboards yet">
            <p>
                "Dashboards hold Plotly figures, markdown notes and live dataset statistics, shared with your team. "
                "They become available once accounts are enabled on this hub."
            </p>
        </EmptyState>
    }
}
