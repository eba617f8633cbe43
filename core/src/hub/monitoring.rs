//! Monitoring as a caller asks for it. Agora's own records are for
//! administrators (they show every route, client address and user); a
//! remote source is for the person who added it and administrators.

use agora_model::monitoring::{
    AlertRule, DestinationPolicyView, EndpointToggle, NewAlertRule, NewSource, SourceOverview, SourceView, StatsAnswer, StatsQuery,
};
use agora_model::ApiError;

use super::Hub;
use crate::auth::caller::Caller;
use crate::mail::Mail;
use crate::monitoring::sources::{AlertChange, SourceRecord, Sources};

/// Sources one node fetches at once.
pub const CONCURRENT_FETCHES: usize = 8;
/// Of those, at most this many of one account's.
pub const FETCHES_PER_OWNER: usize = 2;

/// Whether the caller may see (and so change) a source: its owner and
/// administrators.
fn may_see(caller: &Caller, record: &SourceRecord) -> Result<bool, ApiError> {
    let user = caller.require_session()?;
    Ok(user.is_admin() || (!record.is_self() && record.owner == user.id))
}

fn forbidden(record: &SourceRecord) -> ApiError {
    if record.is_self() {
        ApiError::forbidden("Agora's own monitoring is for administrators")
    } else {
        ApiError::forbidden("this source is visible to the person who added it and to administrators")
    }
}

impl Hub {
    fn sources(&self) -> &Sources {
        &self.0.sources
    }

    /// The source, if the caller may see (and so change) it.
    async fn source_for(&self, caller: &Caller, id: &str) -> Result<SourceRecord, ApiError> {
        let (record, _) = self.sources().load(id).await?;
        if may_see(caller, &record)? {
            Ok(record)
        } else {
            Err(forbidden(&record))
        }
    }

    async fn view_of(&self, record: &SourceRecord) -> SourceView {
        let mut view = record.view();
        let since = crate::accounts::unix_now_ms() - 86_400_000;
        view.calls_24h = self.monitor().count_since(&record.id, since).await.unwrap_or_default();
        view
    }

    /// The sources the caller may view, Agora first (for administrators).
    pub async fn monitoring_sources(&self, caller: &Caller) -> Result<Vec<SourceView>, ApiError> {
        caller.require_session()?;
        let mut views = Vec::new();
        for record in self.sources().list().await? {
            if may_see(caller, &record)? {
                views.push(self.view_of(&record).await);
            }
        }
        Ok(views)
    }

    pub async fn monitoring_source(&self, caller: &Caller, id: &str) -> Result<SourceView, ApiError> {
        let record = self.source_for(caller, id).await?;
        Ok(self.view_of(&record).await)
    }

    /// Where sources may be fetched from (administrators).
    pub fn monitoring_policy(&self, caller: &Caller) -> Result<DestinationPolicyView, ApiError> {
        if !caller.require_session()?.is_admin() {
            return Err(ApiError::forbidden("the destination policy is shown to administrators"));
        }
        let (allowed, own_listeners, inside, never) = self.0.egress.policy().describe();
        Ok(DestinationPolicyView {
            allowed,
            own_listeners,
            inside: inside.into_iter().map(str::to_owned).collect(),
            never: never.into_iter().map(str::to_owned).collect(),
            max_sources_per_user: crate::monitoring::sources::MAX_SOURCES_PER_USER,
            fetch_budget_secs: crate::monitoring::sources::FETCH_BUDGET.as_secs(),
        })
    }

    /// Checks the address and credentials with the service, then adds it.
    pub async fn add_monitoring_source(&self, caller: &Caller, source: NewSource) -> Result<SourceView, ApiError> {
        let user = caller.require_session()?;
        let checked = source.check()?;
        let record = self.sources().add(&user.id, checked).await?;
        Ok(self.view_of(&record).await)
    }

    pub async fn delete_monitoring_source(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        self.source_for(caller, id).await?;
        self.sources().delete(id).await
    }

    pub async fn toggle_monitoring_endpoint(&self, caller: &Caller, id: &str, toggle: EndpointToggle) -> Result<SourceView, ApiError> {
        self.source_for(caller, id).await?;
        let record = self.sources().set_endpoint(id, toggle.endpoint.trim(), toggle.enabled).await?;
        Ok(self.view_of(&record).await)
    }

    pub async fn monitoring_rules(&self, caller: &Caller, id: &str) -> Result<Vec<AlertRule>, ApiError> {
        Ok(self.source_for(caller, id).await?.rules)
    }

