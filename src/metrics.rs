//! The paper's figures of merit (equations 1-4) and the standard image-quality measures,
//! all on images scaled to [0, 1].

use image::RgbImage;
use serde::Serialize;

/// Mean absolute difference over every sample (pixels x channels), on [0, 1].
///
/// This is the paper's `sum |I1 - I2| / (m n)` with `m x n` counting every value.
pub fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    same_size(a, b);
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| x.abs_diff(y) as u64)
        .sum();
    sum as f64 / 255.0 / a.as_raw().len() as f64
}

/// Cover changing rate (equation 3): how much embedding changed the cover.
pub fn cover_changing_rate(cover: &RgbImage, embedded: &RgbImage) -> f64 {
    mean_abs_diff(cover, embedded)
}

/// Decoded rate (equation 1): `1 - mean |H - D|`.
pub fn decoded_rate(hidden: &RgbImage, decoded: &RgbImage) -> f64 {
    1.0 - mean_abs_diff(hidden, decoded)
}

/// Payload capacity (equation 2): decoded rate x 8 bits x 3 channels, in bits per pixel.
pub fn payload_bpp(decoded_rate: f64) -> f64 {
    decoded_rate * 8.0 * 3.0
}

/// Peak signal-to-noise ratio in dB on [0, 1]; infinite for identical images.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    same_size(a, b);
    let squared: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x.abs_diff(y) as u64).pow(2))
        .sum();
    let mse = squared as f64 / (255.0 * 255.0) / a.as_raw().len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        -10.0 * mse.log10()
    }
}

/// Side of the SSIM window (Wang et al. 2004).
const SSIM_WINDOW: usize = 11;
/// Standard deviation of the SSIM window's Gaussian weights.
const SSIM_SIGMA: f64 = 1.5;

/// Structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004): 11x11 Gaussian window with
/// sigma 1.5, K1 = 0.01, K2 = 0.03, dynamic range 1, population (co)variances, the mean of
/// the map over the windows that fit inside the image, averaged over the three channels.
/// An image smaller than the window is measured with the largest odd window that fits
/// (Gaussian weights renormalised).
pub fn ssim(a: &RgbImage, b: &RgbImage) -> f64 {
    same_size(a, b);
    let (w, h) = (a.width() as usize, a.height() as usize);
    let side = SSIM_WINDOW.min(odd_at_most(w.min(h)));
    let kernel = gaussian_kernel(side, SSIM_SIGMA);
    let (c1, c2) = ((0.01f64).powi(2), (0.03f64).powi(2));
    let mut total = 0.0;
    for channel in 0..3 {
        let plane = |img: &RgbImage| -> Vec<f64> {
            img.as_raw()[channel..]
                .iter()
                .step_by(3)
                .map(|&v| v as f64 / 255.0)
                .collect()
        };
        let (pa, pb) = (plane(a), plane(b));
        let product =
            |x: &[f64], y: &[f64]| -> Vec<f64> { x.iter().zip(y).map(|(p, q)| p * q).collect() };
        let filter = |values: &[f64]| filter_valid(values, w, h, &kernel);
        let (ma, mb) = (filter(&pa), filter(&pb));
        let (saa, sbb, sab) = (
            filter(&product(&pa, &pa)),
            filter(&product(&pb, &pb)),
            filter(&product(&pa, &pb)),
        );
        let count = ma.len();
        let sum: f64 = (0..count)
            .map(|i| {
                let (mu_a, mu_b) = (ma[i], mb[i]);
                let var_a = saa[i] - mu_a * mu_a;
                let var_b = sbb[i] - mu_b * mu_b;
                let cov = sab[i] - mu_a * mu_b;
                ((2.0 * mu_a * mu_b + c1) * (2.0 * cov + c2))
                    / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))
            })
            .sum();
        total += sum / count as f64;
    }
    total / 3.0
}

/// Separable weighted sums of a `w` x `h` plane over every window position that fits
/// ("valid" filtering); the result is `(w - k + 1) x (h - k + 1)`.
fn filter_valid(values: &[f64], w: usize, h: usize, kernel: &[f64]) -> Vec<f64> {
    let k = kernel.len();
    let (ow, oh) = (w - k + 1, h - k + 1);
    let mut rows = vec![0.0; ow * h];
    for y in 0..h {
        for x in 0..ow {
            rows[y * ow + x] = (0..k).map(|i| kernel[i] * values[y * w + x + i]).sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..k).map(|i| kernel[i] * rows[(y + i) * ow + x]).sum();
        }
    }
    out
}

