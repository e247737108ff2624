//! Reading, converting, fitting and writing image files.

use image::{DynamicImage, ImageBuffer, Luma, LumaA, Rgb, RgbImage, Rgba};
use stegnet::codec::{self, FitMode, Planar};

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn grayscale_expands_to_rgb() {
    let d = dir();
    let path = d.path().join("g.png");
    ImageBuffer::from_pixel(3, 2, Luma([77u8]))
        .save(&path)
        .unwrap();
    let loaded = codec::load_rgb(&path).unwrap();
    assert_eq!(loaded.image.get_pixel(2, 1), &Rgb([77, 77, 77]));
    assert!(loaded.notes.iter().any(|n| n.contains("grayscale")));
}

#[test]
fn sixteen_bit_scales_down() {
    let d = dir();
    let path = d.path().join("s.png");
    ImageBuffer::from_pixel(2, 2, Rgb([65535u16, 0, 257 * 100]))
        .save(&path)
        .unwrap();
    let loaded = codec::load_rgb(&path).unwrap();
    assert_eq!(loaded.image.get_pixel(0, 0), &Rgb([255, 0, 100]));
    assert!(loaded.notes.iter().any(|n| n.contains("16-bit")));
}

#[test]
fn alpha_is_composited_on_white() {
    let d = dir();
    let path = d.path().join("a.png");
    let mut img = ImageBuffer::from_pixel(2, 1, Rgba([0u8, 0, 0, 0]));
    img.put_pixel(1, 0, Rgba([0, 100, 200, 255]));
    img.save(&path).unwrap();
    let loaded = codec::load_rgb(&path).unwrap();
    assert_eq!(
        loaded.image.get_pixel(0, 0),
        &Rgb([255, 255, 255]),
        "transparent: white"
    );
    assert_eq!(
        loaded.image.get_pixel(1, 0),
        &Rgb([0, 100, 200]),
        "opaque: unchanged"
    );
    assert!(loaded.notes.iter().any(|n| n.contains("white")));

    let half = codec::to_rgb8(DynamicImage::ImageLumaA8(ImageBuffer::from_pixel(
        1,
        1,
        LumaA([0u8, 128]),
    )));
    assert_eq!(half.image.get_pixel(0, 0), &Rgb([127, 127, 127]));
}

#[test]
fn formats_are_recognised_by_content() {
    let d = dir();
    let source = RgbImage::from_fn(5, 4, |x, y| Rgb([x as u8 * 40, y as u8 * 60, 9]));
    for ext in ["png", "bmp", "tiff", "webp"] {
        let path = d.path().join(format!("i.{ext}"));
        source.save(&path).unwrap();
        // A misleading name does not matter: the content decides.
        let renamed = d.path().join(format!("{ext}.jpg"));
        std::fs::rename(&path, &renamed).unwrap();
        assert_eq!(codec::load_rgb(&renamed).unwrap().image, source, "{ext}");
    }
}

#[test]
fn bad_files_give_errors_naming_the_file() {
    let d = dir();
    let empty = d.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let text = d.path().join("text.png");
    std::fs::write(&text, b"this is not an image\n").unwrap();
    let truncated = d.path().join("cut.png");
    let mut bytes = Vec::new();
    RgbImage::from_fn(64, 64, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    for path in [&empty, &text, &truncated, &d.path().join("missing.png")] {
        let message = codec::load_rgb(path).unwrap_err().to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
    }
}

/// A PNG whose header claims 30000 x 30000 pixels: refused before any allocation.
#[test]
fn decompression_bombs_are_refused() {
    let d = dir();
    let path = d.path().join("bomb.png");
    std::fs::write(&path, png_with_header(30_000, 30_000)).unwrap();
    let message = codec::load_rgb(&path).unwrap_err().to_string();
    assert!(message.contains("too large"), "{message}");

    // Within the side limit but over the memory limit.
    std::fs::write(&path, png_with_header(19_000, 19_000)).unwrap();
    let message = codec::load_rgb(&path).unwrap_err().to_string();
    assert!(message.contains("too large"), "{message}");
}

/// The signature and an IHDR chunk for an 8-bit RGB image, with a valid CRC, and an empty
/// end: enough for a decoder to read the size.
fn png_with_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    // A tiny compressed data chunk, so the decoder gets as far as allocating the image.
    let mut idat = b"IDAT".to_vec();
    idat.extend([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    png.extend(8u32.to_be_bytes());
    png.extend(&idat);
    png.extend(crc32(&idat).to_be_bytes());
    png.extend(0u32.to_be_bytes());
    png.extend(b"IEND");
    png.extend(crc32(b"IEND").to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn fitting_gives_the_cover_size() {
    let hidden = RgbImage::from_fn(40, 10, |x, _| Rgb([x as u8 * 6, 0, 0]));
    for mode in [FitMode::Resize, FitMode::Crop] {
        assert_eq!(codec::fit(&hidden, 21, 13, mode).dimensions(), (21, 13));
    }
    // Crop keeps the centre: a 40x10 image into 10x10 shows columns 15..25.
    let cropped = codec::fit(&hidden, 10, 10, FitMode::Crop);
    assert_eq!(cropped.get_pixel(0, 5)[0], 15 * 6);
}

#[test]
fn planar_conversion_round_trips_every_level() {
    let image = RgbImage::from_fn(16, 16, |x, y| {
        let v = (y * 16 + x) as u8;
        Rgb([v, 255 - v, v / 2])
    });
    let planar = Planar::from_rgb8(&image);
    assert_eq!(planar.data[0], -1.0);
    assert_eq!(planar.to_rgb8(), image);
    assert_eq!(codec::to_level(1.7), 255);
    assert_eq!(codec::to_level(-3.0), 0);
    assert_eq!(codec::to_level(0.0), 128);
}

#[test]
fn saving_is_atomic_and_never_leaves_partial_files() {
    let d = dir();
    let image = RgbImage::new(3, 3);
    let path = d.path().join("out.png");
    codec::save_rgb(&image, &path).unwrap();
    assert_eq!(codec::load_rgb(&path).unwrap().image, image);
    // A failing write (unknown extension) leaves nothing behind.
    assert!(codec::save_rgb(&image, &d.path().join("out.nope")).is_err());
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.png")]);
}
