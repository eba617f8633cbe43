//! The segment format: compact binary, written without compression, so a
//! busy node spends a few nanoseconds per recorded request on writing it.
//!
//! ```text
//! "AGM2"
//! table × 4: endpoints, addresses, users, versions: varint count, then each as varint length + UTF-8
//! varint count of calls, then per call (varints):
//!   time − previous time (zigzag, ms) · endpoint · status · duration (µs) · address · user + 1 (0: none) · version
//! ```
//!
//! Segments written before this format (gzip'd JSON lines) are still read.

use std::collections::HashMap;
use std::hash::Hash;
use std::io::Read;
use std::net::IpAddr;

use super::RecordedCall;

const MAGIC: &[u8; 4] = b"AGM2";

/// A caller's address as the writer has it: parsed (recorded requests) or
/// as text (fetched calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Address<'a> {
    Parsed(Option<IpAddr>),
    Text(&'a str),
}

impl Address<'_> {
    fn text(&self) -> String {
        match self {
            Address::Parsed(Some(ip)) => ip.to_string(),
            Address::Parsed(None) => String::new(),
            Address::Text(text) => (*text).to_owned(),
        }
    }
}

/// One call as the encoder reads it (borrowed: nothing is copied).
#[derive(Debug, Clone, Copy)]
pub struct CallRef<'a> {
    pub at: i64,
    pub endpoint: &'a str,
    pub status: u16,
    pub duration_us: u64,
    pub address: Address<'a>,
    pub user: Option<&'a str>,
    pub version: &'a str,
}

impl<'a> From<&'a RecordedCall> for CallRef<'a> {
    fn from(call: &'a RecordedCall) -> Self {
        CallRef {
            at: call.at,
            endpoint: &call.endpoint,
            status: call.status,
            duration_us: call.duration_us,
            address: Address::Text(&call.ip),
            user: call.user.as_deref(),
            version: &call.version,
        }
    }
}

/// Values numbered in the order first seen.
struct Table<K> {
    index: HashMap<K, u64>,
    order: Vec<K>,
}

impl<K: Hash + Eq + Copy> Table<K> {
    fn new() -> Self {
        Table { index: HashMap::new(), order: Vec::new() }
    }

