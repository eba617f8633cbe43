//! Dashboards over REST: create, optimistic saves, sharing by link, flags.

mod common;

use common::api::{server_with_mail, verified_user};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn dashboards_are_saved_optimistically_and_protected_by_administrators() {
    let (server, smtp) = server_with_mail().await;
    let admin = verified_user(&server, &smtp, "root").await;
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
    assert!(openapi["paths"]["/api/v1/dashboards/{id}"].is_object());
    server.stop().await.unwrap();
}
