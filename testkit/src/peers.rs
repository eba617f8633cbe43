//! The real programs tests talk to: an SMTP server (aiosmtpd), moto's S3
//! server and Flask services monitored by flask-monitoring-dashboard. Each
//! runs from its own virtualenv under `.tools/` (made by
//! `scripts/install-test-tools` from `testkit/peers/*.txt`) and dies with the
//! test process.
//!
//! Every peer binds a port of its own choosing and prints
//! `agora-peer-port PORT` on stdout once it listens (other lines may come
//! first: flask-monitoring-dashboard prints its own). Handing a child a port found free
//! beforehand races with everything else a test binary starts on port 0 (the
//! port can be taken before the child binds it, and then a connection that
//! "proves" the child is up reaches someone else): mail then goes to another
//! test's server.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a peer may take to print its port (Python imports on a busy
/// 2-core machine take seconds).
const START_DEADLINE: Duration = Duration::from_secs(120);

/// The workspace root (where `.tools/` and `testkit/peers/` are).
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The Python interpreter of the test peer virtualenv `name`
/// (`.tools/<name>/bin/python`).
pub fn peer_python(name: &str) -> PathBuf {
    let python = root().join(".tools").join(name).join("bin/python");
    assert!(python.exists(), "{} is missing: run scripts/install-test-tools", python.display());
    python
}

/// `testkit/peers/<file>`.
pub fn peer_script(file: &str) -> PathBuf {
    root().join("testkit/peers").join(file)
}

/// Starts `command` from a thread that lives as long as the process (with
/// PR_SET_PDEATHSIG, so the child dies with it) and returns the port it
/// announces (`agora-peer-port PORT`).
fn start_peer(mut command: Command, what: &'static str) -> u16 {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let (tx, rx) = std::sync::mpsc::channel::<Result<u16, String>>();
    let stderr_head = Arc::new(Mutex::new(Vec::new()));
    let head = stderr_head.clone();
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
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                let _ = tx.send(Err(format!("could not start it: {err}")));
                return;
            }
        };
        // Keep the start of stderr (where a failed import says why) and drain
        // the rest, so a chatty peer never blocks on a full pipe.
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut head = head.lock().unwrap();
                let room = 16_384usize.saturating_sub(head.len());
                head.extend_from_slice(&buf[..n.min(room)]);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let port = loop {
            let mut line = String::new();
            match stdout.read_line(&mut line) {
                Ok(0) => break Err(format!("it exited before it listened ({})", child.wait().map(|s| s.to_string()).unwrap_or_default())),
                Ok(_) => {
                    if let Some(port) = line.trim().strip_prefix("agora-peer-port ") {
                        break port.parse::<u16>().map_err(|_| format!("it announced {line:?}, not a port"));
                    }
                }
                Err(err) => break Err(format!("reading its output failed: {err}")),
            }
        };
        let started = port.is_ok();
        let _ = tx.send(port);
        if started {
            // Drain stdout for the child's life, then hold the thread (its end
            // would signal the child through PR_SET_PDEATHSIG).
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            loop {
                std::thread::park();
            }
        }
    });
    let outcome = rx.recv_timeout(START_DEADLINE).unwrap_or_else(|_| Err(format!("it printed no port within {START_DEADLINE:?}")));
    match outcome {
        Ok(port) => port,
        Err(why) => {
            // Give the stderr reader a moment to collect the last words.
            let deadline = Instant::now() + Duration::from_millis(500);
            while Instant::now() < deadline && stderr_head.lock().unwrap().is_empty() {
                std::thread::sleep(Duration::from_millis(20));
            }
            let stderr = String::from_utf8_lossy(&stderr_head.lock().unwrap()).into_owned();
            panic!("{what} did not start: {why}; install the test peers with scripts/install-test-tools\n{stderr}");
        }
    }
}

/// A real SMTP server (aiosmtpd) that appends every message it receives to a
/// file; [`SmtpServer::messages`] reads them back.
pub struct SmtpServer {
    pub port: u16,
    log: PathBuf,
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
        let deadline = Instant::now() + Duration::from_secs(30);
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
    let mut command = Command::new(peer_python("smtp"));
    command.arg(peer_script("smtp_sink.py")).arg(&log);
    let port = start_peer(command, "the SMTP server (aiosmtpd)");
    SmtpServer { port, log, _dir: dir }
}

/// Starts moto's S3 server once for this test binary; it dies with the test
/// process. `AGORA_TEST_MOTO_URL` points at a running one instead.
pub fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(url) = std::env::var("AGORA_TEST_MOTO_URL") {
            return url;
        }
        let mut command = Command::new(peer_python("moto"));
        command.arg(peer_script("moto_s3.py"));
        let port = start_peer(command, "moto's S3 server");
        format!("http://127.0.0.1:{port}")
    })
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
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(peer_python(version));
    command
        .arg(peer_script("peer_app.py"))
        .arg(dir.path().join("fmd.db"))
        .env("PEER_TOKEN", PEER_TOKEN)
        .env("PEER_PASSWORD", PEER_PASSWORD);
    let port = start_peer(command, "the flask-monitoring-dashboard peer");
    FlaskPeer { port, _dir: dir }
}

/// An S3 endpoint of a real Ceph cluster: its address and the keys of its
/// S3 user.
pub struct RgwEndpoint {
    pub url: String,
    pub access_key: String,
    pub secret_key: String,
}

/// Starts a single-node Ceph cluster with the RADOS Gateway once for this
/// test binary (`testkit/peers/ceph_rgw.sh`: a monitor, a memstore OSD and
/// RGW, about 12 s); it dies with the test process. `AGORA_TEST_RGW_URL`,
/// `AGORA_TEST_RGW_ACCESS_KEY` and `AGORA_TEST_RGW_SECRET_KEY` point at a
/// running one instead.
pub fn rgw_endpoint() -> &'static RgwEndpoint {
    static ENDPOINT: OnceLock<RgwEndpoint> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(url) = std::env::var("AGORA_TEST_RGW_URL") {
            let key = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("AGORA_TEST_RGW_URL is set, so {name} must be too"));
            return RgwEndpoint { url, access_key: key("AGORA_TEST_RGW_ACCESS_KEY"), secret_key: key("AGORA_TEST_RGW_SECRET_KEY") };
        }
        let dir = rgw_dir();
        let keys = agora_s3d::credentials::Credentials::generate();
        let (access_key, secret_key) = (keys.access_key_id, keys.secret_access_key);
        let mut command = Command::new(peer_script("ceph_rgw.sh"));
        command.arg(&dir).arg(&access_key).arg(&secret_key);
        let port = start_peer(command, "the Ceph cluster (radosgw)");
        RgwEndpoint { url: format!("http://127.0.0.1:{port}"), access_key, secret_key }
    })
}

/// `<temp>/agora-rgw-<pid>` for this process. The cluster dies with a
/// SIGKILL, so nobody is left to remove its directory: each start removes
/// those of processes that are gone.
fn rgw_dir() -> PathBuf {
    let temp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&temp) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix("agora-rgw-")).and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let dir = temp.join(format!("agora-rgw-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
