//! Accounts and callers for domain tests.

use agora_core::accounts::{Accounts, Registration, UserRecord};
use agora_core::auth::caller::Caller;
use agora_core::secret::Secret;

/// A registered, verified, regular account.
pub async fn user(accounts: &Accounts, name: &str) -> UserRecord {
    registered(accounts, name, false).await
}

/// The hub's first administrator, made as the setup code makes one.
pub async fn admin(accounts: &Accounts, name: &str) -> UserRecord {
    registered(accounts, name, true).await
}

async fn registered(accounts: &Accounts, name: &str, first_admin: bool) -> UserRecord {
    let registration = Registration {
        username: name.into(),
        email: format!("{name}@example.com"),
        password: Secret::new(format!("{name}'s password")),
        first_admin,
    };
    let user = accounts.register(registration).await.unwrap();
    accounts.mark_verified(&user.id).await.unwrap()
}

/// `user` calling with a logged-in session.
pub fn session(user: &UserRecord) -> Caller {
    Caller::in_process_session(user.clone())
}
