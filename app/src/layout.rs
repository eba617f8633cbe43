//! The frame around every page: header with navigation, footer.

use agora_model::search::{HitKind, SearchRequest, SearchResults};
use leptos::prelude::*;
use leptos_icons::Icon;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

use crate::api::account::Logout;
use crate::session::use_session;
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
                    <AccountMenu />
                </div>
            </div>
        </header>
    }
}

/// "Log in" for visitors; for a logged-in person, a menu with their
/// settings, keys, administration (admins) and "Log out".
#[component]
fn AccountMenu() -> impl IntoView {
    let session = use_session();
    let logout = ServerAction::<Logout>::new();
    let navigate = leptos_router::hooks::use_navigate();
    // The menu closes once something in it is chosen, or on Escape.
    let menu = NodeRef::<leptos::html::Details>::new();
    let close = move || {
        if let Some(details) = menu.get_untracked() {
            details.set_open(false);
        }
    };
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            session.refresh();
            navigate("/", Default::default());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || session.resource().get().map(|result| match result.ok().flatten() {
                Some(user) => view! {
                    <details
                        class="account-menu"
                        data-testid="account-menu"
                        node_ref=menu
                        on:keydown=move |ev| if ev.key() == "Escape" { close() }
                    >
                        <summary class="button button-small" data-testid="account-menu-button">
                            <Icon icon=icondata::LuCircleUser />
                            <span data-testid="current-user">{user.username.clone()}</span>
                        </summary>
                        <div class="menu" role="menu" on:click=move |_| close()>
                            <A href="/settings" attr:role="menuitem">"Settings"</A>
                            <A href="/settings/keys" attr:role="menuitem">"API keys"</A>
                            {(user.role == agora_model::accounts::Role::Admin).then(|| view! {
                                <A href="/admin/users" attr:role="menuitem" attr:data-testid="admin-link">"Users (admin)"</A>
                                <A href="/admin/dashboards" attr:role="menuitem">"Dashboard storage (admin)"</A>
                            })}
                            <ActionForm action=logout>
                                <button type="submit" class="menu-button" role="menuitem" data-testid="logout">"Log out"</button>
                            </ActionForm>
                        </div>
                    </details>
                }
                .into_any(),
                None => view! {
                    <A href="/login" attr:class="button button-primary button-small" attr:data-testid="login-link">
                        <Icon icon=icondata::LuLogIn />
                        <span>"Log in"</span>
                    </A>
                }
                .into_any(),
            })}
        </Transition>
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
/// Once hydrated it shows instant results as you type (after a short pause),
/// datasets and files grouped; Escape closes them, Enter opens the page.
#[component]
fn HeaderSearch() -> impl IntoView {
    let query = use_query_map();
    let current = move || query.read().get("q").unwrap_or_default();
    let typed = RwSignal::new(String::new());
    let open = RwSignal::new(false);
    // The typed text once it has rested for 200 ms.
    let settled = RwSignal::new(String::new());
    Effect::new(move |_| {
        let text = typed.get();
        #[cfg(feature = "hydrate")]
        {
            let run = wasm_bindgen::closure::Closure::once_into_js(move || {
                if typed.get_untracked() == text {
                    settled.set(text);
                }
            });
            if let Some(window) = web_sys::window() {
                use wasm_bindgen::JsCast;
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(run.unchecked_ref(), 200);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
    });
    let instant = Resource::new(
        move || settled.get(),
        |q| async move {
            if q.trim().is_empty() {
                return None;
            }
            let request = SearchRequest { q, limit: Some(8), ..Default::default() };
            crate::api::search::search(request).await.ok()
        },
    );
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
                aria-controls="instant-results"
                prop:value=current
                on:input=move |ev| {
                    typed.set(event_target_value(&ev));
                    open.set(true);
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { open.set(false) }
                on:blur=move |_| {
                    // Let a click on a result land first.
                    #[cfg(feature = "hydrate")]
                    {
                        use wasm_bindgen::JsCast;
                        let close = wasm_bindgen::closure::Closure::once_into_js(move || open.set(false));
                        if let Some(window) = web_sys::window() {
                            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(close.unchecked_ref(), 200);
                        }
                    }
                }
            />
            <Transition fallback=|| ()>
                {move || {
                    let results = instant.get().flatten()?;
                    open.get().then(|| view! { <InstantResults results q=settled.get_untracked() /> })
                }}
            </Transition>
        </Form>
    }
}

#[component]
fn InstantResults(results: SearchResults, q: String) -> impl IntoView {
    use crate::pages::search::{highlighted, hit_href};
    let group = |title: &'static str, kind: HitKind| {
        let hits: Vec<_> = results.hits.iter().filter(|h| h.kind == kind).cloned().collect();
        (!hits.is_empty()).then(|| {
            view! {
                <li class="instant-group" role="presentation">{title}</li>
                {hits.into_iter().map(|hit| {
                    let detail = hit.path.clone().map(|p| format!("{} · {p}", hit.dataset_name)).unwrap_or_default();
                    let title = highlighted(&hit);
                    view! {
                        <li role="option"><A href=hit_href(&hit) attr:data-testid="instant-hit">
                            <span>{title}</span> <span class="muted">{detail}</span>
                        </A></li>
                    }
                }).collect_view()}
            }
        })
    };
    let all = format!("/search?q={}", crate::url::encode_query_value(&q));
    view! {
        <ul id="instant-results" class="instant-results" role="listbox" data-testid="instant-results">
            {if results.hits.is_empty() {
                view! { <li class="muted instant-empty">"Nothing found yet — press Enter for the full search."</li> }.into_any()
            } else {
                view! { {group("Datasets", HitKind::Dataset)} {group("Files", HitKind::File)} {group("Dashboards", HitKind::Dashboard)} {group("Runs", HitKind::Run)} }.into_any()
            }}
            <li><A href=all attr:class="instant-all">{format!("All results ({})", results.datasets + results.files + results.dashboards + results.runs)}</A></li>
        </ul>
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
            <a href="/api/v1/openapi.json" rel="external" data-testid="api-docs">"REST API (OpenAPI)"</a>
            <span class="footer-sep" aria-hidden="true">"·"</span>
            <span>"Datasets and dashboards for ML teams, on your own storage"</span>
        </footer>
    }
}
