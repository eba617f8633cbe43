//! Server functions for the account pages. Each is thin: hub and caller from
//! the request, one hub operation, the error given its status.

use agora_model::accounts::ProfileChange;
use agora_model::accounts::{JobView, UserView};
#[cfg(feature = "ssr")]
use agora_model::accounts::{LinkToken, LoginRequest, MailRequest, PasswordChange, PasswordConfirmation, PasswordReset, RegisterRequest};
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{end_session, fail, request, start_session};

/// Who is logged in, if anyone.
#[server(prefix = "/api/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, ApiError> {
    let (_, caller) = request().await?;
    Ok(caller.user().map(|u| u.view()))
}

/// `setup_code` is empty unless the hub awaits its first administrator.
#[server(prefix = "/api/fn", endpoint = "register")]
pub async fn register(
    username: String,
    email: String,
    password: String,
    #[server(default)] setup_code: String,
) -> Result<UserView, ApiError> {
    let (hub, caller) = request().await?;
    let setup_code = Some(setup_code).filter(|c| !c.trim().is_empty());
    hub.register(&caller, RegisterRequest { username, email, password, setup_code }).await.map_err(fail)
}

/// Whether the hub has never had an administrator (registration then
/// offers the setup code).
#[server(prefix = "/api/fn", endpoint = "awaits_first_admin")]
pub async fn awaits_first_admin() -> Result<bool, ApiError> {
    let (hub, _) = request().await?;
    hub.awaits_first_admin().await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<UserView, ApiError> {
    let (hub, caller) = request().await?;
    let (user, token) = hub.login(&caller, LoginRequest { username, password }).await.map_err(fail)?;
    start_session(&hub, &token);
    Ok(user)
}

/// Logs out: ends every session of the account and clears the cookie.
#[server(prefix = "/api/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    end_session(&hub);
    if caller.user().is_none() {
        return Ok(());
    }
    hub.logout(&caller).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "resend_verification")]
pub async fn resend_verification(account: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.resend_verification(&caller, MailRequest { account }).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<UserView, ApiError> {
    let (hub, caller) = request().await?;
    hub.verify_email(&caller, LinkToken { token }).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "request_password_reset")]
pub async fn request_password_reset(account: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.request_password_reset(&caller, MailRequest { account }).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "reset_password")]
pub async fn reset_password(token: String, new_password: String) -> Result<UserView, ApiError> {
    let (hub, caller) = request().await?;
    hub.reset_password(&caller, PasswordReset { token, new_password }).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "update_profile", input = Json)]
pub async fn update_profile(change: ProfileChange) -> Result<UserView, ApiError> {
    let (hub, caller) = request().await?;
    hub.update_profile(&caller, change).await.map_err(fail)
}

/// Changes the password; this browser stays logged in, others are logged out.
#[server(prefix = "/api/fn", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<UserView, ApiError> {
    let (hub, caller) = request().await?;
    let (user, token) = hub.change_password(&caller, PasswordChange { current_password, new_password }).await.map_err(fail)?;
    start_session(&hub, &token);
    Ok(user)
}

#[server(prefix = "/api/fn", endpoint = "log_out_elsewhere")]
pub async fn log_out_elsewhere() -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    let token = hub.log_out_elsewhere(&caller).await.map_err(fail)?;
    start_session(&hub, &token);
    Ok(())
}

#[server(prefix = "/api/fn", endpoint = "delete_account")]
pub async fn delete_account(password: String) -> Result<JobView, ApiError> {
    let (hub, caller) = request().await?;
    let job = hub.delete_account(&caller, PasswordConfirmation { password }).await.map_err(fail)?;
    end_session(&hub);
    Ok(job)
}

#[server(prefix = "/api/fn", endpoint = "job_progress")]
pub async fn job_progress(id: String) -> Result<JobView, ApiError> {
    let (hub, _) = request().await?;
    hub.job(&id).await.map_err(fail)
}
