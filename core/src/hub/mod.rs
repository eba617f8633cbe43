//! The hub: the domain services one Agora node runs, bundled for the web
//! layer. Server functions and REST handlers get a `Hub` and call into it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

mod accounts;
mod dashboards;
mod datasets;
mod monitoring;
pub mod runs;

use agora_model::ApiError;

use crate::accounts::verification::Mailing;
use crate::accounts::{AccountError, Accounts, UserRecord};
use crate::auth::caller::{Caller, Identity};
use crate::auth::limits::AuthLimits;
use crate::auth::token::{TokenError, TokenKeys};
use crate::datasets::{DatasetLimits, Datasets};
use crate::jobs::JobRecord;
use crate::mail::Mailer;
use crate::storage::Storage;

fn now_secs() -> u64 {
    crate::accounts::unix_now().max(0) as u64
}

/// What the web layer found on the request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Credentials<'a> {
    /// The value after `Authorization: Bearer `.
    pub bearer: Option<&'a str>,
    /// The session cookie's value.
    pub session_cookie: Option<&'a str>,
}

pub struct HubParts {
    pub storage: Storage,
    pub tokens: TokenKeys,
    pub mailer: Mailer,
    /// Agora's public base URL, for links in mail.
    pub public_url: String,
    /// Idle lifetime of a session (renewed while it is used).
    pub session_ttl: Duration,
    /// Absolute lifetime of a login, renewals included.
    pub session_max: Duration,
    pub dataset_limits: DatasetLimits,
    pub index: crate::index::journal::Indexer,
    pub dashboard_limits: crate::dashboards::DashboardLimits,
    /// Agora's own request records.
    pub monitor: crate::monitoring::Monitor,
    /// The client for user-given addresses (monitored sources).
    pub egress: crate::egress::Egress,
    /// Seals the credentials Agora stores.
    pub sealing: Arc<crate::sealing::SealingKeys>,
    /// The code that makes a registration the hub's first administrator,
    /// and the file this node wrote it to (removed once it is used).
    pub setup_code: crate::accounts::setup::SetupCode,
    pub setup_code_file: std::path::PathBuf,
    /// How many live streams a caller and the node may hold open.
    pub live_limits: crate::live::LiveLimits,
}

#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    storage: Storage,
    accounts: Accounts,
    datasets: Datasets,
    dashboards: crate::dashboards::Dashboards,
    monitor: crate::monitoring::Monitor,
    sources: crate::monitoring::sources::Sources,
    egress: crate::egress::Egress,
    tokens: TokenKeys,
    mailer: Mailer,
    limits: AuthLimits,
    public_url: String,
    session_ttl: Duration,
    session_max: Duration,
    setup_code: crate::accounts::setup::SetupCode,
    setup_code_file: std::path::PathBuf,
    live: crate::live::LiveStreams,
}

impl Hub {
    pub fn new(parts: HubParts) -> Self {
        let accounts = Accounts::new(parts.storage.clone());
        Hub(Arc::new(Inner {
            datasets: Datasets::new(parts.storage.clone(), accounts.clone(), parts.dataset_limits, parts.index.clone()),
            dashboards: crate::dashboards::Dashboards::new(parts.storage.clone(), accounts.clone(), parts.index, parts.dashboard_limits),
            accounts,
            sources: crate::monitoring::sources::Sources::new(
                parts.storage.clone(),
                parts.monitor.clone(),
                parts.egress.clone(),
                parts.sealing,
            ),
            egress: parts.egress,
            monitor: parts.monitor,
            storage: parts.storage,
            tokens: parts.tokens,
            mailer: parts.mailer,
            limits: AuthLimits::default(),
            public_url: parts.public_url,
            session_ttl: parts.session_ttl,
            session_max: parts.session_max,
            setup_code: parts.setup_code,
            setup_code_file: parts.setup_code_file,
            live: crate::live::LiveStreams::new(parts.live_limits),
        }))
    }

    pub fn storage(&self) -> &Storage {
        &self.0.storage
    }

    pub fn accounts(&self) -> &Accounts {
        &self.0.accounts
    }

    pub fn dashboards(&self) -> &crate::dashboards::Dashboards {
        &self.0.dashboards
    }

    pub fn monitor(&self) -> &crate::monitoring::Monitor {
        &self.0.monitor
    }

    pub fn datasets(&self) -> &Datasets {
        &self.0.datasets
    }

    /// The node's open live streams.
    pub fn live(&self) -> &crate::live::LiveStreams {
        &self.0.live
    }

