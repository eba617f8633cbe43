//! `agora bench runs`: log lines accepted per second with live watchers
//! connected (against none, same run), checking that every watcher got
//! every line; and the time from a client's log POST to a watcher holding
//! the line (against the POST's own round trip).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;
use serde_json::{json, Value};

use super::accounts::{create_user, login, USER};
use super::child::AgoraChild;
use super::client::Api;
use super::{machine_line, percentiles};

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Lines sent in the throughput runs.
    #[arg(long, default_value_t = 200_000)]
    pub lines: usize,
    /// Lines per request.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 4)]
    pub senders: usize,
    /// Watchers connected (server-sent events).
    #[arg(long, default_value_t = 4)]
    pub watchers: usize,
    /// Single-line posts timed for latency.
    #[arg(long, default_value_t = 300)]
    pub samples: usize,
}

pub fn run(args: RunsArgs) -> anyhow::Result<()> {
    println!("{}", machine_line());
    let data = tempfile::tempdir()?;
    create_user(data.path(), USER, &[])?;
    let mut agora = AgoraChild::spawn_with(data.path(), &[("AGORA_RUN_LOG_MAX_BYTES", (1u64 << 30).to_string())])?;
    agora.wait_ready(Instant::now(), Duration::from_secs(60))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let base = format!("http://{}/api/v1", agora.addr);
        let token = login(&client, &format!("http://{}", agora.addr)).await?;
        let api = Arc::new(Api { client, base, token });
        let dataset = api.post("/datasets", json!({"name": "bench"})).await?;
        let id = dataset["id"].as_str().context("no dataset id")?.to_owned();
        let (plain, _) = throughput(&api, &id, &args, 0).await?;
        let (watched, complete) = throughput(&api, &id, &args, args.watchers).await?;
        println!("log lines accepted, {} lines in requests of {}, {} in flight:", args.lines, args.batch, args.senders);
        println!(
            "  with {} watchers connected: {watched:.0} lines/s (goal ≥ 10,000); every watcher got every line: {complete}",
            args.watchers
        );
        println!("  with no watcher (same run): {plain:.0} lines/s");
        latency(&api, &id, &args).await
    })
}

/// A watcher: reads the run's event stream and counts the lines it gets;
/// `seen` holds, per line number, when it arrived (for latency).
async fn watch(
    api: Arc<Api>,
    id: String,
    run: String,
    count: Arc<AtomicU64>,
    ready: tokio::sync::oneshot::Sender<()>,
    arrivals: Option<Arc<std::sync::Mutex<Vec<Option<Instant>>>>>,
) -> anyhow::Result<()> {
    let response = api.client.get(format!("{}/datasets/{id}/runs/{run}/logs/events", api.base)).bearer_auth(&api.token).send().await?;
    if !response.status().is_success() {
        bail!("the event stream answered {}", response.status());
    }
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut ready = Some(ready);
    while let Some(chunk) = stream.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else { continue };
            let Ok(value) = serde_json::from_str::<Value>(data.trim()) else { continue };
            if event.contains("event: tail") || event.contains("event:tail") {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                continue;
            }
            let lines = value["lines"].as_array().cloned().unwrap_or_default();
            count.fetch_add(lines.len() as u64, Ordering::Relaxed);
            if let Some(arrivals) = &arrivals {
                let now = Instant::now();
                let mut arrivals = arrivals.lock().unwrap();
                for line in lines {
                    if let Some(n) = line.as_str().and_then(|l| l.strip_prefix("line ")).and_then(|n| n.parse::<usize>().ok()) {
                        if let Some(slot) = arrivals.get_mut(n) {
                            slot.get_or_insert(now);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Lines per second accepted, and whether every watcher got them all.
async fn throughput(api: &Arc<Api>, id: &str, args: &RunsArgs, watchers: usize) -> anyhow::Result<(f64, bool)> {
    let run = api.post(&format!("/datasets/{id}/runs"), json!({"name": format!("throughput {watchers}")})).await?;
    let run = run["id"].as_str().context("no run id")?.to_owned();
    let mut counts = Vec::new();
    for _ in 0..watchers {
        let count = Arc::new(AtomicU64::new(0));
        let (ready, started) = tokio::sync::oneshot::channel();
        tokio::spawn(watch(api.clone(), id.to_owned(), run.clone(), count.clone(), ready, None));
        started.await.context("a watcher did not connect")?;
        counts.push(count);
    }
    let batches = args.lines.div_ceil(args.batch);
    let started = Instant::now();
    futures::stream::iter(0..batches)
        .map(|b| {
            let api = api.clone();
            let path = format!("/datasets/{id}/runs/{run}/logs");
            let lines: Vec<String> =
                (0..args.batch).map(|n| format!("step {} loss 0.{:06} lr 0.001 throughput ok", b * args.batch + n, n)).collect();
            async move { api.post(&path, json!({"lines": lines})).await }
        })
        .buffer_unordered(args.senders)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rate = (batches * args.batch) as f64 / started.elapsed().as_secs_f64();
    let expected = (batches * args.batch) as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while counts.iter().any(|c| c.load(Ordering::Relaxed) < expected) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let complete = counts.iter().all(|c| c.load(Ordering::Relaxed) == expected);
    Ok((rate, complete))
}

/// From a log POST to a watcher holding the line, one line at a time.
async fn latency(api: &Arc<Api>, id: &str, args: &RunsArgs) -> anyhow::Result<()> {
    let run = api.post(&format!("/datasets/{id}/runs"), json!({"name": "latency"})).await?;
    let run = run["id"].as_str().context("no run id")?.to_owned();
    let arrivals = Arc::new(std::sync::Mutex::new(vec![None; args.samples]));
    let (ready, started) = tokio::sync::oneshot::channel();
    tokio::spawn(watch(api.clone(), id.to_owned(), run.clone(), Arc::new(AtomicU64::new(0)), ready, Some(arrivals.clone())));
    started.await.context("the watcher did not connect")?;
    let path = format!("/datasets/{id}/runs/{run}/logs");
    let (mut sent, mut acked) = (Vec::new(), Vec::new());
    for n in 0..args.samples {
        let at = Instant::now();
        api.post(&path, json!({"lines": [format!("line {n}")]})).await?;
        acked.push(at.elapsed().as_secs_f64() * 1000.0);
        sent.push(at);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let arrivals = arrivals.lock().unwrap().clone();
    let mut delays: Vec<f64> =
        sent.iter().zip(&arrivals).filter_map(|(sent, arrived)| arrived.map(|a| a.duration_since(*sent).as_secs_f64() * 1000.0)).collect();
    let received = delays.len();
    let (p50, p99) = percentiles(&mut delays);
    let (ack50, _) = percentiles(&mut acked);
    println!("from a log POST to a connected watcher holding the line ({received} of {} lines arrived):", args.samples);
    println!("  p50 {p50:.2} ms, p99 {p99:.2} ms (goal p50 ≤ 100 ms); the POST's own round trip (same run): p50 {ack50:.2} ms");
    Ok(())
}
