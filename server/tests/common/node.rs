//! `agora serve` as a child process of its own (the real binary), for tests
//! that restart, kill or run several nodes.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const AGORA: &str = env!("CARGO_BIN_EXE_agora");

/// A running `agora serve`; killed (SIGKILL) when dropped.
pub struct Node(Child);

impl Node {
    /// Starts `agora serve` on `addr` with its embedded endpoint on `s3_addr`
    /// (or, with `AGORA_S3_ENDPOINT` in `env`, an external store).
    pub fn start(data: &Path, addr: &str, s3_addr: &str, env: &[(&str, String)]) -> Node {
        let child = Command::new(AGORA)
            .args(["serve", "--addr", addr, "--s3-addr", s3_addr, "--data-dir"])
            .arg(data)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Node(child)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `agora` binary, for subcommands other than `serve`.
pub fn agora() -> Command {
    Command::new(AGORA)
}

pub fn free_addr() -> String {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string()
}

/// Waits until the node at `addr` answers `/readyz` (at most a minute).
pub async fn ready(addr: &str) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(format!("http://{addr}/readyz")).send().await {
            if response.status().is_success() {
                return;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{addr} did not become ready");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
