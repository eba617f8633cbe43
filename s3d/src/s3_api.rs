//! The S3 protocol over [`Store`]: each `s3s::S3` operation translates its
//! input, calls the store, and translates the result. No storage logic here.

use std::sync::Arc;

use agora_model::tags::{parse_tagging_header, Tag};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};

use crate::store::{self, CompletedPartRef, Condition, ListRequest, ObjectHeaders, PutRequest, Store, StoreError};
use crate::{checksums, reads};

/// The `s3s::S3` implementation of the embedded endpoint.
#[derive(Clone)]
pub struct S3Api {
    store: Arc<Store>,
}

impl S3Api {
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    fn existing_bucket(&self, name: &str) -> S3Result<()> {
        if self.store.bucket_exists(name) {
            Ok(())
        } else {
            Err(s3_error!(NoSuchBucket))
        }
    }
}

pub(crate) fn s3_err(err: StoreError) -> S3Error {
    use S3ErrorCode as C;
    let (code, message) = match &err {
        StoreError::NoSuchBucket => (C::NoSuchBucket, None),
        StoreError::BucketAlreadyExists => (C::BucketAlreadyOwnedByYou, None),
        StoreError::BucketNotEmpty => (C::BucketNotEmpty, None),
        StoreError::InvalidBucketName(_) => (C::InvalidBucketName, Some(err.to_string())),
        StoreError::NoSuchKey => (C::NoSuchKey, None),
        StoreError::NoSuchUpload => (C::NoSuchUpload, None),
        StoreError::PreconditionFailed => (C::PreconditionFailed, None),
        StoreError::InvalidTag(_) => (C::InvalidTag, Some(err.to_string())),
        StoreError::KeyTooLong(_) => (C::KeyTooLongError, Some(err.to_string())),
        StoreError::InvalidKey(_) | StoreError::InvalidArgument(_) => (C::InvalidArgument, Some(err.to_string())),
        StoreError::InvalidPart(_) => (C::InvalidPart, Some(err.to_string())),
        StoreError::InvalidPartOrder => (C::InvalidPartOrder, None),
        StoreError::EntityTooSmall { .. } => (C::EntityTooSmall, Some(err.to_string())),
        StoreError::IncompleteBody(_) => (C::IncompleteBody, Some(err.to_string())),
        StoreError::BadDigest | StoreError::BadChecksum(_) => (C::BadDigest, Some(err.to_string())),
        StoreError::InvalidRequest(_) => (C::InvalidRequest, Some(err.to_string())),
        StoreError::SignatureDoesNotMatch => (C::SignatureDoesNotMatch, Some(err.to_string())),
        StoreError::Io(io) => {
            tracing::error!(error = %io, "embedded S3 storage failure");
            (C::InternalError, None)
        }
    };
    match message {
        Some(message) => S3Error::with_message(code, message),
        None => S3Error::new(code),
    }
}

fn conditions(if_match: Option<&ETagCondition>, if_none_match: Option<&ETagCondition>) -> Vec<Condition> {
    let mut out = Vec::new();
    match if_match {
        Some(ETagCondition::Any) => out.push(Condition::Exists),
        Some(ETagCondition::ETag(etag)) => out.push(Condition::ETagIs(etag.value().to_owned())),
        None => {}
    }
    match if_none_match {
        Some(ETagCondition::Any) => out.push(Condition::NoneExists),
        Some(ETagCondition::ETag(etag)) => out.push(Condition::ETagIsNot(etag.value().to_owned())),
        None => {}
    }
    out
}

fn tags_from_header(header: Option<&str>) -> S3Result<Vec<Tag>> {
    header
        .map(parse_tagging_header)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| S3Error::with_message(S3ErrorCode::InvalidTag, e.message))
}

fn tags_to_dto(tags: &[Tag]) -> TagSet {
    tags.iter().map(|t| s3s::dto::Tag { key: Some(t.key.clone()), value: Some(t.value.clone()) }).collect()
}

fn tags_from_dto(set: TagSet) -> Vec<Tag> {
    set.into_iter().map(|t| Tag::new(t.key.unwrap_or_default(), t.value.unwrap_or_default())).collect()
}

