//! Real S3 endpoints for integration tests: Agora's embedded endpoint (in
//! process, on a free port) and moto's server (a second, independent S3
//! implementation, started once per test binary).

pub mod people;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use agora_core::secret::Secret;
use agora_core::storage::{Storage, StorageConfig};
use agora_s3d::credentials::Credentials;
use agora_s3d::service::{router, ServiceConfig};
use agora_s3d::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Moto,
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

fn unique_bucket() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("agora-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub async fn fixture(backend: Backend) -> Fixture {
    match backend {
        Backend::Embedded => embedded().await,
        Backend::Moto => moto().await,
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
    let endpoint = moto_endpoint().to_owned();
    let storage = Storage::connect(&StorageConfig {
        endpoint: Some(endpoint.clone()),
        public_endpoint: None,
        region: "us-east-1".into(),
        bucket: unique_bucket(),
        credentials: Some(("testing".into(), Secret::new("testing".into()))),
        path_style: true,
    })
    .await;
    storage.ensure_bucket().await.unwrap();
    Fixture { storage, endpoint, credentials: ("testing".into(), "testing".into()), backend: Backend::Moto, data: None }
}

/// A real SMTP server (aiosmtpd) on a free port that prints every message it
/// receives; [`SmtpServer::messages`] reads them back.
pub struct SmtpServer {
    pub port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Everything received so far, as a mail reader would show it: messages
    /// sent quoted-printable are decoded (soft line breaks joined, `=XX`).
    pub fn messages(&self) -> String {
        let raw = std::fs::read_to_string(&self.log).unwrap_or_default();
        raw.split_inclusive("---------- END MESSAGE ----------")
            .map(|message| {
                if message.to_ascii_lowercase().contains("content-transfer-encoding: quoted-printable") {
                    decode_quoted_printable(message)
                } else {
                    message.to_owned()
                }
            })
            .collect()
    }

    /// Waits until the received text contains `needle`.
    pub async fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.messages();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "no mail containing {needle:?} arrived; received:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'=').then(|| bytes.get(i + 1..i + 3)).flatten().and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Starts an SMTP server for one test; it dies with the test process.
pub fn smtp_server() -> SmtpServer {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("received.txt");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = std::fs::File::create(&log).unwrap();
    let mut command = Command::new("python3");
    command.args(["-u", "-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")]).stdout(out).stderr(Stdio::null());
    spawn_for_life_of_process(command, "aiosmtpd (pip install aiosmtpd)");
    wait_for_port(port, "aiosmtpd");
    SmtpServer { port, log, _dir: dir }
}

/// Spawns `command` from a thread that lives as long as the process, with
/// PR_SET_PDEATHSIG so the child dies with it.
fn spawn_for_life_of_process(mut command: Command, what: &'static str) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        #[cfg(target_os = "linux")]
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                // SAFETY: prctl is async-signal-safe; it only sets a flag on this child.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn();
        let started = child.is_ok();
        tx.send(child.map(|_| ()).map_err(|e| e.to_string())).unwrap();
        if started {
            loop {
                std::thread::park();
            }
        }
    });
    if let Err(err) = rx.recv().unwrap() {
        panic!("could not start {what}: {err}; install the test tools with scripts/install-test-tools");
    }
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start listening on port {port} within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `moto_server` once for this test binary, on a free port; it dies
/// with the test process. `AGORA_TEST_MOTO_URL` points at a running one instead.
pub fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(url) = std::env::var("AGORA_TEST_MOTO_URL") {
            return url;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new("moto_server");
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null());
        spawn_for_life_of_process(command, "moto_server (pip install \"moto[server]\")");
        wait_for_port(port, "moto_server");
        format!("http://127.0.0.1:{port}")
    })
}

/// Runs one async test body against both endpoints.
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

/// A Flask service monitored by flask-monitoring-dashboard, started from the
/// virtualenv `scripts/install-test-tools` made (`testkit/peers/`).
pub struct FlaskPeer {
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl FlaskPeer {
    /// The dashboard's address (what a person enters in Agora).
    pub fn dashboard_url(&self) -> String {
        format!("http://127.0.0.1:{}/dashboard", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// The peer's security token (flask-monitoring-dashboard ≤ 2.0) and the
/// password of its dashboard user `admin` (≥ 3).
pub const PEER_TOKEN: &str = "peer-token-0123456789";
pub const PEER_PASSWORD: &str = "peer-pass";

/// Starts the peer app with flask-monitoring-dashboard `fmd5` (5.1.0) or
/// `fmd2` (2.0.7); it dies with the test process.
pub fn flask_peer(version: &str) -> FlaskPeer {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let python = root.join(".tools").join(version).join("bin/python");
    assert!(python.exists(), "{} is missing: run scripts/install-test-tools", python.display());
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(python);
    command
        .arg(root.join("testkit/peers/peer_app.py"))
        .arg(port.to_string())
        .arg(dir.path().join("fmd.db"))
        .env("PEER_TOKEN", PEER_TOKEN)
        .env("PEER_PASSWORD", PEER_PASSWORD)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("peer.log")).unwrap());
    spawn_for_life_of_process(command, "the flask-monitoring-dashboard peer");
    wait_for_port(port, "the flask-monitoring-dashboard peer");
    FlaskPeer { port, _dir: dir }
}
