//! Start-up time: spawns this very binary as `agora serve` on a free port with
//! an empty data directory, and polls until the port accepts connections and
//! until `/readyz` answers 200. Repeats and prints medians.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

use super::{machine_line, summarize};

#[derive(Debug, Args)]
pub struct StartupArgs {
    /// How many starts to measure.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
}

/// How long one start may take before the benchmark gives up.
const START_DEADLINE: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(2);

pub fn run(args: StartupArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the agora executable")?;
    let mut listening = Vec::new();
    let mut ready = Vec::new();
    for _ in 0..args.runs {
        let (l, r) = one_start(&exe)?;
        listening.push(l);
        ready.push(r);
    }
    let (listen_median, listen_max) = summarize(&mut listening);
    let (ready_median, ready_max) = summarize(&mut ready);
    println!("{}", machine_line());
    println!("start-up over {} runs (median / max):", args.runs);
    println!("  port accepts connections   {listen_median:8.1} ms / {listen_max:8.1} ms");
    println!("  first successful /readyz   {ready_median:8.1} ms / {ready_max:8.1} ms");
    println!("  readiness after listening  {:8.1} ms (median)", ready_median - listen_median);
    Ok(())
}

fn one_start(exe: &std::path::Path) -> anyhow::Result<(f64, f64)> {
    let data = tempfile::tempdir().context("cannot create a temp data dir")?;
    let addr = free_port()?;
    let started = Instant::now();
    let child = Command::new(exe)
        .arg("serve")
        .arg("--addr")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(data.path())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start agora serve")?;
    let mut child = KillOnDrop(child);

    let mut listening = None;
    while started.elapsed() < START_DEADLINE {
        if let Some(status) = child.0.try_wait()? {
            bail!("agora serve exited early with {status}");
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            let since_start = started.elapsed().as_secs_f64() * 1000.0;
            listening.get_or_insert(since_start);
            if readyz_is_ok(&mut stream)? {
                return Ok((listening.unwrap_or(since_start), since_start));
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    bail!("agora serve did not become ready within {} s", START_DEADLINE.as_secs())
}

/// A minimal HTTP/1.1 GET: enough to read the status line.
fn readyz_is_ok(stream: &mut TcpStream) -> anyhow::Result<bool> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 16];
    let n = stream.read(&mut head)?;
    Ok(head[..n].starts_with(b"HTTP/1.1 200"))
}

fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?)
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
