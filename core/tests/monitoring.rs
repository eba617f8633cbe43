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
        monitor.record("GET", "/x", 200 + n, Duration::from_millis(2), Some("192.168.7.9".parse().unwrap()), Some("u1".into()));
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

fn call(at: i64, endpoint: &str, ms: f64, status: u16, ip: &str) -> agora_core::monitoring::RecordedCall {
    agora_core::monitoring::RecordedCall {
        at,
        endpoint: endpoint.into(),
        status,
        duration_us: (ms * 1000.0) as u64,
        ip: ip.into(),
        user: None,
        version: "t".into(),
    }
}

both_backends!(complete_days_are_answered_from_rollups, |f: Fixture| async move {
    use agora_core::monitoring::DAY_MS;
    use agora_model::monitoring::{compute, Call, Query, Slicing, Statistic, TimeSlice};

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let day = (now / DAY_MS - 3) * DAY_MS;
    let monitor = Monitor::new(f.storage.clone(), "node-a".into(), MonitorSettings::default());
    // Three days ago: 300 calls of two endpoints over the day; today: 5 more.
    let past: Vec<_> = (0..300)
        .map(|n| {
            call(
                day + n * 280_000,
                if n % 3 == 0 { "b" } else { "a" },
                1.0 + (n % 97) as f64,
                if n % 50 == 0 { 502 } else { 200 },
                &format!("10.0.0.{}", n % 9),
            )
        })
        .collect();
    monitor.write("src", past.clone(), "past").await.unwrap();
    monitor.write("src", (0..5).map(|n| call(now - 1000 - n, "a", 3.0, 200, "10.9.9.9")).collect(), "today").await.unwrap();
    let exact: Vec<Call> = past.iter().filter(|c| c.endpoint == "a").map(|c| c.call()).collect();
    let exact: Vec<&Call> = exact.iter().collect();

    let query = |statistic, endpoint: Option<&str>, slicing| Query {
        statistic,
        endpoint: endpoint.map(str::to_owned),
        start: Some(day),
        end: Some(now),
        slicing,
    };
    let visits = monitor.statistics("src", &[], now, &query(Statistic::TotalVisits, None, None)).await.unwrap();
    assert_eq!(visits.value, Some(305.0));
    assert!(
        f.storage
            .head(&format!("monroll/src/{}.json.gz", {
                let (y, m, d) = agora_model::time::civil_from_days(day / DAY_MS);
                format!("{y:04}-{m:02}-{d:02}")
            }))
            .await
            .is_ok(),
        "the complete day's rollup is stored"
    );

    // Percentiles within the sketch's 1 %, counts exact; the same from a node without the cache.
    let other_node = Monitor::new(f.storage.clone(), "node-b".into(), MonitorSettings::default());
    for node in [&monitor, &other_node] {
        let day_only = Query { end: Some(day + DAY_MS), ..query(Statistic::Percentile90, Some("a"), None) };
        let p90 = node.statistics("src", &[], now, &day_only).await.unwrap().value.unwrap();
        let want = compute(Statistic::Percentile90, &exact).unwrap();
        assert!((p90 - want).abs() <= want * 0.01 + 1.0, "p90 {p90} vs exact {want}");
        let daily = node
            .statistics("src", &[], now, &query(Statistic::TotalVisits, None, Some(Slicing { slice: TimeSlice::Day, calendar: true })))
            .await
            .unwrap();
        let counts: Vec<Option<f64>> = daily.series.iter().map(|p| p.value).collect();
        assert_eq!((counts.first().copied().flatten(), counts.last().copied().flatten(), counts.len()), (Some(300.0), Some(5.0), 4));
        let per_ip = node.statistics("src", &["b".to_owned()], now, &query(Statistic::VisitsPerIp, None, None)).await.unwrap();
        assert_eq!(
            per_ip.visits_per_ip.iter().map(|(_, n)| n).sum::<u64>(),
            205,
            "hidden endpoints are left out: {:?}",
            per_ip.visits_per_ip
        );
    }
    // Not complete yet: the day is computed from its calls, exactly.
    let exact_p90 = monitor
        .statistics("src", &[], day, &Query { end: Some(day + DAY_MS), ..query(Statistic::Percentile90, Some("a"), None) })
        .await
        .unwrap();
    assert_eq!(exact_p90.value, compute(Statistic::Percentile90, &exact));

    // Calls written late into that day drop its rollup; the next query sees
    // them (on a node that has it cached, once the cache expires).
    monitor.write("src", vec![call(day + 5, "a", 1.0, 200, "10.0.0.1")], "late").await.unwrap();
    let visits = monitor.statistics("src", &[], now, &query(Statistic::TotalVisits, None, None)).await.unwrap();
    assert_eq!(visits.value, Some(306.0));
    let fresh = Monitor::new(f.storage.clone(), "node-c".into(), MonitorSettings::default());
    assert_eq!(fresh.statistics("src", &[], now, &query(Statistic::TotalVisits, None, None)).await.unwrap().value, Some(306.0));
});
