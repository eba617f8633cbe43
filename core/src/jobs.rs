//! Background jobs that must survive a crash: account and dataset deletion.
//!
//! A job is a record in the bucket (`sys/jobs/{id}.json`) saying what it
//! works on, which step it is at and how much it has done. Work happens in
//! idempotent batches, each followed by saving the record, so a node that
//! starts after a crash resumes every running job where it stopped.

use agora_model::accounts::{JobState, JobView};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::storage::{ListOptions, PutOptions, Storage, StorageError, StorageResult, WriteCondition};

const PREFIX: &str = "sys/jobs/";
/// Objects removed per batch (S3's DeleteObjects maximum).
const BATCH: i32 = 1000;

fn key(id: &str) -> String {
    format!("{PREFIX}{id}.json")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub kind: String,
    /// What the job works on (a user id, a dataset id).
    pub subject: String,
    pub state: JobState,
    pub step: String,
    pub done: u64,
    pub started_at: i64,
    pub updated_at: i64,
}

impl JobRecord {
    pub fn view(&self) -> JobView {
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

#[derive(Clone)]
pub struct Jobs {
    storage: Storage,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no such job")]
    NotFound,
    #[error("job record {0} is unreadable: {1}")]
    Unreadable(String, String),
    #[error("could not delete {0}: {1}")]
    Delete(String, String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Jobs {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    /// Records a new running job.
    pub async fn create(&self, kind: &str, subject: &str) -> Result<JobRecord, JobError> {
        let now = crate::accounts::unix_now();
        let job = JobRecord {
            id: crate::accounts::random_id(),
            kind: kind.to_owned(),
            subject: subject.to_owned(),
            state: JobState::Running,
            step: "starting".into(),
            done: 0,
            started_at: now,
            updated_at: now,
        };
        self.write(&job, Some(WriteCondition::Create)).await?;
        Ok(job)
    }

    pub async fn load(&self, id: &str) -> Result<JobRecord, JobError> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(JobError::NotFound);
        }
        let object = self.storage.get(&key(id), None).await.map_err(|e| match e {
            StorageError::NotFound => JobError::NotFound,
            other => JobError::Storage(other),
        })?;
        serde_json::from_slice(&object.body).map_err(|e| JobError::Unreadable(id.to_owned(), e.to_string()))
    }

    /// Forgets a job that never started (lost a race to another request).
    pub async fn discard(&self, id: &str) {
        let _ = self.storage.delete(&key(id)).await;
    }

    pub async fn set_step(&self, job: &mut JobRecord, step: &str) -> Result<(), JobError> {
        job.step = step.to_owned();
        self.save(job).await
    }

    pub async fn finish(&self, job: &mut JobRecord) -> Result<(), JobError> {
        job.state = JobState::Done;
        self.set_step(job, "done").await
    }

    pub async fn save(&self, job: &mut JobRecord) -> Result<(), JobError> {
        job.updated_at = crate::accounts::unix_now();
        self.write(job, None).await?;
        Ok(())
    }

    /// Running jobs of `kind`.
    pub async fn running(&self, kind: &str) -> Result<Vec<JobRecord>, JobError> {
        let mut jobs = Vec::new();
        for object in self.storage.list_all(PREFIX).await? {
            let Some(id) = object.key.strip_prefix(PREFIX).and_then(|k| k.strip_suffix(".json")) else { continue };
            let job = self.load(id).await?;
            if job.kind == kind && job.state == JobState::Running {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    /// Deletes every object under `prefix` in batches, saving progress after
    /// each. `companions` names objects to delete before each batch (e.g. the
    /// records that markers point to), so a crash leaves markers to find them
    /// again, never records without markers. `keep` is deleted last (e.g. the
    /// manifest that says a deletion is under way).
    pub async fn delete_prefix(
        &self,
        job: &mut JobRecord,
        prefix: &str,
        companions: impl Fn(&[String]) -> Vec<String>,
        keep: Option<&str>,
    ) -> Result<(), JobError> {
        loop {
            let page = self.storage.list(&ListOptions { prefix: prefix.to_owned(), max_keys: Some(BATCH), ..Default::default() }).await?;
            let keys: Vec<String> = page.objects.into_iter().map(|o| o.key).filter(|k| Some(k.as_str()) != keep).collect();
            if keys.is_empty() {
                return Ok(());
            }
            let extra = companions(&keys);
            self.delete_all(&extra).await?;
            self.delete_all(&keys).await?;
            job.done += (extra.len() + keys.len()) as u64;
            self.save(job).await?;
        }
    }

    async fn delete_all(&self, keys: &[String]) -> Result<(), JobError> {
        if keys.is_empty() {
            return Ok(());
        }
        match self.storage.delete_many(keys).await?.into_iter().next() {
            Some((key, why)) => Err(JobError::Delete(key, why)),
            None => Ok(()),
        }
    }

    async fn write(&self, job: &JobRecord, condition: Option<WriteCondition>) -> StorageResult<String> {
        let json = serde_json::to_vec(job).map_err(|e| StorageError::Other(e.to_string()))?;
        let options = PutOptions { condition, content_type: Some("application/json".into()), ..Default::default() };
        self.storage.put(&key(&job.id), Bytes::from(json), options).await
    }
}