    fn id(&mut self, key: K) -> u64 {
        let next = self.order.len() as u64;
        *self.index.entry(key).or_insert_with(|| {
            self.order.push(key);
            next
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

pub fn encode<'a>(calls: impl IntoIterator<Item = CallRef<'a>>) -> Vec<u8> {
    let (mut endpoints, mut addresses, mut users, mut versions) = (Table::new(), Table::new(), Table::new(), Table::new());
    let mut body = Vec::new();
    let (mut previous, mut count) = (0i64, 0u64);
    for call in calls {
        let delta = call.at.wrapping_sub(previous);
        previous = call.at;
        put_varint(&mut body, ((delta << 1) ^ (delta >> 63)) as u64);
        put_varint(&mut body, endpoints.id(call.endpoint));
        put_varint(&mut body, u64::from(call.status));
        put_varint(&mut body, call.duration_us);
        put_varint(&mut body, addresses.id(call.address));
        put_varint(&mut body, call.user.map_or(0, |u| users.id(u) + 1));
        put_varint(&mut body, versions.id(call.version));
        count += 1;
    }
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(MAGIC);
    put_varint(&mut out, endpoints.order.len() as u64);
    endpoints.order.iter().for_each(|e| put_text(&mut out, e));
    put_varint(&mut out, addresses.order.len() as u64);
    addresses.order.iter().for_each(|a| put_text(&mut out, &a.text()));
    put_varint(&mut out, users.order.len() as u64);
    users.order.iter().for_each(|u| put_text(&mut out, u));
    put_varint(&mut out, versions.order.len() as u64);
    versions.order.iter().for_each(|v| put_text(&mut out, v));
    put_varint(&mut out, count);
    out.extend_from_slice(&body);
    out
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("a monitoring segment is cut short or damaged ({what})"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn varint(&mut self) -> std::io::Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at).ok_or_else(|| bad("number"))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("number too long"))
    }

    fn text(&mut self) -> std::io::Result<String> {
        let len = self.varint()? as usize;
        let end = self.at.checked_add(len).filter(|end| *end <= self.bytes.len()).ok_or_else(|| bad("text"))?;
        let text = std::str::from_utf8(&self.bytes[self.at..end]).map_err(|_| bad("text is not UTF-8"))?.to_owned();
        self.at = end;
        Ok(text)
    }

    fn table(&mut self) -> std::io::Result<Vec<String>> {
        let count = self.varint()? as usize;
        // Each entry takes at least a byte: a count beyond the rest is damage.
        if count > self.bytes.len() - self.at {
            return Err(bad("table"));
        }
        (0..count).map(|_| self.text()).collect()
    }
}

fn pick(table: &[String], id: u64, what: &str) -> std::io::Result<String> {
    table.get(id as usize).cloned().ok_or_else(|| bad(what))
}

pub fn decode(body: &[u8]) -> std::io::Result<Vec<RecordedCall>> {
    if !body.starts_with(MAGIC) {
        return decode_json_lines(body);
    }
    let mut reader = Reader { bytes: body, at: MAGIC.len() };
    let endpoints = reader.table()?;
    let addresses = reader.table()?;
    let users = reader.table()?;
    let versions = reader.table()?;
    let count = reader.varint()? as usize;
    if count > body.len() {
        return Err(bad("count"));
    }
    let mut calls = Vec::with_capacity(count);
    let mut previous = 0i64;
    for _ in 0..count {
        let zigzag = reader.varint()?;
        previous = previous.wrapping_add(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64));
        let endpoint = pick(&endpoints, reader.varint()?, "endpoint")?;
        let status = u16::try_from(reader.varint()?).map_err(|_| bad("status"))?;
        let duration_us = reader.varint()?;
        let ip = pick(&addresses, reader.varint()?, "address")?;
        let user = match reader.varint()? {
            0 => None,
            id => Some(pick(&users, id - 1, "user")?),
        };
        let version = pick(&versions, reader.varint()?, "version")?.into();
        calls.push(RecordedCall { at: previous, endpoint, status, duration_us, ip, user, version });
    }
    Ok(calls)
}

/// The first format: gzip'd JSON lines.
fn decode_json_lines(body: &[u8]) -> std::io::Result<Vec<RecordedCall>> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(body).read_to_string(&mut text)?;
    Ok(text.lines().filter(|l| !l.is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(at: i64, user: Option<&str>) -> RecordedCall {
        RecordedCall {
            at,
            endpoint: "GET /api/v1/datasets/{id}".into(),
            status: 200,
            duration_us: 1500,
            ip: "10.1.2.3".into(),
            user: user.map(str::to_owned),
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn segments_round_trip_and_damage_is_an_error() {
        let calls = vec![call(1_795_428_000_000, Some("u1")), call(1_795_427_999_000, None), call(1_795_428_000_500, Some("u1"))];
        let body = encode(calls.iter().map(CallRef::from));
        assert_eq!(decode(&body).unwrap(), calls);
        for cut in [3, 10, body.len() - 1] {
            assert!(decode(&body[..cut]).is_err(), "cut at {cut}");
        }
        // Parsed addresses read back as their text.
        let parsed = CallRef { address: Address::Parsed(Some("192.168.7.0".parse().unwrap())), ..CallRef::from(&calls[0]) };
        assert_eq!(decode(&encode([parsed])).unwrap()[0].ip, "192.168.7.0");
    }

    #[test]
    fn json_line_segments_are_still_read() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        writeln!(gz, r#"{{"t":5,"e":"GET /x","s":201,"d":7,"i":"1.2.3.4","v":"0.1.0"}}"#).unwrap();
        let calls = decode(&gz.finish().unwrap()).unwrap();
        assert_eq!((calls[0].at, calls[0].status, calls[0].ip.as_str()), (5, 201, "1.2.3.4"));
    }
}
