use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_state::EmptyState;

#[component]
pub fn MonitoringPage() -> impl IntoView {
    view! {
        <Title text="Monitoring" />
        <header class="page-header"><h1>"Monitoring"</h1></header>
        <EmptyState icon=icondata::LuGauge title="No monitored services yet">
            <p>
                "Monitoring shows request volume and execution-time percentiles for Agora's own endpoints "
                "and for services running flask-monitoring-dashboard. "
                "Until it is enabled, " <a href="/readyz">"/readyz"</a> " reports the health of each component."
            </p>
        </EmptyState>
    }
}
