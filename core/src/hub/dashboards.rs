//! Dashboard operations as a caller performs them, in the wire types.

use agora_model::dashboards::{DashboardChange, DashboardFlags, DashboardView, NewDashboard};
use agora_model::ApiError;

use super::Hub;
use crate::auth::caller::Caller;
use crate::dashboards::Change;

impl Hub {
    pub async fn create_dashboard(&self, caller: &Caller, request: NewDashboard) -> Result<DashboardView, ApiError> {
        let stored = self.dashboards().create(caller, &request.title, &request.description, request.panels).await?;
        Ok(stored.view(caller))
    }

    pub async fn dashboard(&self, caller: &Caller, id: &str) -> Result<DashboardView, ApiError> {
        Ok(self.dashboards().get(caller, id).await?.view(caller))
    }

    pub async fn update_dashboard(&self, caller: &Caller, id: &str, change: DashboardChange) -> Result<DashboardView, ApiError> {
        let change = Change {
            title: change.title,
            description: change.description,
            panels: change.panels,
            visibility: change.visibility,
            version: change.version,
        };
        Ok(self.dashboards().update(caller, id, change).await?.view(caller))
    }

    pub async fn delete_dashboard(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        self.dashboards().delete(caller, id).await
    }

    pub async fn set_dashboard_flags(&self, caller: &Caller, id: &str, flags: DashboardFlags) -> Result<DashboardView, ApiError> {
        Ok(self.dashboards().set_flags(caller, id, flags.whitelisted, flags.protected).await?.view(caller))
    }
}
