//! Running detectors over a set of clean and a set of stego images: per-image scores, ROC
//! curves and AUCs. Shared by `stegnet analyze` and the app's Analysis view.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::RgbImage;

use super::roc::{self, RocPoint};
use super::trained::TrainedDetector;
use super::{Detector, fusion};
use crate::codec;
use crate::pipeline::{Cancelled, Progress};

/// A detector to run: a classic one, or a trained one loaded from a file.
#[derive(Debug, Clone)]
pub enum DetectorSpec {
    Classic(Detector),
    Trained {
        path: PathBuf,
        detector: Box<TrainedDetector>,
    },
}

impl DetectorSpec {
    /// Parses `chi-square`, `rs`, `spa`, `primary-sets`, `weighted-stego`, `classic` (all
    /// five) or `trained:FILE`.
    pub fn parse_list(text: &str) -> Result<Vec<DetectorSpec>> {
        let mut specs = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(path) = item.strip_prefix("trained:") {
                let path = PathBuf::from(path);
                let detector = Box::new(TrainedDetector::load(&path)?);
                specs.push(DetectorSpec::Trained { path, detector });
            } else if item == "classic" {
                specs.extend(Detector::ALL.map(DetectorSpec::Classic));
            } else {
                let detector =
                    <Detector as clap::ValueEnum>::from_str(item, true).map_err(|_| {
                        anyhow::anyhow!(
                            "unknown detector '{item}': use chi-square, rs, spa, primary-sets, \
                         weighted-stego, classic or trained:FILE"
                        )
                    })?;
                specs.push(DetectorSpec::Classic(detector));
            }
        }
        Ok(specs)
    }

    /// The name shown in tables and plots.
    pub fn name(&self) -> String {
        match self {
            DetectorSpec::Classic(d) => d.name().to_string(),
            DetectorSpec::Trained { path, .. } => format!(
                "trained ({})",
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
        }
    }
}

/// What the detectors said about one image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageScores {
    pub path: PathBuf,
    /// Whether the image is from the stego set.
    pub stego: bool,
    /// One score per detector, in the order asked for (`None`: no estimate).
    pub scores: Vec<Option<f64>>,
    /// StegExpose-style fusion of the classic detectors' estimates.
    pub fused: Option<f64>,
}

/// One ROC curve with its area.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Curve {
    pub name: String,
    pub points: Vec<RocPoint>,
    pub auc: f64,
}

/// The outcome of scoring a clean and a stego set.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Experiment {
    pub detectors: Vec<String>,
    pub images: Vec<ImageScores>,
    /// One curve per detector, then the fused classic score (if any classic ran).
    pub curves: Vec<Curve>,
}

/// Scores every image with every detector and builds the ROC curves. Scores are clipped
/// absolute estimates for classic detectors and probabilities for trained ones.
pub fn run(
    clean: &[PathBuf],
    stego: &[PathBuf],
    specs: &[DetectorSpec],
    progress: &mut dyn Progress,
) -> Result<Experiment, ExperimentError> {
    let total = clean.len() + stego.len();
    let mut images = Vec::with_capacity(total);
    let labelled = clean
        .iter()
        .map(|p| (p, false))
        .chain(stego.iter().map(|p| (p, true)));
    for (done, (path, is_stego)) in labelled.enumerate() {
        if progress.cancelled() {
            return Err(ExperimentError::Cancelled(Cancelled));
        }
        let image = codec::load_rgb(path)
            .map_err(|e| ExperimentError::Image(e.to_string()))?
            .image;
        images.push(score_image(path, &image, is_stego, specs));
        progress.advance(done + 1, total);
    }
    let mut curves: Vec<Curve> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| curve(spec.name(), &images, |s| s.scores[i]))
        .collect();
    if specs.iter().any(|s| matches!(s, DetectorSpec::Classic(_))) {
        curves.push(curve("fused (StegExpose)".into(), &images, |s| s.fused));
    }
    Ok(Experiment {
        detectors: specs.iter().map(DetectorSpec::name).collect(),
        images,
        curves,
    })
}

/// Why an experiment stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("{0}")]
    Image(String),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

fn score_image(path: &Path, image: &RgbImage, stego: bool, specs: &[DetectorSpec]) -> ImageScores {
    let mut classic = Vec::new();
    let scores = specs
        .iter()
        .map(|spec| match spec {
            DetectorSpec::Classic(d) => {
                let estimate = d.estimate(image);
                classic.push(estimate);
                estimate.map(fusion::clip)
            }
            DetectorSpec::Trained { detector, .. } => Some(detector.score(image)),
        })
        .collect();
    ImageScores {
        path: path.to_path_buf(),
        stego,
        scores,
        fused: fusion::fuse(classic),
    }
}

/// The ROC curve of one score over the images (a missing score counts as 0).
fn curve(
    name: String,
    images: &[ImageScores],
    score: impl Fn(&ImageScores) -> Option<f64>,
) -> Curve {
    let of = |stego: bool| -> Vec<f64> {
        images
            .iter()
            .filter(|s| s.stego == stego)
            .map(|s| score(s).unwrap_or(0.0))
            .collect()
    };
    let points = roc::curve(&of(false), &of(true));
    Curve {
        auc: roc::auc(&points),
        name,
        points,
    }
}

/// Image files in a folder (recursively), sorted by path.
pub fn list_images(folder: &Path) -> Result<Vec<PathBuf>> {
    let files = codec::image_files(folder)
        .with_context(|| format!("cannot list images in {}", folder.display()))?;
    if files.is_empty() {
        anyhow::bail!("no images found in {}", folder.display());
    }
    Ok(files)
}
