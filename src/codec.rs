//! Image files in and out: decoding with limits, conversion to RGB8, fitting the hidden
//! image to the cover, conversion to and from the network's [-1, 1] planar floats, and
//! atomic writes.

use std::path::Path;

use image::{DynamicImage, ImageFormat, ImageReader, Limits, RgbImage, imageops::FilterType};
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomically;

/// Largest width or height accepted from a file.
pub const MAX_DIMENSION: u32 = 20_000;
/// Largest allocation the decoder may make (guards against decompression bombs).
pub const MAX_DECODE_BYTES: u64 = 512 << 20;

/// An image read from a file, as RGB8, with notes on what conversion did.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub image: RgbImage,
    /// Human-readable notes (alpha composited, 16-bit scaled down, ...).
    pub notes: Vec<String>,
}

/// Why an image could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ImageFileError {
    #[error("cannot read image {path}: {cause}")]
    Read { path: String, cause: String },
    #[error("cannot write image {path}: {cause}")]
    Write { path: String, cause: String },
}

fn read_error(path: &Path, cause: impl ToString) -> ImageFileError {
    ImageFileError::Read {
        path: path.display().to_string(),
        cause: cause.to_string(),
    }
}

/// Decoder limits used for every file.
pub fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

/// Reads any format the `image` crate knows (by content, not by name) and converts it to
/// RGB8: grayscale expands, 16-bit and float scale down, alpha is composited on white.
pub fn load_rgb(path: &Path) -> Result<LoadedImage, ImageFileError> {
    let metadata = std::fs::metadata(path).map_err(|e| read_error(path, e))?;
    if metadata.is_dir() {
        return Err(read_error(path, "it is a folder, not an image file"));
    }
    if metadata.len() == 0 {
        return Err(read_error(path, "the file is empty (0 bytes)"));
    }
    let mut reader = ImageReader::open(path)
        .map_err(|e| read_error(path, e))?
        .with_guessed_format()
        .map_err(|e| read_error(path, e))?;
    if reader.format().is_none() {
        return Err(read_error(
            path,
            "not an image in a format this program reads",
        ));
    }
    reader.limits(decode_limits());
    let decoded = reader.decode().map_err(|e| read_error(path, describe(e)))?;
    Ok(to_rgb8(decoded))
}

/// Turns the `image` crate's errors into a sentence a user understands.
fn describe(error: image::ImageError) -> String {
    match error {
        image::ImageError::Limits(_) => format!(
            "the image is too large to decode safely (limits: {MAX_DIMENSION} pixels a side, \
             {} MiB of memory)",
            MAX_DECODE_BYTES >> 20
        ),
        other => format!("the file is damaged or not a valid image ({other})"),
    }
}

/// Converts any decoded image to RGB8, saying what the conversion did.
pub fn to_rgb8(image: DynamicImage) -> LoadedImage {
    let color = image.color();
    let mut notes = Vec::new();
    if color.bytes_per_pixel() / color.channel_count() > 1 {
        notes.push(format!(
            "{}-bit samples scaled down to 8 bits",
            8 * (color.bytes_per_pixel() / color.channel_count())
        ));
    }
    if !color.has_color() {
        notes.push("grayscale expanded to RGB".to_string());
    }
    let image = if color.has_alpha() {
        notes.push("transparency composited on white".to_string());
        composite_on_white(&image)
    } else {
        image.to_rgb8()
    };
    LoadedImage { image, notes }
}

fn composite_on_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba32f();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: f32| ((c * a + (1.0 - a)).clamp(0.0, 1.0) * 255.0).round() as u8;
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

/// How the hidden image is brought to the cover's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
pub enum FitMode {
    /// Stretch to the cover's size (Lanczos3).
    #[default]
    Resize,
    /// Scale to cover the whole area, keeping the aspect ratio, then crop the centre.
    Crop,
}

/// Returns `image` at exactly `width` x `height`.
pub fn fit(image: &RgbImage, width: u32, height: u32, mode: FitMode) -> RgbImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    match mode {
        FitMode::Resize => image::imageops::resize(image, width, height, FilterType::Lanczos3),
        FitMode::Crop => {
            let scale = f64::max(
                width as f64 / image.width() as f64,
                height as f64 / image.height() as f64,
            );
            let scaled_w = ((image.width() as f64 * scale).ceil() as u32).max(width);
            let scaled_h = ((image.height() as f64 * scale).ceil() as u32).max(height);
            let scaled = image::imageops::resize(image, scaled_w, scaled_h, FilterType::Lanczos3);
            let x = (scaled_w - width) / 2;
            let y = (scaled_h - height) / 2;
            image::imageops::crop_imm(&scaled, x, y, width, height).to_image()
        }
    }
}

