use std::fmt;

/// What an object-store operation can fail with. `s3_api` maps each to its
/// S3 error code; `Io` is the only internal one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the bucket does not exist")]
    NoSuchBucket,
    #[error("the bucket already exists")]
    BucketAlreadyExists,
    #[error("the bucket is not empty")]
    BucketNotEmpty,
    #[error("invalid bucket name: {0}")]
    InvalidBucketName(String),
    #[error("the key does not exist")]
    NoSuchKey,
    #[error("the multipart upload does not exist (it was completed, aborted or never started)")]
    NoSuchUpload,
    #[error("a precondition (If-Match / If-None-Match) failed")]
    PreconditionFailed,
    #[error("{0}")]
    InvalidTag(String),
    #[error("object keys are at most 1024 bytes; this one is {0}")]
    KeyTooLong(usize),
    #[error("{0}")]
    InvalidKey(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    InvalidPart(String),
    #[error("the parts of a multipart upload must be listed in ascending order of part number")]
    InvalidPartOrder,
    #[error("part {part} is {size} bytes; every part but the last must be at least {min} bytes")]
    EntityTooSmall { part: i32, size: u64, min: u64 },
    #[error("the body ended before the declared length: {0}")]
    IncompleteBody(String),
    /// The bytes that arrived do not have the MD5 the client declared in
    /// `Content-MD5`; nothing was stored.
    #[error("the Content-MD5 you specified did not match what we received")]
    BadDigest,
    /// The bytes that arrived do not have the additional checksum the
    /// client declared (header or trailer); nothing was stored.
    #[error("The {} you specified did not match the calculated checksum.", .0.name())]
    BadChecksum(super::checksum::Algorithm),
    /// A request S3 refuses as `InvalidRequest` (the message says why).
    #[error("{0}")]
    InvalidRequest(String),
    /// A chunk or trailer of an aws-chunked body is not signed as its seed
    /// signature requires.
    #[error("The request signature we calculated does not match the signature you provided. Check your key and signing method.")]
    SignatureDoesNotMatch,
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    pub(crate) fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        StoreError::Io(std::io::Error::new(err.kind(), format!("{context}: {err}")))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
