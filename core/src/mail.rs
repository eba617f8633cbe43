//! Outgoing mail: through SMTP when `AGORA_SMTP_URL` is set, otherwise into
//! an outbox folder in the data directory (one `.eml` file per message,
//! readable by Agora's user only), so a person running the embedded default
//! can still open verification links. The links themselves reach the log
//! only where the operator asked (`--print-mail-links`), or for an
//! administrator's own mail (the first account, on a new hub).

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail setting: {0}")]
    Config(String),
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("the mail could not be sent: {0}")]
    Send(String),
}

/// One plain-text message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
    Outbox { dir: PathBuf, from: Mailbox, print_links: bool },
}

impl Mailer {
    /// SMTP from a URL such as `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465` or `smtp://127.0.0.1:2525` (plain, for tests).
    pub fn smtp(url: &Secret<String>, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|e| MailError::Config(format!("AGORA_SMTP_URL: {e}")))?
            .build();
        Ok(Mailer::Smtp { transport, from: parse_mailbox(from)? })
    }

    pub fn outbox(dir: impl Into<PathBuf>, from: &str) -> Result<Mailer, MailError> {
        Ok(Mailer::Outbox { dir: dir.into(), from: parse_mailbox(from)?, print_links: false })
    }

    /// Also logs the links of outbox mail (for everyone who reads the log).
    pub fn printing_links(self) -> Mailer {
        match self {
            Mailer::Outbox { dir, from, .. } => Mailer::Outbox { dir, from, print_links: true },
            smtp => smtp,
        }
    }

    /// Whether the links of `admin`'s (or anyone's) mail belong in the log.
    pub fn prints_link(&self, admin: bool) -> bool {
        matches!(self, Mailer::Outbox { print_links, .. } if *print_links || admin)
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
        };
        let message = Message::builder()
            .from(from)
            .to(parse_mailbox(&mail.to)?)
            .subject(&mail.subject)
            .body(mail.text.clone())
            .map_err(|e| MailError::Send(e.to_string()))?;
        match self {
            Mailer::Smtp { transport, .. } => {
                transport.send(message).await.map_err(|e| MailError::Send(e.to_string()))?;
            }
            Mailer::Outbox { dir, .. } => {
                let name = format!("{}-{}.eml", time::OffsetDateTime::now_utc().unix_timestamp_nanos(), std::process::id());
                let (dir, bytes) = (dir.clone(), message.formatted());
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    use std::io::Write;
                    let mut folder = std::fs::DirBuilder::new();
                    folder.recursive(true);
                    #[cfg(unix)]
                    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
                    folder.create(&dir)?;
                    let tmp = dir.join(format!(".{name}.tmp"));
                    let mut file = std::fs::OpenOptions::new();
                    file.write(true).create_new(true);
                    #[cfg(unix)]
                    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
                    file.open(&tmp)?.write_all(&bytes)?;
                    std::fs::rename(&tmp, dir.join(&name))
                })
                .await
                .map_err(|e| MailError::Send(e.to_string()))?
                .map_err(|e| MailError::Send(format!("writing to the outbox: {e}")))?;
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail written to the outbox (no AGORA_SMTP_URL set)");
            }
        }
        Ok(())
    }
}

fn parse_mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse::<Mailbox>().map_err(|_| MailError::Address(address.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_holds_one_complete_message_per_mail() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::outbox(dir.path().join("outbox"), "Agora <agora@localhost>").unwrap();
        let mail = Mail { to: "alice@example.com".into(), subject: "Verify your email".into(), text: "Open http://x/verify?t=abc".into() };
        mailer.send(&mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("To: alice@example.com") && text.contains("Subject: Verify your email"), "{text}");
        assert!(text.contains("verify?t=abc"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600, "only Agora's user reads mail");
            assert_eq!(std::fs::metadata(dir.path().join("outbox")).unwrap().permissions().mode() & 0o777, 0o700);
        }
        assert!(!mailer.prints_link(false) && mailer.prints_link(true), "links are logged for administrators only");
        assert!(mailer.printing_links().prints_link(false));
    }

    #[test]
    fn bad_settings_and_addresses_are_named() {
        assert!(matches!(Mailer::outbox("/tmp", "not an address"), Err(MailError::Address(_))));
        assert!(matches!(Mailer::smtp(&Secret::new("ftp://x".into()), "a@b.c"), Err(MailError::Config(_))));
    }
}