/// The stored headers of an object, from any input that carries them
/// (PutObject, CopyObject, CreateMultipartUpload name the fields alike).
macro_rules! object_headers {
    ($input:expr) => {
        ObjectHeaders {
            content_type: $input.content_type,
            content_disposition: $input.content_disposition,
            content_encoding: stored_encoding($input.content_encoding),
            content_language: $input.content_language,
            cache_control: $input.cache_control,
            expires: $input.expires.map(Into::into),
            user_metadata: $input
                .metadata
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v): (String, String)| (k.to_ascii_lowercase(), v))
                .collect(),
        }
    };
}

/// The conditional headers of a GET or HEAD input.
macro_rules! read_conditions {
    ($input:expr) => {
        reads::ReadConditions {
            if_match: $input.if_match.as_ref(),
            if_none_match: $input.if_none_match.as_ref(),
            if_modified_since: $input.if_modified_since.as_ref(),
            if_unmodified_since: $input.if_unmodified_since.as_ref(),
        }
    };
}

/// The copy-source conditional headers of a CopyObject or UploadPartCopy input.
macro_rules! copy_source_conditions {
    ($input:expr) => {
        reads::ReadConditions {
            if_match: $input.copy_source_if_match.as_ref(),
            if_none_match: $input.copy_source_if_none_match.as_ref(),
            if_modified_since: $input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: $input.copy_source_if_unmodified_since.as_ref(),
        }
    };
}

/// `Content-MD5`: the base64 of 16 bytes, or `InvalidDigest` as S3 answers.
fn content_md5(header: Option<&str>) -> S3Result<Option<[u8; 16]>> {
    use base64::Engine as _;
    let Some(header) = header else { return Ok(None) };
    base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .ok()
        .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
        .map(Some)
        .ok_or_else(|| s3_error!(InvalidDigest, "the Content-MD5 you specified is not the base64 of a 16-byte MD5"))
}

fn non_negative(value: Option<i64>, what: &str) -> S3Result<Option<u64>> {
    value.map(|v| u64::try_from(v).map_err(|_| s3_error!(InvalidArgument, "{what} must not be negative"))).transpose()
}

/// With `encoding-type=url` (boto3 and the AWS CLI always ask for it) every
/// key-like value in a listing is percent-encoded, and the client decodes it;
/// unencoded keys with `+` or `%` would come back altered.
fn listing_encoder(encoding_type: Option<&EncodingType>) -> impl Fn(String) -> String {
    let url = encoding_type.is_some_and(|e| e.as_str().eq_ignore_ascii_case("url"));
    move |value: String| if url { url_encode(&value) } else { value }
}

/// Everything but RFC 3986 unreserved characters and `/` becomes `%XX`.
fn url_encode(value: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
    percent_encoding::utf8_percent_encode(value, KEEP).to_string()
}

pub(crate) fn strip_quotes(etag: &str) -> String {
    etag.trim_start_matches("W/").trim_matches('"').to_owned()
}

/// The bucket and key of `x-amz-copy-source` (access points are not served).
fn copy_source(source: &CopySource) -> S3Result<(String, String)> {
    match source {
        CopySource::Bucket { bucket, key, .. } => Ok((bucket.to_string(), key.to_string())),
        _ => Err(s3_error!(NotImplemented, "only bucket/key copy sources are supported")),
    }
}

/// `max-keys` of a listing: 0–1000 (more is capped), 1000 when absent.
fn max_keys(value: Option<i32>) -> S3Result<usize> {
    match value {
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative")),
        Some(n) => Ok(n as usize),
        None => Ok(store::MAX_KEYS_DEFAULT),
    }
}

/// A listing page's objects and common prefixes (v1 and v2 alike).
fn listed(page: &store::ListPage, encode: &impl Fn(String) -> String) -> (Vec<Object>, Vec<CommonPrefix>) {
    let objects = page
        .objects
        .iter()
        .map(|meta| Object {
            key: Some(encode(meta.key.clone())),
            size: Some(meta.size as i64),
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            last_modified: Some(meta.last_modified.into()),
            storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
            ..Default::default()
        })
        .collect();
    let prefixes = page.common_prefixes.iter().map(|p| CommonPrefix { prefix: Some(encode(p.clone())) }).collect();
    (objects, prefixes)
}

