//! `agora bench accounts`: what logging in costs.
//!
//! - argon2id hash time in this process (OWASP parameters), next to a
//!   SHA-256 of the same input for scale;
//! - p50/p90 latency of `POST /api/v1/auth/token` against a child `agora
//!   serve`, next to `GET /api/v1/me` (same server, no hashing);
//! - a burst of concurrent logins: throughput, latency, and the server's
//!   peak resident memory over idle, against the stated bound (hashes run
//!   at most one per core, 19 MiB each);
//! - the abuse limits under a flood of failed logins from unique accounts
//!   (2 MB names among them) and IPv6 addresses rotating through 65,536
//!   /64s: keys tracked, memory, and the cost of a check, next to the same
//!   number of checks of one key.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use sha2::Digest;

use agora_core::auth::password;
use agora_core::secret::Secret;

use super::child::{AgoraChild, PeakRss};
use super::{machine_line, summarize};

#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// Sequential logins timed for the latency figures.
    #[arg(long, default_value_t = 40)]
    pub logins: usize,
    /// Concurrent clients in the burst.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Logins per client in the burst.
    #[arg(long, default_value_t = 4)]
    pub per_client: usize,
}

pub(super) const USER: &str = "bench";
const PASSWORD: &str = "a bench password";

pub fn run(args: AccountsArgs) -> anyhow::Result<()> {
    println!("{}", machine_line());
    abuse_limits();
    hashing();

    let data = tempfile::tempdir().context("no temp dir")?;
    create_user(data.path(), USER, &[])?;
    let mut child = AgoraChild::spawn(data.path())?;
    child.wait_ready(Instant::now(), Duration::from_secs(60))?;
    let base = format!("http://{}", child.addr);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
        sequential(&client, &base, args.logins).await?;
        burst(&client, &base, &child, &args).await
    })
}

fn abuse_limits() {
    use agora_core::auth::limits::AuthLimits;
    const FLOOD: u32 = 1_000_000;
    let time = |work: &dyn Fn(u32)| {
        let started = Instant::now();
        for i in 0..FLOOD {
            work(i);
        }
        started.elapsed().as_secs_f64() * 1e9 / f64::from(FLOOD)
    };
    let one = AuthLimits::default();
    let ip = Some(std::net::IpAddr::from([192, 0, 2, 1]));
    let same_ns = time(&|_| one.login_failed(ip, "alice"));

    let flooded = AuthLimits::default();
    let rss_before = super::own_rss_kib();
    let huge = "x".repeat(2 << 20);
    let flood_ns = time(&|i| {
        // 65,536 /64s of one /48, a new address in each every time.
        let ip = std::net::Ipv6Addr::new(0x2001, 0xdb8, 7, (i % 65_536) as u16, (i >> 16) as u16, 1, 2, 3);
        let account = if i % 100_000 == 0 { format!("{huge}{i}") } else { format!("guess-{i:0>200}") };
        flooded.login_failed(Some(ip.into()), &account);
    });
    let grown_mib = super::own_rss_kib().saturating_sub(rss_before) as f64 / 1024.0;
    println!(
        "abuse limits: {FLOOD} failed logins from unique accounts (200 B, ten of 2 MB) and 65,536 rotating IPv6 /64s: \
         {} keys tracked (bound 600,000), +{grown_mib:.1} MiB RSS, {flood_ns:.0} ns per check; \
         the same number of checks of one key: {same_ns:.0} ns each",
        flooded.tracked()
    );
}

