//! `agora bench …`: measurements that print their figures together with a
//! comparison taken in the same run, and the machine's core count.

mod accounts;
mod child;
mod client;
mod dashboards;
mod datasets;
mod index;
mod monitoring;
mod nodes;
mod runs;
mod startup;
mod storage;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: Bench,
}

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Time from starting `agora serve` to the first successful /readyz,
    /// compared with the time until the port accepts connections.
    Startup(startup::StartupArgs),
    /// Presigned multipart upload into the embedded endpoint vs. a plain file
    /// copy; presigned URLs per second per core; endpoint memory during upload.
    Storage(storage::StorageArgs),
    /// argon2id hash time, login latency over HTTP vs. an authenticated GET,
    /// and a burst of concurrent logins against the stated memory bound.
    Accounts(accounts::AccountsArgs),
    /// Indexing throughput, size and memory for synthetic file documents;
    /// search latency with access filtering in-process and over HTTP.
    Index(index::IndexArgs),
    /// Uploads through presign → PUT → complete (1,000 small files and one
    /// large multipart file) with Agora's and the storage's CPU time apart;
    /// listing a page of a large dataset.
    Datasets(datasets::DatasetsArgs),
    /// Reading a 100 KB dashboard over HTTP against a trivial route, and an
    /// eviction pass over 100,000 dashboards' metadata against counting them.
    Dashboards(dashboards::DashboardsArgs),
    /// Log lines accepted per second with live watchers connected (against
    /// none), and the time from a log POST to a watcher holding the line.
    Runs(runs::RunsArgs),
    /// Recording overhead on a trivial route (with against without), a
    /// statistic over a year of calls in daily slices, the sketch's error.
    Monitoring(monitoring::MonitoringArgs),
    /// Nodes sharing one bucket, on the embedded endpoint and an external
    /// store (`scripts/bench-nodes` starts Ceph RGW): presigned upload
    /// throughput, a label set on one node until another finds it, a node
    /// joining a bucket of 100,000 files.
    Nodes(nodes::NodesArgs),
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Bench::Startup(args) => startup::run(args),
        Bench::Storage(args) => storage::run(args),
        Bench::Accounts(args) => accounts::run(args),
        Bench::Index(args) => index::run(args),
        Bench::Datasets(args) => datasets::run(args),
        Bench::Dashboards(args) => dashboards::run(args),
        Bench::Runs(args) => runs::run(args),
        Bench::Monitoring(args) => monitoring::run(args),
        Bench::Nodes(args) => nodes::run(args),
    }
}

/// This process's resident memory (KiB; 0 where /proc is missing).
pub fn own_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// The header line every benchmark prints.
pub fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("agora {} · {} cores · {}", agora_model::VERSION, cores, std::env::consts::ARCH)
}

/// Median and maximum of a set of samples (milliseconds).
pub fn summarize(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let n = samples.len();
    let median = if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    };
    (median, samples.last().copied().unwrap_or(f64::NAN))
}

/// p50 and p99 of a set of samples (sorts them).
pub fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| samples.get(((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1))).copied().unwrap_or(f64::NAN);
    (at(0.5), at(0.99))
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn median_of_odd_and_even_sets() {
        assert_eq!(summarize(&mut [3.0, 1.0, 2.0]), (2.0, 3.0));
        assert_eq!(summarize(&mut [4.0, 1.0, 3.0, 2.0]), (2.5, 4.0));
        assert!(summarize(&mut []).0.is_nan());
    }
}
