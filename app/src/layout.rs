//! The frame around every page: header with navigation, footer.

use leptos::prelude::*;
use leptos_icons::Icon;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

use crate::theme::ThemeToggle;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="header">
            <div class="header-inner">
                <A href="/" attr:class="brand" attr:aria-label="Agora home">
                    <img src="/favicon.svg" alt="" width="28" height="28" />
                    <span class="brand-name">"Agora"</span>
                </A>
                <nav class="nav" aria-label="Main">
                    <NavLink href="/datasets" icon=icondata::LuDatabase label="Datasets" />
                    <NavLink href="/dashboards" icon=icondata::LuLayoutDashboard label="Dashboards" />
                    <NavLink href="/monitoring" icon=icondata::LuActivity label="Monitoring" />
                </nav>
                <HeaderSearch />
                <div class="header-actions">
                    <ThemeToggle />
                    <A href="/login" attr:class="button button-primary button-small" attr:data-testid="login-link">
                        <Icon icon=icondata::LuLogIn />
                        <span>"Log in"</span>
                    </A>
                </div>
            </div>
        </header>
    }
}

#[component]
fn NavLink(href: &'static str, icon: icondata::Icon, label: &'static str) -> impl IntoView {
    // `A` sets aria-current="page" on the active link; the stylesheet highlights it.
    view! {
        <A href=href attr:class="nav-link">
            <Icon icon=icon />
            <span class="nav-label">{label}</span>
        </A>
    }
}

/// A plain GET form: works before hydration, navigates client-side after.
#[component]
fn HeaderSearch() -> impl IntoView {
    let query = use_query_map();
    let current = move || query.read().get("q").unwrap_or_default();
    view! {
        <Form action="/search" attr:class="header-search" attr:role="search">
            <label class="visually-hidden" for="header-search-input">"Search"</label>
            <span class="header-search-icon" aria-hidden="true"><Icon icon=icondata::LuSearch /></span>
            <input
                id="header-search-input"
                type="search"
                name="q"
                placeholder="Search datasets, files, labels…"
                autocomplete="off"
                data-testid="header-search"
                prop:value=current
            />
        </Form>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="footer">
            <span>"Agora " <span data-testid="version">{agora_model::VERSION}</span></span>
            <span class="footer-sep" aria-hidden="true">"·"</span>
            <a href="/readyz" rel="external">"Status"</a>
            <span class="footer-sep" aria-hidden="true">"·"</span>
            <span>"Datasets and dashboards for ML teams, on your own storage"</span>
        </footer>
    }
}
