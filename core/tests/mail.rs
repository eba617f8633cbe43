//! Mail through a real SMTP server (aiosmtpd).

use agora_core::mail::{Mail, Mailer};
use agora_core::secret::Secret;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_reaches_a_real_smtp_server() {
    let smtp = agora_testkit::smtp_server();
    let mailer = Mailer::smtp(&Secret::new(smtp.url()), "Agora <agora@localhost>").unwrap();
    let mail = Mail {
        to: "alice@example.com".into(),
        subject: "Verify your email for Agora".into(),
        text: "Open http://127.0.0.1:3000/verify?token=abc123 within 24 hours.".into(),
    };
    mailer.send(&mail).await.unwrap();
    let received = smtp.wait_for("Verify your email for Agora").await;
    assert!(received.contains("alice@example.com"), "{received}");
    assert!(received.contains("verify?token=abc123"), "{received}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_smtp_server_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mailer = Mailer::smtp(&Secret::new(format!("smtp://127.0.0.1:{port}")), "agora@localhost").unwrap();
    let mail = Mail { to: "a@example.com".into(), subject: "s".into(), text: "t".into() };
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(err.to_string().starts_with("the mail could not be sent"), "{err}");
}
