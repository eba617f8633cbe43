//! Setting the HTTP status of a server-rendered page.

/// Sets the response status while rendering on the server; a no-op in the
/// browser (the status of a client-side navigation is meaningless).
pub fn set_http_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(options), Ok(code)) = (leptos::prelude::use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(status))
    {
        options.set_status(code);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}
