//! Dashboards in the bucket.
//!
//! ```text
//! db/{id}.json                          the dashboard: title, description, owner, members, visibility, panels
//! dbmeta/seen/{id}                      when it was last viewed (Unix ms), written at most every few minutes
//! dbmeta/evicted/{ms}-{id}.json         one eviction, for the administrators' history
//! ```
//!
//! Flags (whitelisted, protected) are the object's tags, so an administrator
//! can set them without rewriting (or racing) the document. Saves are
//! optimistic: a change names the version (ETag) it was made from and fails
//! with a conflict if someone saved in between; nothing is overwritten
//! silently. The search index holds each dashboard's text, readers, size and
//! last use: lists, search and the storage budget read it from there.

pub mod budget;
pub mod document_schema;
pub mod markdown;
pub mod stats;
pub mod transfer;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agora_model::dashboards::{
    normalize_title, validate_description, validate_panels, DashboardAdmin, DashboardList, DashboardStorage, DashboardView, Eviction,
    Panel, PanelContent,
};
use agora_model::datasets::MemberView;
use agora_model::sharing::{Member, MemberRole, Visibility};
use agora_model::tags::Tag;
use agora_model::{ApiError, ErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use self::budget::Budget;
use self::document_schema::DocumentSchema;
use crate::accounts::{unix_now, AccountError, Accounts};
use crate::auth::access::{authorize, Kind, Need, Resource};
use crate::auth::caller::Caller;
use crate::index::journal::Indexer;
use crate::index::{DashboardDoc, Op};
use crate::storage::{PutOptions, Storage, StorageError, WriteCondition};

/// A dashboard's size limit unless configured (bytes of its JSON).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// A view is written down at most this often per dashboard and node (the
/// precision of "least recently used").
pub const VIEW_RESOLUTION: Duration = Duration::from_secs(600);
/// Dashboards a list shows at most (the most recently used).
pub const LIST_LIMIT: usize = 500;
/// Evictions the administrators' page shows (newest first).
const HISTORY: usize = 200;
const CONCURRENCY: usize = 16;

fn key(id: &str) -> String {
    format!("db/{id}.json")
}

fn seen_key(id: &str) -> String {
    format!("dbmeta/seen/{id}")
}

const EVICTED: &str = "dbmeta/evicted/";

pub fn valid_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardRecord {
    pub id: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    pub members: Vec<Member>,
    /// `Public`: anyone with the link reads it (it is still listed and
    /// found only by its owner and members).
    pub visibility: Visibility,
    pub panels: Vec<Panel>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl DashboardRecord {
    pub fn resource(&self) -> Resource<'_> {
        Resource { kind: Kind::Dashboard, id: &self.id, owner: &self.owner, members: &self.members, visibility: self.visibility }
    }
}

/// A stored dashboard: the record, its version (ETag) and its flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub record: DashboardRecord,
    pub version: String,
    pub whitelisted: bool,
    pub protected: bool,
    pub bytes: u64,
}

impl Stored {
    /// The index's document, with when it was last used (Unix ms).
    fn index_doc(&self, last_used: i64) -> DashboardDoc {
        let r = &self.record;
        let mut text: Vec<String> = r.panels.iter().map(|p| p.title.clone()).filter(|t| !t.is_empty()).collect();
        text.extend(r.panels.iter().filter_map(|p| match &p.content {
            PanelContent::Markdown { text } => Some(text.clone()),
            _ => None,
        }));
        let mut readers = vec![r.owner.clone()];
        readers.extend(r.members.iter().map(|m| m.user_id.clone()));
        DashboardDoc {
            id: r.id.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            text,
            owner: r.owner.clone(),
            readers,
            updated_at: r.updated_at,
            last_used: last_used.max(r.updated_at * 1000),
            bytes: self.bytes,
            whitelisted: self.whitelisted,
            protected: self.protected,
        }
    }
}