/// `x-amz-copy-source-range: bytes=first-last` (both bounds, as S3 requires).
fn copy_source_range(value: &str) -> S3Result<std::ops::Range<u64>> {
    match Range::parse(value.trim()) {
        Ok(Range::Int { first, last: Some(last) }) => Ok(first..last + 1),
        _ => Err(s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )),
    }
}

/// `Content-Encoding` as stored: without `aws-chunked`, which describes
/// how the request body was framed, not the object (AWS drops it too).
fn stored_encoding(value: Option<String>) -> Option<String> {
    let kept: Vec<&str> =
        value.as_deref()?.split(',').map(str::trim).filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked")).collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// Whether a GET or HEAD asked for the stored checksum.
fn wants_checksum(mode: Option<&s3s::dto::ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case("ENABLED"))
}

/// An object's type as served: the stored one, or S3's default.
fn stored_type(headers: &ObjectHeaders) -> String {
    headers.content_type.clone().unwrap_or_else(|| "binary/octet-stream".into())
}

/// A copy directive: `COPY` (the default) or `REPLACE`; anything else is
/// `400 InvalidArgument`, naming the header.
fn directive(value: Option<&str>, header: &str) -> S3Result<bool> {
    match value {
        None | Some("COPY") => Ok(false),
        Some("REPLACE") => Ok(true),
        Some(other) => Err(s3_error!(InvalidArgument, "Unknown {header} value {other:?}: it must be COPY or REPLACE")),
    }
}

