//! Steganalysis: would anyone detect the embedding? Classic LSB-replacement detectors
//! (chi-square, RS, sample pair analysis, primary sets, weighted stego), a StegExpose-style
//! fusion of their estimates, and ROC curves over sets of clean and stego images.
//! See `shared/reference/steganalysis.md`.

pub mod chi_square;
pub mod experiment;
pub mod fusion;
pub mod plot;
pub mod primary_sets;
pub mod roc;
pub mod rs;
pub mod spa;
pub mod stego_set;
pub mod trained;
pub mod weighted_stego;

use image::RgbImage;

/// One colour channel of an image as a row-major plane of samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub width: usize,
    pub height: usize,
    pub samples: Vec<u8>,
}

impl Channel {
    /// Channel `c` (0 = red, 1 = green, 2 = blue) of an RGB8 image.
    pub fn of(image: &RgbImage, c: usize) -> Self {
        Self {
            width: image.width() as usize,
            height: image.height() as usize,
            samples: image.as_raw()[c..].iter().step_by(3).copied().collect(),
        }
    }

    /// The three channels of an RGB8 image.
    pub fn all(image: &RgbImage) -> [Self; 3] {
        [Self::of(image, 0), Self::of(image, 1), Self::of(image, 2)]
    }

    /// The sample at column `x`, row `y`.
    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.samples[y * self.width + x]
    }
}

/// The classic detectors, each estimating the fraction of samples carrying message bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Detector {
    ChiSquare,
    Rs,
    Spa,
    PrimarySets,
    WeightedStego,
}

impl Detector {
    /// Every classic detector, in StegExpose's order plus weighted stego.
    pub const ALL: [Detector; 5] = [
        Detector::PrimarySets,
        Detector::ChiSquare,
        Detector::Spa,
        Detector::Rs,
        Detector::WeightedStego,
    ];

    /// Short name for tables and plots.
    pub fn name(self) -> &'static str {
        match self {
            Detector::ChiSquare => "chi-square",
            Detector::Rs => "RS",
            Detector::Spa => "SPA",
            Detector::PrimarySets => "primary sets",
            Detector::WeightedStego => "weighted stego",
        }
    }

    /// The detector's estimate for an image: the mean over the channels it uses of the
    /// per-channel estimates that exist, or `None` when no channel gave one.
    pub fn estimate(self, image: &RgbImage) -> Option<f64> {
        let per_channel: Vec<f64> = match self {
            // StegExpose runs primary sets on the red channel only.
            Detector::PrimarySets => primary_sets::estimate(&Channel::of(image, 0))
                .into_iter()
                .collect(),
            _ => Channel::all(image)
                .iter()
                .filter_map(|channel| match self {
                    Detector::ChiSquare => chi_square::estimate(channel),
                    Detector::Rs => rs::estimate(channel),
                    Detector::Spa => spa::estimate(channel),
                    Detector::WeightedStego => weighted_stego::estimate(channel),
                    Detector::PrimarySets => unreachable!("handled above"),
                })
                .collect(),
        };
        (!per_channel.is_empty())
            .then(|| per_channel.iter().sum::<f64>() / per_channel.len() as f64)
    }
}

/// The smaller-magnitude real root of `a x^2 + b x + c = 0` (the linear root when `a` is
/// zero); `None` when there is no real root.
pub(crate) fn smaller_root(a: f64, b: f64, c: f64) -> Option<f64> {
    if a.abs() < 1e-12 {
        return (b.abs() > 1e-12).then(|| -c / b);
    }
    let discriminant = b * b - 4.0 * a * c;
    if discriminant < 0.0 {
        return None;
    }
    let sqrt = discriminant.sqrt();
    let (r1, r2) = ((-b + sqrt) / (2.0 * a), (-b - sqrt) / (2.0 * a));
    Some(if r1.abs() <= r2.abs() { r1 } else { r2 })
}
