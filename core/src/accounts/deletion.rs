//! Account deletion as a resumable background job.
//!
//! Asking (with the password) marks the account deleted at once — it can no
//! longer log in, and its sessions and keys stop working — and writes a job
//! record. The job then removes what the account owned, step by step, saving
//! its progress in the record; after a crash, [`Accounts::resume_deletions`]
//! picks every unfinished job up where it stopped. Each step is idempotent.
//! Datasets and dashboards join the steps when they exist.

use agora_model::accounts::{JobState, JobView};
use agora_model::ApiError;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{email_key, name_key, random_id, unix_now, user_key, AccountError, Accounts};
use crate::auth::password;
use crate::secret::Secret;
use crate::storage::{ListOptions, PutOptions, StorageError, WriteCondition};

pub const JOB_KIND: &str = "delete-account";
const JOBS_PREFIX: &str = "sys/jobs/";

fn job_key(id: &str) -> String {
    format!("{JOBS_PREFIX}{id}.json")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct JobRecord {
    id: String,
    kind: String,
    user_id: String,
    state: JobState,
    step: String,
    done: u64,
    started_at: i64,
    updated_at: i64,
}

impl JobRecord {
    fn view(&self) -> JobView {
        JobView {
            id: self.id.clone(),
            kind: self.kind.clone(),
            state: self.state,
            step: self.step.clone(),
            done: self.done,
            started_at: self.started_at,
            updated_at: self.updated_at,
        }
    }
}

impl Accounts {
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
        let now = unix_now();
        let job = JobRecord {
            id: random_id(),
            kind: JOB_KIND.into(),
            user_id: user_id.to_owned(),
            state: JobState::Running,
            step: "starting".into(),
            done: 0,
            started_at: now,
            updated_at: now,
        };
        self.save_job(&job, Some(WriteCondition::Create)).await?;
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
            let _ = self.storage.delete(&job_key(&job.id)).await;
        }
        self.job(&winner).await
    }

    /// A job's progress. Job ids are random and unguessable; they are shown
    /// only to the person who asked.
    pub async fn job(&self, id: &str) -> Result<JobView, AccountError> {
        Ok(self.load_job(id).await?.view())
    }

    /// Runs an account-deletion job to the end (or the first error, leaving
    /// the record to resume from).
    pub async fn run_deletion(&self, job_id: &str) -> Result<JobView, AccountError> {
        let mut job = self.load_job(job_id).await?;
        if job.state == JobState::Done {
            return Ok(job.view());
        }
        tracing::info!(job = %job.id, "account deletion running");
        self.set_step(&mut job, "removing API keys").await?;
        let key_markers = format!("sys/user-keys/{}/", job.user_id);
        self.delete_prefix(&mut job, &key_markers, true).await?;

        self.set_step(&mut job, "removing the account").await?;
        match self.get(&job.user_id).await {
            Ok(user) => {
                self.release_if_held(&name_key(&user.username), &user.id).await?;
                self.release_if_held(&email_key(&user.email), &user.id).await?;
                self.storage.delete(&user_key(&user.id)).await.map_err(AccountError::Storage)?;
                job.done += 1;
            }
            Err(AccountError::NotFound) => {}
            Err(other) => return Err(other),
        }
        job.state = JobState::Done;
        self.set_step(&mut job, "done").await?;
        tracing::info!(job = %job.id, removed = job.done, "account deletion finished");
        Ok(job.view())
    }

    /// Resumes every unfinished account deletion (called at start-up).
    pub async fn resume_deletions(&self) -> Result<usize, AccountError> {
        let mut resumed = 0;
        for object in self.storage.list_all(JOBS_PREFIX).await.map_err(AccountError::Storage)? {
            let Some(id) = object.key.strip_prefix(JOBS_PREFIX).and_then(|k| k.strip_suffix(".json")) else { continue };
            let job = self.load_job(id).await?;
            if job.kind == JOB_KIND && job.state == JobState::Running {
                self.run_deletion(id).await?;
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// Deletes every object under `prefix` in batches, counting progress;
    /// with `key_markers`, each marker's API key record goes too.
    async fn delete_prefix(&self, job: &mut JobRecord, prefix: &str, key_markers: bool) -> Result<(), AccountError> {
        loop {
            let page = self
                .storage
                .list(&ListOptions { prefix: prefix.to_owned(), max_keys: Some(1000), ..Default::default() })
                .await
                .map_err(AccountError::Storage)?;
            if page.objects.is_empty() {
                return Ok(());
            }
            let keys: Vec<String> = page.objects.iter().map(|o| o.key.clone()).collect();
            if key_markers {
                let records = keys.iter().filter_map(|k| k.rsplit('/').next()).map(|id| format!("sys/keys/{id}.json")).collect::<Vec<_>>();
                // Records first: a crash after this leaves markers, which the
                // next run deletes (a marker without a record is skipped).
                let failed = self.storage.delete_many(&records).await.map_err(AccountError::Storage)?;
                if let Some((key, why)) = failed.first() {
                    return Err(AccountError::Internal(format!("could not delete {key}: {why}")));
                }
                job.done += records.len() as u64;
            }
            let failed = self.storage.delete_many(&keys).await.map_err(AccountError::Storage)?;
            if let Some((key, why)) = failed.first() {
                return Err(AccountError::Internal(format!("could not delete {key}: {why}")));
            }
            job.done += keys.len() as u64;
            self.save_job(job, None).await?;
        }
    }

    async fn set_step(&self, job: &mut JobRecord, step: &str) -> Result<(), AccountError> {
        job.step = step.to_owned();
        self.save_job(job, None).await
    }

    async fn save_job(&self, job: &JobRecord, condition: Option<WriteCondition>) -> Result<(), AccountError> {
        let mut job = job.clone();
        job.updated_at = unix_now();
        let json = serde_json::to_vec(&job).map_err(|e| AccountError::Internal(e.to_string()))?;
        let options = PutOptions { condition, content_type: Some("application/json".into()), ..Default::default() };
        self.storage.put(&job_key(&job.id), Bytes::from(json), options).await.map_err(|e| match e {
            StorageError::PreconditionFailed => AccountError::Internal("job id collision".into()),
            other => AccountError::Storage(other),
        })?;
        Ok(())
    }

    async fn load_job(&self, id: &str) -> Result<JobRecord, AccountError> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AccountError::NotFound);
        }
        let object = self.storage.get(&job_key(id), None).await.map_err(AccountError::from_storage)?;
        serde_json::from_slice(&object.body).map_err(|e| AccountError::Internal(format!("job {id} is unreadable: {e}")))
    }
}
