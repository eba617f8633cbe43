//! Email verification: a 24-hour link, sent by mail, that marks the address
//! it was issued for as verified.

use agora_model::ApiError;

use super::{AccountError, Accounts, UserRecord};
use crate::auth::token::{TokenKeys, TokenKind};
use crate::mail::{Mail, Mailer};

pub const LINK_TTL_SECS: u64 = 24 * 60 * 60;
/// The page the link opens (relative to Agora's public URL).
pub const VERIFY_PATH: &str = "/verify-email";

fn now() -> u64 {
    super::unix_now().max(0) as u64
}

impl Accounts {
    /// Mails `user` a link that verifies their current address. Without SMTP
    /// the mail goes to the outbox and the link is also logged, so a person
    /// running the embedded default can click it.
    pub async fn send_verification(
        &self,
        user: &UserRecord,
        tokens: &TokenKeys,
        mailer: &Mailer,
        public_url: &str,
    ) -> Result<String, AccountError> {
        let token = tokens
            .issue_kind(TokenKind::EmailVerification, &user.id, user.token_version, Some(&user.email), now(), LINK_TTL_SECS)
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        let link = format!("{}{VERIFY_PATH}?token={token}", public_url.trim_end_matches('/'));
        let mail = Mail {
            to: user.email.clone(),
            subject: "Verify your email address for Agora".into(),
            text: format!(
                "Hello {},\n\nopen this link within 24 hours to verify your email address and finish setting up your Agora account:\n\n{link}\n\nIf you did not create an account, ignore this mail.\n",
                user.username
            ),
        };
        mailer.send(&mail).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        if matches!(mailer, Mailer::Outbox { .. }) {
            tracing::info!(user = %user.username, %link, "verification link (no SMTP configured)");
        }
        Ok(link)
    }

    /// Marks the address in `token` verified, if the token is a live
    /// verification link for the user's current address.
    pub async fn verify_email(&self, tokens: &TokenKeys, token: &str) -> Result<UserRecord, AccountError> {
        let stale =
            || AccountError::Invalid(ApiError::invalid("token", "this verification link is invalid or has expired; ask for a new one"));
        let claims = tokens.verify_kind(TokenKind::EmailVerification, token).map_err(|_| stale())?;
        let user = match self.get(&claims.sub).await {
            Ok(user) => user,
            Err(AccountError::NotFound) => return Err(stale()),
            Err(other) => return Err(other),
        };
        if claims.email.as_deref() != Some(user.email.as_str()) {
            return Err(AccountError::Invalid(ApiError::invalid(
                "token",
                "this link was sent to an earlier email address of this account",
            )));
        }
        if user.email_verified {
            return Ok(user);
        }
        self.mark_verified(&user.id).await
    }
}
