//! Dashboards over REST: create, optimistic saves, sharing by link, flags.

mod common;

use common::api::{server_with_mail, verified_admin, verified_user};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn dashboards_are_saved_optimistically_and_protected_by_administrators() {
    let (server, smtp) = server_with_mail().await;
    let admin = verified_admin(&server, &smtp, "root").await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let figure = json!({"data": [{"type": "bar", "x": ["a", "b"], "y": [3, 5]}], "layout": {"title": {"text": "counts"}}});
    let panel = json!({"title": "Counts", "x": 0, "y": 0, "w": 6, "h": 4, "kind": "figure", "figure": figure});
    let (status, made) = server.post("/api/v1/dashboards", Some(&ann), json!({"title": "Week 47", "panels": [panel]})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let url = format!("/api/v1/dashboards/{}", made["id"].as_str().unwrap());
    assert_eq!(server.get(&url, None).await.0, StatusCode::NOT_FOUND, "private to its owner");

    let (status, err) = server
        .post(
            "/api/v1/dashboards",
            Some(&ann),
            json!({"title": "x", "panels": [{"x": 0, "y": 0, "w": 13, "h": 1, "kind": "markdown", "text": ""}]}),
        )
        .await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("panels[0].w")));

    let version = made["version"].as_str().unwrap();
    let (status, saved) = server.call(Method::PATCH, &url, Some(&ann), Some(json!({"version": version, "visibility": "public"}))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, err) = server.call(Method::PATCH, &url, Some(&ann), Some(json!({"version": version, "title": "stale"}))).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("version")));
    let (status, shown) = server.get(&url, None).await;
    assert_eq!(
        (status, shown["panels"][0]["figure"]["data"][0]["y"].clone()),
        (StatusCode::OK, json!([3, 5])),
        "anyone with the link reads it"
    );
    assert_eq!(shown["editable"], false);

    let flags = format!("/api/v1/admin/dashboards/{}/flags", made["id"].as_str().unwrap());
    assert_eq!(server.call(Method::PUT, &flags, Some(&ann), Some(json!({"protected": true}))).await.0, StatusCode::FORBIDDEN);
    let (status, protected) = server.call(Method::PUT, &flags, Some(&admin), Some(json!({"protected": true}))).await;
    assert_eq!((status, protected["whitelisted"].as_bool()), (StatusCode::OK, Some(true)));
    let latest = saved["version"].as_str().unwrap();
    let (status, _) = server.call(Method::PATCH, &url, Some(&ann), Some(json!({"version": latest, "title": "mine"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "protected: read-only for everyone");
    assert_eq!(server.call(Method::DELETE, &url, Some(&ann), None).await.0, StatusCode::FORBIDDEN);

    let (_, openapi) = server.get("/api/v1/openapi.json", None).await;
    for path in
        ["/api/v1/dashboards/{id}", "/api/v1/dashboards/{id}/members", "/api/v1/admin/dashboards", "/api/v1/admin/dashboards/import"]
    {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn sharing_statistics_administration_and_transfer_over_rest() {
    let (server, smtp) = server_with_mail().await;
    let admin = verified_admin(&server, &smtp, "root").await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;

    // A statistic panel needs a dataset its editor can read, and shows it only to readers of it.
    let (_, dataset) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "pets"})).await;
    let dataset_id = dataset["id"].as_str().unwrap();
    let stat =
        json!({"title": "Sizes", "x": 0, "y": 0, "w": 6, "h": 4, "kind": "dataset_stat", "dataset": dataset_id, "stat": "size_histogram"});
    let (status, err) = server.post("/api/v1/dashboards", Some(&ben), json!({"title": "spy", "panels": [stat]})).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("panels[0].dataset")));
    let note = json!({"x": 6, "y": 0, "w": 6, "h": 4, "kind": "markdown", "text": "Hello **team**"});
    let (status, made) = server.post("/api/v1/dashboards", Some(&ann), json!({"title": "Pets", "panels": [stat, note]})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["panel_html"][1], "<p>Hello <strong>team</strong></p>\n");
    let id = made["id"].as_str().unwrap().to_owned();
    let (status, figure) = server.get(&format!("/api/v1/dashboards/{id}/panels/0/figure"), Some(&ann)).await;
    assert_eq!((status, figure["figure"]["data"][0]["type"].as_str()), (StatusCode::OK, Some("bar")), "{figure}");

    // Sharing with ben: he lists it, reads it, but not the private dataset's numbers.
    let (status, shared) =
        server.post(&format!("/api/v1/dashboards/{id}/members"), Some(&ann), json!({"username": "ben", "role": "viewer"})).await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(shared["members"].as_array().unwrap().len(), 2);
    let (_, listed) = server.get("/api/v1/dashboards", Some(&ben)).await;
    assert_eq!(listed["dashboards"][0]["id"], id.as_str());
    assert_eq!(server.get(&format!("/api/v1/dashboards/{id}/panels/0/figure"), Some(&ben)).await.0, StatusCode::NOT_FOUND);
    let (status, copy) = server.post(&format!("/api/v1/dashboards/{id}/duplicate"), Some(&ben), json!({"title": "Ben's pets"})).await;
    assert_eq!((status, copy["title"].as_str(), copy["editable"].as_bool()), (StatusCode::CREATED, Some("Ben's pets"), Some(true)));

    // Too large: 413 with the size and the limit; the JSON body limit does not answer first.
    let figure_of = |points: usize| json!({"data": [{"type": "scatter", "y": vec![0.123456; points]}]});
    let panel = |points: usize| json!([{"x": 0, "y": 0, "w": 12, "h": 6, "kind": "figure", "figure": figure_of(points)}]);
    let (status, made) = server.post("/api/v1/dashboards", Some(&ann), json!({"title": "3 MB", "panels": panel(330_000)})).await;
    assert_eq!(status, StatusCode::CREATED, "3 MB is within 10 MB: {}", made["error"]);
    let (status, err) = server.post("/api/v1/dashboards", Some(&ann), json!({"title": "11 MB", "panels": panel(1_200_000)})).await;
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(status == StatusCode::PAYLOAD_TOO_LARGE && message.contains("10485760"), "{status}: {message}");
    server.call(Method::DELETE, &format!("/api/v1/dashboards/{}", made["id"].as_str().unwrap()), Some(&ann), None).await;

    // Administrators only: the overview, records, evictions, export and import.
    for path in ["/api/v1/admin/dashboards", &format!("/api/v1/admin/dashboards/{id}/record"), "/api/v1/admin/dashboards/export"] {
        assert_eq!(server.get(path, Some(&ann)).await.0, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(server.get(path, None).await.0, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, overview) = server.get("/api/v1/admin/dashboards", Some(&admin)).await;
    assert_eq!((status, overview["storage"]["dashboards"].as_u64()), (StatusCode::OK, Some(2)), "{overview}");
    assert_eq!(overview["storage"]["budget_bytes"], 10_000_000_000u64);
    let (_, record) = server.get(&format!("/api/v1/admin/dashboards/{id}/record"), Some(&admin)).await;
    assert_eq!(record["members"][0]["role"], "viewer");
    let (status, export) = server.get("/api/v1/admin/dashboards/export", Some(&admin)).await;
    assert_eq!((status, export["dashboards"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
    let (status, report) = server.post("/api/v1/admin/dashboards/import", Some(&admin), export.clone()).await;
    assert_eq!((status, report["unchanged"].as_u64()), (StatusCode::OK, Some(2)), "{report}");
    let mut broken = export.clone();
    broken["dashboards"][1]["record"]["title"] = json!("");
    let (status, err) = server.post("/api/v1/admin/dashboards/import", Some(&admin), broken).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("dashboards[1]")), "{err}");
    assert_eq!(server.post("/api/v1/admin/dashboards/import", Some(&ann), export).await.0, StatusCode::FORBIDDEN);
    server.stop().await.unwrap();
}
