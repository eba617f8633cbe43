//! `/api/v1/auth/…`, `/api/v1/me/…`, `/api/v1/admin/users/…`, `/api/v1/jobs/…`.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use agora_app::server::RequestCaller;
use agora_model::accounts::{
    AdminUserChange, ApiKeyView, CreatedApiKey, JobView, LinkToken, LoginRequest, MailRequest, NewApiKey, PasswordChange,
    PasswordConfirmation, PasswordReset, ProfileChange, RegisterRequest, TokenResponse, UserView,
};

use super::{Answer, Body, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    paths(
        register, token, logout, verify_email, resend_verification, request_password_reset, reset_password, me, update_me,
        change_password, log_out_elsewhere, delete_me, job, list_keys, create_key, revoke_key, list_users, update_user
    ),
    tags((name = "auth", description = "Registration, tokens, mailed links"), (name = "account", description = "The caller's own account"), (name = "admin", description = "Administrators only"))
)]
pub struct AccountsApi;

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/token", post(token))
        .route("/auth/logout", post(logout))
        .route("/auth/verify-email", post(verify_email))
        .route("/auth/resend-verification", post(resend_verification))
        .route("/auth/password-reset/request", post(request_password_reset))
        .route("/auth/password-reset", post(reset_password))
        .route("/me", get(me).patch(update_me).delete(delete_me))
        .route("/me/password", post(change_password))
        .route("/me/logout-elsewhere", post(log_out_elsewhere))
        .route("/me/keys", get(list_keys).post(create_key))
        .route("/me/keys/{id}", delete(revoke_key))
        .route("/jobs/{id}", get(job))
        .route("/admin/users", get(list_users))
        .route("/admin/users/{id}", patch(update_user))
}

/// Registers an account and mails its verification link.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, body = UserView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn register(RequestCaller(hub, caller): RequestCaller, Body(request): Body<RegisterRequest>) -> Answer<(StatusCode, Json<UserView>)> {
    Ok((StatusCode::CREATED, Json(hub.register(&caller, request).await?)))
}

/// Exchanges a username and password for a session token. Wrong username and
/// wrong password get the same answer.
#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "unverified or disabled"),
    (status = 429, body = ErrorBody)))]
async fn token(RequestCaller(hub, caller): RequestCaller, Body(request): Body<LoginRequest>) -> Answer<Json<TokenResponse>> {
    Ok(Json(hub.login(&caller, request).await?.1))
}

/// Ends every session of the account (browser and Bearer tokens alike).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])), responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(RequestCaller(hub, caller): RequestCaller) -> Answer<StatusCode> {
    hub.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Verifies an address with the token from the mailed link.
#[utoipa::path(post, path = "/auth/verify-email", tag = "auth", request_body = LinkToken, responses(
    (status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn verify_email(RequestCaller(hub, caller): RequestCaller, Body(request): Body<LinkToken>) -> Answer<Json<UserView>> {
    Ok(Json(hub.verify_email(&caller, request).await?))
}

/// Mails the verification link again. Answers alike whether or not the account exists.
#[utoipa::path(post, path = "/auth/resend-verification", tag = "auth", request_body = MailRequest, responses(
    (status = 202), (status = 429, body = ErrorBody)))]
async fn resend_verification(RequestCaller(hub, caller): RequestCaller, Body(request): Body<MailRequest>) -> Answer<StatusCode> {
    hub.resend_verification(&caller, request).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Mails a password-reset link (valid one hour). Answers alike whether or not the account exists.
#[utoipa::path(post, path = "/auth/password-reset/request", tag = "auth", request_body = MailRequest, responses(
    (status = 202), (status = 429, body = ErrorBody)))]
