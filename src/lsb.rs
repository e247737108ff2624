//! The k-bit LSB baseline the paper compares against: the top `k` bits of each hidden
//! sample replace the low `k` bits of the cover's.

use image::RgbImage;

/// Why an LSB operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LsbError {
    #[error("bits must be between 1 and 8, got {0}")]
    Bits(u8),
    #[error("cover is {cover_w}x{cover_h} but hidden is {hidden_w}x{hidden_h}: fit it first")]
    Size {
        cover_w: u32,
        cover_h: u32,
        hidden_w: u32,
        hidden_h: u32,
    },
}

/// The mask of the `k` low bits.
fn mask(k: u8) -> Result<u8, LsbError> {
    match k {
        1..=8 => Ok(((1u16 << k) - 1) as u8),
        _ => Err(LsbError::Bits(k)),
    }
}

/// `E = (C & !mask) | (H >> (8 - k))` for one sample.
pub fn embed_sample(cover: u8, hidden: u8, k: u8) -> Result<u8, LsbError> {
    let m = mask(k)?;
    Ok((cover & !m) | (hidden >> (8 - k)))
}

/// `D = (E & mask) << (8 - k)` for one sample.
pub fn reveal_sample(embedded: u8, k: u8) -> Result<u8, LsbError> {
    let m = mask(k)?;
    Ok((embedded & m) << (8 - k))
}

/// Hides the top `k` bits of `hidden` in the low `k` bits of `cover` (same size).
pub fn embed(cover: &RgbImage, hidden: &RgbImage, k: u8) -> Result<RgbImage, LsbError> {
    mask(k)?;
    if cover.dimensions() != hidden.dimensions() {
        return Err(LsbError::Size {
            cover_w: cover.width(),
            cover_h: cover.height(),
            hidden_w: hidden.width(),
            hidden_h: hidden.height(),
        });
    }
    let raw = cover
        .as_raw()
        .iter()
        .zip(hidden.as_raw())
        .map(|(&c, &h)| embed_sample(c, h, k))
        .collect::<Result<Vec<u8>, _>>()?;
    Ok(RgbImage::from_raw(cover.width(), cover.height(), raw).expect("same buffer size"))
}

/// Recovers the top `k` bits of the hidden image from the low bits of `embedded`.
pub fn reveal(embedded: &RgbImage, k: u8) -> Result<RgbImage, LsbError> {
    mask(k)?;
    let raw = embedded
        .as_raw()
        .iter()
        .map(|&e| reveal_sample(e, k))
        .collect::<Result<Vec<u8>, _>>()?;
    Ok(RgbImage::from_raw(embedded.width(), embedded.height(), raw).expect("same buffer size"))
}
