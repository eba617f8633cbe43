//! Puts the request's [`ClientAddr`](agora_core::client_addr::ClientAddr) in its extensions, before anything
//! that counts, records or logs the client reads it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use agora_core::client_addr::TrustedProxies;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

pub async fn client_addr(State(trusted): State<Arc<TrustedProxies>>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let forwarded = request.headers().get_all(X_FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok());
        let client = trusted.client(peer.ip(), forwarded);
        request.extensions_mut().insert(client);
    }
    next.run(request).await
}
