//! Thumbnails of images, made in the background after an upload and kept
//! next to the dataset:
//!
//! ```text
//! ds/{id}/thumbs/{path}.jpg   at most 256×256, JPEG
//! ```
//!
//! They go when the dataset goes (same prefix). A failed or missing
//! thumbnail only means the grid shows the file's type instead.

use agora_model::files::normalize_file_path;
use agora_model::ApiError;
use bytes::Bytes;

use super::files::file_key;
use super::{DatasetError, Datasets};
use crate::auth::access::{authorize, Need};
use crate::auth::caller::Caller;
use crate::storage::PutOptions;

/// Longest side of a thumbnail, in pixels.
pub const THUMB_SIDE: u32 = 256;
/// Images larger than this get no thumbnail (decoding them costs too much).
pub const THUMB_MAX_SOURCE_BYTES: u64 = 40 * 1024 * 1024;
/// Thumbnail links one request may ask for.
pub const MAX_THUMB_LINKS: usize = 200;

pub(super) fn thumb_key(id: &str, path: &str) -> String {
    format!("ds/{id}/thumbs/{path}.jpg")
}

/// Formats thumbnails are made of (by extension).
pub fn thumbnailable(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    matches!(ext.as_str(), "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp")
}

/// The widest and tallest image decoded, in pixels.
pub const DECODE_MAX_SIDE: u32 = 16_384;
/// The most memory one decode may allocate: a 48-megapixel RGB photo fits,
/// a decompression bomb (a few KB of PNG that claims 11000×11000 pixels)
/// is refused from its header, before anything is allocated.
pub const DECODE_MAX_ALLOC: u64 = 200 << 20;

/// At most one decode per core runs at once; the others wait their turn
/// (holding nothing but the file's name).
fn decodes() -> &'static tokio::sync::Semaphore {
    static DECODES: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    DECODES.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())))
}

/// Decodes an image within [`DECODE_MAX_SIDE`] and [`DECODE_MAX_ALLOC`]
/// and encodes a JPEG of at most [`THUMB_SIDE`] pixels a side.
pub fn render_thumbnail(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(DECODE_MAX_SIDE);
    limits.max_image_height = Some(DECODE_MAX_SIDE);
    limits.max_alloc = Some(DECODE_MAX_ALLOC);
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    reader.limits(limits);
    let image = reader.decode().map_err(|e| e.to_string())?;
    // Never enlarged: a small image is its own thumbnail.
    let small = if image.width() <= THUMB_SIDE && image.height() <= THUMB_SIDE { image } else { image.thumbnail(THUMB_SIDE, THUMB_SIDE) };
    let small = small.to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    small.write_to(&mut out, image::ImageFormat::Jpeg).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

impl Datasets {
    /// Starts making a file's thumbnail in the background, if it is an image.
    pub(super) fn thumbnail_later(&self, id: &str, path: &str, size: u64) {
        if !thumbnailable(path) || size > THUMB_MAX_SOURCE_BYTES {
            return;
        }
        let (datasets, id, path) = (self.clone(), id.to_owned(), path.to_owned());
        tokio::spawn(async move {
            if let Err(err) = datasets.make_thumbnail(&id, &path).await {
                tracing::warn!(dataset = %id, error = %err, "no thumbnail for an image");
            }
        });
    }

    /// Reads the image, renders its thumbnail off the executor, stores it.
    pub async fn make_thumbnail(&self, id: &str, path: &str) -> Result<(), String> {
        let _turn = decodes().acquire().await.map_err(|e| e.to_string())?;
        let object = self.storage.get(&file_key(id, path), None).await.map_err(|e| e.to_string())?;
        let jpeg = tokio::task::spawn_blocking(move || render_thumbnail(&object.body)).await.map_err(|e| e.to_string())??;
        let options = PutOptions { content_type: Some("image/jpeg".into()), ..Default::default() };
        self.storage.put(&thumb_key(id, path), Bytes::from(jpeg), options).await.map_err(|e| e.to_string())?;
        self.index.notify(id).await;
        Ok(())
    }

    /// Presigned links to the thumbnails of these files (those that are
    /// images; a link to a thumbnail not made yet answers 404).
    pub async fn thumbnails(&self, caller: &Caller, id: &str, paths: &[String]) -> Result<Vec<(String, String)>, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)?;
        if paths.len() > MAX_THUMB_LINKS {
            return Err(DatasetError::Api(ApiError::invalid("paths", format!("at most {MAX_THUMB_LINKS} per request"))));
        }
        let mut links = Vec::new();
        for path in paths {
            let path = normalize_file_path(path).map_err(DatasetError::Api)?;
            if thumbnailable(&path) {
                let inline = crate::storage::Delivery::Inline { content_type: "image/jpeg" };
                let presigned = self.storage.presign_get(&thumb_key(id, &path), inline, self.presign_expiry()).await?;
                links.push((path, presigned.url));
            }
        }
        Ok(links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_small_jpegs() {
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_fn(1000, 500, |x, _| image::Rgb([(x % 256) as u8, 0, 0]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let jpeg = render_thumbnail(png.get_ref()).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (256, 128));
        assert_eq!(&jpeg[..2], &[0xff, 0xd8], "a JPEG");
        assert!(render_thumbnail(b"not an image").is_err());
        let mut tiny = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(4, 3).write_to(&mut tiny, image::ImageFormat::Png).unwrap();
        let back = image::load_from_memory(&render_thumbnail(tiny.get_ref()).unwrap()).unwrap();
        assert_eq!((back.width(), back.height()), (4, 3), "never enlarged");
        assert!(thumbnailable("a/b.JPG") && !thumbnailable("a/b.csv"));
    }
}
