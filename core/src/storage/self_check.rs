//! What Agora relies on from an S3 store, tried for real at start-up: a store
//! that silently ignores a condition would break unique names and optimistic
//! saves long after it was deployed, so a node refuses to start on one and
//! says which feature is missing.
//!
//! Each probe works on keys of its own under `sys/probes/` and removes them,
//! whatever the outcome.

use bytes::Bytes;
use md5::{Digest, Md5};

use agora_model::tags::Tag;

use super::{multipart_etag, BodyDigest, Delivery, PresignExpiry, PutOptions, Storage, StorageError, WriteCondition};

/// A feature the store lacks, what was seen, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingFeature {
    pub feature: &'static str,
    pub seen: String,
}

impl std::fmt::Display for MissingFeature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.feature, self.seen)
    }
}

/// What the fix usually is, for the message that refuses to start.
pub const FEATURE_FIX: &str = "use a store that implements it (AWS S3, Ceph RGW 16.2 or later, a MinIO release from 2024 or later), \
     or upgrade this one; `agora serve --help` lists the storage settings";

/// Tries every feature in turn; the first one missing is returned.
/// `http` sends the presigned requests, as a browser or script would; pass
/// `None` when this node cannot reach the address presigned URLs point at
/// (a public endpoint only browsers reach), and that probe is skipped.
pub async fn check_features(storage: &Storage, http: Option<&reqwest::Client>) -> Result<(), MissingFeature> {
    let prefix = format!("sys/probes/{}-{:016x}", std::process::id(), rand::random::<u64>());
    let outcome = async {
        tagging(storage, &format!("{prefix}/tags")).await?;
        create_once(storage, &format!("{prefix}/create")).await?;
        match_etag(storage, &format!("{prefix}/match")).await?;
        multipart(storage, &format!("{prefix}/multipart")).await?;
        if let Some(http) = http {
            presigned(storage, http, &format!("{prefix}/presigned")).await?;
        }
        Ok(())
    }
    .await;
    for probe in ["tags", "create", "match", "multipart", "presigned"] {
        let _ = storage.delete(&format!("{prefix}/{probe}")).await;
    }
    outcome
}

fn missing(feature: &'static str, seen: impl Into<String>) -> MissingFeature {
    MissingFeature { feature, seen: seen.into() }
}

fn failed(feature: &'static str, step: &str, err: StorageError) -> MissingFeature {
    missing(feature, format!("{step} failed: {err}"))
}

async fn tagging(storage: &Storage, key: &str) -> Result<(), MissingFeature> {
    const FEATURE: &str = "object tagging (file labels are object tags)";
    let tag = Tag::new("agora-probe", "1");
    let options = PutOptions { tags: vec![tag.clone()], ..Default::default() };
    storage.put(key, Bytes::from_static(b"probe"), options).await.map_err(|e| failed(FEATURE, "PutObject with x-amz-tagging", e))?;
    let tags = storage.get_tags(key).await.map_err(|e| failed(FEATURE, "GetObjectTagging", e))?;
    if tags != vec![tag] {
        return Err(missing(FEATURE, format!("an object written with the tag agora-probe=1 came back with {tags:?}")));
    }
    Ok(())
}

async fn create_once(storage: &Storage, key: &str) -> Result<(), MissingFeature> {
    const FEATURE: &str = "conditional create (PutObject with If-None-Match: *), which keeps names unique";
    let create = || PutOptions { condition: Some(WriteCondition::Create), ..Default::default() };
    storage.put(key, Bytes::from_static(b"first"), create()).await.map_err(|e| failed(FEATURE, "the first create", e))?;
    match storage.put(key, Bytes::from_static(b"second"), create()).await {
        Err(StorageError::PreconditionFailed) => Ok(()),
        Ok(_) => Err(missing(FEATURE, "a second create of the same key succeeded and overwrote the first")),
        Err(other) => Err(failed(FEATURE, "the second create", other)),
    }
}