/// What a save changes; `version` is the one it was made from.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub title: Option<String>,
    pub description: Option<String>,
    pub panels: Option<Vec<Panel>>,
    pub visibility: Option<Visibility>,
    pub version: String,
}

/// Limits, all configurable.
#[derive(Debug, Clone)]
pub struct DashboardLimits {
    pub max_bytes: u64,
    pub budget: Budget,
    pub schema: DocumentSchema,
}

impl Default for DashboardLimits {
    fn default() -> Self {
        Self { max_bytes: DEFAULT_MAX_BYTES, budget: Budget::default(), schema: DocumentSchema::default() }
    }
}

pub(crate) fn stored_error(err: StorageError) -> ApiError {
    if err.kind() == ErrorKind::Unavailable {
        return ApiError::new(ErrorKind::Unavailable, "storage is unavailable right now; try again shortly");
    }
    tracing::error!(error = %err, "dashboard storage failed");
    ApiError::internal()
}

fn index_error(err: crate::index::IndexError) -> ApiError {
    tracing::error!(error = %err, "the dashboard index failed");
    ApiError::new(ErrorKind::Unavailable, "the search index is unavailable right now; try again shortly")
}

#[derive(Default)]
struct State {
    /// When this node last wrote down a view of each dashboard.
    seen: HashMap<String, Instant>,
    at_risk: HashSet<String>,
    storage: DashboardStorage,
    /// Bytes per owner, as of the last budget pass.
    by_owner: HashMap<String, u64>,
}

#[derive(Clone)]
pub struct Dashboards {
    storage: Storage,
    accounts: Accounts,
    index: Indexer,
    limits: Arc<DashboardLimits>,
    state: Arc<Mutex<State>>,
    markdown: Arc<markdown::MarkdownCache>,
}

/// Rendered markdown a node keeps (see [`markdown::MarkdownCache`]).
const MARKDOWN_CACHE_BYTES: usize = 32 << 20;

/// Reads a dashboard with its flags ("not found" for a malformed id too).
pub(crate) async fn load(storage: &Storage, id: &str) -> Result<Stored, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::not_found("no such dashboard"));
    }
    let key = key(id);
    let (object, tags) = futures::join!(storage.get(&key, None), storage.get_tags(&key));
    let object = match object {
        Ok(object) => object,
        Err(StorageError::NotFound) => return Err(ApiError::not_found("no such dashboard")),
        Err(other) => return Err(stored_error(other)),
    };
    let tags = tags.unwrap_or_default();
    let flag = |name: &str| tags.iter().any(|t| t.key == name && t.value == "true");
    let record = serde_json::from_slice(&object.body).map_err(|e| stored_error(StorageError::Other(e.to_string())))?;
    Ok(Stored {
        record,
        version: object.info.etag,
        whitelisted: flag("whitelisted"),
        protected: flag("protected"),
        bytes: object.info.size,
    })
}

/// When a dashboard was last viewed (Unix ms; 0 if never written down).
async fn last_seen(storage: &Storage, id: &str) -> i64 {
    match storage.get(&seen_key(id), None).await {
        Ok(object) => std::str::from_utf8(&object.body).ok().and_then(|s| s.trim().parse().ok()).unwrap_or_default(),
        Err(_) => 0,
    }
}

/// The index operation that makes a dashboard's document match storage.
pub async fn index_op(storage: &Storage, id: &str) -> Result<Op, ApiError> {
    match load(storage, id).await {
        Ok(stored) => Ok(Op::Dashboard(stored.index_doc(last_seen(storage, id).await))),
        Err(err) if err.kind == ErrorKind::NotFound => Ok(Op::RemoveDashboard(id.to_owned())),
        Err(err) => Err(err),
    }
}

/// Every dashboard id in the bucket.
pub async fn ids(storage: &Storage) -> Result<Vec<String>, ApiError> {
    Ok(storage
        .list_all("db/")
        .await
        .map_err(stored_error)?
        .into_iter()
        .filter_map(|o| o.key.strip_prefix("db/").and_then(|k| k.strip_suffix(".json")).filter(|id| valid_id(id)).map(str::to_owned))
        .collect())
}

