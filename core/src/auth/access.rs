//! The one place that decides whether a caller may read, change or manage a
//! dataset or a dashboard. Every route, server function and presign call
//! asks here.
//!
//! - The owner manages; editors change; viewers read; anyone reads a public
//!   one. Administrators (with a session) manage everything.
//! - An API key never grants more than its owner has, and only what its
//!   scopes name: datasets, read or read-write. Keys read public dashboards
//!   and nothing else of dashboards.
//! - Something the caller may not even read is "not found", so its existence
//!   does not leak; something readable but not writable is "forbidden".

use agora_model::accounts::Access;
use agora_model::sharing::{Member, MemberRole, Visibility};
use agora_model::ApiError;

use super::caller::{Caller, Identity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Read,
    Write,
    /// Share, transfer, delete.
    Manage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dataset,
    Dashboard,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Dataset => "dataset",
            Kind::Dashboard => "dashboard",
        }
    }
}

/// What access control needs to know of a dataset or dashboard.
pub struct Resource<'a> {
    pub kind: Kind,
    pub id: &'a str,
    pub owner: &'a str,
    pub members: &'a [Member],
    pub visibility: Visibility,
}

impl Resource<'_> {
    fn role_of(&self, user_id: &str) -> Option<MemberRole> {
        if user_id == self.owner {
            return Some(MemberRole::Owner);
        }
        self.members.iter().filter(|m| m.user_id == user_id).map(|m| m.role).max()
    }
}

fn grant_of(role: MemberRole) -> Need {
    match role {
        MemberRole::Viewer => Need::Read,
        MemberRole::Editor => Need::Write,
        MemberRole::Owner => Need::Manage,
    }
}

/// The most the caller may do with `resource` (None: not even see it).
pub fn allowed(caller: &Caller, resource: &Resource<'_>) -> Option<Need> {
    let public = (resource.visibility == Visibility::Public).then_some(Need::Read);
    match &caller.identity {
        Identity::Anonymous => public,
        Identity::Session { user, .. } => {
            if user.is_admin() {
                return Some(Need::Manage);
            }
            resource.role_of(&user.id).map(grant_of).max(public)
        }
        Identity::ApiKey { user, key } => {
            let held = resource.role_of(&user.id).map(grant_of).max(public)?;
            let cap = match resource.kind {
                Kind::Dataset => match key.access_to(resource.id) {
                    Some(Access::ReadWrite) => Need::Write,
                    Some(Access::Read) => Need::Read,
                    None => return public,
                },
                Kind::Dashboard => return public,
            };
            Some(held.min(cap))
        }
    }
}

/// `Ok` if the caller may do `need` with `resource`.
pub fn authorize(caller: &Caller, resource: &Resource<'_>, need: Need) -> Result<(), ApiError> {
    let noun = resource.kind.noun();
    match allowed(caller, resource) {
        Some(has) if has >= need => Ok(()),
        Some(_) if caller.user().is_none() => Err(ApiError::unauthenticated(format!("log in to change this {noun}"))),
        Some(_) => Err(ApiError::forbidden(match need {
            Need::Manage => format!("only the {noun}'s owner may do this"),
            _ => format!("you may view this {noun} but not change it"),
        })),
        None => Err(ApiError::not_found(format!("no such {noun}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::api_keys::{ApiKeyRecord, Scope};
    use crate::accounts::{Role, UserRecord};
    use agora_model::ErrorKind;

    fn user(id: &str, role: Role) -> UserRecord {
        UserRecord {
            id: id.into(),
            username: id.into(),
            email: format!("{id}@example.com"),
            email_verified: true,
            password_hash: String::new(),
            role,
            token_version: 0,
            disabled: false,
            created_at: 0,
            preferences: Default::default(),
            pending_email: None,
            deletion_job: None,
        }
    }

    fn session(id: &str, role: Role) -> Caller {
        Caller::in_process_session(user(id, role))
    }

    fn key(id: &str, scopes: Vec<Scope>) -> Caller {
        let key = ApiKeyRecord {
            id: "k".into(),
            owner: id.into(),
            name: "k".into(),
            scopes,
            secret_sha256: String::new(),
            created_at: 0,
            expires_at: None,
            last_used_at: None,
            revoked: false,
        };
        Caller { identity: Identity::ApiKey { user: Box::new(user(id, Role::User)), key: Box::new(key) }, ip: None }
    }

    const MEMBERS: &[Member] = &[];

    fn dataset<'a>(members: &'a [Member], visibility: Visibility) -> Resource<'a> {
        Resource { kind: Kind::Dataset, id: "d1", owner: "owner", members, visibility }
    }

    #[test]
    fn roles_grant_in_order_and_strangers_see_nothing() {
        let members =
            [Member { user_id: "ed".into(), role: MemberRole::Editor }, Member { user_id: "vi".into(), role: MemberRole::Viewer }];
        let ds = dataset(&members, Visibility::Private);
        assert_eq!(allowed(&session("owner", Role::User), &ds), Some(Need::Manage));
        assert_eq!(allowed(&session("ed", Role::User), &ds), Some(Need::Write));
        assert_eq!(allowed(&session("vi", Role::User), &ds), Some(Need::Read));
        assert_eq!(allowed(&session("stranger", Role::User), &ds), None);
        assert_eq!(allowed(&Caller::anonymous(None), &ds), None);
        assert_eq!(allowed(&session("admin", Role::Admin), &ds), Some(Need::Manage));

        assert_eq!(authorize(&session("stranger", Role::User), &ds, Need::Read).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(authorize(&session("vi", Role::User), &ds, Need::Write).unwrap_err().kind, ErrorKind::Forbidden);
        assert_eq!(authorize(&session("ed", Role::User), &ds, Need::Manage).unwrap_err().kind, ErrorKind::Forbidden);
        authorize(&session("ed", Role::User), &ds, Need::Write).unwrap();
    }

    #[test]
    fn public_means_readable_by_anyone_and_changeable_by_members_only() {
        let ds = dataset(MEMBERS, Visibility::Public);
        authorize(&Caller::anonymous(None), &ds, Need::Read).unwrap();
        assert_eq!(authorize(&Caller::anonymous(None), &ds, Need::Write).unwrap_err().kind, ErrorKind::Unauthenticated);
        assert_eq!(authorize(&session("stranger", Role::User), &ds, Need::Write).unwrap_err().kind, ErrorKind::Forbidden);
    }

    #[test]
    fn keys_are_capped_by_scope_and_by_their_owner() {
        let members = [Member { user_id: "vi".into(), role: MemberRole::Viewer }];
        let ds = dataset(&members, Visibility::Private);
        let rw = |who| key(who, vec![Scope::Dataset { dataset_id: "d1".into(), access: Access::ReadWrite }]);
        assert_eq!(allowed(&rw("owner"), &ds), Some(Need::Write), "a key never manages");
        assert_eq!(allowed(&rw("vi"), &ds), Some(Need::Read), "a key never exceeds its owner");
        let other = key("owner", vec![Scope::Dataset { dataset_id: "d2".into(), access: Access::ReadWrite }]);
        assert_eq!(allowed(&other, &ds), None, "a key for another dataset sees nothing");
        let all_read = key("owner", vec![Scope::AllDatasets { access: Access::Read }]);
        assert_eq!(allowed(&all_read, &ds), Some(Need::Read));
        let board = Resource { kind: Kind::Dashboard, id: "b", owner: "owner", members: MEMBERS, visibility: Visibility::Private };
        assert_eq!(allowed(&all_read, &board), None, "keys do not reach private dashboards");
    }
}
