//! Starts a real Agora server on a free port, in a temp data dir.
//! (Shared by several test binaries; each uses part of it.)
//!
//! Test servers take turns: one at a time per test process. With several
//! Leptos servers alive in one process, each on its own test runtime, the
//! streamed render of a page with a `Suspense` occasionally stalled (Leptos
//! keeps process-global state). `agora` runs one server per process, where
//! 400 concurrent page loads all completed; see docs/decisions.md. Every
//! request also has a deadline, so a stall fails a test instead of hanging.

#![allow(dead_code)]

pub mod api;
pub mod node;

use std::net::SocketAddr;

use agora_server::cli::ServeArgs;
use agora_server::config::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Held by the one live test server of this process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    /// The data directory the server uses (in `data_dir` unless a test chose).
    pub data: std::path::PathBuf,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await.expect("the test server starts")
    }

    /// Starts with the test defaults changed by `adjust`; fails if `serve`
    /// ends before the server becomes healthy.
    pub async fn start_with(adjust: impl FnOnce(&mut ServeArgs)) -> anyhow::Result<TestServer> {
        let turn = ONE_AT_A_TIME.lock().await;
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut args = ServeArgs {
            addr: Some("127.0.0.1:0".into()),
            data_dir: Some(data_dir.path().join("data")),
            // Each test server gets its own embedded S3 endpoint on a free port.
            s3_addr: Some("127.0.0.1:0".into()),
            ..ServeArgs::default()
        };
        adjust(&mut args);
        let config = Config::from_args(args)?;
        let data = config.data_dir.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let mut task = tokio::spawn(agora_server::serve(config, listener, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap();
        // Either the server answers /healthz, or serve() ended with an error.
        let healthy = tokio::select! {
            ended = &mut task => return Err(ended.expect("server task panicked").err().unwrap_or_else(|| anyhow::anyhow!("serve() returned before answering"))),
            healthy = wait_until_healthy(&client, addr) => healthy,
        };
        healthy?;
        Ok(TestServer { addr, data_dir, data, client, stop: Some(stop), task: Some(task), _turn: turn })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// Stops the server gracefully and returns how `serve` ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().unwrap().await.expect("server task panicked")
    }
}

async fn wait_until_healthy(client: &reqwest::Client, addr: SocketAddr) -> anyhow::Result<()> {
    for _ in 0..400 {
        if let Ok(resp) = client.get(format!("http://{addr}/healthz")).send().await {
            if resp.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    anyhow::bail!("the test server did not become healthy within 10 s")
}

/// Unsigned `x-amz-*` headers that would change what a presigned write
/// does if storage honoured them (the attack tests add each to a URL).
pub const UNSIGNED_ADDITIONS: [(&str, &str); 13] = [
    ("x-amz-metadata-directive", "REPLACE"),
    ("x-amz-tagging-directive", "REPLACE"),
    ("x-amz-meta-owner", "mallory"),
    ("x-amz-acl", "public-read"),
    ("x-amz-grant-read", "uri=http://acs.amazonaws.com/groups/global/AllUsers"),
    ("x-amz-storage-class", "GLACIER"),
    ("x-amz-website-redirect-location", "https://evil.example/"),
    ("x-amz-server-side-encryption", "AES256"),
    ("x-amz-object-lock-mode", "GOVERNANCE"),
    ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
    ("x-amz-decoded-content-length", "1048576"),
    ("x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    ("x-amz-sdk-checksum-algorithm", "CRC32"),
];