fn flag_tags(whitelisted: bool, protected: bool) -> Vec<Tag> {
    [("whitelisted", whitelisted), ("protected", protected)]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| Tag::new(name, "true"))
        .collect()
}

fn stale() -> ApiError {
    ApiError::conflict("version", "someone saved this dashboard after you opened it; reload to see their changes, then apply yours again")
}

impl Dashboards {
    pub fn new(storage: Storage, accounts: Accounts, index: Indexer, limits: DashboardLimits) -> Self {
        let markdown = Arc::new(markdown::MarkdownCache::new(MARKDOWN_CACHE_BYTES));
        Self { storage, accounts, index, limits: Arc::new(limits), state: Arc::default(), markdown }
    }

    /// Markdown rendered and sanitised, from the node's cache (misses render
    /// off the executor).
    pub async fn render_markdown(&self, text: &str) -> String {
        self.markdown.render(text).await.to_string()
    }

    pub fn limits(&self) -> &DashboardLimits {
        &self.limits
    }

    /// Checks a dashboard's content against the rules and the schema;
    /// returns the normalised title.
    pub fn check(&self, title: &str, description: &str, panels: &[Panel]) -> Result<String, ApiError> {
        let title = normalize_title(title)?;
        validate_description(description)?;
        validate_panels(panels)?;
        let document = serde_json::json!({"title": title, "description": description, "panels": panels});
        self.limits.schema.check(&document)?;
        Ok(title)
    }

    fn encode(&self, record: &DashboardRecord) -> Result<Bytes, ApiError> {
        let json = serde_json::to_vec(record).map_err(|e| stored_error(StorageError::Other(e.to_string())))?;
        if json.len() as u64 > self.limits.max_bytes {
            return Err(ApiError::new(
                ErrorKind::TooLarge,
                format!(
                    "this dashboard would take {} bytes; the limit is {} bytes (AGORA_MAX_DASHBOARD_BYTES)",
                    json.len(),
                    self.limits.max_bytes
                ),
            ));
        }
        Ok(Bytes::from(json))
    }

    async fn write(&self, record: &DashboardRecord, condition: Option<WriteCondition>, tags: Vec<Tag>) -> Result<(String, u64), ApiError> {
        let body = self.encode(record)?;
        let bytes = body.len() as u64;
        let options = PutOptions { condition, content_type: Some("application/json".into()), tags, ..Default::default() };
        match self.storage.put(&key(&record.id), body, options).await {
            Ok(version) => Ok((version, bytes)),
            Err(StorageError::PreconditionFailed) => Err(stale()),
            Err(other) => Err(stored_error(other)),
        }
    }

    async fn indexed(&self, stored: &Stored, last_used: i64) {
        self.index.changed(vec![Op::Dashboard(stored.index_doc(last_used))]).await;
    }

    /// Creates a dashboard owned by the caller (a session: keys do not make dashboards).
    pub async fn create(&self, caller: &Caller, title: &str, description: &str, panels: Vec<Panel>) -> Result<Stored, ApiError> {
        let owner = caller.require_session()?;
        let title = self.check(title, description, &panels)?;
        let now = unix_now();
        let record = DashboardRecord {
            id: crate::accounts::random_id()[..16].to_owned(),
            title,
            description: description.trim().to_owned(),
            owner: owner.id.clone(),
            members: Vec::new(),
            visibility: Visibility::Private,
            panels,
            created_at: now,
            updated_at: now,
        };
        let (version, bytes) = self.write(&record, Some(WriteCondition::Create), Vec::new()).await?;
        let stored = Stored { record, version, whitelisted: false, protected: false, bytes };
        self.indexed(&stored, crate::accounts::unix_now_ms()).await;
        tracing::info!(dashboard = %stored.record.id, "dashboard created");
        self.enforce_budget_or_log().await;
        Ok(stored)
    }

