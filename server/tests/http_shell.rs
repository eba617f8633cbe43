#![recursion_limit = "256"]

//! The app shell over real HTTP: health, readiness, pages, 404, server functions.

mod common;

use common::TestServer;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_with_the_version() {
    let server = TestServer::start().await;
    let resp = server.client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], agora_model::VERSION);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_each_component_and_fails_when_one_breaks() {
    let server = TestServer::start().await;
    let resp = server.client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["ready"], true);
    let names: Vec<_> = body["components"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
    assert!(names.contains(&"data_dir".to_owned()), "{body}");

    // Take the data directory away: the probe cannot write, readiness fails.
    // The server keeps writing into it (request records, the index), so a
    // removal can race a new file: try again until it is gone.
    let data = server.data_dir.path().join("data");
    for attempt in 1..=20 {
        match std::fs::remove_dir_all(&data) {
            Ok(()) => break,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => break,
            Err(err) if attempt == 20 => panic!("could not remove the data directory: {err}"),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
    let resp = server.client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["ready"], false);
    let data_dir = body["components"].as_array().unwrap().iter().find(|c| c["name"] == "data_dir").unwrap();
    assert_eq!(data_dir["ok"], false);
    assert!(data_dir["error"].as_str().unwrap().contains("not writable"), "{data_dir}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_is_server_rendered_with_the_shell_and_hydration_scripts() {
    let server = TestServer::start().await;
    let resp = server.client.get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = resp.text().await.unwrap();
    for needle in [
        "<title>Agora</title>",
        "What to do first",
        r#"href="/datasets""#,
        r#"href="/dashboards""#,
        r#"href="/monitoring""#,
        r#"name="q""#,
        r#"data-testid="theme-toggle""#,
        r#"data-testid="version""#,
        "/pkg/agora.js",
        "/pkg/agora.css",
    ] {
        assert!(html.contains(needle), "home page lacks {needle}");
    }
    assert!(html.contains(&format!(">{}<", agora_model::VERSION)), "footer shows the version");
    server.stop().await.unwrap();
}

/// Pages run only Agora's script: every HTML answer names a fresh nonce in
/// its Content-Security-Policy, every script of the page carries it, and no
/// inline script, eval or framing is allowed. Every answer, HTML or not,
/// says nosniff and keeps the referrer on this site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_nonce_policy_and_every_answer_the_security_headers() {
    let server = TestServer::start().await;
    let mut nonces = Vec::new();
    for path in ["/", "/datasets", "/no/such/page"] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let policy = header("content-security-policy").unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"));
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("object-src 'none'"), "{policy}");
        let script = policy.split("; ").find(|d| d.starts_with("script-src")).unwrap().to_owned();
        assert!(!script.contains("unsafe-inline") && !script.contains("'unsafe-eval'"), "{script}");
        let nonce = script.split("'nonce-").nth(1).and_then(|n| n.split('\'').next()).unwrap().to_owned();
        let html = response.text().await.unwrap();
        let scripts: Vec<&str> = html.split("<script").skip(1).map(|s| s.split('>').next().unwrap()).collect();
        assert!(!scripts.is_empty(), "{path} loads the app");
        for tag in scripts {
            assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "{path}: a script without this response's nonce: <script{tag}>");
        }
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a fresh nonce per response");
    let api = server.client.get(server.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(api.headers().get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(api.headers().get("referrer-policy").unwrap(), "same-origin");
    assert!(api.headers().get("content-security-policy").is_none(), "JSON needs no page policy");
    server.stop().await.unwrap();
}

/// The REST API's OpenAPI document passes openapi-spec-validator, the
/// checker client generators and API gateways rely on (unique operation
/// ids, resolvable references, valid schemas).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_valid_openapi() {
    let server = TestServer::start().await;
    let spec = server.client.get(server.url("/api/v1/openapi.json")).send().await.unwrap().text().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &spec).unwrap();
    let output = std::process::Command::new(agora_testkit::peer_python("openapi"))
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && said.contains("OK"), "openapi-spec-validator refused the document: {said}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_theme_cookie_is_rendered_on_the_first_byte() {
    let server = TestServer::start().await;
    let html = |cookie: Option<&'static str>| {
        let mut req = server.client.get(server.url("/"));
        if let Some(cookie) = cookie {
            req = req.header(reqwest::header::COOKIE, cookie);
        }
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    assert!(html(None).await.contains(r#"data-theme="system""#));
    assert!(html(Some("agora_theme=dark")).await.contains(r#"data-theme="dark""#));
    assert!(html(Some("agora_theme=light")).await.contains(r#"data-theme="light""#));
    // An unknown value falls back to following the system.
    assert!(html(Some("agora_theme=%3Cscript%3E")).await.contains(r#"data-theme="system""#));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_get_a_real_404_page() {
    let server = TestServer::start().await;
    for path in ["/no/such/page", "/datasets/x/y/z", "/pkg/missing.wasm"] {
        let resp = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("Page not found"), "{path} renders the not-found page");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_nav_target_renders() {
    let server = TestServer::start().await;
    for (path, title) in [
        ("/datasets", "Datasets · Agora"),
        ("/dashboards", "Dashboards · Agora"),
        ("/monitoring", "Monitoring · Agora"),
        ("/search?q=cats", "Search · Agora"),
        ("/login", "Log in · Agora"),
    ] {
        let resp = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(&format!("<title>{title}</title>")), "{path} has title {title}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_status_server_function_reports_readiness() {
    let server = TestServer::start().await;
    let resp = server
        .client
        .post(server.url("/api/fn/hub_status"))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let report: agora_model::health::ReadinessReport = resp.json().await.unwrap();
    assert!(report.ready);
    assert!(report.components.iter().any(|c| c.name == "data_dir" && c.ok));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_returns_cleanly() {
    let server = TestServer::start().await;
    let addr = server.addr;
    server.stop().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the port is released after stop");
}
