//! The HTTP surface: health routes, Leptos pages and server functions, static
//! files, and the middleware around all of them.

mod access_log;
mod client_addr;
mod csrf;
mod health;
pub mod page_security;
pub mod rest;
mod session;

use axum::extract::FromRef;
use axum::routing::get;
use axum::{middleware, Extension, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;

use agora_app::{shell, App};
use agora_core::hub::Hub;
use agora_core::readiness::Readiness;
use agora_core::storage::Storage;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub readiness: Readiness,
    pub storage: Storage,
    pub hub: Hub,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: std::sync::Arc<agora_core::client_addr::TrustedProxies>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    // What server functions and server-rendered pages may `expect_context`.
    // The page's scripts carry the nonce its Content-Security-Policy names.
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.readiness.clone());
            let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<page_security::CspNonce>().cloned());
            if let Some(page_security::CspNonce(nonce)) = nonce {
                provide_context(leptos::nonce::Nonce::from_value(nonce));
            }
        }
    };
    let policy = std::sync::Arc::new(page_security::PagePolicy {
        storage_origin: state.storage.presign_origin(),
        live_reload: std::env::var_os("LEPTOS_WATCH").is_some(),
    });
    let render_shell = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api/v1", rest::router(state.hub.dashboards().limits().max_bytes))
        .leptos_routes_with_context(&state, routes, context.clone(), render_shell)
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(middleware::from_fn_with_state(state.hub.clone(), session::renew_session))
        .layer(middleware::from_fn(csrf::refuse_cross_site_writes))
        .layer(Extension(state.hub.clone()))
        .layer(middleware::from_fn_with_state(state.hub.monitor().clone(), access_log::access_log))
        .layer(middleware::from_fn_with_state(policy, page_security::page_security))
        .layer(middleware::from_fn_with_state(state.trusted_proxies.clone(), client_addr::client_addr))
        .layer(CompressionLayer::new())
        .with_state(state)
}
