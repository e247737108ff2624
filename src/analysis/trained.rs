//! A detector trained for the job: second-order SPAM features (Pevný, Bas, Fridrich 2010;
//! T = 3, 686 features) with a logistic-regression classifier, trained on clean/stego pairs.
//! Its score is the probability that an image is stego.

use std::path::Path;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomically;

/// Differences are truncated to [-T, T].
const T: i32 = 3;
/// Values a truncated difference takes.
const LEVELS: usize = (2 * T + 1) as usize;
/// Features per group of directions: a 7x7x7 transition matrix.
const PER_GROUP: usize = LEVELS * LEVELS * LEVELS;
/// The full feature vector: straight directions, then diagonal ones.
pub const FEATURES: usize = 2 * PER_GROUP;

/// Second-order SPAM features of an image: transition probabilities of truncated
/// neighbour differences along the 4 straight and the 4 diagonal directions (each group
/// averaged), computed per colour channel and averaged over the channels.
pub fn spam_features(image: &RgbImage) -> Vec<f64> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let mut features = vec![0.0; FEATURES];
    for c in 0..3 {
        let sample = |x: i64, y: i64| image.as_raw()[((y * w + x) * 3) as usize + c] as i32;
        let straight = [(1, 0), (-1, 0), (0, 1), (0, -1)];
        let diagonal = [(1, 1), (-1, -1), (1, -1), (-1, 1)];
        for (group, directions) in [straight, diagonal].iter().enumerate() {
            for &(dx, dy) in directions {
                let matrix = transitions(w, h, dx, dy, &sample);
                for (i, p) in matrix.iter().enumerate() {
                    features[group * PER_GROUP + i] += p / 12.0;
                }
            }
        }
    }
    features
}

/// `P(D3 = a | D2 = b, D1 = c)` along direction (`dx`, `dy`), indexed `(a * 7 + b) * 7 + c`,
/// where `D1, D2, D3` are successive truncated differences.
fn transitions(w: i64, h: i64, dx: i64, dy: i64, sample: &dyn Fn(i64, i64) -> i32) -> Vec<f64> {
    let mut counts = vec![0u64; PER_GROUP];
    let level = |d: i32| (d.clamp(-T, T) + T) as usize;
    // Every start point from which three steps stay inside the image.
    let range = |d: i64, size: i64| -> (i64, i64) {
        if d >= 0 {
            (0, size - 3 * d)
        } else {
            (-3 * d, size)
        }
    };
    let ((x0, x1), (y0, y1)) = (range(dx, w), range(dy, h));
    for y in y0..y1 {
        for x in x0..x1 {
            let s = |k: i64| sample(x + k * dx, y + k * dy);
            let (d1, d2, d3) = (s(0) - s(1), s(1) - s(2), s(2) - s(3));
            counts[(level(d3) * LEVELS + level(d2)) * LEVELS + level(d1)] += 1;
        }
    }
    let mut probabilities = vec![0.0; PER_GROUP];
    for b in 0..LEVELS {
        for c in 0..LEVELS {
            let total: u64 = (0..LEVELS)
                .map(|a| counts[(a * LEVELS + b) * LEVELS + c])
                .sum();
            if total > 0 {
                for a in 0..LEVELS {
                    let i = (a * LEVELS + b) * LEVELS + c;
                    probabilities[i] = counts[i] as f64 / total as f64;
                }
            }
        }
    }
    probabilities
}

/// A trained logistic-regression detector over standardised SPAM features.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainedDetector {
    /// Tag checked at load.
    pub format: String,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub bias: f64,
    /// Images it was trained on (clean, stego).
    pub trained_on: (usize, usize),
}

/// The format tag of detector files.
const FORMAT: &str = "stegnet-spam-logistic-v1";

/// How the classifier is fitted.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f64,
    /// L2 penalty on the weights.
    pub l2: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 2000,
            learning_rate: 0.5,
            l2: 1e-3,
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl TrainedDetector {
    /// Fits the detector to feature vectors of clean and stego images (full-batch gradient
    /// descent on the L2-regularised logistic loss, classes weighted equally).
    pub fn train(clean: &[Vec<f64>], stego: &[Vec<f64>], options: TrainOptions) -> Self {
        assert!(
            !clean.is_empty() && !stego.is_empty(),
            "both classes are needed"
        );
        let all: Vec<&Vec<f64>> = clean.iter().chain(stego).collect();
        let n = all.len() as f64;
        let mean: Vec<f64> = (0..FEATURES)
            .map(|j| all.iter().map(|f| f[j]).sum::<f64>() / n)
            .collect();
        let scale: Vec<f64> = (0..FEATURES)
            .map(|j| {
                let var = all.iter().map(|f| (f[j] - mean[j]).powi(2)).sum::<f64>() / n;
                if var > 1e-18 { 1.0 / var.sqrt() } else { 0.0 }
            })
            .collect();
        let standardise = |f: &Vec<f64>| -> Vec<f64> {
            f.iter()
                .zip(&mean)
                .zip(&scale)
                .map(|((x, m), s)| (x - m) * s)
                .collect()
        };
        let samples: Vec<(Vec<f64>, f64, f64)> = clean
            .iter()
            .map(|f| (standardise(f), 0.0, 0.5 / clean.len() as f64))
            .chain(
                stego
                    .iter()
                    .map(|f| (standardise(f), 1.0, 0.5 / stego.len() as f64)),
            )
            .collect();
        let mut weights = vec![0.0; FEATURES];
        let mut bias = 0.0;
        for _ in 0..options.epochs {
            let mut grad = vec![0.0; FEATURES];
            let mut grad_bias = 0.0;
            for (x, label, weight) in &samples {
                let z = bias + x.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>();
                let error = (sigmoid(z) - label) * weight;
                grad_bias += error;
                for (g, xi) in grad.iter_mut().zip(x) {
                    *g += error * xi;
                }
            }
            for (w, g) in weights.iter_mut().zip(&grad) {
                *w -= options.learning_rate * (g + options.l2 * *w);
            }
            bias -= options.learning_rate * grad_bias;
        }
        Self {
            format: FORMAT.to_string(),
            mean,
            scale,
            weights,
            bias,
            trained_on: (clean.len(), stego.len()),
        }
    }

    /// The probability that an image with these features is stego.
    pub fn score_features(&self, features: &[f64]) -> f64 {
        let z = self.bias
            + features
                .iter()
                .zip(&self.mean)
                .zip(&self.scale)
                .zip(&self.weights)
                .map(|(((x, m), s), w)| (x - m) * s * w)
                .sum::<f64>();
        sigmoid(z)
    }

    /// The probability that `image` is stego.
    pub fn score(&self, image: &RgbImage) -> f64 {
        self.score_features(&spam_features(image))
    }

    /// Writes the detector as JSON, atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec(self)?;
        write_atomically(path, |file| std::io::Write::write_all(file, &json))
            .map_err(|e| anyhow::anyhow!("cannot write detector {}: {e}", path.display()))
    }

    /// Reads a detector written by [`save`](Self::save).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read detector {}: {e}", path.display()))?;
        let detector: Self = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!("{} is not a trained detector file: {e}", path.display())
        })?;
        let sizes_ok = [
            detector.mean.len(),
            detector.scale.len(),
            detector.weights.len(),
        ]
        .iter()
        .all(|&len| len == FEATURES);
        if detector.format != FORMAT || !sizes_ok {
            anyhow::bail!(
                "{} is a detector of another kind ('{}'), this build reads '{FORMAT}'",
                path.display(),
                detector.format
            );
        }
        Ok(detector)
    }
}
