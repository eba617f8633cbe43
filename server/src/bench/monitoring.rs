//! `agora bench monitoring`: what recording every request costs on a
//! trivial route (requests/s with and without, same run); a statistic over
//! a year of recorded calls in daily slices; the quantile sketch's error
//! against exact percentiles.

use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;

use agora_core::monitoring::{Monitor, MonitorSettings, RecordedCall};
use agora_model::monitoring::{Call, Query, Sketch, Slicing, Statistic, TimeSlice};

use super::child::AgoraChild;
use super::{machine_line, percentiles};

#[derive(Debug, Args)]
pub struct MonitoringArgs {
    /// Seconds of load per round.
    #[arg(long, default_value_t = 4)]
    pub seconds: u64,
    /// Rounds per child (alternating: on, off, on, off…).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Recorded calls the statistic goes over (spread over a year).
    #[arg(long, default_value_t = 10_000_000)]
    pub calls: usize,
    /// Timed statistic queries.
    #[arg(long, default_value_t = 5)]
    pub queries: usize,
    /// Samples for the sketch's error.
    #[arg(long, default_value_t = 1_000_000)]
    pub samples: usize,
}

pub fn run(args: MonitoringArgs) -> anyhow::Result<()> {
    println!("{}", machine_line());
    overhead(&args)?;
    sketch_error(args.samples);
    let calls = a_year_of_calls(args.calls);
    statistic_over_a_year(&args, &calls);
    from_the_bucket(&args, calls)?;
    Ok(())
}

const YEAR_MS: i64 = 365 * 86_400_000;

fn year_start() -> i64 {
    agora_model::monitoring::parse_iso8601("2025-01-01").unwrap_or_default()
}

/// `n` calls spread evenly over 2025, three endpoints, a few thousand addresses.
fn a_year_of_calls(n: usize) -> Vec<Call> {
    let built = Instant::now();
    let times = durations(n);
    let calls: Vec<Call> = (0..n)
        .map(|i| Call {
            at: year_start() + (i as i64 * YEAR_MS / n as i64),
            endpoint: ["GET /api/v1/datasets", "GET /api/v1/search", "POST /api/v1/datasets/{id}/uploads"][i % 3].to_owned(),
            duration: times[i],
            ip: format!("10.0.{}.{}", i % 7, i % 251),
        })
        .collect();
    println!("{n} calls over a year built in {:.1} s", built.elapsed().as_secs_f64());
    calls
}

fn yearly_query() -> Query {
    Query {
        statistic: Statistic::Percentile90,
        endpoint: None,
        start: Some(year_start()),
        end: Some(year_start() + YEAR_MS),
        slicing: Some(Slicing { slice: TimeSlice::Day, calendar: true }),
    }
}

/// The same query as people send it: the calls stored as segments in a
/// bucket (the embedded endpoint of a child agora), answered by the
/// monitoring code from day rollups.
fn from_the_bucket(args: &MonitoringArgs, calls: Vec<Call>) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut child = AgoraChild::spawn(data.path())?;
    child.wait_ready(Instant::now(), Duration::from_secs(60))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let storage = runtime.block_on(child.storage(data.path()))?;
    let monitor = || Monitor::new(storage.clone(), "bench".into(), MonitorSettings::default());
    let writer = monitor();
    let started = Instant::now();
    let records: Vec<RecordedCall> = calls
        .into_iter()
        .map(|c| RecordedCall {
            at: c.at,
            endpoint: c.endpoint,
            status: 200,
            duration_us: (c.duration * 1000.0) as u64,
            ip: c.ip,
            user: None,
            version: "bench".into(),
        })
        .collect();
    let total = records.len();
    runtime.block_on(async {
        // One segment per day, as a day of flushes would leave (fewer, bigger).
        let mut day_calls = Vec::new();
        let mut day = records.first().map(|c| c.at / 86_400_000).unwrap_or_default();
        for record in records {
            if record.at / 86_400_000 != day {
                writer.write("bench", std::mem::take(&mut day_calls), "day").await?;
                day = record.at / 86_400_000;
            }
            day_calls.push(record);
        }
        writer.write("bench", day_calls, "day").await
    })?;
    println!("{total} calls written to the bucket as 365 daily segments in {:.1} s", started.elapsed().as_secs_f64());
    let query = yearly_query();
    let end = year_start() + YEAR_MS;
    let started = Instant::now();
    runtime.block_on(monitor().statistics("bench", &[], end, &query)).map_err(|e| anyhow::anyhow!(e.message))?;
    let cold = started.elapsed().as_secs_f64() * 1000.0;
    let (mut from_bucket, mut cached) = (Vec::new(), Vec::new());
    let warm = monitor();
    for _ in 0..args.queries {
        // A node that has not read the rollups: 365 objects from the bucket.
        let started = Instant::now();
        runtime.block_on(monitor().statistics("bench", &[], end, &query)).map_err(|e| anyhow::anyhow!(e.message))?;
        from_bucket.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        runtime.block_on(warm.statistics("bench", &[], end, &query)).map_err(|e| anyhow::anyhow!(e.message))?;
        cached.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let ((bucket_p50, _), (cached_p50, _)) = (percentiles(&mut from_bucket), percentiles(&mut cached));
    println!("percentile_90 in daily slices over {total} calls in the bucket (Monitor::statistics, day rollups, p90 within 1 %):");
    println!("  first query, building the 365 rollups from the segments: {cold:.0} ms");
    println!(
        "  a node reading the stored rollups: p50 {bucket_p50:.0} ms; with them in memory: p50 {cached_p50:.1} ms (goal p50 ≤ 200 ms)"
    );
    Ok(())
}

