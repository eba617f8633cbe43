//! How a GET or HEAD decides what to answer: preconditions (RFC 9110 §13
//! with S3's precedence rules) and which bytes (a `Range`, or one part of a
//! multipart object with `partNumber`).

use std::ops::Range;

use s3s::dto::{ETagCondition, Timestamp};
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use time::OffsetDateTime;

use crate::store::ObjectMeta;

/// The conditional headers of a read (or of a copy's source).
#[derive(Default)]
pub(crate) struct ReadConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

/// What a failed read condition answers.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    PreconditionFailed,
    NotModified,
}

/// HTTP dates have whole seconds: an object changed at 12:00:00.7 was not
/// modified since 12:00:00.
fn whole_seconds(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

impl ReadConditions<'_> {
    /// As S3 evaluates them: `If-Match` true overrides a false
    /// `If-Unmodified-Since`, and `If-None-Match` false (a match) is 304
    /// whatever `If-Modified-Since` says; `If-None-Match` true overrides a
    /// false `If-Modified-Since`.
    pub(crate) fn evaluate(&self, meta: &ObjectMeta) -> Result<(), Refusal> {
        let modified = whole_seconds(meta.last_modified);
        let etag_is = |etag: &s3s::dto::ETag| crate::s3_api::strip_quotes(etag.value()) == meta.etag;
        match self.if_match {
            Some(ETagCondition::ETag(etag)) if !etag_is(etag) => return Err(Refusal::PreconditionFailed),
            Some(_) => {}
            None => {
                if let Some(since) = self.if_unmodified_since {
                    if modified > whole_seconds(OffsetDateTime::from(since.clone())) {
                        return Err(Refusal::PreconditionFailed);
                    }
                }
            }
        }
        match self.if_none_match {
            Some(ETagCondition::Any) => return Err(Refusal::NotModified),
            Some(ETagCondition::ETag(etag)) if etag_is(etag) => return Err(Refusal::NotModified),
            Some(_) => {}
            None => {
                if let Some(since) = self.if_modified_since {
                    if modified <= whole_seconds(OffsetDateTime::from(since.clone())) {
                        return Err(Refusal::NotModified);
                    }
                }
            }
        }
        Ok(())
    }

    /// For GET and HEAD: `412`, or `304` carrying the object's `ETag` and
    /// `Last-Modified` as RFC 9110 asks.
    pub(crate) fn check_read(&self, meta: &ObjectMeta) -> S3Result<()> {
        match self.evaluate(meta) {
            Ok(()) => Ok(()),
            Err(Refusal::PreconditionFailed) => Err(s3_error!(PreconditionFailed)),
            Err(Refusal::NotModified) => {
                let mut err = S3Error::new(S3ErrorCode::NotModified);
                let mut headers = axum::http::HeaderMap::new();
                if let Ok(etag) = axum::http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)) {
                    headers.insert(axum::http::header::ETAG, etag);
                }
                let mut date = Vec::new();
                if Timestamp::from(meta.last_modified).format(s3s::dto::TimestampFormat::HttpDate, &mut date).is_ok() {
                    if let Ok(date) = axum::http::HeaderValue::from_bytes(&date) {
                        headers.insert(axum::http::header::LAST_MODIFIED, date);
                    }
                }
                err.set_headers(headers);
                Err(err)
            }
        }
    }
}

/// The bytes a read asked for.
pub(crate) struct Selection {
    /// `None`: the whole object (200). `Some`: these bytes (206).
    pub range: Option<Range<u64>>,
    /// `x-amz-mp-parts-count`, sent when a part was asked for.
    pub parts_count: Option<i32>,
}

/// Resolves `Range` or `partNumber` (never both) against `meta`.
pub(crate) fn select(meta: &ObjectMeta, range: Option<&s3s::dto::Range>, part_number: Option<i32>) -> S3Result<Selection> {
    match (range, part_number) {
        (Some(_), Some(_)) => Err(s3_error!(InvalidRequest, "Cannot specify both Range header and partNumber query parameter")),
        (Some(range), None) => {
            let range = range.check(meta.size).map_err(|_| unsatisfiable(meta.size))?;
            Ok(Selection { range: Some(range), parts_count: None })
        }
        (None, Some(part)) => {
            let count = meta.blobs.len().max(1) as i32;
            if part < 1 || part > count {
                let mut err = S3Error::with_message(
                    S3ErrorCode::Custom("InvalidPartNumber".into()),
                    format!("The requested partnumber is not satisfiable: the object has {count} part(s)"),
                );
                err.set_status_code(axum::http::StatusCode::RANGE_NOT_SATISFIABLE);
                return Err(err);
            }
            let start: u64 = meta.blobs.iter().take(part as usize - 1).map(|b| b.size).sum();
            let size = meta.blobs.get(part as usize - 1).map_or(meta.size, |b| b.size);
            Ok(Selection { range: Some(start..start + size), parts_count: Some(count) })
        }
        (None, None) => Ok(Selection { range: None, parts_count: None }),
    }
}

