use leptos::prelude::*;
use leptos_icons::Icon;

/// What a page shows when it has nothing to list yet: what goes here, and
/// what to do about it.
#[component]
pub fn EmptyState(icon: icondata::Icon, title: &'static str, children: Children) -> impl IntoView {
    view! {
        <section class="empty-state" data-testid="empty-state">
            <div class="empty-state-icon" aria-hidden="true"><Icon icon=icon /></div>
            <h2>{title}</h2>
            <div class="empty-state-body">{children()}</div>
        </section>
    }
}
