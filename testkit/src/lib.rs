//! Real S3 endpoints for integration tests: Agora's embedded endpoint (in
//! process, on a free port), moto's server (a second, independent S3
//! implementation) and Ceph's RADOS Gateway (a production object store), the
//! last two started once per test binary; the other real peers
//! (SMTP, monitored Flask services) are in [`peers`].

mod peers;
pub mod people;

pub use peers::{
    flask_peer, moto_endpoint, peer_python, peer_script, rgw_endpoint, smtp_server, FlaskPeer, RgwEndpoint, SmtpServer, PEER_PASSWORD,
    PEER_TOKEN,
};

use std::sync::Arc;

use agora_core::secret::Secret;
use agora_core::storage::{Storage, StorageConfig};
use agora_s3d::credentials::Credentials;
use agora_s3d::service::{router, ServiceConfig};
use agora_s3d::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Moto,
    /// Ceph RGW (`rgw_endpoint`).
    Rgw,
}

/// A bucket of its own on a running endpoint.
pub struct Fixture {
    pub storage: Storage,
    pub endpoint: String,
    /// (access key id, secret access key) the endpoint accepts.
    pub credentials: (String, String),
    pub backend: Backend,
    data: Option<Arc<tempfile::TempDir>>,
}

impl Fixture {
    /// Keeps the embedded endpoint's files alive. Test bodies capture only the
    /// fields they use (edition 2021), so the macro holds this for them.
    pub fn guard(&self) -> Option<Arc<tempfile::TempDir>> {
        self.data.clone()
    }
}

/// The base64 MD5 of `bytes`: what an upload declares (`md5`) and sends as
/// `Content-MD5`.
pub fn md5_b64(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    agora_model::files::md5_base64(&Md5::digest(bytes).into())
}

/// What a presigned write of `bytes` must carry (their length and MD5).
pub fn digest(bytes: &[u8]) -> agora_core::storage::BodyDigest {
    use md5::{Digest, Md5};
    agora_core::storage::BodyDigest { size: bytes.len() as u64, md5: Md5::digest(bytes).into() }
}

fn unique_bucket() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("agora-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub async fn fixture(backend: Backend) -> Fixture {
    match backend {
        Backend::Embedded => embedded().await,
        Backend::Moto => moto().await,
        Backend::Rgw => rgw().await,
    }
}

async fn embedded() -> Fixture {
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(data.path().join("s3")).unwrap());
    let credentials = Credentials::generate();
    let app = router(store, &credentials, &ServiceConfig { allowed_origins: vec!["http://127.0.0.1:3000".into()] });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let storage = Storage::connect(&StorageConfig {
        endpoint: Some(endpoint.clone()),
        public_endpoint: None,
        region: "us-east-1".into(),
        bucket: unique_bucket(),
        credentials: Some((credentials.access_key_id.clone(), Secret::new(credentials.secret_access_key.clone()))),
        path_style: true,
    })
    .await;
    storage.ensure_bucket().await.unwrap();
    let credentials = (credentials.access_key_id, credentials.secret_access_key);
    Fixture { storage, endpoint, credentials, backend: Backend::Embedded, data: Some(Arc::new(data)) }
}

async fn moto() -> Fixture {
    external(Backend::Moto, moto_endpoint().to_owned(), ("testing".into(), "testing".into())).await
}

async fn rgw() -> Fixture {
    let rgw = rgw_endpoint();
    external(Backend::Rgw, rgw.url.clone(), (rgw.access_key.clone(), rgw.secret_key.clone())).await
}

/// A new bucket on a store that runs outside the test process.
async fn external(backend: Backend, endpoint: String, credentials: (String, String)) -> Fixture {
    let storage = Storage::connect(&StorageConfig {
        endpoint: Some(endpoint.clone()),
        public_endpoint: None,
        region: "us-east-1".into(),
        bucket: unique_bucket(),
        credentials: Some((credentials.0.clone(), Secret::new(credentials.1.clone()))),
        path_style: true,
    })
    .await;
    storage.ensure_bucket().await.unwrap();
    Fixture { storage, endpoint, credentials, backend, data: None }
}

/// Runs one async test body against the embedded endpoint and moto.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let fixture = $crate::fixture($crate::Backend::Embedded).await;
                let _files = fixture.guard();
                ($body)(fixture).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn moto() {
                let fixture = $crate::fixture($crate::Backend::Moto).await;
                let _files = fixture.guard();
                ($body)(fixture).await;
            }
        }
    };
}

/// Runs one async test body against all three stores: the embedded
/// endpoint, moto and Ceph RGW.
#[macro_export]
macro_rules! every_store {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let fixture = $crate::fixture($crate::Backend::Embedded).await;
                let _files = fixture.guard();
                ($body)(fixture).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn moto() {
                ($body)($crate::fixture($crate::Backend::Moto).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rgw() {
                ($body)($crate::fixture($crate::Backend::Rgw).await).await;
            }
        }
    };
}

/// A store that silently ignores conditional writes, as some S3
/// implementations do: an HTTP proxy in front of `upstream` (moto, which
/// checks no signatures) that drops `If-None-Match` and `If-Match` from every
/// request. Returns its address; it lives as long as the test's runtime.
pub async fn store_ignoring_conditions(upstream: &str) -> String {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::Response;

    let upstream = upstream.trim_end_matches('/').to_owned();
    let client = reqwest::Client::new();
    let forward = move |request: Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let url = format!("{upstream}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
            let mut headers = parts.headers.clone();
            headers.remove("if-none-match");
            headers.remove("if-match");
            headers.remove("host");
            let answer = client.request(parts.method, url).headers(headers).body(body).send().await.unwrap();
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                response = response.header(name, value);
            }
            response.body(Body::from(answer.bytes().await.unwrap_or_default())).unwrap()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(forward)).await });
    address
}
