//! Monitoring as a caller asks for it. Agora's own records are for
//! administrators (they show every route, client address and user).

use agora_model::monitoring::{SourceOverview, StatsAnswer, StatsQuery};
use agora_model::ApiError;

use super::Hub;
use crate::auth::caller::Caller;

/// The one source so far: Agora itself.
pub const SELF_SOURCE: &str = "agora";

impl Hub {
    /// The sources the caller may view.
    pub fn monitoring_sources(&self, caller: &Caller) -> Result<Vec<agora_model::monitoring::SourceView>, ApiError> {
        let user = caller.require_session()?;
        Ok(if user.is_admin() {
            vec![agora_model::monitoring::SourceView { id: SELF_SOURCE.into(), name: "Agora (this hub)".into(), kind: "self".into() }]
        } else {
            Vec::new()
        })
    }

    fn monitored(&self, caller: &Caller, source: &str) -> Result<&crate::monitoring::Monitor, ApiError> {
        if source != SELF_SOURCE {
            return Err(ApiError::not_found("no such monitored source"));
        }
        caller.require_admin()?;
        Ok(self.monitor())
    }

    pub async fn monitoring_statistics(&self, caller: &Caller, source: &str, query: StatsQuery) -> Result<StatsAnswer, ApiError> {
        let monitor = self.monitored(caller, source)?;
        monitor.statistics(&query.check()?).await
    }

    /// Endpoints, box plots and load over `start`..`end` (ISO-8601).
    pub async fn monitoring_overview(
        &self,
        caller: &Caller,
        source: &str,
        start: Option<String>,
        end: Option<String>,
    ) -> Result<SourceOverview, ApiError> {
        let monitor = self.monitored(caller, source)?;
        let range = StatsQuery { statistic: Some("total_visits".into()), start, end, ..Default::default() }.check()?;
        monitor.overview(range.start, range.end).await
    }
}
