//! StegExpose-style fusion: the mean of the clipped absolute estimates of the detectors
//! that produced one, compared against a threshold.

use std::collections::BTreeMap;

use image::RgbImage;

use super::Detector;

/// StegExpose's default threshold on the fused score.
pub const DEFAULT_THRESHOLD: f64 = 0.2;

/// Every detector's estimate for one image, and the fused score.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Raw estimates by detector name (`None` when a detector gave none).
    pub estimates: BTreeMap<&'static str, Option<f64>>,
    /// Mean of `clip(|estimate|, 0, 1)` over the estimates that exist.
    pub fused: Option<f64>,
}

/// Clips a detector's estimate to a score in [0, 1].
pub fn clip(estimate: f64) -> f64 {
    if estimate.is_finite() {
        estimate.abs().min(1.0)
    } else {
        0.0
    }
}

/// Fuses estimates: the mean of the clipped values that exist.
pub fn fuse(estimates: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let present: Vec<f64> = estimates.into_iter().flatten().map(clip).collect();
    (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
}

/// Runs `detectors` on `image` and fuses their estimates.
pub fn score(image: &RgbImage, detectors: &[Detector]) -> Scores {
    let estimates: BTreeMap<&'static str, Option<f64>> = detectors
        .iter()
        .map(|d| (d.name(), d.estimate(image)))
        .collect();
    let fused = fuse(estimates.values().copied());
    Scores { estimates, fused }
}
