// The release build compiles without `--cfg erase_components`, so the whole
// app's view type is spelled out here; its depth needs more than the default.
#![recursion_limit = "256"]

//! The WASM entry point.
//!
//! A separate crate (rather than a `cdylib` crate type on `agora-app`) so the
//! native server build never links a cdylib of the whole UI, and so the WASM
//! build's dependency graph is exactly `agora-app` with `hydrate` — which CI
//! checks contains no server-only crate.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(agora_app::App);
}
