//! Additional checksums (`x-amz-checksum-*`), as AWS documents them.
//!
//! A checksum is computed while the bytes are written. It is checked against
//! what the client declared: in a header, or in an aws-chunked trailer that
//! arrives after the bytes. It is stored with the object and returned on
//! request (`x-amz-checksum-mode: ENABLED`).
//!
//! A multipart object's checksum is built from its parts' checksums, never
//! by reading the bytes again:
//! - `FULL_OBJECT` is the CRC of the whole object, combined from the parts'
//!   CRCs. It is the only type for CRC64NVME, and CRC32 or CRC32C uploads
//!   may ask for it.
//! - `COMPOSITE` is the checksum of the parts' checksums, with `-N` after it
//!   for N parts. It is the default for CRC32, CRC32C, SHA-1 and SHA-256.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] = [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64nvme, Algorithm::Sha1, Algorithm::Sha256];

    /// `CRC32`, `SHA256`…: the name in `x-amz-checksum-algorithm`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    /// The header carrying this algorithm's value.
    pub fn header(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The algorithm a name stands for, in any case.
    pub fn parse(name: &str) -> Option<Algorithm> {
        Self::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    fn digest_len(self) -> usize {
        match self {
            Algorithm::Crc32 | Algorithm::Crc32c => 4,
            Algorithm::Crc64nvme => 8,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    fn crc(self) -> Option<crc_fast::CrcAlgorithm> {
        match self {
            Algorithm::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
            Algorithm::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
            Algorithm::Crc64nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
            Algorithm::Sha1 | Algorithm::Sha256 => None,
        }
    }

    /// Checks a declared value: the base64 of a digest of this algorithm's
    /// length. AWS answers anything else with `400 InvalidRequest`.
    pub fn decode(self, value: &str) -> Result<Vec<u8>, StoreError> {
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()
            .filter(|bytes| bytes.len() == self.digest_len())
            .ok_or_else(|| StoreError::InvalidRequest(format!("Value for {} header is invalid.", self.header())))
    }

    pub fn hasher(self) -> Hasher {
        let state = match self.crc() {
            Some(crc) => State::Crc(crc_fast::Digest::new(crc)),
            None if self == Algorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
            None => State::Sha256(sha2::Sha256::new()),
        };
        Hasher { algorithm: self, state }
    }

    fn digest_of(self, bytes: &[u8]) -> Vec<u8> {
        let mut hasher = self.hasher();
        hasher.update(bytes);
        hasher.finalize_raw()
    }
}

/// Whether a multipart object's checksum covers the object or its parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChecksumType {
    #[default]
    FullObject,
    Composite,
}

impl ChecksumType {
    pub fn name(self) -> &'static str {
        match self {
            ChecksumType::FullObject => "FULL_OBJECT",
            ChecksumType::Composite => "COMPOSITE",
        }
    }

    pub fn parse(name: &str) -> Option<ChecksumType> {
        [ChecksumType::FullObject, ChecksumType::Composite].into_iter().find(|t| t.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The type an upload gets when it names none, and whether `self` is
    /// allowed for `algorithm` (SHA cannot be combined; CRC64NVME is
    /// always whole).
    pub fn check(requested: Option<ChecksumType>, algorithm: Algorithm) -> Result<ChecksumType, StoreError> {
        let default = if algorithm == Algorithm::Crc64nvme { ChecksumType::FullObject } else { ChecksumType::Composite };
        let kind = requested.unwrap_or(default);
        let allowed = match kind {
            ChecksumType::FullObject => algorithm.crc().is_some(),
            ChecksumType::Composite => algorithm != Algorithm::Crc64nvme,
        };
        if !allowed {
            return Err(StoreError::InvalidRequest(format!(
                "The {} checksum type cannot be used with the {} checksum algorithm.",
                kind.name(),
                algorithm.name().to_ascii_lowercase()
            )));
        }
        Ok(kind)
    }
}

/// A stored checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: Algorithm,
    /// The base64 of the digest.
    pub value: String,
    #[serde(default)]
    pub kind: ChecksumType,
    /// For a composite checksum: the number of parts it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<usize>,
}

impl Checksum {
    fn of(algorithm: Algorithm, raw: &[u8]) -> Checksum {
        Checksum { algorithm, value: base64::engine::general_purpose::STANDARD.encode(raw), kind: ChecksumType::FullObject, parts: None }
    }

    /// The value as S3 returns it: a composite one with `-N` after it.
    pub fn header_value(&self) -> String {
        match self.parts {
            Some(n) if self.kind == ChecksumType::Composite => format!("{}-{n}", self.value),
            _ => self.value.clone(),
        }
    }

    /// The checksum of an object made of parts with these checksums and
    /// sizes, in order; `None` if a part has none of this algorithm.
    pub fn of_parts(algorithm: Algorithm, kind: ChecksumType, parts: &[(Option<&Checksum>, u64)]) -> Option<Checksum> {
        let raws: Vec<(Vec<u8>, u64)> = parts
            .iter()
            .map(|(checksum, size)| {
                let checksum = checksum.filter(|c| c.algorithm == algorithm)?;
                Some((algorithm.decode(&checksum.value).ok()?, *size))
            })
            .collect::<Option<_>>()?;
        match kind {
            ChecksumType::Composite => {
                let joined: Vec<u8> = raws.iter().flat_map(|(raw, _)| raw.iter().copied()).collect();
                Some(Checksum { kind, parts: Some(raws.len()), ..Checksum::of(algorithm, &algorithm.digest_of(&joined)) })
            }
            ChecksumType::FullObject => {
                let crc = algorithm.crc()?;
                let width = algorithm.digest_len();
                let mut parts = raws.iter().map(|(raw, size)| (be_value(raw), *size));
                let (first, _) = parts.next()?;
                let whole = parts.fold(first, |acc, (value, size)| crc_fast::checksum_combine(crc, acc, value, size));
                Some(Checksum::of(algorithm, &whole.to_be_bytes()[8 - width..]))
            }
        }
    }
}

fn be_value(raw: &[u8]) -> u64 {
    raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// The trailer's value, readable once the body has been consumed.
pub type TrailerValue = std::sync::Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// What a client declared for the bytes it sends.
#[derive(Clone)]
pub enum Declared {
    /// Nothing: the checksum is computed and stored.
    Nothing,
    /// A header value (decoded, checked when the request arrived).
    Value(Vec<u8>),
    /// A trailer value, sent after the bytes.
    Trailer(TrailerValue),
}

impl std::fmt::Debug for Declared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Declared::Nothing => f.write_str("Nothing"),
            Declared::Value(value) => f.debug_tuple("Value").field(value).finish(),
            Declared::Trailer(_) => f.write_str("Trailer"),
        }
    }
}