fn overhead(args: &MonitoringArgs) -> anyhow::Result<()> {
    let (on_dir, off_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut on = AgoraChild::spawn(on_dir.path())?;
    let mut off = AgoraChild::spawn_with(off_dir.path(), &[("AGORA_MONITOR_OFF", "true".into())])?;
    on.wait_ready(Instant::now(), Duration::from_secs(60))?;
    off.wait_ready(Instant::now(), Duration::from_secs(60))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Per child: requests/s of each round, and server CPU seconds and requests over all rounds.
    let (mut with, mut without) = ((Vec::new(), 0.0, 0.0), (Vec::new(), 0.0, 0.0));
    for round in 0..args.rounds * 2 {
        let (child, tally) = if round % 2 == 0 { (&on, &mut with) } else { (&off, &mut without) };
        let cpu = child.cpu_seconds().unwrap_or_default();
        let (rate, requests) = runtime.block_on(load(&format!("http://{}/healthz", child.addr), args))?;
        tally.0.push(rate);
        tally.1 += child.cpu_seconds().unwrap_or_default() - cpu;
        tally.2 += requests as f64;
    }
    let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len() as f64;
    let (rate_with, rate_without) = (mean(&with.0), mean(&without.0));
    let (cpu_with, cpu_without) = (with.1 / with.2 * 1e6, without.1 / without.2 * 1e6);
    println!("GET /healthz, {} in flight, {} s × {} rounds each, alternating:", args.concurrency, args.seconds, args.rounds);
    println!(
        "  recording every request: {rate_with:.0} requests/s; not recording (AGORA_MONITOR_OFF, same run): {rate_without:.0} requests/s; cost {:.1} % (goal ≤ 2 %)",
        (rate_without - rate_with) / rate_without * 100.0
    );
    println!(
        "  server CPU per request: {cpu_with:.2} µs recording vs {cpu_without:.2} µs not; cost {:.1} % (the load generator shares the cores, so requests/s is noisy; CPU per request is not)",
        (cpu_with - cpu_without) / cpu_without * 100.0
    );
    Ok(())
}

/// Requests/s and requests answered in one round of load.
async fn load(url: &str, args: &MonitoringArgs) -> anyhow::Result<(f64, u64)> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let done: Vec<u64> = futures::stream::iter(0..args.concurrency)
        .map(|_| {
            let client = client.clone();
            async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if client.get(url).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
                        n += 1;
                    }
                }
                n
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let requests = done.iter().sum::<u64>();
    Ok((requests as f64 / started.elapsed().as_secs_f64(), requests))
}

/// Pseudo-random durations with a long tail (ms), reproducible.
fn durations(n: usize) -> Vec<f64> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            0.2 + (-(1.0 - u).ln()) * 8.0 + if u > 0.98 { 200.0 * u } else { 0.0 }
        })
        .collect()
}

fn sketch_error(samples: usize) {
    let values = durations(samples);
    let mut sketch = Sketch::default();
    for v in &values {
        sketch.add(*v);
    }
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let mut worst: f64 = 0.0;
    let mut cells = Vec::new();
    for q in [0.25, 0.5, 0.75, 0.9, 0.99] {
        let exact = sorted[(q * (sorted.len() - 1) as f64).round() as usize];
        let estimate = sketch.quantile(q).unwrap_or_default();
        let error = (estimate - exact).abs() / exact * 100.0;
        worst = worst.max(error);
        cells.push(format!("p{:.0} {error:.3} %", q * 100.0));
    }
    println!("quantile sketch vs exact on {samples} samples (stated bound 1 %): {}; worst {worst:.3} %", cells.join(", "));
}

fn statistic_over_a_year(args: &MonitoringArgs, calls: &[Call]) {
    let refs: Vec<&Call> = calls.iter().collect();
    let query = yearly_query();
    let (start, year_ms) = (year_start(), YEAR_MS);
    let mut timings = Vec::new();
    for _ in 0..args.queries {
        let started = Instant::now();
        let mut at = 0;
        let mut points = 0;
        for (_, from, to) in agora_model::monitoring::slices(query.slicing.unwrap(), start, start + year_ms).unwrap_or_default() {
            while at < refs.len() && refs[at].at < from {
                at += 1;
            }
            let first = at;
            while at < refs.len() && refs[at].at < to {
                at += 1;
            }
            if agora_model::monitoring::compute(query.statistic, &refs[first..at]).is_some() {
                points += 1;
            }
        }
        timings.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(points);
    }
    let (p50, _) = percentiles(&mut timings);
    // The floor: one pass over the same calls, summing.
    let started = Instant::now();
    std::hint::black_box(refs.iter().map(|c| c.duration).sum::<f64>());
    let one_pass = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "percentile_90 in daily slices over {} calls (in memory, exact): p50 {p50:.0} ms (goal ≤ 200 ms); one pass summing them (same run): {one_pass:.1} ms",
        refs.len()
    );
}