    /// Whether a live stream opened by `caller` may stay open: the
    /// credentials it was opened with still hold (not logged out, token
    /// version unchanged, token and login within their lifetimes, account
    /// active, API key neither revoked nor expired) and they still reach
    /// what it shows. Any doubt, a storage error included, ends the
    /// stream: its client reconnects and is checked afresh.
    pub async fn still_allowed(&self, caller: &Caller, watched: &crate::live::Watched) -> bool {
        let caller = match self.recheck_caller(caller).await {
            Ok(Some(caller)) => caller,
            Ok(None) | Err(_) => return false,
        };
        let access = match watched {
            crate::live::Watched::Dataset(id) => self.0.datasets.check_read(&caller, id).await,
            crate::live::Watched::RunLog { dataset, run } => self.0.datasets.check_run_read(&caller, dataset, run).await,
        };
        access.is_ok()
    }

    /// `caller` as their credentials stand now, or `None` if these no
    /// longer hold.
    async fn recheck_caller(&self, caller: &Caller) -> Result<Option<Caller>, ApiError> {
        let identity = match &caller.identity {
            Identity::Anonymous => return Ok(Some(caller.clone())),
            Identity::Session { claims, .. } => {
                if claims.exp <= now_secs() {
                    return Ok(None);
                }
                self.claims_identity(claims.clone()).await?
            }
            Identity::ApiKey { key, .. } => match self.0.accounts.recheck_api_key(key).await {
                Ok(record) => self.key_identity(record).await?,
                Err(AccountError::BadCredentials) => None,
                Err(other) => return Err(other.to_api()),
            },
        };
        Ok(identity.map(|identity| Caller { identity, ip: caller.ip }))
    }

    /// Finishes what a crash interrupted: dataset and account deletions.
    pub async fn resume_jobs(&self) -> Result<usize, ApiError> {
        let datasets = self.0.datasets.resume_deletions().await.map_err(|e| e.to_api())?;
        let accounts = self.0.accounts.unfinished_deletions().await.map_err(|e| e.to_api())?;
        for job in &accounts {
            self.finish_account_deletion(job).await?;
        }
        Ok(datasets + accounts.len())
    }

    /// Seals again stored credentials sealed with an older key (or none).
    pub async fn reseal_credentials(&self) -> Result<usize, ApiError> {
        self.0.sources.reseal().await
    }

    /// Runs an account-deletion job to the end.
    pub async fn run_account_deletion(&self, job_id: &str) -> Result<(), ApiError> {
        let job = self.0.accounts.deletion_job(job_id).await.map_err(|e| e.to_api())?;
        self.finish_account_deletion(&job).await
    }

    /// The datasets, dashboards and monitored sources the account owned,
    /// its memberships and alert rules first, then its keys, claims and
    /// record.
    async fn finish_account_deletion(&self, job: &JobRecord) -> Result<(), ApiError> {
        if job.state == agora_model::accounts::JobState::Done {
            return Ok(());
        }
        self.0.datasets.remove_user(&job.subject).await.map_err(|e| e.to_api())?;
        self.0.dashboards.remove_user(&job.subject).await?;
        self.0.sources.remove_user(&job.subject).await?;
        self.0.accounts.run_deletion(&job.id).await.map_err(|e| e.to_api())?;
        Ok(())
    }

    pub fn tokens(&self) -> &TokenKeys {
        &self.0.tokens
    }

    pub fn limits(&self) -> &AuthLimits {
        &self.0.limits
    }

    pub fn session_ttl(&self) -> Duration {
        self.0.session_ttl
    }

    /// Whether Agora is served over HTTPS (cookies get `Secure`).
    pub fn https(&self) -> bool {
        self.0.public_url.starts_with("https://")
    }

