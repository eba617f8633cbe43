//! Start-up time: spawns this very binary as `agora serve` on free ports with
//! an empty data directory, and polls until the port accepts connections and
//! until `/readyz` answers 200. Repeats and prints medians.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::child::AgoraChild;
use super::{machine_line, summarize};

#[derive(Debug, Args)]
pub struct StartupArgs {
    /// How many starts to measure.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
}

const START_DEADLINE: Duration = Duration::from_secs(30);

pub fn run(args: StartupArgs) -> anyhow::Result<()> {
    let mut listening = Vec::new();
    let mut ready = Vec::new();
    for _ in 0..args.runs {
        let data = tempfile::tempdir().context("cannot create a temp data dir")?;
        let started = Instant::now();
        let mut child = AgoraChild::spawn(data.path())?;
        let (l, r) = child.wait_ready(started, START_DEADLINE)?;
        listening.push(l.as_secs_f64() * 1000.0);
        ready.push(r.as_secs_f64() * 1000.0);
    }
    let (listen_median, listen_max) = summarize(&mut listening);
    let (ready_median, ready_max) = summarize(&mut ready);
    println!("{}", machine_line());
    println!("start-up over {} runs (median / max), embedded S3 endpoint included:", args.runs);
    println!("  port accepts connections   {listen_median:8.1} ms / {listen_max:8.1} ms");
    println!("  first successful /readyz   {ready_median:8.1} ms / {ready_max:8.1} ms");
    println!("  readiness after listening  {:8.1} ms (median)", ready_median - listen_median);
    Ok(())
}
