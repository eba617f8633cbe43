use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::components::empty_state::EmptyState;
use crate::components::status::set_http_status;

/// Any path no route matches: a real 404 status, and a way back.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    set_http_status(404);
    let path = use_location().pathname;
    view! {
        <Title text="Not found" />
        <div data-testid="not-found">
            <EmptyState icon=icondata::LuFileQuestion title="Page not found">
                <p>"There is nothing at " <code>{move || path.get()}</code> "."</p>
                <p>
                    <A href="/" attr:class="button button-primary">"Go to the start page"</A>
                    " or use the search box above."
                </p>
            </EmptyState>
        </div>
    }
}
