//! Datasets through the REST API: rights, sharing, deletion, and what an
//! account deletion takes with it.

mod common;

use common::api::{server_with_mail, verified_user};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn datasets_are_created_shared_and_deleted_over_rest() {
    let (server, smtp) = server_with_mail().await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;

    let (status, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "Cats", "description": "pictures"})).await;
    assert_eq!(status, StatusCode::CREATED, "{ds}");
    assert_eq!((ds["permission"].as_str(), ds["visibility"].as_str()), (Some("manage"), Some("private")));
    let id = ds["id"].as_str().unwrap().to_owned();
    let (status, body) = server.post("/api/v1/datasets", Some(&ann), json!({"name": ""})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("name")));

    // Ben sees nothing, through every route, until it is shared.
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), Some(&ben)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        server.call(Method::PATCH, &format!("/api/v1/datasets/{id}"), Some(&ben), Some(json!({"name": "x"}))).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(server.call(Method::DELETE, &format!("/api/v1/datasets/{id}"), Some(&ben), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        server.post(&format!("/api/v1/datasets/{id}/members"), Some(&ben), json!({"username": "ben", "role": "editor"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(server.get("/api/v1/datasets", Some(&ben)).await.1.as_array().map(Vec::len), Some(0));

    let (status, shared) =
        server.post(&format!("/api/v1/datasets/{id}/members"), Some(&ann), json!({"username": "ben", "role": "viewer"})).await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(shared["members"][1]["username"], "ben");
    let (status, seen) = server.get(&format!("/api/v1/datasets/{id}"), Some(&ben)).await;
    assert_eq!((status, seen["permission"].as_str()), (StatusCode::OK, Some("read")));
    assert_eq!(
        server.call(Method::PATCH, &format!("/api/v1/datasets/{id}"), Some(&ben), Some(json!({"name": "x"}))).await.0,
        StatusCode::FORBIDDEN
    );

    // A script's key: read-only keys see it, but do not create.
    let (_, key) =
        server.post("/api/v1/me/keys", Some(&ann), json!({"name": "ro", "scopes": [{"kind": "all_datasets", "access": "read"}]})).await;
    let key = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), Some(&key)).await.1["permission"], "read");
    assert_eq!(server.post("/api/v1/datasets", Some(&key), json!({"name": "nope"})).await.0, StatusCode::FORBIDDEN);

    let (status, job) = server.call(Method::DELETE, &format!("/api/v1/datasets/{id}"), Some(&ann), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), Some(&ann)).await.0, StatusCode::NOT_FOUND, "gone at once");
    assert_eq!(server.get("/api/v1/datasets", Some(&ben)).await.1.as_array().map(Vec::len), Some(0));

    let doc = server.get("/api/v1/openapi.json", None).await.1;
    assert!(doc["paths"].get("/api/v1/datasets/{id}/members").is_some());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn deleting_an_account_deletes_its_datasets_and_memberships() {
    let (server, smtp) = server_with_mail().await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;
    let (_, mine) = server.post("/api/v1/datasets", Some(&ben), json!({"name": "ben's"})).await;
    let (_, theirs) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "ann's"})).await;
    let (mine, theirs) = (mine["id"].as_str().unwrap().to_owned(), theirs["id"].as_str().unwrap().to_owned());
    server.post(&format!("/api/v1/datasets/{theirs}/members"), Some(&ann), json!({"username": "ben", "role": "editor"})).await;
    server.post(&format!("/api/v1/datasets/{mine}/members"), Some(&ben), json!({"username": "ann", "role": "viewer"})).await;

    let (status, job) = server.call(Method::DELETE, "/api/v1/me", Some(&ben), Some(json!({"password": "ben's password"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = job["id"].as_str().unwrap();
    for _ in 0..100 {
        if server.get(&format!("/api/v1/jobs/{id}"), None).await.1["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.get(&format!("/api/v1/jobs/{id}"), None).await.1["state"], "done");
    assert_eq!(server.get(&format!("/api/v1/datasets/{mine}"), Some(&ann)).await.0, StatusCode::NOT_FOUND, "ben's dataset went with him");
    let (_, left) = server.get(&format!("/api/v1/datasets/{theirs}"), Some(&ann)).await;
    let members: Vec<&str> = left["members"].as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap()).collect();
    assert_eq!(members, ["ann"], "and so did his membership");
    server.stop().await.unwrap();
}