async fn request_password_reset(RequestCaller(hub, caller): RequestCaller, Body(request): Body<MailRequest>) -> Answer<StatusCode> {
    hub.request_password_reset(&caller, request).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with the token from a reset link; every session ends.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = PasswordReset, responses(
    (status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn reset_password(RequestCaller(hub, caller): RequestCaller, Body(request): Body<PasswordReset>) -> Answer<Json<UserView>> {
    Ok(Json(hub.reset_password(&caller, request).await?))
}

/// The caller's account.
#[utoipa::path(get, path = "/me", tag = "account", security(("bearer" = [])), responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
async fn me(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<UserView>> {
    Ok(Json(hub.me(&caller)?))
}

/// Changes username, email (verified again before it is used) or preferences.
#[utoipa::path(patch, path = "/me", tag = "account", security(("bearer" = [])), request_body = ProfileChange, responses(
    (status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_me(RequestCaller(hub, caller): RequestCaller, Body(change): Body<ProfileChange>) -> Answer<Json<UserView>> {
    Ok(Json(hub.update_profile(&caller, change).await?))
}

/// Changes the password. Every other session ends; the answer is a fresh token.
#[utoipa::path(post, path = "/me/password", tag = "account", security(("bearer" = [])), request_body = PasswordChange, responses(
    (status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn change_password(RequestCaller(hub, caller): RequestCaller, Body(change): Body<PasswordChange>) -> Answer<Json<TokenResponse>> {
    Ok(Json(hub.change_password(&caller, change).await?.1))
}

/// Ends every session but a fresh one, returned.
#[utoipa::path(post, path = "/me/logout-elsewhere", tag = "account", security(("bearer" = [])), responses(
    (status = 200, body = TokenResponse), (status = 401, body = ErrorBody)))]
async fn log_out_elsewhere(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<TokenResponse>> {
    Ok(Json(hub.log_out_elsewhere(&caller).await?))
}

/// Deletes the account (password required). It ends at once; what it owned
/// is removed by a background job whose progress `GET /jobs/{id}` reports.
#[utoipa::path(delete, path = "/me", tag = "account", security(("bearer" = [])), request_body = PasswordConfirmation, responses(
    (status = 202, body = JobView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn delete_me(
    RequestCaller(hub, caller): RequestCaller,
    Body(confirmation): Body<PasswordConfirmation>,
) -> Answer<(StatusCode, Json<JobView>)> {
    Ok((StatusCode::ACCEPTED, Json(hub.delete_account(&caller, confirmation).await?)))
}

/// A background job's progress.
#[utoipa::path(get, path = "/jobs/{id}", tag = "account", params(("id" = String, Path)), responses(
    (status = 200, body = JobView), (status = 404, body = ErrorBody)))]
async fn job(RequestCaller(hub, _): RequestCaller, Path(id): Path<String>) -> Answer<Json<JobView>> {
    Ok(Json(hub.job(&id).await?))
}

/// The caller's API keys (never their secrets).
#[utoipa::path(get, path = "/me/keys", tag = "account", security(("bearer" = [])), responses(
    (status = 200, body = Vec<ApiKeyView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "called with an API key")))]
async fn list_keys(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<Vec<ApiKeyView>>> {
    Ok(Json(hub.api_keys(&caller).await?))
}

/// Creates an API key; its secret is in this answer and nowhere else, ever.
#[utoipa::path(post, path = "/me/keys", tag = "account", security(("bearer" = [])), request_body = NewApiKey, responses(
    (status = 201, body = CreatedApiKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_key(
    RequestCaller(hub, caller): RequestCaller,
    Body(request): Body<NewApiKey>,
) -> Answer<(StatusCode, Json<CreatedApiKey>)> {
    Ok((StatusCode::CREATED, Json(hub.create_api_key(&caller, request).await?)))
}

/// Revokes one of the caller's keys.
#[utoipa::path(delete, path = "/me/keys/{id}", tag = "account", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_key(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<StatusCode> {
    hub.revoke_api_key(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every user (admins only).
#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("bearer" = [])), responses(
    (status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_users(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<Vec<UserView>>> {
    Ok(Json(hub.users(&caller).await?))
}

/// Promotes, demotes, disables or enables a user (admins only). The last
/// active admin cannot be demoted or disabled.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)), request_body = AdminUserChange,
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_user(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(change): Body<AdminUserChange>,
) -> Answer<Json<UserView>> {
    Ok(Json(hub.admin_update_user(&caller, &id, change).await?))
}