    pub fn mailing(&self) -> Mailing<'_> {
        Mailing { tokens: &self.0.tokens, mailer: &self.0.mailer, public_url: &self.0.public_url }
    }

    /// A session token for `user` and when it expires (Unix seconds): of a
    /// new login, or of the login made at `logged_in` (a session's fresh
    /// token never outlives its login's absolute lifetime).
    pub fn issue_session(&self, user: &UserRecord, logged_in: Option<u64>) -> Result<(String, i64), ApiError> {
        let now = now_secs();
        let logged_in = logged_in.unwrap_or(now);
        let ttl = self.session_secs_left(logged_in, now);
        if ttl == 0 {
            return Err(ApiError::unauthenticated("this login has reached its longest lifetime; log in again"));
        }
        let token = self.0.tokens.issue(&user.id, user.token_version, logged_in, now, ttl).map_err(|e| {
            tracing::error!(error = %e, "could not sign a session token");
            ApiError::internal()
        })?;
        Ok((token, (now + ttl) as i64))
    }

    /// How long a token issued now for the login at `logged_in` may last:
    /// the idle lifetime, cut at the absolute one.
    fn session_secs_left(&self, logged_in: u64, now: u64) -> u64 {
        let ends = logged_in.saturating_add(self.0.session_max.as_secs());
        self.0.session_ttl.as_secs().min(ends.saturating_sub(now))
    }

    /// A `Set-Cookie` value renewing the session in `token`, once a quarter
    /// of its lifetime has passed (so an active person stays logged in, and
    /// cookies are not rewritten on every request), up to the login's
    /// absolute lifetime. `None`: nothing to renew.
    pub fn renewed_session_cookie(&self, token: &str) -> Option<String> {
        let claims = self.0.tokens.verify(token).ok()?;
        let now = now_secs();
        let ttl = self.0.session_ttl.as_secs();
        if now.saturating_sub(claims.iat) < (ttl / 4).max(60) {
            return None;
        }
        let left = self.session_secs_left(claims.logged_in_at(), now);
        if left <= claims.exp.saturating_sub(now) {
            return None;
        }
        let fresh = self.0.tokens.issue(&claims.sub, claims.ver, claims.logged_in_at(), now, left).ok()?;
        Some(crate::auth::cookie::set_session(&fresh, left, self.https()))
    }

    /// Resolves who is calling. A Bearer credential that does not check out
    /// is an error (a script should hear that its key is wrong); a stale
    /// session cookie just means "anonymous".
    pub async fn caller(&self, credentials: Credentials<'_>, ip: Option<IpAddr>) -> Result<Caller, ApiError> {
        if let Some(bearer) = credentials.bearer {
            let identity = if bearer.starts_with(crate::accounts::api_keys::KEY_PREFIX) {
                self.api_key_identity(bearer).await?
            } else {
                self.session_identity(bearer).await?.ok_or_else(|| {
                    ApiError::unauthenticated("the Bearer token is invalid or has expired; log in again or use an API key")
                })?
            };
            return Ok(Caller { identity, ip });
        }
        if let Some(token) = credentials.session_cookie {
            if let Some(identity) = self.session_identity(token).await? {
                return Ok(Caller { identity, ip });
            }
        }
        Ok(Caller::anonymous(ip))
    }

    async fn session_identity(&self, token: &str) -> Result<Option<Identity>, ApiError> {
        let claims = match self.0.tokens.verify(token) {
            Ok(claims) => claims,
            Err(TokenError::Expired | TokenError::Invalid | TokenError::TooLong | TokenError::WeakSecret) => return Ok(None),
        };
        self.claims_identity(claims).await
    }

    /// The session behind verified `claims`, if its login and account still
    /// allow it.
    async fn claims_identity(&self, claims: crate::auth::token::Claims) -> Result<Option<Identity>, ApiError> {
        // Checked here too, not only through `exp`: a lifetime shortened by
        // the operator applies to sessions already issued.
        if self.session_secs_left(claims.logged_in_at(), now_secs()) == 0 {
            return Ok(None);
        }
        let user = match self.0.accounts.get(&claims.sub).await {
            Ok(user) => user,
            Err(AccountError::NotFound) => return Ok(None),
            Err(other) => return Err(other.to_api()),
        };
        if user.token_version != claims.ver || user.check_active().is_err() {
            return Ok(None);
        }
        Ok(Some(Identity::Session { user: Box::new(user), claims }))
    }

    async fn api_key_identity(&self, key: &str) -> Result<Identity, ApiError> {
        let refused = || ApiError::unauthenticated("the API key is invalid, expired or revoked");
        let record = match self.0.accounts.verify_api_key(key).await {
            Ok(record) => record,
            Err(AccountError::BadCredentials) => return Err(refused()),
            Err(other) => return Err(other.to_api()),
        };
        let accounts = self.0.accounts.clone();
        let touched = record.clone();
        let identity = self.key_identity(record).await?.ok_or_else(refused)?;
        tokio::spawn(async move { accounts.touch_api_key(&touched).await });
        Ok(identity)
    }

    /// The identity of a live key's owner, if their account is active.
    async fn key_identity(&self, record: crate::accounts::api_keys::ApiKeyRecord) -> Result<Option<Identity>, ApiError> {
        let user = match self.0.accounts.get(&record.owner).await {
            Ok(user) if user.check_active().is_ok() => user,
            Ok(_) | Err(AccountError::NotFound) => return Ok(None),
            Err(other) => return Err(other.to_api()),
        };
        Ok(Some(Identity::ApiKey { user: Box::new(user), key: Box::new(record) }))
    }
}
