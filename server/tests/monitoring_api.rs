//! Agora's own monitoring over REST: requests made to the server appear in
//! its statistics; every bad query is a 400 naming its field; only
//! administrators see the records.

mod common;

use std::time::Duration;

use common::api::{server_with_mail_and, verified_admin, verified_user};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn requests_to_agora_show_in_its_statistics() {
    let (server, smtp) = server_with_mail_and(|args| args.monitor_flush_ms = Some(100)).await;
    let admin = verified_admin(&server, &smtp, "root").await;
    let ann = verified_user(&server, &smtp, "ann").await;
    for _ in 0..7 {
        assert!(server.client.get(server.url("/readyz")).send().await.unwrap().status().is_success());
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let base = "/api/v1/monitoring/sources/agora";
    let stat = |query: String| {
        let server = &server;
        let admin = admin.clone();
        async move { server.get(&format!("{base}/statistics?{query}"), Some(&admin)).await }
    };
    let (status, visits) = stat("statistic=total_visits&endpoint=GET%20/readyz".into()).await;
    assert_eq!((status, visits["value"].as_f64()), (StatusCode::OK, Some(7.0)), "{visits}");
    let (_, median) = stat("statistic=median&endpoint=GET%20/readyz".into()).await;
    assert!(median["value"].as_f64().unwrap() > 0.0, "{median}");
    let (_, daily) = stat("statistic=total_visits&endpoint=GET%20/readyz&timeslice=day&timeslice_is_static=true".into()).await;
    let series = daily["series"].as_array().unwrap();
    assert_eq!(series.last().unwrap()["value"].as_f64(), Some(7.0), "{daily}");
    let (_, per_ip) = stat("statistic=visits_per_ip&endpoint=GET%20/readyz".into()).await;
    assert_eq!(per_ip["visits_per_ip"][0], serde_json::json!(["127.0.0.1", 7]));

    let (status, overview) = server.get(&format!("{base}/overview"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let rows = overview["endpoints"].as_array().unwrap();
    let health = rows.iter().find(|r| r["endpoint"] == "GET /readyz").expect("GET /readyz is listed");
    assert_eq!((health["visits"].as_u64(), health["error_rate"].as_f64()), (Some(7), Some(0.0)));
    let heat: u64 = overview["heatmap"].as_array().unwrap().iter().flat_map(|d| d.as_array().unwrap()).map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(heat, overview["calls"].as_u64().unwrap());
    assert!(rows.iter().any(|r| r["endpoint"] == "POST /api/v1/auth/token"), "API routes are recorded by their template");

    // Every bad query is a 400 naming the field.
    let bad: [(&str, &str); 7] = [
        ("", "statistic"),
        ("statistic=p95", "statistic"),
        ("statistic=median&start=yesterday", "start"),
        ("statistic=median&start=2026-11-23&end=2026-11-22", "end"),
        ("statistic=median&timeslice=day", "timeslice_is_static"),
        ("statistic=median&timeslice=fortnight&timeslice_is_static=true", "timeslice"),
        ("statistic=visits_per_ip&timeslice=day&timeslice_is_static=false", "timeslice"),
    ];
    for (query, field) in bad {
        let (status, err) = stat(query.into()).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{query}: {err}");
    }
    // 403 for people who may not view it, 404 for a source that does not exist.
    assert_eq!(server.get(&format!("{base}/statistics?statistic=median"), Some(&ann)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.get("/api/v1/monitoring/sources/nope/statistics?statistic=median", Some(&admin)).await.0, StatusCode::NOT_FOUND);
    let (_, sources) = server.get("/api/v1/monitoring/sources", Some(&ann)).await;
    assert_eq!(sources, Value::Array(vec![]));
    let (_, sources) = server.get("/api/v1/monitoring/sources", Some(&admin)).await;
    assert_eq!(sources[0]["id"], "agora");
    let (_, openapi) = server.get("/api/v1/openapi.json", None).await;
    for path in ["/api/v1/monitoring/sources/{source}/statistics", "/api/v1/datasets/{id}/runs/{run}/logs/events"] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
    server.stop().await.unwrap();
}

/// Records still buffered when the server stops gracefully are written
/// (to the embedded endpoint, which stops after them) and read back by the
/// next start.
#[tokio::test]
async fn the_last_records_are_written_at_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keep = |data: std::path::PathBuf, flush_ms: u64| {
        move |args: &mut agora_server::cli::ServeArgs| {
            args.data_dir = Some(data);
            args.monitor_flush_ms = Some(flush_ms);
        }
    };
    let (server, smtp) = server_with_mail_and(keep(data.clone(), 60_000)).await;
    verified_admin(&server, &smtp, "root").await;
    for _ in 0..3 {
        assert!(server.client.get(server.url("/readyz")).send().await.unwrap().status().is_success());
    }
    server.stop().await.unwrap();

    let (server, _smtp) = server_with_mail_and(keep(data, 100)).await;
    let (status, token) = server.token("root", "root's password").await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let token = token["token"].as_str().unwrap();
    let (status, visits) =
        server.get("/api/v1/monitoring/sources/agora/statistics?statistic=total_visits&endpoint=GET%20/readyz", Some(token)).await;
    assert_eq!((status, visits["value"].as_f64()), (StatusCode::OK, Some(3.0)), "{visits}");
    server.stop().await.unwrap();
}
