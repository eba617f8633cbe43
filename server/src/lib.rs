#![recursion_limit = "256"]

//! The `agora` server: configuration, HTTP router, Leptos SSR and the
//! start/stop lifecycle. Business rules live in `agora-core`.

pub mod admin;
pub mod bench;
pub mod cli;
pub mod config;
pub mod http;
pub mod hub;
pub mod storage;
pub mod telemetry;

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use agora_core::data_dir::DataDir;
use agora_core::readiness::{DataDirProbe, Readiness};

use crate::config::Config;
use crate::http::AppState;

/// How long one readiness probe may take before it counts as failing.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds the configured address and serves until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener =
        TcpListener::bind(config.addr).await.with_context(|| format!("could not listen on {} (--addr / AGORA_ADDR)", config.addr))?;
    serve(config, listener, shutdown_signal()).await
}

/// Serves on an already-bound listener until `shutdown` completes. The single
/// entry point for tests: bind `127.0.0.1:0`, pass the listener in.
pub async fn serve(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let started = Instant::now();
    let data_path = config.data_dir.clone();
    let data_dir = tokio::task::spawn_blocking(move || DataDir::open(data_path))
        .await
        .context("opening the data directory did not finish")?
        .with_context(|| format!("could not open the data directory {} (--data-dir / AGORA_DATA_DIR)", config.data_dir.display()))?;

    if !config.site_is_built() {
        tracing::warn!(
            site_root = %config.site_root.display(),
            "the compiled front end is missing: pages render but will not become interactive; build it with `cargo leptos build` or set AGORA_SITE_ROOT"
        );
    }

    // One token stops the web server and background tasks. The embedded S3
    // endpoint has its own and stops last (when this function returns): the
    // last request records are written to it after the last request.
    let stop = CancellationToken::new();
    let storage_stop = CancellationToken::new();
    let _storage_stops_last = storage_stop.clone().drop_guard();
    let storage = storage::start(&config, storage_stop).await?;

    let addr = listener.local_addr().context("the listener has no local address")?;
    // Bound to port 0 (tests): links in mail must carry the real port.
    let public_url =
        if config.public_url == format!("http://{}", config.addr) { format!("http://{addr}") } else { config.public_url.clone() };
    let own_listeners: Vec<std::net::SocketAddr> = std::iter::once(addr).chain(storage.embedded_addr).collect();
    let hub = hub::start(&config, &data_dir, storage.storage.clone(), public_url, &own_listeners, stop.clone()).await?;

    let hub_monitor = hub.monitor().clone();
    let background_hub = hub.clone();
    let state = AppState {
        leptos_options: config.leptos_options(),
        readiness: Readiness::new(PROBE_TIMEOUT).with(DataDirProbe(data_dir.clone())).with(storage::StorageProbe(storage.storage.clone())),
        storage: storage.storage,
        hub,
        trusted_proxies: std::sync::Arc::new(config.trusted_proxies.clone()),
    };
    let router = http::router(state);
    // Request records are written until every request has been answered.
    let records_done = CancellationToken::new();
    let recorder = {
        let (monitor, done) = (hub_monitor, records_done.clone());
        tokio::spawn(async move { monitor.run(done.cancelled_owned()).await })
    };

    // Remote sources are fetched and alert rules checked until the stop.
    {
        let stop = stop.clone();
        tokio::spawn(async move { background_hub.run_monitoring(stop.cancelled_owned()).await });
    }

    tracing::info!(
        url = %format!("http://{addr}"),
        data_dir = %data_dir.root().display(),
        startup_ms = started.elapsed().as_millis() as u64,
        version = agora_model::VERSION,
        "agora is serving"
    );
    let on_shutdown = {
        let stop = stop.clone();
        async move {
            shutdown.await;
            stop.cancel();
        }
    };
    let listener = axum::serve::ListenerExt::tap_io(listener, storage::no_delay);
    let served = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(on_shutdown)
        .await
        .context("the HTTP server failed");
    stop.cancel();
    records_done.cancel();
    if tokio::time::timeout(std::time::Duration::from_secs(10), recorder).await.is_err() {
        tracing::warn!("the last request records could not be written in time");
    }
    served?;
    tracing::info!("agora stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
