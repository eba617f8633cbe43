//! Changes people make to their own account (name, address, password,
//! preferences, sessions) and administrators make to others' (role, disabled).

use agora_model::accounts::{normalize_email, normalize_username, validate_password, Preferences, ProfileChange};
use agora_model::ApiError;

use super::{email_key, name_key, AccountError, Accounts, Claim, Role, UserRecord};
use crate::auth::password;
use crate::secret::Secret;

impl Accounts {
    /// Applies a profile change. A new username is claimed before the record
    /// changes and the old claim released after, so a crash in between leaves
    /// a stale claim (taken over later), never two accounts with one name. A
    /// new email address is only recorded as pending: it replaces the current
    /// one when its verification link is opened, and only with the account's
    /// password. Returns the record and
    /// whether a verification mail is due.
    pub async fn change_profile(&self, id: &str, change: ProfileChange) -> Result<(UserRecord, bool), AccountError> {
        let user = self.get(id).await?;
        let mut user = user;
        if let Some(raw) = change.username.as_deref() {
            let username = normalize_username(raw).map_err(AccountError::Invalid)?;
            if username != user.username {
                self.claim(&name_key(&username), id, Claim::Username(&username))
                    .await
                    .map_err(|e| e.taken("username", "this username is taken"))?;
                let old = user.username.clone();
                let renamed = self
                    .update(id, |u| {
                        u.username = username.clone();
                        Ok(())
                    })
                    .await;
                match renamed {
                    Ok(record) => {
                        user = record;
                        self.release_if_held(&name_key(&old), id).await?;
                    }
                    Err(err) => {
                        let _ = self.release_if_held(&name_key(&username), id).await;
                        return Err(err);
                    }
                }
            }
        }
        let mut mail_due = false;
        if let Some(raw) = change.email.as_deref() {
            let email = normalize_email(raw).map_err(AccountError::Invalid)?;
            if email.eq_ignore_ascii_case(&user.email) {
                if user.pending_email.is_some() {
                    user = self
                        .update(id, |u| {
                            u.pending_email = None;
                            Ok(())
                        })
                        .await?;
                }
            } else {
                let confirmed = match change.current_password.clone() {
                    Some(current) if !current.is_empty() => password::verify(Secret::new(current), Some(user.password_hash.clone())).await,
                    _ => {
                        return Err(AccountError::Invalid(ApiError::invalid(
                            "current_password",
                            "your current password is needed to change the email address",
                        )))
                    }
                };
                if !confirmed {
                    return Err(AccountError::Invalid(ApiError::invalid("current_password", "is not your current password")));
                }
                if self.find_by_email(&email).await.is_ok() {
                    return Err(AccountError::Conflict("email", "an account with this email address already exists"));
                }
                user = self
                    .update(id, |u| {
                        u.pending_email = Some(email.clone());
                        Ok(())
                    })
                    .await?;
                mail_due = true;
            }
        }
        if let Some(preferences) = change.preferences {
            user = self.set_preferences(id, preferences).await?;
        }
        Ok((user, mail_due))
    }

    pub async fn set_preferences(&self, id: &str, preferences: Preferences) -> Result<UserRecord, AccountError> {
        self.update(id, |u| {
            u.preferences = preferences;
            Ok(())
        })
        .await
    }

    /// Makes the pending (or current) address the verified one; the new
    /// address is claimed first, the old claim released after.
    pub(super) async fn confirm_email(&self, user: &UserRecord, email: &str) -> Result<UserRecord, AccountError> {
        if user.email.eq_ignore_ascii_case(email) {
            if user.email_verified {
                return Ok(user.clone());
            }
            return self
                .update(&user.id, |u| {
                    u.email_verified = true;
                    Ok(())
                })
                .await;
        }
        self.claim(&email_key(email), &user.id, Claim::Email(email))
            .await
            .map_err(|e| e.taken("email", "an account with this email address already exists"))?;
        let old = user.email.clone();
        let updated = self
            .update(&user.id, |u| {
                u.email = email.to_owned();
                u.email_verified = true;
                u.pending_email = None;
                Ok(())
            })
            .await?;
        self.release_if_held(&email_key(&old), &user.id).await?;
        Ok(updated)
    }

    /// Marks the current address verified without a link (accounts an
    /// administrator creates on the command line).
    pub async fn mark_verified(&self, id: &str) -> Result<UserRecord, AccountError> {
        self.update(id, |u| {
            u.email_verified = true;
            Ok(())
        })
        .await
    }

    /// Invalidates every session token issued so far.
    pub async fn log_out_everywhere(&self, id: &str) -> Result<UserRecord, AccountError> {
        self.update(id, |u| {
            u.token_version += 1;
            Ok(())
        })
        .await
    }

    /// Changes the password after checking the current one; older sessions end.
    pub async fn change_password(&self, id: &str, current: Secret<String>, new: Secret<String>) -> Result<UserRecord, AccountError> {
        let user = self.get(id).await?;
        if !password::verify(current, Some(user.password_hash.clone())).await {
            return Err(AccountError::Invalid(ApiError::invalid("current_password", "is not your current password")));
        }
        self.set_password(&user, new).await
    }

    /// Sets a new password without asking for the old one (reset link,
    /// `agora admin reset-password`); every session ends.
    pub async fn set_password(&self, user: &UserRecord, new: Secret<String>) -> Result<UserRecord, AccountError> {
        validate_password(new.expose(), &user.username)
            .map_err(|e| AccountError::Invalid(ApiError { field: Some("new_password".into()), ..e }))?;
        let hash = password::hash(new).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        self.update(&user.id, move |u| {
            u.password_hash = hash.clone();
            u.token_version += 1;
            Ok(())
        })
        .await
    }

    /// Promotes or demotes. The last active admin cannot be demoted, so a hub
    /// always has someone who can administer it.
    pub async fn set_role(&self, id: &str, role: Role) -> Result<UserRecord, AccountError> {
        match role {
            Role::User => self.ensure_another_admin(id).await?,
            Role::Admin => self.mark_admin_made(id).await?,
        }
        self.update(id, |u| {
            u.role = role;
            Ok(())
        })
        .await
    }

    /// Disables (every session and key stops working) or re-enables.
    pub async fn set_disabled(&self, id: &str, disabled: bool) -> Result<UserRecord, AccountError> {
        if disabled {
            self.ensure_another_admin(id).await?;
        }
        self.update(id, |u| {
            if u.disabled != disabled {
                u.disabled = disabled;
                u.token_version += 1;
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn ensure_another_admin(&self, id: &str) -> Result<(), AccountError> {
        let user = self.get(id).await?;
        if !user.is_admin() {
            return Ok(());
        }
        let others = self.list().await?.into_iter().filter(|u| u.id != id && u.is_admin() && u.check_active().is_ok()).count();
        if others == 0 {
            return Err(AccountError::Invalid(ApiError::invalid(
                "role",
                "this is the hub's only active administrator; promote someone else first",
            )));
        }
        Ok(())
    }
}
