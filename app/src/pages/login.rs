use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::empty_state::EmptyState;

#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <Title text="Log in" />
        <EmptyState icon=icondata::LuLogIn title="Accounts are not enabled yet">
            <p>
                "This hub does not have accounts yet, so there is nothing to log in to. "
                "When they arrive, the first account registered here becomes the administrator."
            </p>
        </EmptyState>
    }
}
