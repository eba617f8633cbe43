//! Security headers on every response, and on HTML a Content-Security-Policy
//! that lets pages run Agora's own scripts only.
//!
//! Each request gets a fresh nonce; the page's one inline script (Leptos's
//! hydration loader, and the streamed Suspense chunks) carries it, so no
//! script an attacker manages to inject into the markup can run. Scripts
//! from Agora's origin (`/pkg/agora.js`, `/vendor/plotly.min.js`) and the
//! WASM they compile (`'wasm-unsafe-eval'`) are allowed; `eval` is not.
//! Styles may be inline (plotly and the views set `style=`): styles cannot
//! run script. Images, media and uploads may also reach the storage origin
//! the presigned URLs point at.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use rand::RngCore;

/// The nonce of this request's page, for the Leptos context.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// What the policy names besides Agora's own origin.
#[derive(Clone, Debug)]
pub struct PagePolicy {
    /// Where presigned URLs point (uploads, downloads, thumbnails).
    pub storage_origin: String,
    /// `cargo leptos watch` reloads pages over a WebSocket.
    pub live_reload: bool,
}

impl PagePolicy {
    pub fn header(&self, nonce: &str) -> String {
        let storage = &self.storage_origin;
        let reload = if self.live_reload { " ws: wss:" } else { "" };
        format!(
            "default-src 'self'; \
             script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob: {storage}; \
             media-src 'self' blob: {storage}; \
             connect-src 'self' {storage}{reload}; \
             font-src 'self' data:; \
             object-src 'none'; \
             base-uri 'none'; \
             form-action 'self'; \
             frame-ancestors 'none'"
        )
    }
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn page_security(State(policy): State<Arc<PagePolicy>>, mut request: Request, next: Next) -> Response {
    let nonce = new_nonce();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    let html = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if html {
        if let Ok(value) = HeaderValue::from_str(&policy.header(&nonce)) {
            headers.insert(CONTENT_SECURITY_POLICY, value);
        }
        // For browsers that predate `frame-ancestors`.
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_nonce_and_storage_and_no_inline_script_or_eval() {
        let policy = PagePolicy { storage_origin: "http://127.0.0.1:3900".into(), live_reload: false };
        let header = policy.header("abc");
        let script = header.split("; ").find(|d| d.starts_with("script-src")).unwrap();
        assert_eq!(script, "script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'");
        assert!(!script.contains("unsafe-inline") && !script.contains("'unsafe-eval'"));
        assert!(header.contains("connect-src 'self' http://127.0.0.1:3900;"), "{header}");
        assert!(header.ends_with("frame-ancestors 'none'"));
        assert!(!header.contains("ws:"));
        assert!(PagePolicy { live_reload: true, ..policy }.header("n").contains("connect-src 'self' http://127.0.0.1:3900 ws: wss:;"));
        assert_ne!(new_nonce(), new_nonce());
        assert_eq!(new_nonce().len(), 22);
    }
}