/// An image as planar float samples, channel by channel, row by row (`[c, h, w]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Planar {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Planar {
    /// An all-zero image.
    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
            data: vec![0.0; channels * height * width],
        }
    }

    /// RGB8 to the network's scale: `x / 255 * 2 - 1`.
    pub fn from_rgb8(image: &RgbImage) -> Self {
        Self::from_rgb8_window(image, 0, 0, image.width() as usize, image.height() as usize)
    }

    /// The window at (`x`, `y`), `w` x `h`, of an RGB8 image, on the network's scale.
    pub fn from_rgb8_window(image: &RgbImage, x: usize, y: usize, w: usize, h: usize) -> Self {
        let mut planar = Self::zeros(3, h, w);
        let plane = w * h;
        let raw = image.as_raw();
        let stride = image.width() as usize * 3;
        for row in 0..h {
            let line = &raw[(y + row) * stride + x * 3..(y + row) * stride + (x + w) * 3];
            for (col, pixel) in line.chunks_exact(3).enumerate() {
                for (c, &level) in pixel.iter().enumerate() {
                    planar.data[c * plane + row * w + col] = from_level(level);
                }
            }
        }
        planar
    }

    /// Back to RGB8: clamp to [-1, 1], then round to the nearest of 256 levels.
    pub fn to_rgb8(&self) -> RgbImage {
        let mut image = RgbImage::new(self.width as u32, self.height as u32);
        self.write_rgb8(0, 0, self.width, self.height, &mut image, 0, 0);
        image
    }

    /// Rounds the window at (`sx`, `sy`), `w` x `h`, into `image` at (`x`, `y`).
    #[allow(clippy::too_many_arguments)]
    pub fn write_rgb8(
        &self,
        sx: usize,
        sy: usize,
        w: usize,
        h: usize,
        image: &mut RgbImage,
        x: u32,
        y: u32,
    ) {
        assert_eq!(self.channels, 3, "only RGB planes become an RGB image");
        let plane = self.width * self.height;
        for row in 0..h {
            for col in 0..w {
                let source = (sy + row) * self.width + sx + col;
                let pixel = image.get_pixel_mut(x + col as u32, y + row as u32);
                for c in 0..3 {
                    pixel.0[c] = to_level(self.data[c * plane + source]);
                }
            }
        }
    }

    /// Copies the window at (`x`, `y`) of size `w` x `h`.
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Planar {
        let mut out = Planar::zeros(self.channels, h, w);
        for c in 0..self.channels {
            for row in 0..h {
                let src = (c * self.height + y + row) * self.width + x;
                let dst = (c * h + row) * w;
                out.data[dst..dst + w].copy_from_slice(&self.data[src..src + w]);
            }
        }
        out
    }

    /// Writes the window of `source` at (`sx`, `sy`), size `w` x `h`, to (`x`, `y`) here.
    #[allow(clippy::too_many_arguments)]
    pub fn paste(
        &mut self,
        source: &Planar,
        sx: usize,
        sy: usize,
        w: usize,
        h: usize,
        x: usize,
        y: usize,
    ) {
        for c in 0..self.channels {
            for row in 0..h {
                let src = (c * source.height + sy + row) * source.width + sx;
                let dst = (c * self.height + y + row) * self.width + x;
                self.data[dst..dst + w].copy_from_slice(&source.data[src..src + w]);
            }
        }
    }

    /// Stacks the channels of several same-sized images.
    pub fn concat(parts: &[&Planar]) -> Planar {
        let (height, width) = (parts[0].height, parts[0].width);
        assert!(parts.iter().all(|p| p.height == height && p.width == width));
        Planar {
            channels: parts.iter().map(|p| p.channels).sum(),
            height,
            width,
            data: parts.iter().flat_map(|p| p.data.iter().copied()).collect(),
        }
    }
}

/// An 8-bit level to the network's [-1, 1] scale.
pub fn from_level(level: u8) -> f32 {
    level as f32 / 255.0 * 2.0 - 1.0
}

/// A float on [-1, 1] to the nearest 8-bit level (clamped).
pub fn to_level(x: f32) -> u8 {
    ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Formats written by file name.
fn format_for(path: &Path) -> Result<ImageFormat, String> {
    ImageFormat::from_path(path).map_err(|_| {
        "unknown file type: name the file with an image extension such as .png".to_string()
    })
}

/// Whether writing `path` would compress lossily (JPEG; WebP is written lossless).
pub fn is_lossy(path: &Path) -> bool {
    matches!(format_for(path), Ok(ImageFormat::Jpeg))
}

/// Writes an RGB8 image in the format its extension names, atomically.
pub fn save_rgb(image: &RgbImage, path: &Path) -> Result<(), ImageFileError> {
    let write_error = |cause: String| ImageFileError::Write {
        path: path.display().to_string(),
        cause,
    };
    let format = format_for(path).map_err(write_error)?;
    write_atomically(path, |file| {
        let mut buffered = std::io::BufWriter::new(file);
        image
            .write_to(&mut buffered, format)
            .map_err(std::io::Error::other)?;
        std::io::Write::flush(&mut buffered)
    })
    .map_err(|e| write_error(e.to_string()))
}

/// File extensions read as images when scanning folders.
pub const IMAGE_EXTENSIONS: [&str; 9] = [
    "png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif", "pnm",
];

/// Image files (by extension) in `folder` and its subfolders, sorted by path; hidden files
/// and folders are skipped.
pub fn image_files(folder: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| {
                IMAGE_EXTENSIONS.contains(&e.to_string_lossy().to_ascii_lowercase().as_str())
            }) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
