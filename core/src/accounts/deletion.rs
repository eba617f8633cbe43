//! Account deletion as a resumable background job (see [`crate::jobs`]).
//!
//! Asking (with the password) marks the account deleted at once — it can no
//! longer log in, and its sessions and keys stop working — and records the
//! job. The job then removes what the account owned, step by step; after a
//! crash, [`Accounts::resume_deletions`] picks every unfinished job up where
//! it stopped. Each step is idempotent. Datasets and dashboards join the
//! steps when they exist.

use agora_model::accounts::{JobState, JobView};
use agora_model::ApiError;

use super::{email_key, name_key, AccountError, Accounts};
use crate::auth::password;
use crate::jobs::{JobError, JobRecord, Jobs};
use crate::secret::Secret;

pub const JOB_KIND: &str = "delete-account";

impl From<JobError> for AccountError {
    fn from(err: JobError) -> Self {
        match err {
            JobError::NotFound => AccountError::NotFound,
            JobError::Storage(err) => AccountError::Storage(err),
            other => AccountError::Internal(other.to_string()),
        }
    }
}

impl Accounts {
    fn jobs(&self) -> Jobs {
        Jobs::new(self.storage.clone())
    }

    /// Confirms the password, ends the account at once and records the job
    /// that removes its data. Asking twice returns the same job.
    pub async fn request_deletion(&self, user_id: &str, password: Secret<String>) -> Result<JobView, AccountError> {
        let user = self.get(user_id).await?;
        if let Some(job) = &user.deletion_job {
            return self.job(job).await;
        }
        if !password::verify(password, Some(user.password_hash.clone())).await {
            return Err(AccountError::Invalid(ApiError::invalid("password", "is not your current password")));
        }
        if user.is_admin() {
            self.ensure_another_admin(user_id).await?;
        }
        let job = self.jobs().create(JOB_KIND, user_id).await?;
        let job_id = job.id.clone();
        let marked = self
            .update(user_id, |u| {
                if u.deletion_job.is_none() {
                    u.deletion_job = Some(job_id.clone());
                    u.token_version += 1;
                }
                Ok(())
            })
            .await?;
        // Two requests racing: the one whose id landed in the record wins.
        let winner = marked.deletion_job.unwrap_or(job_id);
        if winner != job.id {
            self.jobs().discard(&job.id).await;
        }
        self.job(&winner).await
    }

    /// A job's progress. Job ids are random and unguessable; they are shown
    /// only to the person who asked.
    pub async fn job(&self, id: &str) -> Result<JobView, AccountError> {
        Ok(self.jobs().load(id).await?.view())
    }

    /// The record of an account-deletion job (what it works on, how far it got).
    pub async fn deletion_job(&self, id: &str) -> Result<JobRecord, AccountError> {
        Ok(self.jobs().load(id).await?)
    }

    /// Account deletions that have not finished (after a crash).
    pub async fn unfinished_deletions(&self) -> Result<Vec<JobRecord>, AccountError> {
        Ok(self.jobs().running(JOB_KIND).await?)
    }

    /// Runs an account-deletion job to the end (or the first error, leaving
    /// the record to resume from).
    pub async fn run_deletion(&self, job_id: &str) -> Result<JobView, AccountError> {
        let jobs = self.jobs();
        let mut job = jobs.load(job_id).await?;
        if job.state == JobState::Done {
            return Ok(job.view());
        }
        tracing::info!(job = %job.id, "account deletion running");
        jobs.set_step(&mut job, "removing API keys").await?;
        let key_markers = format!("sys/user-keys/{}/", job.subject);
        // Records first: a crash after that leaves markers, which the next
        // run deletes (a marker without a record is skipped everywhere).
        let records =
            |markers: &[String]| markers.iter().filter_map(|k| k.rsplit('/').next()).map(|id| format!("sys/keys/{id}.json")).collect();
        jobs.delete_prefix(&mut job, &key_markers, records, None).await?;

        jobs.set_step(&mut job, "removing the account").await?;
        match self.get(&job.subject).await {
            Ok(user) => {
                self.release_if_held(&name_key(&user.username), &user.id).await?;
                self.release_if_held(&email_key(&user.email), &user.id).await?;
                self.storage.delete(&super::user_key(&user.id)).await.map_err(AccountError::Storage)?;
                job.done += 1;
            }
            Err(AccountError::NotFound) => {}
            Err(other) => return Err(other),
        }
        jobs.finish(&mut job).await?;
        tracing::info!(job = %job.id, removed = job.done, "account deletion finished");
        Ok(job.view())
    }

    /// Resumes every unfinished account deletion (called at start-up).
    pub async fn resume_deletions(&self) -> Result<usize, AccountError> {
        let running = self.unfinished_deletions().await?;
        for job in &running {
            self.run_deletion(&job.id).await?;
        }
        Ok(running.len())
    }
}