fn odd_at_most(n: usize) -> usize {
    if n % 2 == 1 {
        n
    } else {
        n.saturating_sub(1).max(1)
    }
}

/// Normalised 1-D Gaussian weights of length `side` (the 2-D window is their product).
fn gaussian_kernel(side: usize, sigma: f64) -> Vec<f64> {
    let centre = (side / 2) as f64;
    let weights: Vec<f64> = (0..side)
        .map(|i| (-((i as f64 - centre).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// The largest difference of two same-size images in any sample (0 for identical ones).
pub fn max_abs_diff(a: &RgbImage, b: &RgbImage) -> u8 {
    same_size(a, b);
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| x.abs_diff(y))
        .max()
        .unwrap_or(0)
}

/// The paper's residual `R(I1, I2) = |I1 - I2| / max |I1 - I2|`, magnified by `magnify`
/// and clipped to [0, 1] (`E(R, M)`), as an 8-bit image. Identical images give black.
pub fn residual(a: &RgbImage, b: &RgbImage, magnify: f64) -> RgbImage {
    let max = max_abs_diff(a, b);
    let raw = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| {
            if max == 0 {
                0
            } else {
                let r = x.abs_diff(y) as f64 / max as f64;
                ((r * magnify).clamp(0.0, 1.0) * 255.0).round() as u8
            }
        })
        .collect();
    RgbImage::from_raw(a.width(), a.height(), raw).expect("same buffer size")
}

/// Per-channel 256-bin histograms of an RGB8 image.
pub fn histograms(image: &RgbImage) -> [[u64; 256]; 3] {
    let mut bins = [[0u64; 256]; 3];
    for pixel in image.pixels() {
        for c in 0..3 {
            bins[c][pixel.0[c] as usize] += 1;
        }
    }
    bins
}

/// Histogram of the signed differences `b - a` over every sample, from -255 to 255
/// (index `d + 255`): the paper's figure 2.
pub fn difference_histogram(a: &RgbImage, b: &RgbImage) -> Vec<u64> {
    same_size(a, b);
    let mut bins = vec![0u64; 511];
    for (&x, &y) in a.as_raw().iter().zip(b.as_raw()) {
        bins[(y as i32 - x as i32 + 255) as usize] += 1;
    }
    bins
}

/// Everything the paper reports for one embedded pair, plus PSNR and SSIM.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub width: u32,
    pub height: u32,
    /// Equation 3, on [0, 1].
    pub cover_changing_rate: f64,
    #[serde(serialize_with = "finite_or_null")]
    pub cover_psnr_db: f64,
    pub cover_ssim: f64,
    /// Present when the hidden and decoded images were given.
    pub hidden: Option<HiddenReport>,
}

/// Figures on the hidden image and its decoded version.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HiddenReport {
    /// `mean |H - D|` on [0, 1].
    pub hidden_decoded_difference: f64,
    /// Equation 1.
    pub decoded_rate: f64,
    /// Equation 2.
    pub payload_bpp: f64,
    #[serde(serialize_with = "finite_or_null")]
    pub hidden_psnr_db: f64,
    pub hidden_ssim: f64,
}

impl Report {
    /// Measures a cover/embedded pair and, when given, a hidden/decoded pair.
    pub fn measure(
        cover: &RgbImage,
        embedded: &RgbImage,
        hidden: Option<(&RgbImage, &RgbImage)>,
    ) -> Self {
        Self {
            width: cover.width(),
            height: cover.height(),
            cover_changing_rate: cover_changing_rate(cover, embedded),
            cover_psnr_db: psnr(cover, embedded),
            cover_ssim: ssim(cover, embedded),
            hidden: hidden.map(|(h, d)| {
                let rate = decoded_rate(h, d);
                HiddenReport {
                    hidden_decoded_difference: 1.0 - rate,
                    decoded_rate: rate,
                    payload_bpp: payload_bpp(rate),
                    hidden_psnr_db: psnr(h, d),
                    hidden_ssim: ssim(h, d),
                }
            }),
        }
    }
}

/// JSON has no infinity: identical images (PSNR = inf) are written as `null`.
fn finite_or_null<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else {
        serializer.serialize_none()
    }
}

fn same_size(a: &RgbImage, b: &RgbImage) {
    assert_eq!(
        a.dimensions(),
        b.dimensions(),
        "images must have the same size to be compared"
    );
}
