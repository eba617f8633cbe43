//! Readiness: is each component Agora depends on reachable right now?
//!
//! Each component (data directory, storage, index, …) registers a [`Probe`].
//! `/readyz` runs them all concurrently, each with a deadline, and reports
//! every component by name so an operator sees which one is failing.

pub use agora_model::health::{ComponentStatus, ReadinessReport};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One component's health check.
pub trait Probe: Send + Sync {
    /// Short stable name, e.g. `storage`.
    fn name(&self) -> &'static str;
    /// Ok when the component works; otherwise a message for the operator.
    fn check(&self) -> ProbeFuture<'_>;
}

/// The set of probes `/readyz` runs.
#[derive(Clone)]
pub struct Readiness {
    probes: Vec<Arc<dyn Probe>>,
    timeout: Duration,
}

impl Readiness {
    pub fn new(timeout: Duration) -> Self {
        Self { probes: Vec::new(), timeout }
    }

    pub fn with(mut self, probe: impl Probe + 'static) -> Self {
        self.probes.push(Arc::new(probe));
        self
    }

    /// Runs every probe concurrently; a probe that exceeds the deadline fails.
    pub async fn check(&self) -> ReadinessReport {
        let timeout = self.timeout;
        let handles: Vec<_> = self
            .probes
            .iter()
            .map(|probe| {
                let probe = Arc::clone(probe);
                tokio::spawn(async move { run_probe(probe.as_ref(), timeout).await })
            })
            .collect();
        let mut components = Vec::with_capacity(handles.len());
        for (handle, probe) in handles.into_iter().zip(&self.probes) {
            components.push(handle.await.unwrap_or_else(|_| ComponentStatus {
                name: probe.name().to_string(),
                ok: false,
                error: Some("the check panicked; see the server log".into()),
                latency_ms: 0.0,
            }));
        }
        let ready = components.iter().all(|c| c.ok);
        ReadinessReport { ready, version: agora_model::VERSION.to_string(), components }
    }
}

async fn run_probe(probe: &dyn Probe, timeout: Duration) -> ComponentStatus {
    let start = Instant::now();
    let result = match tokio::time::timeout(timeout, probe.check()).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    };
    ComponentStatus {
        name: probe.name().to_string(),
        ok: result.is_ok(),
        error: result.err(),
        latency_ms: start.elapsed().as_secs_f64() * 1000.0,
    }
}

/// The data directory is ready when a probe file can be written and synced.
pub struct DataDirProbe(pub crate::data_dir::DataDir);

impl Probe for DataDirProbe {
    fn name(&self) -> &'static str {
        "data_dir"
    }

    fn check(&self) -> ProbeFuture<'_> {
        let dir = self.0.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || dir.check_writable())
                .await
                .map_err(|e| format!("check did not finish: {e}"))?
                .map_err(|e| format!("not writable: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, Result<(), String>, Duration);

    impl Probe for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }
        fn check(&self) -> ProbeFuture<'_> {
            let (result, delay) = (self.1.clone(), self.2);
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                result
            })
        }
    }

    #[tokio::test]
    async fn ready_only_when_every_component_is() {
        let all_ok =
            Readiness::new(Duration::from_secs(1)).with(Fixed("a", Ok(()), Duration::ZERO)).with(Fixed("b", Ok(()), Duration::ZERO));
        let report = all_ok.check().await;
        assert!(report.ready);
        assert_eq!(report.components.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);

        let one_bad = Readiness::new(Duration::from_secs(1)).with(Fixed("a", Ok(()), Duration::ZERO)).with(Fixed(
            "b",
            Err("disk full".into()),
            Duration::ZERO,
        ));
        let report = one_bad.check().await;
        assert!(!report.ready);
        assert_eq!(report.components[1].error.as_deref(), Some("disk full"));
    }

    #[tokio::test]
    async fn a_slow_component_fails_at_the_deadline() {
        let slow = Readiness::new(Duration::from_millis(20)).with(Fixed("slow", Ok(()), Duration::from_secs(5)));
        let report = slow.check().await;
        assert!(!report.ready);
        assert!(report.components[0].error.as_deref().unwrap().contains("no answer within 20 ms"));
    }
}