    /// "Save as new": a private copy owned by the caller.
    pub async fn duplicate(&self, caller: &Caller, id: &str, title: Option<String>) -> Result<Stored, ApiError> {
        let source = self.get(caller, id).await?.record;
        let title =
            title.unwrap_or_else(|| format!("Copy of {}", source.title).chars().take(agora_model::dashboards::TITLE_MAX_CHARS).collect());
        self.create(caller, &title, &source.description, source.panels).await
    }

    /// A dashboard the caller may read ("not found" otherwise). The view is
    /// written down for eviction (at most every [`VIEW_RESOLUTION`]).
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Stored, ApiError> {
        let stored = load(&self.storage, id).await?;
        authorize(caller, &stored.record.resource(), Need::Read)?;
        self.note_view(&stored).await;
        Ok(stored)
    }

    async fn note_view(&self, stored: &Stored) {
        let id = &stored.record.id;
        {
            let mut state = self.state.lock().unwrap();
            if state.seen.get(id).is_some_and(|at| at.elapsed() < VIEW_RESOLUTION) {
                return;
            }
            state.seen.insert(id.clone(), Instant::now());
        }
        let now = crate::accounts::unix_now_ms();
        let options = PutOptions { content_type: Some("text/plain".into()), ..Default::default() };
        if let Err(err) = self.storage.put(&seen_key(id), Bytes::from(now.to_string()), options).await {
            tracing::warn!(dashboard = %id, error = %err, "could not write down a dashboard view");
            return;
        }
        self.indexed(stored, now).await;
    }

    /// The reader's view: rendered markdown, members for those who share,
    /// and whether eviction is near.
    pub async fn view(&self, caller: &Caller, stored: &Stored) -> DashboardView {
        let r = &stored.record;
        let level = crate::auth::access::allowed(caller, &r.resource());
        let manageable = level >= Some(Need::Manage);
        let members = if manageable { self.member_views(r).await } else { Vec::new() };
        let mut panel_html = Vec::with_capacity(r.panels.len());
        for panel in &r.panels {
            panel_html.push(match &panel.content {
                PanelContent::Markdown { text } => Some(self.markdown.render(text).await.to_string()),
                _ => None,
            });
        }
        DashboardView {
            id: r.id.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            owner: r.owner.clone(),
            visibility: r.visibility,
            panels: r.panels.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: stored.version.clone(),
            whitelisted: stored.whitelisted,
            protected: stored.protected,
            bytes: stored.bytes,
            editable: !stored.protected && level >= Some(Need::Write),
            manageable,
            members,
            at_risk: self.state.lock().unwrap().at_risk.contains(&r.id),
            panel_html,
        }
    }

    async fn member_views(&self, record: &DashboardRecord) -> Vec<MemberView> {
        let mut people = vec![(record.owner.clone(), MemberRole::Owner)];
        for member in &record.members {
            people.push((member.user_id.clone(), member.role));
        }
        futures::stream::iter(people)
            .map(|(user_id, role)| async move {
                let username = match self.accounts.get(&user_id).await {
                    Ok(user) => user.username,
                    Err(_) => "(deleted account)".to_owned(),
                };
                MemberView { user_id, username, role }
            })
            .buffered(CONCURRENCY)
            .collect()
            .await
    }

    /// Saves a change made from `change.version`. A dashboard saved by
    /// someone else meanwhile is a conflict; a protected one refuses.
    pub async fn update(&self, caller: &Caller, id: &str, change: Change) -> Result<Stored, ApiError> {
        let stored = load(&self.storage, id).await?;
        let need = if change.visibility.is_some() { Need::Manage } else { Need::Write };
        authorize(caller, &stored.record.resource(), need)?;
        refuse_protected(&stored)?;
        if stored.version != change.version {
            return Err(stale());
        }
        let mut record = stored.record.clone();
        let title = change.title.as_deref().unwrap_or(&record.title).to_owned();
        let description = change.description.as_deref().unwrap_or(&record.description).to_owned();
        let panels = change.panels.unwrap_or_else(|| record.panels.clone());
        record.title = self.check(&title, &description, &panels)?;
        record.description = description.trim().to_owned();
        record.panels = panels;
        if let Some(visibility) = change.visibility {
            record.visibility = visibility;
        }
        record.updated_at = unix_now();
        let saved = self.save(stored, record).await?;
        self.enforce_budget_or_log().await;
        Ok(saved)
    }

