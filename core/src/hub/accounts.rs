//! Account operations as a caller performs them: each checks the caller's
//! right and the abuse limits, calls the domain once, and answers in the
//! wire types. Server functions and REST handlers both call exactly these.

use agora_model::accounts::{
    AdminUserChange, ApiKeyView, CreatedApiKey, JobView, LinkToken, LoginRequest, MailRequest, NewApiKey, PasswordChange,
    PasswordConfirmation, PasswordReset, ProfileChange, RegisterRequest, TokenResponse, UserView,
};
use agora_model::ApiError;

use super::Hub;
use crate::accounts::{AccountError, Registration, UserRecord};
use crate::auth::caller::Caller;
use crate::auth::limits::Attempt;
use crate::secret::Secret;

fn api(err: AccountError) -> ApiError {
    err.to_api()
}

impl Hub {
    /// A token of a new login, or (`logged_in`) of the caller's login.
    fn token_response(&self, user: &UserRecord, logged_in: Option<u64>) -> Result<TokenResponse, ApiError> {
        let (token, expires_at) = self.issue_session(user, logged_in)?;
        Ok(TokenResponse { token, token_type: "Bearer".into(), expires_at })
    }

    /// Registers and mails the verification link. A failed mail does not undo
    /// the account: the person can ask for the link again.
    ///
    /// With the setup code on a hub that never had an administrator, the
    /// account becomes it; a wrong code is refused before anything is
    /// written.
    pub async fn register(&self, caller: &Caller, request: RegisterRequest) -> Result<UserView, ApiError> {
        self.limits().check(Attempt::Register { ip: caller.ip })?;
        let first_admin = match request.setup_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => false,
            Some(code) => {
                if self.accounts().has_had_admin().await.map_err(api)? {
                    return Err(ApiError::conflict("setup_code", crate::accounts::setup::ALREADY_SET_UP));
                }
                if !self.0.setup_code.matches(code) {
                    tracing::warn!(ip = ?caller.ip, "a registration gave a wrong setup code");
                    return Err(ApiError::invalid(
                        "setup_code",
                        "this is not the setup code Agora printed when it started (it is also in the setup-code file of its data directory)",
                    ));
                }
                true
            }
        };
        let registration =
            Registration { username: request.username, email: request.email, password: Secret::new(request.password), first_admin };
        let user = self.accounts().register(registration).await.map_err(api)?;
        if first_admin {
            tracing::info!(user = %user.username, "the hub's first administrator is set up; the setup code no longer works");
            let _ = tokio::fs::remove_file(&self.0.setup_code_file).await;
        }
        if let Err(err) = self.accounts().send_verification(&user, &self.mailing()).await {
            tracing::warn!(user = %user.username, error = %err, "the verification mail could not be sent; the person can ask again");
        }
        tracing::info!(user = %user.username, role = ?user.role, "account registered");
        Ok(user.view())
    }

    /// Whether the hub still waits for its first administrator (the
    /// registration form then asks for the setup code).
    pub async fn awaits_first_admin(&self) -> Result<bool, ApiError> {
        Ok(!self.accounts().has_had_admin().await.map_err(api)?)
    }

    /// Checks the password and issues a session token. Failed attempts are
    /// limited per IP and per account.
    pub async fn login(&self, caller: &Caller, request: LoginRequest) -> Result<(UserView, TokenResponse), ApiError> {
        self.limits().login_allowed(caller.ip, &request.username)?;
        let user = match self.accounts().authenticate(&request.username, Secret::new(request.password)).await {
            Ok(user) => user,
            Err(err) => {
                if matches!(err, AccountError::BadCredentials) {
                    self.limits().login_failed(caller.ip, &request.username);
                }
                return Err(err.to_api());
            }
        };
        Ok((user.view(), self.token_response(&user, None)?))
    }

    /// Ends every session of the caller's account (the token version moves on).
    pub async fn logout(&self, caller: &Caller) -> Result<(), ApiError> {
        let user = caller.require_session()?;
        self.accounts().log_out_everywhere(&user.id).await.map_err(api)?;
        Ok(())
    }

    /// Ends every other session and returns a fresh token for this one.
    pub async fn log_out_elsewhere(&self, caller: &Caller) -> Result<TokenResponse, ApiError> {
        let user = caller.require_session()?;
        let logged_in = caller.session_claims().map(|c| c.logged_in_at());
        let user = self.accounts().log_out_everywhere(&user.id).await.map_err(api)?;
        self.token_response(&user, logged_in)
    }

    pub async fn resend_verification(&self, caller: &Caller, request: MailRequest) -> Result<(), ApiError> {
        self.limits().check(Attempt::Mail { ip: caller.ip, account: &request.account })?;
        self.accounts().resend_verification(&request.account, &self.mailing()).await.map_err(api)
    }

    pub async fn verify_email(&self, caller: &Caller, request: LinkToken) -> Result<UserView, ApiError> {
        self.limits().check(Attempt::LinkToken { ip: caller.ip })?;
        Ok(self.accounts().verify_email(self.tokens(), &request.token).await.map_err(api)?.view())
    }

    pub async fn request_password_reset(&self, caller: &Caller, request: MailRequest) -> Result<(), ApiError> {
        self.limits().check(Attempt::Mail { ip: caller.ip, account: &request.account })?;
        self.accounts().send_password_reset(&request.account, &self.mailing()).await.map_err(api)
    }

    pub async fn reset_password(&self, caller: &Caller, request: PasswordReset) -> Result<UserView, ApiError> {
        self.limits().check(Attempt::LinkToken { ip: caller.ip })?;
        let user = self.accounts().reset_password(self.tokens(), &request.token, Secret::new(request.new_password)).await.map_err(api)?;
        Ok(user.view())
    }

    pub fn me(&self, caller: &Caller) -> Result<UserView, ApiError> {
        Ok(caller.require_user()?.view())
    }

    /// Changes name, address (mailing a link to the new one) or preferences.
    pub async fn update_profile(&self, caller: &Caller, change: ProfileChange) -> Result<UserView, ApiError> {
        let user = caller.require_session()?;
        let (user, mail_due) = self.accounts().change_profile(&user.id, change).await.map_err(api)?;
        if mail_due {
            self.accounts().send_verification(&user, &self.mailing()).await.map_err(api)?;
        }
        Ok(user.view())
    }

    /// Changes the password; every other session ends, this one gets a
    /// fresh token. Guessing the current password counts as a login attempt.
    pub async fn change_password(&self, caller: &Caller, change: PasswordChange) -> Result<(UserView, TokenResponse), ApiError> {
        let user = caller.require_session()?;
        self.limits().check(Attempt::Login { ip: caller.ip, account: &user.username })?;
        let user = self
            .accounts()
            .change_password(&user.id, Secret::new(change.current_password), Secret::new(change.new_password))
            .await
            .map_err(api)?;
        Ok((user.view(), self.token_response(&user, None)?))
    }

    /// Confirms with the password, ends the account at once, and starts the
    /// background job that removes what it owned.
    pub async fn delete_account(&self, caller: &Caller, confirmation: PasswordConfirmation) -> Result<JobView, ApiError> {
        let user = caller.require_session()?;
        self.limits().check(Attempt::Login { ip: caller.ip, account: &user.username })?;
        let job = self.accounts().request_deletion(&user.id, Secret::new(confirmation.password)).await.map_err(api)?;
        tracing::info!(user = %user.username, job = %job.id, "account deletion asked for");
        let hub = self.clone();
        let id = job.id.clone();
        tokio::spawn(async move {
            if let Err(err) = hub.run_account_deletion(&id).await {
                tracing::error!(job = %id, error = %err, "account deletion stopped; it resumes at the next start");
            }
        });
        Ok(job)
    }

    /// A job's progress, for whoever holds its (unguessable) id.
    pub async fn job(&self, id: &str) -> Result<JobView, ApiError> {
        self.accounts().job(id).await.map_err(|e| match e {
            AccountError::NotFound => ApiError::not_found("no such job"),
            other => other.to_api(),
        })
    }

    pub async fn api_keys(&self, caller: &Caller) -> Result<Vec<ApiKeyView>, ApiError> {
        let user = caller.require_session()?;
        Ok(self.accounts().list_api_keys(&user.id).await.map_err(api)?.iter().map(|k| k.view()).collect())
    }

    pub async fn create_api_key(&self, caller: &Caller, request: NewApiKey) -> Result<CreatedApiKey, ApiError> {
        let user = caller.require_session()?;
        // A key names only datasets its owner may use, at most as far as they may.
        for (n, scope) in request.scopes.iter().enumerate() {
            if let agora_model::accounts::Scope::Dataset { dataset_id, access } = scope {
                let field = format!("scopes[{n}].dataset_id");
                let record = self
                    .datasets()
                    .get(caller, dataset_id)
                    .await
                    .map_err(|_| ApiError::invalid(&field, format!("{dataset_id:?} is not a dataset you may use")))?;
                let may_write = crate::auth::access::allowed(caller, &record.resource()) >= Some(crate::auth::access::Need::Write);
                if *access == agora_model::accounts::Access::ReadWrite && !may_write {
                    return Err(ApiError::invalid(&field, format!("you may only read “{}”, so a key cannot write it", record.name)));
                }
            }
        }
        let (record, secret) =
            self.accounts().create_api_key(&user.id, &request.name, request.scopes, request.expires_at).await.map_err(api)?;
        tracing::info!(user = %user.username, key = %record.prefix(), "API key created");
        Ok(CreatedApiKey { key: record.view(), secret: secret.expose().clone() })
    }

    pub async fn revoke_api_key(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        let user = caller.require_session()?;
        self.accounts().revoke_api_key(&user.id, id).await.map_err(|e| match e {
            AccountError::NotFound => ApiError::not_found("no such API key"),
            other => other.to_api(),
        })
    }

    pub async fn users(&self, caller: &Caller) -> Result<Vec<UserView>, ApiError> {
        caller.require_admin()?;
        Ok(self.accounts().list().await.map_err(api)?.iter().map(UserRecord::view).collect())
    }

    pub async fn admin_update_user(&self, caller: &Caller, id: &str, change: AdminUserChange) -> Result<UserView, ApiError> {
        let admin = caller.require_admin()?;
        let mut user = self.accounts().get(id).await.map_err(|e| match e {
            AccountError::NotFound => ApiError::not_found("no such user"),
            other => other.to_api(),
        })?;
        if let Some(role) = change.role {
            user = self.accounts().set_role(id, role).await.map_err(api)?;
        }
        if let Some(disabled) = change.disabled {
            if disabled && id == admin.id {
                return Err(ApiError::invalid("disabled", "you cannot disable your own account"));
            }
            user = self.accounts().set_disabled(id, disabled).await.map_err(api)?;
        }
        tracing::info!(admin = %admin.username, user = %user.username, role = ?user.role, disabled = user.disabled, "user changed by an admin");
        Ok(user.view())
    }
}