    /// Adds an alert rule whose mail goes to the caller.
    pub async fn add_monitoring_rule(&self, caller: &Caller, id: &str, rule: NewAlertRule) -> Result<AlertRule, ApiError> {
        self.source_for(caller, id).await?;
        let owner = caller.require_session()?.id.clone();
        self.sources().add_rule(id, &owner, rule).await
    }

    pub async fn delete_monitoring_rule(&self, caller: &Caller, id: &str, rule: &str) -> Result<(), ApiError> {
        self.source_for(caller, id).await?;
        self.sources().delete_rule(id, rule).await
    }

    pub async fn monitoring_statistics(&self, caller: &Caller, source: &str, query: StatsQuery) -> Result<StatsAnswer, ApiError> {
        let record = self.source_for(caller, source).await?;
        let query = query.check()?;
        let complete_until = self.sources().complete_until(&record);
        self.monitor().statistics(source, &record.disabled_endpoints, complete_until, &query).await
    }

    /// Endpoints, box plots and load over `start`..`end` (ISO-8601).
    pub async fn monitoring_overview(
        &self,
        caller: &Caller,
        source: &str,
        start: Option<String>,
        end: Option<String>,
    ) -> Result<SourceOverview, ApiError> {
        let record = self.source_for(caller, source).await?;
        let range = StatsQuery { statistic: Some("total_visits".into()), start, end, ..Default::default() }.check()?;
        self.monitor().overview(source, &record.disabled_endpoints, range.start, range.end).await
    }

    /// Fetches remote sources and checks alert rules until `stop`, mailing
    /// the owners of rules that start or stop firing. Sources are fetched
    /// side by side, [`CONCURRENT_FETCHES`] at a time and at most
    /// [`FETCHES_PER_OWNER`] of one account's, each within its budget: a
    /// slow or hostile peer delays no one else's fetches and alerts.
    pub async fn run_monitoring(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let every = self.sources().every().min(std::time::Duration::from_secs(5));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_FETCHES));
        // Source id → owner, for the sources this node is working on.
        let in_flight = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<String, String>::new()));
        // Dropped (so aborted) with the loop.
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    while tasks.try_join_next().is_some() {}
                    for record in self.sources().due().await {
                        {
                            let mut working = in_flight.lock().unwrap_or_else(|p| p.into_inner());
                            let owners = working.values().filter(|o| **o == record.owner).count();
                            if working.contains_key(&record.id) || owners >= FETCHES_PER_OWNER {
                                continue;
                            }
                            working.insert(record.id.clone(), record.owner.clone());
                        }
                        let (hub, permits, in_flight) = (self.clone(), permits.clone(), in_flight.clone());
                        tasks.spawn(async move {
                            if let Ok(_permit) = permits.acquire_owned().await {
                                for change in hub.sources().take(&record.id).await {
                                    hub.mail_alert(&change).await;
                                }
                            }
                            in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&record.id);
                        });
                    }
                }
                _ = &mut stop => return,
            }
        }
    }

    async fn mail_alert(&self, change: &AlertChange) {
        let owner = match self.accounts().get(&change.rule.owner).await {
            Ok(owner) => owner,
            Err(err) => return tracing::warn!(rule = %change.rule.id, error = %err, "the owner of an alert rule is gone; no mail"),
        };
        let rule = change.rule.rule.describe();
        let value = change.rule.last_value.map(|v| format!("{v:.2}")).unwrap_or_else(|| "no calls".into());
        let link = format!("{}/monitoring/{}", self.0.public_url, change.source);
        let (subject, text) = if change.firing {
            (
                format!("[Agora] Alert on {}: {rule}", change.source_name),
                format!("The alert rule \"{rule}\" on {} is firing: the value is now {value}.\n\nSee {link}\n", change.source_name),
            )
        } else {
            (
                format!("[Agora] Resolved on {}: {rule}", change.source_name),
                format!("The alert rule \"{rule}\" on {} is back below its threshold (now {value}).\n\nSee {link}\n", change.source_name),
            )
        };
        match self.0.mailer.send(&Mail { to: owner.email.clone(), subject, text }).await {
            Ok(()) => tracing::info!(source = %change.source, rule = %change.rule.id, firing = change.firing, "alert mail sent"),
            Err(err) => tracing::warn!(source = %change.source, rule = %change.rule.id, error = %err, "alert mail could not be sent"),
        }
    }
}
