//! A child `agora serve` for benchmarks: its own data directory and ports,
//! killed when dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct AgoraChild {
    child: Child,
    pub addr: SocketAddr,
    pub s3_addr: SocketAddr,
}

pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?)
}

impl AgoraChild {
    /// A client of the child's embedded S3 endpoint, with the credentials
    /// it keeps in `data_dir`.
    pub async fn storage(&self, data_dir: &Path) -> anyhow::Result<agora_core::storage::Storage> {
        let credentials = agora_s3d::credentials::Credentials::load_or_create(&data_dir.join("s3/credentials.json"))?;
        Ok(agora_core::storage::Storage::connect(&agora_core::storage::StorageConfig {
            endpoint: Some(format!("http://{}", self.s3_addr)),
            public_endpoint: None,
            region: "us-east-1".into(),
            bucket: "agora".into(),
            credentials: Some((credentials.access_key_id.clone(), agora_core::secret::Secret::new(credentials.secret_access_key.clone()))),
            path_style: true,
        })
        .await)
    }

    /// Spawns `agora serve` without waiting for it.
    pub fn spawn(data_dir: &Path) -> anyhow::Result<AgoraChild> {
        Self::spawn_with(data_dir, &[])
    }

    /// Spawns `agora serve` with extra environment (e.g. an external S3).
    pub fn spawn_with(data_dir: &Path, env: &[(&str, String)]) -> anyhow::Result<AgoraChild> {
        let exe = std::env::current_exe().context("cannot find the agora executable")?;
        let (addr, s3_addr) = (free_port()?, free_port()?);
        let child = Command::new(exe)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("serve")
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--s3-addr")
            .arg(s3_addr.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start agora serve")?;
        Ok(AgoraChild { child, addr, s3_addr })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls until `/readyz` answers 200; returns (time until the port
    /// accepted, time until ready) since `started`.
    pub fn wait_ready(&mut self, started: Instant, deadline: Duration) -> anyhow::Result<(Duration, Duration)> {
        let mut listening = None;
        while started.elapsed() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("agora serve exited early with {status}");
            }
            if let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)) {
                let now = started.elapsed();
                listening.get_or_insert(now);
                if readyz_is_ok(&mut stream)? {
                    return Ok((listening.unwrap_or(now), now));
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        bail!("agora serve did not become ready within {} s", deadline.as_secs())
    }

    /// CPU time (user + system) this process has used so far (Linux).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // Fields after the command name (which may contain spaces) start at ") ".
        let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
        let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0) // USER_HZ is 100 on Linux
    }

    /// Resident set size now, in KiB (Linux).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib_of(self.pid())
    }
}

impl Drop for AgoraChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set size of any process, in KiB (Linux).
fn rss_kib_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Samples a process's resident set size on a thread of its own and keeps
/// the highest value seen, until [`PeakRss::stop`].
pub struct PeakRss {
    peak: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<()>,
}

impl PeakRss {
    /// Starts sampling `pid` every `every`, with `start_kib` as the first peak.
    pub fn start(pid: u32, start_kib: u64, every: Duration) -> PeakRss {
        let peak = Arc::new(AtomicU64::new(start_kib));
        let running = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (peak, running) = (Arc::clone(&peak), Arc::clone(&running));
            std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    if let Some(kib) = rss_kib_of(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(every);
                }
            })
        };
        PeakRss { peak, running, sampler }
    }

    /// Stops sampling; the peak in KiB.
    pub fn stop(self) -> u64 {
        self.running.store(false, Ordering::Relaxed);
        let _ = self.sampler.join();
        self.peak.load(Ordering::Relaxed)
    }
}

/// A minimal HTTP/1.1 GET: enough to read the status line.
fn readyz_is_ok(stream: &mut TcpStream) -> anyhow::Result<bool> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 16];
    let n = stream.read(&mut head)?;
    Ok(head[..n].starts_with(b"HTTP/1.1 200"))
}