    /// Writes `record` over `stored` (if nobody saved meanwhile), keeping its flags.
    async fn save(&self, stored: Stored, record: DashboardRecord) -> Result<Stored, ApiError> {
        let tags = flag_tags(stored.whitelisted, stored.protected);
        let (version, bytes) = self.write(&record, Some(WriteCondition::Match(stored.version.clone())), tags).await?;
        let saved = Stored { record, version, bytes, ..stored };
        self.indexed(&saved, crate::accounts::unix_now_ms()).await;
        Ok(saved)
    }

    /// Gives someone view or edit access (`role: None` takes it away).
    pub async fn share(&self, caller: &Caller, id: &str, username: &str, role: Option<MemberRole>) -> Result<Stored, ApiError> {
        if role == Some(MemberRole::Owner) {
            return Err(ApiError::invalid("role", "a dashboard has one owner: choose viewer or editor"));
        }
        let stored = load(&self.storage, id).await?;
        authorize(caller, &stored.record.resource(), Need::Manage)?;
        refuse_protected(&stored)?;
        let user = match self.accounts.find_by_username(username).await {
            Ok(user) if user.check_active().is_ok() => user,
            Ok(_) | Err(AccountError::NotFound) => return Err(ApiError::invalid("username", format!("no account is called {username:?}"))),
            Err(other) => return Err(other.to_api()),
        };
        if user.id == stored.record.owner {
            return Err(ApiError::invalid("username", "this is the dashboard's owner"));
        }
        let mut record = stored.record.clone();
        record.members.retain(|m| m.user_id != user.id);
        if let Some(role) = role {
            record.members.push(Member { user_id: user.id.clone(), role });
        }
        self.save(stored, record).await
    }

    /// Deletes a dashboard (owner; never a protected one).
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        let stored = load(&self.storage, id).await?;
        authorize(caller, &stored.record.resource(), Need::Manage)?;
        if stored.protected {
            return Err(ApiError::forbidden("this dashboard is protected and cannot be deleted"));
        }
        self.remove(id).await?;
        tracing::info!(dashboard = %id, "dashboard deleted");
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<(), ApiError> {
        self.storage.delete(&key(id)).await.map_err(stored_error)?;
        let _ = self.storage.delete(&seen_key(id)).await;
        self.index.changed(vec![Op::RemoveDashboard(id.to_owned())]).await;
        Ok(())
    }

    /// Sets the administrator's flags (as the object's tags). Protecting
    /// implies whitelisting; unprotecting leaves whitelisting as it is.
    pub async fn set_flags(
        &self,
        caller: &Caller,
        id: &str,
        whitelisted: Option<bool>,
        protected: Option<bool>,
    ) -> Result<Stored, ApiError> {
        caller.require_admin()?;
        let mut stored = load(&self.storage, id).await?;
        if let Some(on) = protected {
            stored.protected = on;
            stored.whitelisted |= on;
        }
        if let Some(on) = whitelisted {
            stored.whitelisted = on || stored.protected;
        }
        self.storage.put_tags(&key(id), &flag_tags(stored.whitelisted, stored.protected)).await.map_err(stored_error)?;
        self.indexed(&stored, last_seen(&self.storage, id).await).await;
        tracing::info!(dashboard = %id, whitelisted = stored.whitelisted, protected = stored.protected, "dashboard flags set");
        self.enforce_budget_or_log().await;
        Ok(stored)
    }

