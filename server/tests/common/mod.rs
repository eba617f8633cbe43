//! Starts a real Agora server on a free port, in a temp data dir.
//!
//! Tests use tokio's multi-thread runtime, like `agora` itself: server-side
//! rendering of a page with a `Suspense` occasionally stalled when the server
//! and the test's HTTP client shared a single-threaded runtime. Every request
//! has a deadline so a stall fails the test instead of hanging the run.

use std::net::SocketAddr;

use agora_server::cli::ServeArgs;
use agora_server::config::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let args = ServeArgs {
            addr: Some("127.0.0.1:0".into()),
            data_dir: Some(data_dir.path().join("data")),
            ..ServeArgs::default()
        };
        let config = Config::from_args(args).expect("valid test config");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(agora_server::serve(config, listener, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap();
        let server = TestServer { addr, data_dir, client, stop: Some(stop), task: Some(task) };
        server.wait_until_healthy().await;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn wait_until_healthy(&self) {
        for _ in 0..200 {
            if let Ok(resp) = self.client.get(self.url("/healthz")).send().await {
                if resp.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the test server did not become healthy within 5 s");
    }

    /// Stops the server gracefully and returns how `serve` ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().unwrap().await.expect("server task panicked")
    }
}
