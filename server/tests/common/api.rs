//! Talking to a test server's REST API, with mail through a real SMTP server.

use agora_core::secret::Secret;
use agora_testkit::SmtpServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::TestServer;

pub async fn server_with_mail() -> (TestServer, SmtpServer) {
    server_with_mail_and(|_| {}).await
}

/// With other settings changed by `adjust` too.
pub async fn server_with_mail_and(adjust: impl FnOnce(&mut agora_server::cli::ServeArgs)) -> (TestServer, SmtpServer) {
    let smtp = agora_testkit::smtp_server();
    let url = smtp.url();
    let server = TestServer::start_with(|args| {
        args.smtp_url = Some(Secret::new(url));
        adjust(args);
    })
    .await
    .expect("server starts");
    (server, smtp)
}

impl TestServer {
    pub async fn call(&self, method: reqwest::Method, path: &str, bearer: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, bearer, Some(body)).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, bearer, None).await
    }

    /// Registers `name` (a regular account).
    pub async fn register(&self, name: &str) -> Value {
        self.register_with(name, None).await
    }

    /// Registers `name` with the setup code this server wrote to its data
    /// directory: the hub's first administrator.
    pub async fn register_admin(&self, name: &str) -> Value {
        let user = self.register_with(name, Some(self.setup_code())).await;
        assert_eq!(user["role"], "admin", "{user}");
        user
    }

    async fn register_with(&self, name: &str, setup_code: Option<String>) -> Value {
        let mut body = json!({"username": name, "email": format!("{name}@example.com"), "password": format!("{name}'s password")});
        if let Some(code) = setup_code {
            body["setup_code"] = json!(code);
        }
        let (status, user) = self.post("/api/v1/auth/register", None, body).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user
    }

    /// The setup code, as the server wrote it at start.
    pub fn setup_code(&self) -> String {
        let file = self.data.join("setup-code");
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())).trim().to_owned()
    }

    pub async fn token(&self, name: &str, password: &str) -> (StatusCode, Value) {
        self.post("/api/v1/auth/token", None, json!({"username": name, "password": password})).await
    }
}

/// The token in the newest mailed link to `path` sent to `to`, read back
/// from the SMTP server.
pub async fn mailed_token(smtp: &SmtpServer, to: &str, path: &str) -> String {
    let needle = format!("{path}?token=");
    for _ in 0..200 {
        let all = smtp.wait_for(&needle).await;
        let newest =
            all.split("---------- END MESSAGE ----------").filter(|m| m.contains(&format!("To: {to}")) && m.contains(&needle)).last();
        if let Some(message) = newest {
            return message
                .rsplit(&needle)
                .next()
                .unwrap()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {path} link mailed to {to}");
}

/// A verified regular account's session token.
pub async fn verified_user(server: &TestServer, smtp: &SmtpServer, name: &str) -> String {
    server.register(name).await;
    verify_and_log_in(server, smtp, name).await
}

/// The first administrator's session token (registered with the setup code).
pub async fn verified_admin(server: &TestServer, smtp: &SmtpServer, name: &str) -> String {
    server.register_admin(name).await;
    verify_and_log_in(server, smtp, name).await
}

/// Verifies an account registered already and logs it in.
pub async fn verified_user_token(server: &TestServer, smtp: &SmtpServer, name: &str) -> String {
    verify_and_log_in(server, smtp, name).await
}

async fn verify_and_log_in(server: &TestServer, smtp: &SmtpServer, name: &str) -> String {
    let token = mailed_token(smtp, &format!("{name}@example.com"), "/verify-email").await;
    let (status, body) = server.post("/api/v1/auth/verify-email", None, json!({"token": token})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.token(name, &format!("{name}'s password")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// A server whose storage is a new bucket on the moto peer (a second S3
/// implementation) instead of its embedded endpoint, with mail.
pub async fn server_on_moto_with_mail_and(adjust: impl FnOnce(&mut agora_server::cli::ServeArgs)) -> (TestServer, SmtpServer) {
    use agora_core::storage::{Storage, StorageConfig};
    static BUCKETS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let endpoint = agora_testkit::moto_endpoint();
    let n = BUCKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let bucket = format!("agora-{}-{n}", std::process::id());
    let credentials = || Secret::new("testing".to_owned());
    let storage = Storage::connect(&StorageConfig {
        endpoint: Some(endpoint.to_owned()),
        public_endpoint: None,
        region: "us-east-1".into(),
        bucket: bucket.clone(),
        credentials: Some(("testing".into(), credentials())),
        path_style: true,
    })
    .await;
    storage.ensure_bucket().await.expect("moto makes the bucket");
    server_with_mail_and(|args| {
        args.s3_endpoint = Some(endpoint.to_owned());
        args.s3_bucket = Some(bucket);
        args.s3_access_key_id = Some("testing".into());
        args.s3_secret_access_key = Some(credentials());
        adjust(args);
    })
    .await
}
