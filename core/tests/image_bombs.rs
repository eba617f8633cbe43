//! Decompression bombs: PNGs of a few KB that claim 11000×11000 pixels
//! (363 MB once decoded) are refused from their header, cheaply. Measured
//! here: the time and the growth of this process's peak RSS while 30 of
//! them are refused, against decoding one honest 2000×2000 image in the
//! same run. Its own binary, so the peak belongs to this test alone.

use std::io::Write;
use std::time::Instant;

use agora_core::datasets::thumbs::render_thumbnail;

fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// An RGB PNG of `side`×`side` black pixels, compressed row by row.
fn black_png(side: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; 1 + 3 * side as usize];
    for _ in 0..side {
        deflate.write_all(&row).unwrap();
    }
    chunk(&mut png, b"IDAT", &deflate.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    png
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

#[test]
fn bombs_are_refused_from_their_header() {
    let bomb = black_png(11_000);
    assert!(bomb.len() < 1 << 20, "a bomb is small: {} bytes", bomb.len());
    let before = peak_rss_kib();
    let started = Instant::now();
    for _ in 0..30 {
        let err = render_thumbnail(&bomb).unwrap_err();
        assert!(err.to_lowercase().contains("limit"), "{err}");
    }
    let (bombs, bombs_rss) = (started.elapsed(), peak_rss_kib().saturating_sub(before));

    let honest = black_png(2_000);
    let started = Instant::now();
    assert!(render_thumbnail(&honest).is_ok());
    let (one, one_rss) = (started.elapsed(), peak_rss_kib().saturating_sub(before + bombs_rss));
    println!(
        "30 bombs of 11000×11000 ({} KB each) refused in {bombs:?}, peak RSS +{} MiB; one honest 2000×2000 decode: {one:?}, peak RSS +{} MiB",
        bomb.len() / 1024,
        bombs_rss / 1024,
        one_rss / 1024
    );
    assert!(bombs_rss < 64 * 1024, "refusing the bombs grew the peak RSS by {bombs_rss} KiB");
}
