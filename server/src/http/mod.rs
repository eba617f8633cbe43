//! The HTTP surface: health routes, Leptos pages and server functions, static
//! files, and the middleware around all of them.

mod access_log;
mod csrf;
mod health;
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
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    // What server functions and server-rendered pages may `expect_context`.
    let context = {
        let state = state.clone();
        move || provide_context(state.readiness.clone())
    };
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
        .layer(CompressionLayer::new())
        .with_state(state)
}
