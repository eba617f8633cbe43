//! `x-amz-checksum-*` on the wire: what a request declares (a header, or a
//! trailer of an aws-chunked body) and the checksum fields of answers.

use axum::http::HeaderMap;
use s3s::{s3_error, S3Result, TrailingHeaders};

use crate::s3_api::s3_err;
use crate::store::checksum::{Algorithm, Checksum, ChecksumRequest, ChecksumType, Declared};

const SDK_ALGORITHM: &str = "x-amz-sdk-checksum-algorithm";
const TRAILER: &str = "x-amz-trailer";

/// The checksum a PutObject or UploadPart asks for, from its headers:
/// at most one `x-amz-checksum-*` value or announced trailer, of the
/// algorithm `x-amz-sdk-checksum-algorithm` names if it names one. With
/// only the algorithm named, the checksum is computed and stored.
pub fn declared(headers: &HeaderMap, trailing: Option<&TrailingHeaders>) -> S3Result<Option<ChecksumRequest>> {
    let values: Vec<(Algorithm, &str)> =
        Algorithm::ALL.into_iter().filter_map(|a| headers.get(a.header()).map(|v| (a, v.to_str().unwrap_or_default()))).collect();
    let announced: Vec<Algorithm> = headers
        .get_all(TRAILER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| Algorithm::ALL.into_iter().find(|a| a.header().eq_ignore_ascii_case(name.trim())))
        .collect();
    if values.len() + announced.len() > 1 {
        return Err(s3_error!(InvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."));
    }
    let named = match headers.get(SDK_ALGORITHM) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(Algorithm::parse)
                .ok_or_else(|| s3_error!(InvalidRequest, "Value for x-amz-sdk-checksum-algorithm header is invalid."))?,
        ),
    };
    let request = match (values.first(), announced.first()) {
        (Some((algorithm, value)), None) => {
            Some(ChecksumRequest { algorithm: *algorithm, declared: Declared::Value(algorithm.decode(value).map_err(s3_err)?) })
        }
        (None, Some(algorithm)) => {
            let trailing = trailing.cloned().ok_or_else(|| {
                s3_error!(
                    InvalidRequest,
                    "x-amz-trailer announces {} but the body is not aws-chunked with a trailer (x-amz-content-sha256: STREAMING-…-TRAILER)",
                    algorithm.header()
                )
            })?;
            let header = algorithm.header();
            let read = move || trailing.read(|h| h.get(header).and_then(|v| v.to_str().ok()).map(str::to_owned)).flatten();
            Some(ChecksumRequest { algorithm: *algorithm, declared: Declared::Trailer(std::sync::Arc::new(read)) })
        }
        _ => named.map(|algorithm| ChecksumRequest { algorithm, declared: Declared::Nothing }),
    };
    if let (Some(named), Some(request)) = (named, &request) {
        if named != request.algorithm {
            return Err(s3_error!(
                InvalidRequest,
                "x-amz-sdk-checksum-algorithm names {} but the request carries {}",
                named.name(),
                request.algorithm.header()
            ));
        }
    }
    Ok(request)
}

/// The algorithm and type a CreateMultipartUpload asks for.
pub fn for_upload(algorithm: Option<&str>, kind: Option<&str>) -> S3Result<Option<(Algorithm, ChecksumType)>> {
    let Some(algorithm) = algorithm else {
        return match kind {
            Some(_) => Err(s3_error!(InvalidRequest, "x-amz-checksum-type needs x-amz-checksum-algorithm")),
            None => Ok(None),
        };
    };
    let algorithm =
        Algorithm::parse(algorithm).ok_or_else(|| s3_error!(InvalidRequest, "Value for x-amz-checksum-algorithm header is invalid."))?;
    let kind = kind
        .map(|k| ChecksumType::parse(k).ok_or_else(|| s3_error!(InvalidRequest, "Value for x-amz-checksum-type header is invalid.")))
        .transpose()?;
    Ok(Some((algorithm, ChecksumType::check(kind, algorithm).map_err(s3_err)?)))
}

/// The five checksum fields of a request or answer struct, in the order of
/// [`Algorithm::ALL`] (crc32, crc32c, crc64nvme, sha1, sha256).
macro_rules! checksum_values {
    ($input:expr) => {
        [
            $input.checksum_crc32.as_ref(),
            $input.checksum_crc32c.as_ref(),
            $input.checksum_crc64nvme.as_ref(),
            $input.checksum_sha1.as_ref(),
            $input.checksum_sha256.as_ref(),
        ]
    };
}
pub(crate) use checksum_values;

/// The one value a request lists for a checksum (a part in a Complete, or
/// the whole object), if any, with its algorithm.
pub fn listed(values: [Option<&String>; 5]) -> S3Result<Option<(Algorithm, String)>> {
    let given: Vec<(Algorithm, String)> =
        Algorithm::ALL.into_iter().zip(values).filter_map(|(a, v)| v.map(|v| (a, v.trim().to_owned()))).collect();
    if given.len() > 1 {
        return Err(s3_error!(InvalidRequest, "Expecting a single x-amz-checksum- value. Multiple checksum Types are not allowed."));
    }
    Ok(given.into_iter().next())
}

/// The five checksum fields of an answer: the one of `checksum`'s algorithm
/// set, in the order crc32, crc32c, crc64nvme, sha1, sha256.
pub fn fields(checksum: Option<&Checksum>) -> [Option<String>; 5] {
    let mut out: [Option<String>; 5] = Default::default();
    if let Some(checksum) = checksum {
        let at = Algorithm::ALL.iter().position(|a| *a == checksum.algorithm).unwrap_or(0);
        out[at] = Some(checksum.header_value());
    }
    out
}

/// `x-amz-checksum-type` of an answer that carries a checksum.
pub fn kind(checksum: Option<&Checksum>) -> Option<s3s::dto::ChecksumType> {
    checksum.map(|c| s3s::dto::ChecksumType::from(c.kind.name().to_owned()))
}

/// Sets the checksum fields of an answer struct from an optional checksum.
macro_rules! set_checksum {
    ($output:expr, $checksum:expr) => {{
        let [crc32, crc32c, crc64nvme, sha1, sha256] = $crate::checksums::fields($checksum);
        $output.checksum_crc32 = crc32;
        $output.checksum_crc32c = crc32c;
        $output.checksum_crc64nvme = crc64nvme;
        $output.checksum_sha1 = sha1;
        $output.checksum_sha256 = sha256;
    }};
}
pub(crate) use set_checksum;
