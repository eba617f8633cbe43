//! Bringing up the bucket: the embedded endpoint, or checks of an external
//! store that print a precise fix when something is missing.

use std::sync::Arc;

use anyhow::{bail, Context};
use axum::serve::ListenerExt;
use tokio_util::sync::CancellationToken;

use agora_core::readiness::{Probe, ProbeFuture};
use agora_core::secret::Secret;
use agora_core::storage::self_check::{check_features, FEATURE_FIX};
use agora_core::storage::{Storage, StorageConfig, StorageError};
use agora_s3d::credentials::Credentials;
use agora_s3d::service::{router, ServiceConfig};
use agora_s3d::store::Store;

use crate::config::{Config, StorageMode, StorageSettings};

/// How often the embedded endpoint sweeps abandoned multipart uploads.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The bucket, ready to use.
pub struct StorageRuntime {
    pub storage: Storage,
    /// Where the embedded endpoint listens, when it runs.
    pub embedded_addr: Option<std::net::SocketAddr>,
}

pub async fn start(config: &Config, stop: CancellationToken) -> anyhow::Result<StorageRuntime> {
    let settings = &config.storage;
    match &settings.mode {
        StorageMode::Embedded { addr } => {
            let dir = config.s3_dir();
            let (store, credentials) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let store = Store::open(&dir).with_context(|| format!("could not open the embedded object store in {}", dir.display()))?;
                let credentials = Credentials::load_or_create(&dir.join("credentials.json"))
                    .context("could not read or create the embedded endpoint's credentials")?;
                Ok((Arc::new(store), credentials))
            })
            .await??;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("could not listen on {addr} for the embedded S3 endpoint (--s3-addr / AGORA_S3_ADDR)"))?;
            let bound = listener.local_addr()?;
            let app = router(Arc::clone(&store), &credentials, &ServiceConfig { allowed_origins: settings.cors_origins.clone() });
            let serve_stop = stop.clone();
            tokio::spawn(async move {
                let listener = listener.tap_io(no_delay);
                if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(serve_stop.cancelled_owned()).await {
                    tracing::error!(error = %err, "the embedded S3 endpoint stopped");
                }
            });
            spawn_upload_sweeper(store, settings.upload_max_age, stop);

            let endpoint = format!("http://{bound}");
            let storage = connect_embedded(settings, &endpoint, &credentials).await;
            storage.ensure_bucket().await.context("could not create the bucket in the embedded endpoint")?;
            tracing::info!(endpoint = %endpoint, bucket = %settings.bucket, "embedded S3 endpoint ready");
            Ok(StorageRuntime { storage, embedded_addr: Some(bound) })
        }
        StorageMode::External { endpoint, credentials } => {
            let storage = Storage::connect(&StorageConfig {
                endpoint: Some(endpoint.clone()),
                public_endpoint: settings.public_endpoint.clone(),
                region: settings.region.clone(),
                bucket: settings.bucket.clone(),
                credentials: credentials.clone(),
                path_style: settings.path_style,
            })
            .await;
            check_external(&storage, endpoint, settings.public_endpoint.as_deref()).await?;
            check_cors(&storage, &config.public_url).await;
            tracing::info!(endpoint = %endpoint, bucket = %settings.bucket, "external S3 storage ready");
            Ok(StorageRuntime { storage, embedded_addr: None })
        }
    }
}

/// A client of an embedded endpoint at `endpoint` (this process's, or a
/// running Agora's on the same data directory).
pub async fn connect_embedded(settings: &StorageSettings, endpoint: &str, credentials: &Credentials) -> Storage {
    Storage::connect(&StorageConfig {
        endpoint: Some(endpoint.to_owned()),
        public_endpoint: settings.public_endpoint.clone(),
        region: settings.region.clone(),
        bucket: settings.bucket.clone(),
        credentials: Some((credentials.access_key_id.clone(), Secret::new(credentials.secret_access_key.clone()))),
        path_style: true,
    })
    .await
}

/// An external store must have the bucket and every S3 feature Agora relies
/// on (`self_check`). Each failure says how to fix it.
async fn check_external(storage: &Storage, endpoint: &str, public_endpoint: Option<&str>) -> anyhow::Result<()> {
    let bucket = storage.bucket();
    match storage.check_bucket().await {
        Ok(()) => {}
        Err(StorageError::NotFound) => bail!(
            "the bucket {bucket:?} does not exist at {endpoint}. Create it (for example `aws s3 mb s3://{bucket} --endpoint-url {endpoint}`) \
             or point --s3-bucket / AGORA_S3_BUCKET at an existing one"
        ),
        Err(StorageError::AccessDenied(msg)) => bail!(
            "the credentials from the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance role) \
             may not use the bucket {bucket:?} at {endpoint}: {msg}"
        ),
        Err(other) => bail!("could not reach the bucket {bucket:?} at {endpoint}: {other}"),
    }
    // Presigned URLs point at the public endpoint when one is set; this node
    // may not reach that address (only browsers might), so the round trip
    // is tried only when the URLs point at the endpoint itself.
    let reachable = public_endpoint.is_none_or(|public| public.trim_end_matches('/') == endpoint.trim_end_matches('/'));
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
    if !reachable {
        tracing::info!(public = %storage.presign_origin(), "presigned URLs point at the public S3 endpoint: their round trip is not tried at start-up");
    }
    match check_features(storage, reachable.then_some(&http)).await {
        Ok(()) => Ok(()),
        Err(missing) => bail!("the store at {endpoint} lacks a feature Agora relies on. {missing}. To fix: {FEATURE_FIX}"),
    }
}