#[async_trait::async_trait]
impl S3 for S3Api {
    async fn get_bucket_versioning(&self, req: S3Request<GetBucketVersioningInput>) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        // Versioning was never enabled: AWS answers an empty configuration.
        self.existing_bucket(&req.input.bucket)?;
        Ok(S3Response::new(GetBucketVersioningOutput::default()))
    }

    async fn get_bucket_cors(&self, req: S3Request<GetBucketCorsInput>) -> S3Result<S3Response<GetBucketCorsOutput>> {
        // CORS is the endpoint's own (its allowed origins), not a bucket
        // configuration: there is none to return, as AWS says of a bucket
        // without one.
        self.existing_bucket(&req.input.bucket)?;
        Err(s3_error!(NoSuchCORSConfiguration))
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.store.create_bucket(&req.input.bucket).await.map_err(s3_err)?;
        Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{}", req.input.bucket)) }))
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.store.delete_bucket(&req.input.bucket).await.map_err(s3_err)?;
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.existing_bucket(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(&self, req: S3Request<GetBucketLocationInput>) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.existing_bucket(&req.input.bucket)?;
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn list_buckets(&self, _req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let buckets = self
            .store
            .list_buckets()
            .into_iter()
            .map(|(name, created)| Bucket { name: Some(name), creation_date: Some(created.into()), ..Default::default() })
            .collect();
        Ok(S3Response::new(ListBucketsOutput { buckets: Some(buckets), ..Default::default() }))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let checksum = checksums::declared(&req.headers, req.trailing_headers.as_ref())?;
        let input = req.input;
        let request = PutRequest {
            checksum,
            tags: tags_from_header(input.tagging.as_deref())?,
            conditions: conditions(input.if_match.as_ref(), input.if_none_match.as_ref()),
            content_length: non_negative(input.content_length, "Content-Length")?,
            content_md5: content_md5(input.content_md5.as_deref())?,
            headers: object_headers!(input),
            key: input.key,
        };
        let body = input.body.ok_or_else(|| s3_error!(IncompleteBody, "the request has no body"))?;
        let meta = self.store.put(&input.bucket, request, body).await.map_err(s3_err)?;
        let mut output = PutObjectOutput {
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            checksum_type: checksums::kind(meta.checksum.as_ref()),
            ..Default::default()
        };
        checksums::set_checksum!(output, meta.checksum.as_ref());
        Ok(S3Response::new(output))
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        // Preconditions, range and body all answer for the version looked up here.
        let reader = self.store.reader(&input.bucket, &input.key).map_err(s3_err)?;
        let meta = reader.meta();
        read_conditions!(input).check_read(meta)?;
        let selection = reads::select(meta, input.range.as_ref(), input.part_number)?;
        let range = selection.range.clone();
        let object = reader.body(range.clone()).await.map_err(s3_err)?;
        let meta = object.meta;
        let length = object.range.end - object.range.start;
        let headers = &meta.headers;
        // A checksum covers the whole object: it comes only with all of it.
        let checksum = meta.checksum.as_ref().filter(|_| wants_checksum(input.checksum_mode.as_ref()) && range.is_none());
        let mut output = GetObjectOutput {
            checksum_type: checksums::kind(checksum),
            body: Some(StreamingBlob::wrap(SyncStream::new(object.stream))),
            content_length: Some(length as i64),
            content_range: range.map(|r| reads::content_range(&r, meta.size)),
            parts_count: selection.parts_count,
            accept_ranges: Some("bytes".into()),
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            last_modified: Some(meta.last_modified.into()),
            content_type: input.response_content_type.or_else(|| Some(stored_type(headers))),
            content_disposition: input.response_content_disposition.or_else(|| headers.content_disposition.clone()),
            content_encoding: input.response_content_encoding.or_else(|| headers.content_encoding.clone()),
            content_language: input.response_content_language.or_else(|| headers.content_language.clone()),
            cache_control: input.response_cache_control.or_else(|| headers.cache_control.clone()),
            metadata: Some(headers.user_metadata.clone().into_iter().collect()),
            tag_count: (!meta.tags.is_empty()).then_some(meta.tags.len() as i32),
            expires: headers.expires.map(Into::into),
            ..Default::default()
        };
        checksums::set_checksum!(output, checksum);
        Ok(S3Response::new(output))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let meta = self.store.head(&input.bucket, &input.key).map_err(s3_err)?;
        read_conditions!(input).check_read(&meta)?;
        let selection = reads::select(&meta, input.range.as_ref(), input.part_number)?;
        let headers = &meta.headers;
        let length = selection.range.as_ref().map_or(meta.size, |r| r.end - r.start);
        let checksum = meta.checksum.as_ref().filter(|_| wants_checksum(input.checksum_mode.as_ref()) && selection.range.is_none());
        let mut output = HeadObjectOutput {
            checksum_type: checksums::kind(checksum),
            content_length: Some(length as i64),
            content_range: selection.range.as_ref().map(|r| reads::content_range(r, meta.size)),
            accept_ranges: Some("bytes".into()),
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            last_modified: Some(meta.last_modified.into()),
            content_type: Some(stored_type(headers)),
            content_disposition: headers.content_disposition.clone(),
            content_encoding: headers.content_encoding.clone(),
            content_language: headers.content_language.clone(),
            cache_control: headers.cache_control.clone(),
            expires: headers.expires.map(Into::into),
            metadata: Some(headers.user_metadata.clone().into_iter().collect()),
            parts_count: selection.parts_count,
            ..Default::default()
        };
        checksums::set_checksum!(output, checksum);
        Ok(S3Response::new(output))
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.store.delete(&req.input.bucket, &req.input.key).await.map_err(s3_err)?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        if input.delete.objects.len() > 1000 {
            return Err(s3_error!(MalformedXML, "at most 1000 keys can be deleted in one request"));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let keys: Vec<String> = input.delete.objects.into_iter().map(|o| o.key).collect();
        let outcomes = self.store.delete_many(&input.bucket, keys.clone()).await.map_err(s3_err)?;
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for (key, outcome) in keys.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => {
                    if !quiet {
                        deleted.push(DeletedObject { key: Some(key), ..Default::default() });
                    }
                }
                Err(err) => {
                    let err = s3_err(err);
                    errors.push(s3s::dto::Error {
                        key: Some(key),
                        code: Some(err.code().as_str().to_owned()),
                        message: err.message().map(str::to_owned),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput { deleted: Some(deleted), errors: Some(errors), ..Default::default() }))
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let (src_bucket, src_key) = copy_source(&input.copy_source)?;
        let replace_headers = directive(input.metadata_directive.as_ref().map(|d| d.as_str()), "x-amz-metadata-directive")?;
        let replace_tags = directive(input.tagging_directive.as_ref().map(|d| d.as_str()), "x-amz-tagging-directive")?;
        if src_bucket == input.bucket && src_key == input.key && !replace_headers {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let source_conditions = copy_source_conditions!(input);
        let dst = PutRequest {
            tags: tags_from_header(input.tagging.as_deref())?,
            conditions: Vec::new(),
            content_length: None,
            content_md5: None,
            checksum: None,
            headers: object_headers!(input),
            key: input.key,
        };
        let meta = self
            .store
            .copy((&src_bucket, &src_key), &input.bucket, dst, replace_headers, replace_tags, |source| {
                source_conditions.evaluate(source).map_err(|_| StoreError::PreconditionFailed)
            })
            .await
            .map_err(s3_err)?;
        let result = CopyObjectResult {
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            last_modified: Some(meta.last_modified.into()),
            ..Default::default()
        };
        Ok(S3Response::new(CopyObjectOutput { copy_object_result: Some(result), ..Default::default() }))
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let max_keys = max_keys(input.max_keys)?;
        let request = ListRequest {
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: input.delimiter.clone(),
            start_after: input.start_after.clone(),
            continuation_token: input.continuation_token.clone(),
            marker: None,
            max_keys,
        };
        let page = self.store.list(&input.bucket, &request).map_err(s3_err)?;
        let encode = listing_encoder(input.encoding_type.as_ref());
        let (contents, common) = listed(&page, &encode);
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix.map(&encode),
            delimiter: input.delimiter.map(&encode),
            start_after: input.start_after.map(&encode),
            continuation_token: input.continuation_token,
            max_keys: Some(max_keys.min(store::MAX_KEYS) as i32),
            key_count: Some((contents.len() + common.len()) as i32),
            is_truncated: Some(page.is_truncated()),
            next_continuation_token: page.next_continuation_token,
            contents: Some(contents),
            common_prefixes: Some(common),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let max_keys = max_keys(input.max_keys)?;
        let request = ListRequest {
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: input.delimiter.clone(),
            marker: input.marker.clone().filter(|m| !m.is_empty()),
            max_keys,
            ..Default::default()
        };
        let page = self.store.list(&input.bucket, &request).map_err(s3_err)?;
        let encode = listing_encoder(input.encoding_type.as_ref());
        let (contents, common) = listed(&page, &encode);
        // AWS sends NextMarker only with a delimiter; without one, clients
        // go on from the last key.
        let next_marker = page.next_marker.filter(|_| input.delimiter.is_some()).map(&encode);
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: Some(input.prefix.map(&encode).unwrap_or_default()),
            delimiter: input.delimiter.map(&encode),
            marker: Some(input.marker.map(&encode).unwrap_or_default()),
            max_keys: Some(max_keys.min(store::MAX_KEYS) as i32),
            is_truncated: Some(page.next_continuation_token.is_some()),
            next_marker,
            contents: Some(contents),
            common_prefixes: Some(common),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn upload_part_copy(&self, req: S3Request<UploadPartCopyInput>) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let input = req.input;
        let (src_bucket, src_key) = copy_source(&input.copy_source)?;
        let range = input.copy_source_range.as_deref().map(copy_source_range).transpose()?;
        let source_conditions = copy_source_conditions!(input);
        let part = self
            .store
            .upload_part_copy((&src_bucket, &src_key), range, &input.bucket, &input.key, &input.upload_id, input.part_number, |source| {
                source_conditions.evaluate(source).map_err(|_| StoreError::PreconditionFailed)
            })
            .await
            .map_err(s3_err)?;
        let result =
            CopyPartResult { e_tag: Some(ETag::Strong(part.etag)), last_modified: Some(part.last_modified.into()), ..Default::default() };
        Ok(S3Response::new(UploadPartCopyOutput { copy_part_result: Some(result), ..Default::default() }))
    }

    async fn get_object_tagging(&self, req: S3Request<GetObjectTaggingInput>) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let meta = self.store.head(&req.input.bucket, &req.input.key).map_err(s3_err)?;
        Ok(S3Response::new(GetObjectTaggingOutput { tag_set: tags_to_dto(&meta.tags), version_id: None }))
    }

    async fn put_object_tagging(&self, req: S3Request<PutObjectTaggingInput>) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        let tags = tags_from_dto(input.tagging.tag_set);
        self.store.put_tags(&input.bucket, &input.key, tags).await.map_err(s3_err)?;
        Ok(S3Response::new(PutObjectTaggingOutput::default()))
    }

    async fn delete_object_tagging(&self, req: S3Request<DeleteObjectTaggingInput>) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        self.store.put_tags(&req.input.bucket, &req.input.key, Vec::new()).await.map_err(s3_err)?;
        Ok(S3Response::new(DeleteObjectTaggingOutput::default()))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        let tags = tags_from_header(input.tagging.as_deref())?;
        let headers = object_headers!(input);
        let checksum =
            checksums::for_upload(input.checksum_algorithm.as_ref().map(|a| a.as_str()), input.checksum_type.as_ref().map(|t| t.as_str()))?;
        let upload = self.store.create_upload(&input.bucket, input.key, headers, tags, checksum).await.map_err(s3_err)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            checksum_algorithm: checksum.map(|(a, _)| s3s::dto::ChecksumAlgorithm::from(a.name().to_owned())),
            checksum_type: checksum.map(|(_, t)| s3s::dto::ChecksumType::from(t.name().to_owned())),
            bucket: Some(input.bucket),
            key: Some(upload.key),
            upload_id: Some(upload.upload_id),
            ..Default::default()
        }))
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let checksum = checksums::declared(&req.headers, req.trailing_headers.as_ref())?;
        let input = req.input;
        let body = input.body.ok_or_else(|| s3_error!(IncompleteBody, "the request has no body"))?;
        let length = non_negative(input.content_length, "Content-Length")?;
        let md5 = content_md5(input.content_md5.as_deref())?;
        let part = self
            .store
            .upload_part(&input.bucket, &input.key, &input.upload_id, input.part_number, length, md5, checksum, body)
            .await
            .map_err(s3_err)?;
        let mut output = UploadPartOutput { e_tag: Some(ETag::Strong(part.etag)), ..Default::default() };
        checksums::set_checksum!(output, part.checksum.as_ref());
        Ok(S3Response::new(output))
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let (upload, parts) = self.store.list_parts(&input.bucket, &input.key, &input.upload_id).await.map_err(s3_err)?;
        let marker = input.part_number_marker.unwrap_or(0);
        let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
        let after: Vec<_> = parts.into_iter().filter(|p| p.part_number > marker).collect();
        let truncated = after.len() > max;
        let page: Vec<Part> = after
            .into_iter()
            .take(max)
            .map(|p| {
                let mut part = Part {
                    part_number: Some(p.part_number),
                    size: Some(p.size as i64),
                    e_tag: Some(ETag::Strong(p.etag)),
                    last_modified: Some(p.last_modified.into()),
                    ..Default::default()
                };
                checksums::set_checksum!(part, p.checksum.as_ref());
                part
            })
            .collect();
        let next = page.last().and_then(|p| p.part_number);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(upload.key),
            upload_id: Some(upload.upload_id),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: if truncated { next } else { None },
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            parts: Some(page),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let listed: Vec<CompletedPartRef> = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                let part_number = p.part_number.ok_or_else(|| s3_error!(InvalidPart, "a listed part has no PartNumber"))?;
                let etag = p.e_tag.as_ref().ok_or_else(|| s3_error!(InvalidPart, "part {part_number} has no ETag"))?;
                let checksum = checksums::listed(checksums::checksum_values!(p))?;
                Ok(CompletedPartRef { part_number, etag: strip_quotes(etag.value()), checksum })
            })
            .collect::<S3Result<_>>()?;
        if listed.is_empty() {
            return Err(s3_error!(MalformedXML, "CompleteMultipartUpload must list at least one part"));
        }
        let conditions = conditions(input.if_match.as_ref(), input.if_none_match.as_ref());
        let expected = checksums::listed(checksums::checksum_values!(input))?;
        let meta = self
            .store
            .complete_upload(&input.bucket, &input.key, &input.upload_id, &listed, &conditions, expected)
            .await
            .map_err(s3_err)?;
        let mut output = CompleteMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(meta.key.clone()),
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            checksum_type: checksums::kind(meta.checksum.as_ref()),
            ..Default::default()
        };
        checksums::set_checksum!(output, meta.checksum.as_ref());
        Ok(S3Response::new(output))
    }

    async fn abort_multipart_upload(&self, req: S3Request<AbortMultipartUploadInput>) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        self.store.abort_upload(&input.bucket, &input.key, &input.upload_id).await.map_err(s3_err)?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_multipart_uploads(&self, req: S3Request<ListMultipartUploadsInput>) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let key_marker = input.key_marker.clone().unwrap_or_default();
        // The upload-id marker counts only together with a key marker.
        let id_marker = input.upload_id_marker.clone().filter(|_| !key_marker.is_empty());
        let after_marker = |key: &str, id: &str| match &id_marker {
            Some(id_marker) => key > key_marker.as_str() || (key == key_marker && id > id_marker.as_str()),
            None => key > key_marker.as_str(),
        };
        let uploads = self.store.list_uploads(&input.bucket).await.map_err(s3_err)?;
        let mut page = Vec::new();
        let mut common: Vec<String> = Vec::new();
        let mut truncated = false;
        let mut last: Option<(String, Option<String>)> = None;
        for upload in uploads.into_iter().filter(|u| u.key.starts_with(&prefix) && after_marker(&u.key, &u.upload_id)) {
            let rolled_up = delimiter
                .as_deref()
                .and_then(|d| upload.key[prefix.len()..].find(d).map(|at| upload.key[..prefix.len() + at + d.len()].to_owned()));
            if let Some(common_prefix) = &rolled_up {
                if common.last() == Some(common_prefix) {
                    continue;
                }
                // A common prefix at or before the key marker was listed already.
                if common_prefix.as_str() <= key_marker.as_str() && !key_marker.is_empty() {
                    continue;
                }
            }
            if page.len() + common.len() == max {
                truncated = true;
                break;
            }
            match rolled_up {
                Some(common_prefix) => {
                    last = Some((common_prefix.clone(), None));
                    common.push(common_prefix);
                }
                None => {
                    last = Some((upload.key.clone(), Some(upload.upload_id.clone())));
                    page.push(upload);
                }
            }
        }
        let (next_key, next_id) = match (truncated, last) {
            (true, Some((key, id))) => (Some(key), id),
            _ => (None, None),
        };
        let encode = listing_encoder(input.encoding_type.as_ref());
        let list = page
            .into_iter()
            .map(|u| MultipartUpload {
                key: Some(encode(u.key)),
                upload_id: Some(u.upload_id),
                initiated: Some(u.initiated.into()),
                storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix.map(&encode),
            delimiter: input.delimiter.map(&encode),
            key_marker: input.key_marker.map(&encode),
            upload_id_marker: input.upload_id_marker,
            next_key_marker: next_key.map(&encode),
            encoding_type: input.encoding_type.clone(),
            next_upload_id_marker: next_id,
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            uploads: Some(list),
            common_prefixes: Some(common.into_iter().map(|p| CommonPrefix { prefix: Some(encode(p)) }).collect()),
            ..Default::default()
        }))
    }
}

/// Makes a `Send` stream `Sync` (s3s requires it) without locking: the only
/// access is through `&mut self`, so no two threads can ever share it.
struct SyncStream<S>(std::sync::Mutex<S>);

impl<S> SyncStream<S> {
    fn new(stream: S) -> Self {
        Self(std::sync::Mutex::new(stream))
    }
}

impl<S: futures::Stream + Unpin> futures::Stream for SyncStream<S> {
    type Item = S::Item;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<S::Item>> {
        let inner = self.get_mut().0.get_mut().unwrap_or_else(|e| e.into_inner());
        std::pin::Pin::new(inner).poll_next(cx)
    }
}
