//! Accounts and callers for domain tests.

use agora_core::accounts::{Accounts, Registration, UserRecord};
use agora_core::auth::caller::{Caller, Identity};
use agora_core::auth::token::Claims;
use agora_core::secret::Secret;

/// A registered, verified account (the first one on a hub is its admin).
pub async fn user(accounts: &Accounts, name: &str) -> UserRecord {
    let registration =
        Registration { username: name.into(), email: format!("{name}@example.com"), password: Secret::new(format!("{name}'s password")) };
    let user = accounts.register(registration).await.unwrap();
    accounts.mark_verified(&user.id).await.unwrap()
}

/// `user` calling with a logged-in session.
pub fn session(user: &UserRecord) -> Caller {
    let claims = Claims {
        sub: user.id.clone(),
        ver: 0,
        typ: "session".into(),
        iss: "agora".into(),
        aud: "agora".into(),
        iat: 0,
        exp: 0,
        email: None,
    };
    Caller { identity: Identity::Session { user: Box::new(user.clone()), claims }, ip: None }
}