/// A checksum a write must compute, and check against what was declared.
#[derive(Debug, Clone)]
pub struct ChecksumRequest {
    pub algorithm: Algorithm,
    pub declared: Declared,
}

impl ChecksumRequest {
    /// Compares the computed digest with the declaration; the stored
    /// checksum on success, `BadDigest` as AWS words it otherwise.
    pub fn verify(self, raw: &[u8]) -> Result<Checksum, StoreError> {
        let algorithm = self.algorithm;
        let declared = match self.declared {
            Declared::Nothing => None,
            Declared::Value(value) => Some(value),
            Declared::Trailer(read) => {
                let value = read().ok_or_else(|| {
                    StoreError::InvalidRequest(format!("The {} trailer was announced but never sent.", algorithm.header()))
                })?;
                Some(algorithm.decode(&value)?)
            }
        };
        if declared.is_some_and(|declared| declared != raw) {
            return Err(StoreError::BadChecksum(algorithm));
        }
        Ok(Checksum::of(algorithm, raw))
    }
}

/// One running checksum.
pub struct Hasher {
    algorithm: Algorithm,
    state: State,
}

enum State {
    Crc(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Crc(digest) => digest.update(bytes),
            State::Sha1(digest) => digest.update(bytes),
            State::Sha256(digest) => digest.update(bytes),
        }
    }

    /// The digest's bytes, big-endian for CRCs as S3 encodes them.
    pub fn finalize_raw(self) -> Vec<u8> {
        match self.state {
            State::Crc(digest) => digest.finalize().to_be_bytes()[8 - self.algorithm.digest_len()..].to_vec(),
            State::Sha1(digest) => digest.finalize().to_vec(),
            State::Sha256(digest) => digest.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn known_values() {
        // "123456789" is every CRC's check input.
        let check = |a: Algorithm| b64(&a.digest_of(b"123456789"));
        assert_eq!(check(Algorithm::Crc32), b64(&0xCBF4_3926u32.to_be_bytes()));
        assert_eq!(check(Algorithm::Crc32c), b64(&0xE306_9283u32.to_be_bytes()));
        assert_eq!(check(Algorithm::Crc64nvme), b64(&0xAE8B_1486_0A79_9888u64.to_be_bytes()));
        assert_eq!(hex::encode(Algorithm::Sha1.digest_of(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn a_full_object_crc_combined_from_parts_is_the_crc_of_the_whole() {
        let (a, b, c) = (vec![1u8; 1000], vec![2u8; 37], b"tail".to_vec());
        let whole: Vec<u8> = [a.clone(), b.clone(), c.clone()].concat();
        for algorithm in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64nvme] {
            let parts: Vec<Checksum> = [&a, &b, &c].iter().map(|p| Checksum::of(algorithm, &algorithm.digest_of(p))).collect();
            let sized: Vec<(Option<&Checksum>, u64)> = parts.iter().zip([&a, &b, &c]).map(|(c, p)| (Some(c), p.len() as u64)).collect();
            let combined = Checksum::of_parts(algorithm, ChecksumType::FullObject, &sized).unwrap();
            assert_eq!(combined.value, b64(&algorithm.digest_of(&whole)), "{algorithm:?}");
            assert_eq!(combined.header_value(), combined.value);
        }
    }

    #[test]
    fn a_composite_checksum_is_the_checksum_of_the_part_checksums_with_their_count() {
        let parts: Vec<Checksum> =
            [b"one".as_slice(), b"two"].iter().map(|p| Checksum::of(Algorithm::Sha256, &Algorithm::Sha256.digest_of(p))).collect();
        let sized: Vec<(Option<&Checksum>, u64)> = parts.iter().map(|c| (Some(c), 3)).collect();
        let composite = Checksum::of_parts(Algorithm::Sha256, ChecksumType::Composite, &sized).unwrap();
        let joined = [Algorithm::Sha256.digest_of(b"one"), Algorithm::Sha256.digest_of(b"two")].concat();
        assert_eq!(composite.header_value(), format!("{}-2", b64(&Algorithm::Sha256.digest_of(&joined))));
        assert!(Checksum::of_parts(Algorithm::Sha256, ChecksumType::Composite, &[(Some(&parts[0]), 3), (None, 3)]).is_none());
    }

    #[test]
    fn declarations_are_checked() {
        let raw = Algorithm::Crc32.digest_of(b"hello");
        let ok = ChecksumRequest { algorithm: Algorithm::Crc32, declared: Declared::Value(raw.clone()) };
        assert_eq!(ok.verify(&raw).unwrap().value, b64(&raw));
        let wrong =
            ChecksumRequest { algorithm: Algorithm::Crc32, declared: Declared::Trailer(std::sync::Arc::new(|| Some(b64(&[0, 0, 0, 0])))) };
        assert!(matches!(wrong.verify(&raw), Err(StoreError::BadChecksum(Algorithm::Crc32))));
        let missing = ChecksumRequest { algorithm: Algorithm::Crc32, declared: Declared::Trailer(std::sync::Arc::new(|| None)) };
        assert!(matches!(missing.verify(&raw), Err(StoreError::InvalidRequest(_))));
        assert!(Algorithm::Sha256.decode(&b64(&[1, 2, 3])).is_err());
        assert!(ChecksumType::check(Some(ChecksumType::FullObject), Algorithm::Sha1).is_err());
        assert!(ChecksumType::check(Some(ChecksumType::Composite), Algorithm::Crc64nvme).is_err());
        assert_eq!(ChecksumType::check(None, Algorithm::Crc32).unwrap(), ChecksumType::Composite);
    }
}
