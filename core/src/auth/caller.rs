//! Who is calling: nobody, a person with a session (cookie or Bearer JWT),
//! or a script with an API key. Resolved once per request by the web layer
//! and handed to every server function and REST handler.

use std::net::IpAddr;

use agora_model::ApiError;

use super::token::Claims;
use crate::accounts::api_keys::ApiKeyRecord;
use crate::accounts::UserRecord;

#[derive(Debug, Clone)]
pub enum Identity {
    Anonymous,
    /// A session token (browser cookie or `Authorization: Bearer <jwt>`).
    Session {
        user: Box<UserRecord>,
        claims: Claims,
    },
    /// `Authorization: Bearer agk_…`, limited to the key's scopes.
    ApiKey {
        user: Box<UserRecord>,
        key: Box<ApiKeyRecord>,
    },
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
    /// The client address, for rate limits and logs.
    pub ip: Option<IpAddr>,
}

impl Caller {
    pub fn anonymous(ip: Option<IpAddr>) -> Self {
        Self { identity: Identity::Anonymous, ip }
    }

    /// `user` as a logged-in session, with no token behind it: for work
    /// done in-process on their behalf (tests, benchmarks).
    pub fn in_process_session(user: UserRecord) -> Self {
        let claims = Claims {
            sub: user.id.clone(),
            ver: user.token_version,
            typ: "session".into(),
            iss: "agora".into(),
            aud: "agora".into(),
            iat: 0,
            exp: 0,
            auth: 0,
            email: None,
        };
        Self { identity: Identity::Session { user: Box::new(user), claims }, ip: None }
    }

    /// The user behind the request, however it authenticated.
    pub fn user(&self) -> Option<&UserRecord> {
        match &self.identity {
            Identity::Anonymous => None,
            Identity::Session { user, .. } | Identity::ApiKey { user, .. } => Some(user),
        }
    }

    pub fn api_key(&self) -> Option<&ApiKeyRecord> {
        match &self.identity {
            Identity::ApiKey { key, .. } => Some(key),
            _ => None,
        }
    }

    pub fn require_user(&self) -> Result<&UserRecord, ApiError> {
        self.user().ok_or_else(|| ApiError::unauthenticated("log in first (or send Authorization: Bearer with a token or API key)"))
    }

    /// A person acting on their own account: API keys reach datasets only,
    /// never account settings, keys or administration.
    /// The claims of the session the caller is logged in with.
    pub fn session_claims(&self) -> Option<&Claims> {
        match &self.identity {
            Identity::Session { claims, .. } => Some(claims),
            _ => None,
        }
    }

    pub fn require_session(&self) -> Result<&UserRecord, ApiError> {
        match &self.identity {
            Identity::Session { user, .. } => Ok(user),
            Identity::ApiKey { .. } => Err(ApiError::forbidden("API keys reach datasets only; log in with a password for this")),
            Identity::Anonymous => Err(self.require_user().unwrap_err()),
        }
    }

    pub fn require_admin(&self) -> Result<&UserRecord, ApiError> {
        let user = self.require_session()?;
        if !user.is_admin() {
            return Err(ApiError::forbidden("this needs the admin role"));
        }
        Ok(user)
    }
}