/// Browsers upload straight to the store: without a CORS rule for Agora's
/// origin that exposes `ETag`, uploads fail in the browser. Agora still starts
/// (scripts and the server work), but says exactly what to configure.
async fn check_cors(storage: &Storage, origin: &str) {
    match storage.cors_rules().await {
        Ok(rules) => {
            if let Some(problem) = cors_problem(rules.as_deref().unwrap_or_default(), origin) {
                tracing::warn!(
                    bucket = storage.bucket(),
                    problem = %problem,
                    fix = %cors_fix(origin),
                    "browser uploads will fail until the bucket's CORS configuration is fixed (e.g. `aws s3api put-bucket-cors --bucket <bucket> --cors-configuration '<fix>'`)"
                );
            }
        }
        Err(err) => {
            tracing::info!(error = %err, "could not read the bucket's CORS configuration; make sure it allows Agora's origin and exposes ETag")
        }
    }
}

/// What is wrong with `rules` for browser uploads from `origin`, if anything.
pub fn cors_problem(rules: &[agora_core::storage::CorsRule], origin: &str) -> Option<String> {
    if rules.is_empty() {
        return Some("the bucket has no CORS rules".into());
    }
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let rule = rules.iter().find(|r| r.allowed_origins.iter().any(|o| o == "*" || eq(o, origin)));
    let Some(rule) = rule else { return Some(format!("no CORS rule allows the origin {origin}")) };
    for method in ["GET", "PUT"] {
        if !rule.allowed_methods.iter().any(|m| eq(m, method)) {
            return Some(format!("the CORS rule for {origin} does not allow {method}"));
        }
    }
    if !rule.allowed_headers.iter().any(|h| h == "*") {
        return Some(format!("the CORS rule for {origin} does not allow all request headers (content-type, x-amz-tagging)"));
    }
    if !rule.expose_headers.iter().any(|h| eq(h, "ETag")) {
        return Some(format!("the CORS rule for {origin} does not expose ETag, which browsers need to complete multipart uploads"));
    }
    None
}

fn cors_fix(origin: &str) -> String {
    format!(
        r#"{{"CORSRules":[{{"AllowedOrigins":["{origin}"],"AllowedMethods":["GET","PUT","POST","HEAD"],"AllowedHeaders":["*"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":3600}}]}}"#
    )
}

fn spawn_upload_sweeper(store: Arc<Store>, max_age: std::time::Duration, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let cutoff = time::OffsetDateTime::now_utc() - max_age;
            match store.sweep_uploads(cutoff).await {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "aborted abandoned multipart uploads"),
                Err(err) => tracing::warn!(error = %err, "could not sweep abandoned multipart uploads"),
            }
        }
    });
}

/// Storage is ready when the bucket answers.
pub struct StorageProbe(pub Storage);

impl Probe for StorageProbe {
    fn name(&self) -> &'static str {
        "storage"
    }

    fn check(&self) -> ProbeFuture<'_> {
        Box::pin(async move { self.0.check_bucket().await.map_err(|e| e.to_string()) })
    }
}

/// Small responses go out at once: without `TCP_NODELAY`, Nagle's algorithm
/// and delayed ACKs hold some of them back ~40 ms.
pub fn no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "could not set TCP_NODELAY");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agora_core::storage::CorsRule;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str], expose: &[&str]) -> CorsRule {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        CorsRule { allowed_origins: v(origins), allowed_methods: v(methods), allowed_headers: v(headers), expose_headers: v(expose) }
    }

    #[test]
    fn cors_rules_are_judged_for_browser_uploads() {
        let origin = "https://agora.example.com";
        assert_eq!(cors_problem(&[rule(&[origin], &["GET", "PUT", "POST"], &["*"], &["ETag"])], origin), None);
        assert_eq!(cors_problem(&[rule(&["*"], &["get", "put"], &["*"], &["etag"])], origin), None);
        let cases = [
            (vec![], "no CORS rules"),
            (vec![rule(&["https://other.example"], &["GET", "PUT"], &["*"], &["ETag"])], "allows the origin"),
            (vec![rule(&[origin], &["GET"], &["*"], &["ETag"])], "does not allow PUT"),
            (vec![rule(&[origin], &["GET", "PUT"], &["content-type"], &["ETag"])], "request headers"),
            (vec![rule(&[origin], &["GET", "PUT"], &["*"], &[])], "does not expose ETag"),
        ];
        for (rules, needle) in cases {
            let problem = cors_problem(&rules, origin).expect("a problem");
            assert!(problem.contains(needle), "{problem}");
        }
        let fix: serde_json::Value = serde_json::from_str(&cors_fix(origin)).unwrap();
        assert_eq!(fix["CORSRules"][0]["ExposeHeaders"][0], "ETag");
    }
}
