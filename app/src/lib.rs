#![recursion_limit = "256"]

//! Agora's user interface.
//!
//! Rendered on the server (`ssr`) and hydrated in the browser (`hydrate`,
//! through the `agora-frontend` crate). Server functions are declared here;
//! their bodies run on the server only and call `agora-core`.

pub mod api;
pub mod components;
pub mod layout;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod session;
pub mod theme;
pub mod url;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Body, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::error_view::ErrorView;
use crate::layout::{Footer, Header};
use crate::pages::{
    admin::AdminUsersPage,
    admin_dashboards::AdminDashboardsPage,
    api_keys::ApiKeysPage,
    dashboard::DashboardPage,
    dashboards::DashboardsPage,
    dataset::DatasetPage,
    datasets::DatasetsPage,
    email_links::{ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage},
    goodbye::GoodbyePage,
    home::HomePage,
    login::LoginPage,
    monitoring::MonitoringPage,
    monitoring_source::SourcePage,
    not_found::NotFoundPage,
    register::RegisterPage,
    runs::RunPage,
    search::SearchPage,
    settings::SettingsPage,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    theme::provide_theme();
    session::provide_session();

    // Effects run only in the browser: this flips once the WASM app has taken
    // over the server-rendered page. End-to-end tests wait for it.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));

    view! {
        <Body {..} data-hydrated=move || hydrated.get().to_string() />
        <Stylesheet id="leptos" href="/pkg/agora.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Agora: a self-hosted hub for ML training datasets and dashboards." />
        <Meta name="color-scheme" content="light dark" />
        <Title formatter=|page: String| if page.is_empty() { "Agora".to_string() } else { format!("{page} · Agora") } />
        <theme::ThemeRoot />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <div class="app">
                <Header />
                <main id="main" class="main" tabindex="-1">
                    <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>
                        <Routes fallback=NotFoundPage>
                            <Route path=path!("") view=HomePage />
                            <Route path=path!("datasets") view=DatasetsPage />
                            <Route path=path!("datasets/:id") view=DatasetPage />
                            <Route path=path!("datasets/:id/runs/:run") view=RunPage />
                            <Route path=path!("dashboards") view=DashboardsPage />
                            <Route path=path!("dashboards/:id") view=DashboardPage ssr=SsrMode::Async />
                            <Route path=path!("monitoring") view=MonitoringPage />
                            <Route path=path!("monitoring/:source") view=SourcePage />
                            <Route path=path!("search") view=SearchPage />
                            <Route path=path!("login") view=LoginPage />
                            <Route path=path!("register") view=RegisterPage />
                            <Route path=path!("verify-email") view=VerifyEmailPage />
                            <Route path=path!("forgot-password") view=ForgotPasswordPage />
                            <Route path=path!("reset-password") view=ResetPasswordPage />
                            <Route path=path!("settings") view=SettingsPage />
                            <Route path=path!("settings/keys") view=ApiKeysPage />
                            <Route path=path!("admin/users") view=AdminUsersPage />
                            <Route path=path!("admin/dashboards") view=AdminDashboardsPage />
                            <Route path=path!("goodbye") view=GoodbyePage />
                        </Routes>
                    </ErrorBoundary>
                </main>
                <Footer />
            </div>
        </Router>
    }
}
