//! Mailed links: email verification (24 hours) and password reset (1 hour).
//! Asking for either never reveals whether an account exists.

use agora_model::ApiError;

use super::{AccountError, Accounts, UserRecord};
use crate::auth::token::{TokenKeys, TokenKind};
use crate::mail::{Mail, Mailer};
use crate::secret::Secret;

pub const LINK_TTL_SECS: u64 = 24 * 60 * 60;
pub const RESET_TTL_SECS: u64 = 60 * 60;
/// The pages the links open (relative to Agora's public URL).
pub const VERIFY_PATH: &str = "/verify-email";
pub const RESET_PATH: &str = "/reset-password";

fn now() -> u64 {
    super::unix_now().max(0) as u64
}

/// Where links point and how mail leaves.
pub struct Mailing<'a> {
    pub tokens: &'a TokenKeys,
    pub mailer: &'a Mailer,
    pub public_url: &'a str,
}

impl Mailing<'_> {
    async fn send_link(&self, user: &UserRecord, to: &str, subject: &str, link: String, body: String) -> Result<String, AccountError> {
        let mail = Mail { to: to.to_owned(), subject: subject.to_owned(), text: body };
        self.mailer.send(&mail).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        if self.mailer.prints_link(user.is_admin()) {
            tracing::info!(user = %user.username, %link, "mailed link (no SMTP configured, so it is in the outbox and here)");
        } else if matches!(self.mailer, Mailer::Outbox { .. }) {
            tracing::info!(user = %user.username, "mail written to the outbox (links are logged with --print-mail-links)");
        }
        Ok(link)
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.public_url.trim_end_matches('/'))
    }
}

impl Accounts {
    /// Mails `user` a link that verifies their pending address (or the
    /// current one while it is unverified).
    pub async fn send_verification(&self, user: &UserRecord, mailing: &Mailing<'_>) -> Result<String, AccountError> {
        let to = user.pending_email.as_deref().unwrap_or(&user.email);
        let token = mailing
            .tokens
            .issue_kind(TokenKind::EmailVerification, &user.id, user.token_version, Some(to), now(), LINK_TTL_SECS)
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        let link = mailing.link(VERIFY_PATH, &token);
        let body = format!(
            "Hello {},\n\nopen this link within 24 hours to verify your email address for Agora:\n\n{link}\n\nIf you did not ask for this, ignore this mail.\n",
            user.username
        );
        mailing.send_link(user, to, "Verify your email address for Agora", link, body).await
    }

    /// Sends a new verification link if `account` (username or email) names
    /// an account with an address waiting for verification; otherwise does
    /// nothing. Either way the caller says the same thing.
    pub async fn resend_verification(&self, account: &str, mailing: &Mailing<'_>) -> Result<(), AccountError> {
        match self.find(account).await {
            Ok(user) if user.check_active().is_ok() && (!user.email_verified || user.pending_email.is_some()) => {
                self.send_verification(&user, mailing).await.map(drop)
            }
            Ok(_) | Err(AccountError::NotFound) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Makes the address in `token` the account's verified address, if the
    /// token is a live verification link for its current or pending address.
    pub async fn verify_email(&self, tokens: &TokenKeys, token: &str) -> Result<UserRecord, AccountError> {
        let stale =
            || AccountError::Invalid(ApiError::invalid("token", "this verification link is invalid or has expired; ask for a new one"));
        let claims = tokens.verify_kind(TokenKind::EmailVerification, token).map_err(|_| stale())?;
        let user = match self.get(&claims.sub).await {
            Ok(user) if user.check_active().is_ok() => user,
            Ok(_) | Err(AccountError::NotFound) => return Err(stale()),
            Err(other) => return Err(other),
        };
        let email = claims.email.unwrap_or_default();
        let current = user.email.eq_ignore_ascii_case(&email);
        let pending = user.pending_email.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&email));
        if !(current || pending) {
            return Err(AccountError::Invalid(ApiError::invalid("token", "this link was sent to an address this account no longer uses")));
        }
        if current && user.email_verified && !pending {
            // Links work once: this address is verified already.
            return Err(AccountError::Invalid(ApiError::invalid(
                "token",
                "this verification link was used already; the address is verified",
            )));
        }
        self.confirm_email(&user, &email).await
    }

    /// Mails a password-reset link to the account's address if `account`
    /// (username or email) names an active account; otherwise does nothing.
    pub async fn send_password_reset(&self, account: &str, mailing: &Mailing<'_>) -> Result<(), AccountError> {
        let user = match self.find(account).await {
            Ok(user) if user.check_active().is_ok() => user,
            Ok(_) | Err(AccountError::NotFound) => return Ok(()),
            Err(other) => return Err(other),
        };
        let token = mailing
            .tokens
            .issue_kind(TokenKind::PasswordReset, &user.id, user.token_version, Some(&user.email), now(), RESET_TTL_SECS)
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        let link = mailing.link(RESET_PATH, &token);
        let body = format!(
            "Hello {},\n\nopen this link within an hour to choose a new password for Agora:\n\n{link}\n\nIf you did not ask for this, ignore this mail; your password stays as it is.\n",
            user.username
        );
        mailing.send_link(&user, &user.email, "Reset your Agora password", link, body).await.map(drop)
    }

    /// Sets a new password from a reset link. The link works once: setting
    /// the password bumps the token version it was issued for. It is bound
    /// to the address it was mailed to, so changing the address kills it. Opening it
    /// also proves the mailbox, so an unverified address becomes verified.
    pub async fn reset_password(&self, tokens: &TokenKeys, token: &str, new: Secret<String>) -> Result<UserRecord, AccountError> {
        let stale = || AccountError::Invalid(ApiError::invalid("token", "this reset link is invalid, used or expired; ask for a new one"));
        let claims = tokens.verify_kind(TokenKind::PasswordReset, token).map_err(|_| stale())?;
        let user = match self.get(&claims.sub).await {
            Ok(user) if user.check_active().is_ok() && user.token_version == claims.ver => user,
            Ok(_) | Err(AccountError::NotFound) => return Err(stale()),
            Err(other) => return Err(other),
        };
        // Bound to the address it was sent to: it dies when the address changes.
        if !claims.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&user.email)) {
            return Err(stale());
        }
        let user = self.set_password(&user, new).await?;
        if !user.email_verified && claims.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&user.email)) {
            return self.confirm_email(&user, &user.email.clone()).await;
        }
        Ok(user)
    }
}
