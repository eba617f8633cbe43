//! Agora's embedded S3-compatible endpoint.
//!
//! Started in-process when no external S3 is configured. The protocol (SigV4
//! header and presigned-query auth, XML, routing) is the `s3s` crate's; the
//! object store behind it ([`store::Store`]) is Agora's own: crash-safe,
//! streaming, with tags, conditional writes and multipart uploads.

mod checksums;
pub mod credentials;
pub mod service;
pub mod store;

mod protocol;
mod reads;
mod s3_api;
mod unsigned_headers;

pub use s3_api::S3Api;