    /// The dashboards the caller may list, most recently used first.
    pub async fn list(&self, caller: &Caller) -> Result<DashboardList, ApiError> {
        let user = caller.require_session()?;
        let mut list = self.listing(Some(user.id.clone())).await?;
        list.own_bytes = self.state.lock().unwrap().by_owner.get(&user.id).copied().unwrap_or_default();
        list.share_bytes = self.limits.budget.per_user;
        Ok(list)
    }

    async fn listing(&self, reader: Option<String>) -> Result<DashboardList, ApiError> {
        let index = self.index.search();
        let (total, mut dashboards) = index
            .read(move |searcher, fields| crate::index::dashboards::list(searcher, fields, reader.as_deref(), LIST_LIMIT))
            .await
            .map_err(index_error)?;
        let state = self.state.lock().unwrap();
        for dashboard in &mut dashboards {
            dashboard.at_risk = state.at_risk.contains(&dashboard.id);
        }
        drop(state);
        Ok(DashboardList { total, dashboards, indexing: index.rebuilding().is_some(), ..Default::default() })
    }

    /// Storage, every dashboard and the eviction history (administrators).
    pub async fn admin(&self, caller: &Caller) -> Result<DashboardAdmin, ApiError> {
        caller.require_admin()?;
        self.enforce_budget().await?;
        let dashboards = self.listing(None).await?;
        let storage = self.state.lock().unwrap().storage.clone();
        Ok(DashboardAdmin { storage, dashboards, evictions: self.evictions().await? })
    }

    /// The whole stored record with its flags and version (administrators).
    pub async fn record(&self, caller: &Caller, id: &str) -> Result<serde_json::Value, ApiError> {
        caller.require_admin()?;
        let stored = load(&self.storage, id).await?;
        let mut value = serde_json::to_value(&stored.record).map_err(|e| stored_error(StorageError::Other(e.to_string())))?;
        value["stored"] = serde_json::json!({
            "key": key(id), "version": stored.version, "bytes": stored.bytes,
            "whitelisted": stored.whitelisted, "protected": stored.protected,
            "last_viewed_ms": last_seen(&self.storage, id).await,
        });
        Ok(value)
    }

    /// Evicts least-recently-used dashboards if storage reached the
    /// threshold, and works out which are at risk. Returns the evictions.
    pub async fn enforce_budget(&self) -> Result<Vec<Eviction>, ApiError> {
        let budget = self.limits.budget;
        let read = || self.index.search().read(crate::index::dashboards::budget_view);
        let (mut usage, mut candidates) = read().await.map_err(index_error)?;
        let mut evicted = Vec::new();
        if usage.total >= budget.evict_at() {
            for candidate in budget::plan(&usage, candidates, budget.target(), budget.per_user) {
                if let Some(eviction) = self.evict(&candidate).await? {
                    evicted.push(eviction);
                }
            }
            (usage, candidates) = read().await.map_err(index_error)?;
        }
        let at_risk: HashSet<String> = if usage.total >= budget.warn_at() {
            budget::plan(&usage, candidates, budget.target(), budget.per_user).into_iter().map(|c| c.id).collect()
        } else {
            HashSet::new()
        };
        let mut state = self.state.lock().unwrap();
        state.storage = DashboardStorage {
            used_bytes: usage.total,
            budget_bytes: budget.total,
            per_user_bytes: budget.per_user,
            evict_at_bytes: budget.evict_at(),
            target_bytes: budget.target(),
            dashboards: usage.count,
            at_risk: at_risk.len() as u64,
        };
        state.at_risk = at_risk;
        state.by_owner = usage.by_owner;
        Ok(evicted)
    }

    async fn enforce_budget_or_log(&self) {
        if let Err(err) = self.enforce_budget().await {
            tracing::warn!(error = %err.message, "the dashboard storage budget could not be checked");
        }
    }