/// `416 InvalidRange`, with the `Content-Range: bytes */N` RFC 9110 asks for.
pub(crate) fn unsatisfiable(size: u64) -> S3Error {
    let mut err = s3_error!(InvalidRange, "The requested range is not satisfiable: the object has {size} bytes");
    let mut headers = axum::http::HeaderMap::new();
    if let Ok(value) = axum::http::HeaderValue::from_str(&format!("bytes */{size}")) {
        headers.insert(axum::http::header::CONTENT_RANGE, value);
    }
    err.set_headers(headers);
    err
}

/// `Content-Range` of a 206.
pub(crate) fn content_range(range: &Range<u64>, size: u64) -> String {
    format!("bytes {}-{}/{size}", range.start, range.end.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BlobRef, ObjectHeaders};

    fn meta(etag: &str, modified: i64, parts: &[u64]) -> ObjectMeta {
        ObjectMeta {
            key: "k".into(),
            size: parts.iter().sum(),
            etag: etag.into(),
            last_modified: OffsetDateTime::from_unix_timestamp(modified).unwrap() + time::Duration::milliseconds(700),
            headers: ObjectHeaders::default(),
            tags: vec![],
            blobs: parts.iter().enumerate().map(|(i, s)| BlobRef { id: i.to_string(), size: *s }).collect(),
            upload_id: None,
            checksum: None,
        }
    }

    fn at(secs: i64) -> Timestamp {
        OffsetDateTime::from_unix_timestamp(secs).unwrap().into()
    }

    #[test]
    fn dates_and_etags_follow_s3_precedence() {
        let m = meta("abc", 1000, &[10]);
        let etag = ETagCondition::ETag(s3s::dto::ETag::Strong("abc".into()));
        let other = ETagCondition::ETag(s3s::dto::ETag::Strong("zzz".into()));
        let (before, same, after) = (at(999), at(1000), at(1001));
        let c = |im, inm, ims, ius| ReadConditions { if_match: im, if_none_match: inm, if_modified_since: ims, if_unmodified_since: ius };
        assert_eq!(c(None, None, Some(&same), None).evaluate(&m), Err(Refusal::NotModified), "same second: not modified");
        assert_eq!(c(None, None, Some(&before), None).evaluate(&m), Ok(()));
        assert_eq!(c(None, None, None, Some(&before)).evaluate(&m), Err(Refusal::PreconditionFailed));
        assert_eq!(c(None, None, None, Some(&after)).evaluate(&m), Ok(()));
        assert_eq!(c(Some(&etag), None, None, Some(&before)).evaluate(&m), Ok(()), "If-Match true wins");
        assert_eq!(c(Some(&other), None, None, None).evaluate(&m), Err(Refusal::PreconditionFailed));
        assert_eq!(c(None, Some(&other), Some(&after), None).evaluate(&m), Ok(()), "If-None-Match true wins");
        assert_eq!(c(None, Some(&etag), Some(&before), None).evaluate(&m), Err(Refusal::NotModified));
    }

    #[test]
    fn part_numbers_select_one_part() {
        let m = meta("x-3", 0, &[5, 7, 2]);
        let second = select(&m, None, Some(2)).unwrap();
        assert_eq!((second.range, second.parts_count), (Some(5..12), Some(3)));
        assert!(select(&m, None, Some(4)).is_err());
        assert!(select(&m, None, Some(0)).is_err());
        let single = select(&meta("y", 0, &[9]), None, Some(1)).unwrap();
        assert_eq!(single.range, Some(0..9));
        assert!(select(&m, Some(&s3s::dto::Range::Int { first: 0, last: None }), Some(1)).is_err());
    }
}
