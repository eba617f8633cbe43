//! Dashboard operations as a caller performs them, in the wire types.

use agora_model::dashboards::{
    DashboardAdmin, DashboardChange, DashboardFlags, DashboardList, DashboardView, DuplicateRequest, NewDashboard, Panel, PanelContent,
    StatFigure,
};
use agora_model::datasets::ShareRequest;
use agora_model::ApiError;

use super::Hub;
use crate::auth::caller::Caller;
use crate::dashboards::{stats, Change, Stored};

impl Hub {
    async fn dashboard_view(&self, caller: &Caller, stored: &Stored) -> DashboardView {
        self.dashboards().view(caller, stored).await
    }

    /// Statistic panels show datasets their editor may read (a viewer still
    /// needs to read the dataset to see the numbers).
    async fn check_stat_panels(&self, caller: &Caller, panels: &[Panel]) -> Result<(), ApiError> {
        for (n, panel) in panels.iter().enumerate() {
            if let PanelContent::DatasetStat { dataset, .. } = &panel.content {
                if self.datasets().get(caller, dataset).await.is_err() {
                    return Err(ApiError::invalid(format!("panels[{n}].dataset"), "no dataset you can read has this id"));
                }
            }
        }
        Ok(())
    }

    pub async fn create_dashboard(&self, caller: &Caller, request: NewDashboard) -> Result<DashboardView, ApiError> {
        self.check_stat_panels(caller, &request.panels).await?;
        let stored = self.dashboards().create(caller, &request.title, &request.description, request.panels).await?;
        Ok(self.dashboard_view(caller, &stored).await)
    }

    pub async fn dashboards_of(&self, caller: &Caller) -> Result<DashboardList, ApiError> {
        self.dashboards().list(caller).await
    }

    pub async fn dashboard(&self, caller: &Caller, id: &str) -> Result<DashboardView, ApiError> {
        let stored = self.dashboards().get(caller, id).await?;
        Ok(self.dashboard_view(caller, &stored).await)
    }

    pub async fn update_dashboard(&self, caller: &Caller, id: &str, change: DashboardChange) -> Result<DashboardView, ApiError> {
        if let Some(panels) = &change.panels {
            self.check_stat_panels(caller, panels).await?;
        }
        let change = Change {
            title: change.title,
            description: change.description,
            panels: change.panels,
            visibility: change.visibility,
            version: change.version,
        };
        let stored = self.dashboards().update(caller, id, change).await?;
        Ok(self.dashboard_view(caller, &stored).await)
    }

    pub async fn share_dashboard(&self, caller: &Caller, id: &str, share: ShareRequest) -> Result<DashboardView, ApiError> {
        let stored = self.dashboards().share(caller, id, &share.username, share.role).await?;
        Ok(self.dashboard_view(caller, &stored).await)
    }

    pub async fn duplicate_dashboard(&self, caller: &Caller, id: &str, request: DuplicateRequest) -> Result<DashboardView, ApiError> {
        let stored = self.dashboards().duplicate(caller, id, request.title).await?;
        Ok(self.dashboard_view(caller, &stored).await)
    }

    pub async fn delete_dashboard(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        self.dashboards().delete(caller, id).await
    }

    /// The current figure of a dataset statistic panel (`panel`: its
    /// position). The caller must be able to read the dataset too.
    pub async fn dashboard_stat(&self, caller: &Caller, id: &str, panel: usize) -> Result<StatFigure, ApiError> {
        let stored = self.dashboards().get(caller, id).await?;
        let Some(PanelContent::DatasetStat { dataset, stat }) = stored.record.panels.get(panel).map(|p| &p.content) else {
            return Err(ApiError::not_found("this dashboard has no dataset statistic panel there"));
        };
        self.datasets().get(caller, dataset).await.map_err(|_| ApiError::not_found("no dataset you can read has this id"))?;
        let figure = stats::figure(self.datasets().index().search(), dataset, *stat).await.map_err(|e| {
            tracing::error!(error = %e, "a dataset statistic failed");
            ApiError::new(agora_model::ErrorKind::Unavailable, "the search index is unavailable right now; try again shortly")
        })?;
        Ok(StatFigure { figure })
    }

    /// Markdown as a panel would show it (the editor's preview).
    pub async fn render_markdown(&self, caller: &Caller, text: &str) -> Result<String, ApiError> {
        caller.require_session()?;
        if text.chars().count() > agora_model::dashboards::MARKDOWN_MAX_CHARS {
            return Err(ApiError::invalid("text", format!("must be at most {} characters", agora_model::dashboards::MARKDOWN_MAX_CHARS)));
        }
        Ok(self.dashboards().render_markdown(text).await)
    }

    pub async fn set_dashboard_flags(&self, caller: &Caller, id: &str, flags: DashboardFlags) -> Result<DashboardView, ApiError> {
        let stored = self.dashboards().set_flags(caller, id, flags.whitelisted, flags.protected).await?;
        Ok(self.dashboard_view(caller, &stored).await)
    }

    pub async fn dashboard_admin(&self, caller: &Caller) -> Result<DashboardAdmin, ApiError> {
        self.dashboards().admin(caller).await
    }

    pub async fn dashboard_record(&self, caller: &Caller, id: &str) -> Result<serde_json::Value, ApiError> {
        self.dashboards().record(caller, id).await
    }
}

impl Hub {
    /// Every dashboard (or the whitelisted ones) as one file (administrators).
    pub async fn export_dashboards(
        &self,
        caller: &Caller,
        selection: crate::dashboards::transfer::Selection,
    ) -> Result<crate::dashboards::transfer::ExportFile, ApiError> {
        caller.require_admin()?;
        self.dashboards().export(selection, |_, _| {}).await
    }

    /// Imports an export file, checked whole first (administrators).
    pub async fn import_dashboards(
        &self,
        caller: &Caller,
        file: crate::dashboards::transfer::ExportFile,
    ) -> Result<crate::dashboards::transfer::ImportReport, ApiError> {
        caller.require_admin()?;
        self.dashboards().import(file, |_, _| {}).await
    }

    /// Runs an eviction pass now (administrators).
    pub async fn evict_dashboards(&self, caller: &Caller) -> Result<Vec<agora_model::dashboards::Eviction>, ApiError> {
        caller.require_admin()?;
        self.dashboards().enforce_budget().await
    }
}
