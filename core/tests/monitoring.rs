//! Agora's request records in the bucket, against the embedded endpoint and
//! moto: what is buffered is written when the recorder stops, and read back
//! by any node.

use std::time::Duration;

use agora_core::monitoring::{Monitor, MonitorSettings};
use agora_testkit::{both_backends, Fixture};

both_backends!(buffered_records_are_written_when_the_recorder_stops, |f: Fixture| async move {
    // A flush interval far longer than the test: only stopping writes.
    let settings = MonitorSettings { flush_every: Duration::from_secs(3600), anonymize_ips: true, ..Default::default() };
    let monitor = Monitor::new(f.storage.clone(), "node-a".into(), settings);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let monitor = monitor.clone();
        async move {
            monitor
                .run(async {
                    let _ = stopped.await;
                })
                .await
        }
    });
    // The first tick flushes nothing; give it a moment to pass.
    tokio::time::sleep(Duration::from_millis(50)).await;
    for n in 0..3 {
        monitor.record("GET /x".into(), 200 + n, Duration::from_millis(2), Some("192.168.7.9".parse().unwrap()), Some("u1".into()));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    running.await.unwrap();

    let other_node = Monitor::new(f.storage.clone(), "node-b".into(), MonitorSettings::default());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let segments = other_node.calls("agora", now - 60_000, now + 1).await.unwrap();
    let calls: Vec<_> = segments.iter().flat_map(|s| s.iter()).collect();
    assert_eq!(calls.len(), 3);
    assert_eq!((calls[0].ip.as_str(), calls[0].user.as_deref(), calls[0].duration_us), ("192.168.7.0", Some("u1"), 2000));
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [200, 201, 202]);
});