    /// Deletes one dashboard the plan chose, after checking storage still
    /// agrees (not whitelisted since, not used since).
    async fn evict(&self, candidate: &budget::Candidate) -> Result<Option<Eviction>, ApiError> {
        let stored = match load(&self.storage, &candidate.id).await {
            Ok(stored) => stored,
            Err(err) if err.kind == ErrorKind::NotFound => {
                self.index.changed(vec![Op::RemoveDashboard(candidate.id.clone())]).await;
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        let last_used = last_seen(&self.storage, &candidate.id).await.max(stored.record.updated_at * 1000);
        if stored.whitelisted || stored.protected || last_used > candidate.last_used {
            self.indexed(&stored, last_used).await;
            return Ok(None);
        }
        let r = &stored.record;
        let eviction = Eviction {
            id: r.id.clone(),
            title: r.title.clone(),
            owner: r.owner.clone(),
            bytes: stored.bytes,
            last_used: last_used / 1000,
            evicted_at: unix_now(),
        };
        self.remove(&r.id).await?;
        let entry = serde_json::to_vec(&eviction).unwrap_or_default();
        let log_key = format!("{EVICTED}{:013}-{}.json", crate::accounts::unix_now_ms(), r.id);
        if let Err(err) = self.storage.put(&log_key, Bytes::from(entry), PutOptions::default()).await {
            tracing::warn!(error = %err, "could not write the eviction down");
        }
        tracing::warn!(dashboard = %r.id, title = %r.title, owner = %r.owner, bytes = stored.bytes, "dashboard evicted: the dashboards' storage budget is full");
        Ok(Some(eviction))
    }

    /// The eviction history, newest first.
    pub async fn evictions(&self) -> Result<Vec<Eviction>, ApiError> {
        let mut listed = self.storage.list_all(EVICTED).await.map_err(stored_error)?;
        listed.sort_by(|a, b| b.key.cmp(&a.key));
        listed.truncate(HISTORY);
        let entries: Vec<Option<Eviction>> = futures::stream::iter(listed)
            .map(|object| async move {
                let body = self.storage.get(&object.key, None).await.ok()?.body;
                serde_json::from_slice(&body).ok()
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        Ok(entries.into_iter().flatten().collect())
    }

    /// Checks the budget every `every` (other nodes' saves and views change
    /// who is at risk) until `stop`.
    pub fn keep_within_budget(&self, every: Duration, stop: impl std::future::Future<Output = ()> + Send + 'static) {
        let dashboards = self.clone();
        tokio::spawn(async move {
            tokio::pin!(stop);
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => dashboards.enforce_budget_or_log().await,
                    _ = &mut stop => return,
                }
            }
        });
    }

    /// For a deleted account: deletes the dashboards it owned — except
    /// protected ones, which an administrator chose to keep — and takes it
    /// out of the others' members. Resumable: running it again finds what is
    /// left. Returns how many dashboards it touched.
    pub async fn remove_user(&self, user_id: &str) -> Result<u64, ApiError> {
        let mut touched = 0;
        for id in ids(&self.storage).await? {
            let stored = match load(&self.storage, &id).await {
                Ok(stored) => stored,
                Err(err) if err.kind == ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if stored.record.owner == user_id && !stored.protected {
                self.remove(&id).await?;
                touched += 1;
            } else if stored.record.members.iter().any(|m| m.user_id == user_id) {
                let mut record = stored.record.clone();
                record.members.retain(|m| m.user_id != user_id);
                match self.save(stored, record).await {
                    // Saved meanwhile: the next run of the job takes it out.
                    Ok(_) => touched += 1,
                    Err(err) if err.kind == ErrorKind::Conflict => touched += 1,
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(touched)
    }
}

fn refuse_protected(stored: &Stored) -> Result<(), ApiError> {
    if stored.protected {
        return Err(ApiError::forbidden("this dashboard is protected: it is read-only for everyone until an administrator unprotects it"));
    }
    Ok(())
}
