//! Bringing up the bucket: the embedded endpoint, or checks of an external
//! store that print a precise fix when something is missing.

use std::sync::Arc;

use anyhow::{bail, Context};
use tokio_util::sync::CancellationToken;

use agora_core::readiness::{Probe, ProbeFuture};
use agora_core::secret::Secret;
use agora_core::storage::{PutOptions, Storage, StorageConfig, StorageError};
use agora_model::tags::Tag;
use agora_s3d::credentials::Credentials;
use agora_s3d::service::{router, ServiceConfig};
use agora_s3d::store::Store;

use crate::config::{Config, StorageMode};

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
                let credentials = Credentials::load_or_create(&dir.join("credentials.json")).context("could not read or create the embedded endpoint's credentials")?;
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
                if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(serve_stop.cancelled_owned()).await {
                    tracing::error!(error = %err, "the embedded S3 endpoint stopped");
                }
            });
            spawn_upload_sweeper(store, settings.upload_max_age, stop);

            let endpoint = format!("http://{bound}");
            let storage = Storage::connect(&StorageConfig {
                endpoint: Some(endpoint.clone()),
                public_endpoint: settings.public_endpoint.clone(),
                region: settings.region.clone(),
                bucket: settings.bucket.clone(),
                credentials: Some((credentials.access_key_id.clone(), Secret::new(credentials.secret_access_key.clone()))),
                path_style: true,
            })
            .await;
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
            check_external(&storage, endpoint).await?;
            tracing::info!(endpoint = %endpoint, bucket = %settings.bucket, "external S3 storage ready");
            Ok(StorageRuntime { storage, embedded_addr: None })
        }
    }
}

/// An external store must have the bucket and support object tagging
/// (labels are tags). Each failure says how to fix it.
async fn check_external(storage: &Storage, endpoint: &str) -> anyhow::Result<()> {
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
    let probe = format!("sys/probes/tagging-{}", std::process::id());
    let tag = Tag::new("agora-probe", "1");
    let tagging = async {
        storage.put(&probe, bytes::Bytes::from_static(b"probe"), PutOptions { tags: vec![tag.clone()], ..Default::default() }).await?;
        let tags = storage.get_tags(&probe).await?;
        storage.delete(&probe).await?;
        Ok::<_, StorageError>(tags)
    };
    match tagging.await {
        Ok(tags) if tags == vec![tag] => Ok(()),
        Ok(tags) => bail!("the store at {endpoint} accepted object tags but returned {tags:?}: Agora keeps file labels as object tags and needs them to work"),
        Err(err) => bail!("the store at {endpoint} does not support object tagging ({err}); Agora keeps file labels as object tags and needs it"),
    }
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