async fn match_etag(storage: &Storage, key: &str) -> Result<(), MissingFeature> {
    const FEATURE: &str = "conditional update (PutObject with If-Match), which keeps concurrent saves from losing each other";
    let current = storage.put(key, Bytes::from_static(b"v1"), PutOptions::default()).await.map_err(|e| failed(FEATURE, "PutObject", e))?;
    let stale = PutOptions { condition: Some(WriteCondition::Match("0".repeat(32))), ..Default::default() };
    match storage.put(key, Bytes::from_static(b"stale"), stale).await {
        Err(StorageError::PreconditionFailed) => {}
        Ok(_) => return Err(missing(FEATURE, "a write with a stale ETag in If-Match succeeded")),
        Err(other) => return Err(failed(FEATURE, "the write with a stale ETag", other)),
    }
    let fresh = PutOptions { condition: Some(WriteCondition::Match(current)), ..Default::default() };
    storage
        .put(key, Bytes::from_static(b"v2"), fresh)
        .await
        .map_err(|e| failed(FEATURE, "a write with the current ETag in If-Match", e))?;
    Ok(())
}

async fn multipart(storage: &Storage, key: &str) -> Result<(), MissingFeature> {
    const FEATURE: &str = "multipart uploads with MD5 part ETags (large files go in checked parts)";
    let body = Bytes::from_static(b"one part of a multipart probe");
    let id = storage.create_upload(key, PutOptions::default()).await.map_err(|e| failed(FEATURE, "CreateMultipartUpload", e))?;
    let etag = match storage.upload_part(key, &id, 1, body.clone()).await {
        Ok(etag) => etag,
        Err(err) => {
            let _ = storage.abort_upload(key, &id).await;
            return Err(failed(FEATURE, "UploadPart", err));
        }
    };
    let want_part = hex::encode(Md5::digest(&body));
    if etag != want_part {
        let _ = storage.abort_upload(key, &id).await;
        return Err(missing(FEATURE, format!("a part's ETag is {etag:?}, not the MD5 of its bytes ({want_part})")));
    }
    let parts = [(1, etag)];
    let etag = storage.complete_upload(key, &id, &parts, None, &[]).await.map_err(|e| failed(FEATURE, "CompleteMultipartUpload", e))?;
    let want = multipart_etag(&parts).unwrap_or_default();
    if etag != want {
        return Err(missing(FEATURE, format!("the object's ETag is {etag:?}, not the MD5 of its parts' MD5s ({want})")));
    }
    Ok(())
}

async fn presigned(storage: &Storage, http: &reqwest::Client, key: &str) -> Result<(), MissingFeature> {
    const FEATURE: &str = "presigned PUT and GET with the headers Agora signs (bytes go straight between clients and the store)";
    let body: &[u8] = b"a,b\n1,2\n";
    let digest = BodyDigest { size: body.len() as u64, md5: Md5::digest(body).into() };
    let tags = [Tag::new("agora-probe", "1")];
    let put = storage
        .presign_put(key, digest, Some("text/csv"), &tags, PresignExpiry::default())
        .await
        .map_err(|e| failed(FEATURE, "presigning", e))?;
    let mut request = http.put(&put.url).body(body);
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    let sent = request.send().await.map_err(|e| missing(FEATURE, format!("the presigned PUT did not reach the store: {e}")))?;
    if !sent.status().is_success() {
        let status = sent.status();
        return Err(missing(FEATURE, format!("the presigned PUT was answered {status}: {}", sent.text().await.unwrap_or_default())));
    }
    let stored = storage.head(key).await.map_err(|e| failed(FEATURE, "HeadObject after the presigned PUT", e))?;
    let stored_tags = storage.get_tags(key).await.map_err(|e| failed(FEATURE, "GetObjectTagging after the presigned PUT", e))?;
    if stored.content_type.as_deref() != Some("text/csv") || stored_tags != tags {
        return Err(missing(
            FEATURE,
            format!(
                "the presigned PUT stored type {:?} and tags {stored_tags:?}, not the signed text/csv and agora-probe=1",
                stored.content_type
            ),
        ));
    }
    let get = storage
        .presign_get(key, Delivery::Attachment { filename: "probe.csv" }, PresignExpiry::default())
        .await
        .map_err(|e| failed(FEATURE, "presigning", e))?;
    let got = http.get(&get.url).send().await.map_err(|e| missing(FEATURE, format!("the presigned GET did not reach the store: {e}")))?;
    let status = got.status();
    let bytes = got.bytes().await.unwrap_or_default();
    if !status.is_success() || bytes != body {
        return Err(missing(
            FEATURE,
            format!("the presigned GET was answered {status} with {} bytes instead of the {} written", bytes.len(), body.len()),
        ));
    }
    Ok(())
}