fn hashing() {
    let secret = Secret::new(PASSWORD.to_owned());
    let mut hash_ms: Vec<f64> = (0..10)
        .map(|_| {
            let started = Instant::now();
            let _ = password::hash_blocking(&secret);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let stored = password::hash_blocking(&secret).unwrap_or_default();
    let mut verify_ms: Vec<f64> = (0..10)
        .map(|_| {
            let started = Instant::now();
            password::verify_blocking(&secret, &stored);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let started = Instant::now();
    for _ in 0..10_000 {
        std::hint::black_box(sha2::Sha256::digest(PASSWORD.as_bytes()));
    }
    let sha_us = started.elapsed().as_secs_f64() * 1e6 / 10_000.0;
    let (hash_p50, hash_max) = summarize(&mut hash_ms);
    let (verify_p50, _) = summarize(&mut verify_ms);
    println!("argon2id (m=19 MiB, t=2, p=1): hash p50 {hash_p50:.1} ms (max {hash_max:.1}), verify p50 {verify_p50:.1} ms; SHA-256 of the same input: {sha_us:.2} µs");
}

/// A verified account with the bench password, made with `agora admin
/// create-user` on the data dir: its embedded store, or the store `env`
/// names (the first one made becomes an administrator).
pub(super) fn create_user(data: &std::path::Path, username: &str, env: &[(&str, String)]) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut admin = Command::new(exe)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["admin", "--s3-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(["create-user", username, &format!("{username}@example.com")])
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run agora admin create-user")?;
    admin.stdin.take().context("no stdin")?.write_all(format!("{PASSWORD}\n").as_bytes())?;
    let output = admin.wait_with_output()?;
    if !output.status.success() {
        bail!("agora admin create-user failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

pub(super) async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let response =
        client.post(format!("{base}/api/v1/auth/token")).json(&serde_json::json!({"username": USER, "password": PASSWORD})).send().await?;
    if !response.status().is_success() {
        bail!("login answered {}: {}", response.status(), response.text().await.unwrap_or_default());
    }
    let body: serde_json::Value = response.json().await?;
    Ok(body["token"].as_str().unwrap_or_default().to_owned())
}

async fn sequential(client: &reqwest::Client, base: &str, n: usize) -> anyhow::Result<()> {
    let token = login(client, base).await?; // warm-up
    let mut login_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        login(client, base).await?;
        login_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let mut me_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let status = client.get(format!("{base}/api/v1/me")).bearer_auth(&token).send().await?.status();
        if !status.is_success() {
            bail!("GET /api/v1/me answered {status}");
        }
        me_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let p90 = |samples: &mut Vec<f64>| {
        samples.sort_by(|a, b| a.total_cmp(b));
        samples[(samples.len() * 9 / 10).min(samples.len() - 1)]
    };
    let login_p90 = p90(&mut login_ms);
    let (login_p50, _) = summarize(&mut login_ms);
    let (me_p50, _) = summarize(&mut me_ms);
    println!(
        "login over HTTP ({n} sequential): p50 {login_p50:.1} ms, p90 {login_p90:.1} ms; GET /api/v1/me with the token: p50 {me_p50:.2} ms"
    );
    Ok(())
}

async fn burst(client: &reqwest::Client, base: &str, child: &AgoraChild, args: &AccountsArgs) -> anyhow::Result<()> {
    let idle_kib = child.rss_kib().unwrap_or(0);
    let peak = PeakRss::start(child.pid(), idle_kib, Duration::from_millis(5));
    let started = Instant::now();
    let clients: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (client, base, per_client) = (client.clone(), base.to_owned(), args.per_client);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let t = Instant::now();
                    login(&client, &base).await?;
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let peak_kib = peak.stop();
    let total = latencies.len();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let p99 = latencies[(total * 99 / 100).min(total - 1)];
    let (p50, max) = summarize(&mut latencies);
    let growth_mib = peak_kib.saturating_sub(idle_kib) as f64 / 1024.0;
    let bound_mib = password::memory_bound_bytes() as f64 / (1024.0 * 1024.0);
    println!(
        "{total} logins from {} concurrent clients: {:.1} logins/s, p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms",
        args.concurrency,
        total as f64 / elapsed
    );
    println!(
        "server memory: idle {:.1} MiB, peak growth during the burst {growth_mib:.1} MiB; bound for argon2 ({} hashes at once × 19 MiB) {bound_mib:.0} MiB — {}",
        idle_kib as f64 / 1024.0,
        password::max_concurrent_hashes(),
        if growth_mib <= bound_mib + 16.0 { "within the bound (+16 MiB for connections)" } else { "ABOVE the bound" }
    );
    Ok(())
}
