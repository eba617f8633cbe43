//! `agora bench dashboards`: reading a 100 KB dashboard over HTTP (against a
//! trivial route in the same run), and an eviction pass over the metadata
//! of 100,000 dashboards (against only counting them).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};

use agora_core::dashboards::budget::{plan, Budget};
use agora_core::index::dashboards::{budget_view, count};
use agora_core::index::{DashboardDoc, Op, SearchIndex};

use super::accounts::{create_user, login, USER};
use super::child::AgoraChild;
use super::{machine_line, percentiles};

#[derive(Debug, Args)]
pub struct DashboardsArgs {
    /// Bytes of the dashboard read.
    #[arg(long, default_value_t = 100_000)]
    pub bytes: usize,
    /// Timed reads.
    #[arg(long, default_value_t = 500)]
    pub reads: usize,
    /// Dashboards whose metadata an eviction pass goes over.
    #[arg(long, default_value_t = 100_000)]
    pub dashboards: usize,
    /// Timed eviction passes.
    #[arg(long, default_value_t = 10)]
    pub passes: usize,
}

pub fn run(args: DashboardsArgs) -> anyhow::Result<()> {
    println!("{}", machine_line());
    let data = tempfile::tempdir()?;
    create_user(data.path(), USER, &[])?;
    let mut agora = AgoraChild::spawn(data.path())?;
    agora.wait_ready(Instant::now(), Duration::from_secs(60))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(reads(&format!("http://{}", agora.addr), &args))?;
    drop(agora);
    runtime.block_on(eviction_pass(&args))
}

/// A figure of at most `bytes` of JSON: one scatter trace of random-ish points.
fn figure_of(bytes: usize) -> Value {
    let of = |points: usize| {
        let x: Vec<u64> = (0..points as u64).collect();
        let y: Vec<f64> = (0..points).map(|i| ((i * 7919) % 10_007) as f64 / 10_007.0).collect();
        json!({"data": [{"type": "scatter", "mode": "lines", "name": "loss", "x": x, "y": y}], "layout": {"title": {"text": "bench"}}})
    };
    let mut points = bytes / 16;
    while points > 0 && of(points).to_string().len() > bytes {
        points = points * 9 / 10;
    }
    of(points)
}

async fn reads(base: &str, args: &DashboardsArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let token = login(&client, base).await?;
    let body = json!({"title": "bench", "panels": [{"title": "loss", "x": 0, "y": 0, "w": 12, "h": 6, "kind": "figure", "figure": figure_of(args.bytes)}]});
    let response = client.post(format!("{base}/api/v1/dashboards")).bearer_auth(&token).json(&body).send().await?;
    if !response.status().is_success() {
        bail!("creating the dashboard answered {}: {}", response.status(), response.text().await.unwrap_or_default());
    }
    let made: Value = response.json().await?;
    let id = made["id"].as_str().context("no dashboard id")?.to_owned();
    let stored = made["bytes"].as_u64().unwrap_or_default();
    let time = |url: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let mut samples = Vec::with_capacity(args.reads);
            for n in 0..args.reads + 20 {
                let started = Instant::now();
                let response = client.get(&url).bearer_auth(&token).send().await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if !status.is_success() {
                    bail!("GET {url} answered {status}");
                }
                if n >= 20 {
                    samples.push(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
            anyhow::Ok(percentiles(&mut samples))
        }
    };
    let (dashboard_p50, dashboard_p99) = time(format!("{base}/api/v1/dashboards/{id}")).await?;
    let (health_p50, health_p99) = time(format!("{base}/healthz")).await?;
    println!("GET of one dashboard ({:.0} KB stored) over HTTP, {} reads, one at a time:", stored as f64 / 1000.0, args.reads);
    println!("  dashboard: p50 {dashboard_p50:.2} ms, p99 {dashboard_p99:.2} ms  (goal: p50 ≤ 5 ms)");
    println!("  /healthz (the HTTP floor, same run): p50 {health_p50:.2} ms, p99 {health_p99:.2} ms");
    Ok(())
}

async fn eviction_pass(args: &DashboardsArgs) -> anyhow::Result<()> {
    let index = SearchIndex::in_memory();
    let started = Instant::now();
    let mut used = 0u64;
    for start in (0..args.dashboards).step_by(20_000) {
        let ops: Vec<Op> = (start..(start + 20_000).min(args.dashboards))
            .map(|n| {
                let bytes = 20_000 + (n as u64 * 7919) % 180_000;
                used += bytes;
                Op::Dashboard(DashboardDoc {
                    id: format!("{n:016x}"),
                    title: format!("dashboard {n}"),
                    description: String::new(),
                    text: vec![],
                    owner: format!("user{}", n % 500),
                    readers: vec![format!("user{}", n % 500)],
                    updated_at: 1_700_000_000 + n as i64,
                    last_used: 1_700_000_000_000 + ((n as i64 * 104_729) % 10_000_000),
                    bytes,
                    whitelisted: n % 100 == 0,
                    protected: n % 1000 == 0,
                })
            })
            .collect();
        index.apply(ops).await?;
    }
    println!("{} dashboards' metadata indexed in {:.1} s", args.dashboards, started.elapsed().as_secs_f64());
    // A budget the dashboards have just passed the threshold of.
    let budget = Budget::new(used * 100 / 96, 95, 60, None).map_err(anyhow::Error::msg)?;
    let (mut passes, mut counts, mut chosen) = (Vec::new(), Vec::new(), 0);
    for _ in 0..args.passes {
        let started = Instant::now();
        let (usage, candidates) = index.read(budget_view).await?;
        chosen = plan(&usage, candidates, budget.target(), budget.per_user).len();
        passes.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        index.read(count).await?;
        counts.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (pass_p50, pass_max) = percentiles(&mut passes);
    let (count_p50, _) = percentiles(&mut counts);
    println!(
        "eviction pass over {} dashboards (usage per owner, candidates without whitelisted/protected, over-share owners then LRU, {chosen} chosen down to 60 %):",
        args.dashboards
    );
    println!("  p50 {pass_p50:.0} ms, slowest {pass_max:.0} ms  (goal: ≤ 2,000 ms); only counting them (same run): p50 {count_p50:.1} ms");
    Ok(())
}
