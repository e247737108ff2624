//! The paper's loss (equation 7 as the authors coded it), on the [-1, 1] scale, and the
//! 8-bit rounding with a straight-through gradient that trains the decoder on saved PNGs.

use burn::prelude::*;

use super::{Objective, TrainConfig};
use crate::cast::{CELL, corners_along};

/// The cover's difference, in 8-bit levels, at which [`Objective::PsnrSaved`] makes a level
/// cost twice the first.
pub const KNEE_LEVELS: f64 = 4.0;

/// Clamps to [-1, 1] and rounds to the 256 levels of an 8-bit image in the forward pass;
/// the backward pass sees the identity (straight-through), so gradients still flow.
pub fn quantize_straight_through(x: Tensor<4>) -> Tensor<4> {
    let levels = x
        .clone()
        .clamp(-1.0, 1.0)
        .add_scalar(1.0)
        .mul_scalar(127.5)
        .round()
        .div_scalar(127.5)
        .sub_scalar(1.0);
    x.clone() + (levels - x).detach()
}

/// What of the stego image `stego` (of `cover`) the cover's terms of `objective`
/// measure: the image itself, or with [`Objective::L1Saved`] the image as saved, its smooth
/// colour cast carried aside.
pub fn cover_view(objective: Objective, cover: Tensor<4>, stego: Tensor<4>) -> Tensor<4> {
    match objective {
        Objective::L1Saved | Objective::PsnrSaved => stego.clone() - smooth_part(stego - cover),
        Objective::Paper | Objective::L1 => stego,
    }
}

/// The smooth part of residuals `[n, c, h, w]`, as [`crate::cast`] carries it aside: at
/// each corner of its grid the mean under the corner's bilinear weights, interpolated back
/// with the same weights. (The saved field takes medians, bounded, in whole levels: close
/// to this, but not differentiable.) Linear, so the cover's gradient passes it by exactly.
pub fn smooth_part(residual: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = residual.dims();
    let device = residual.device();
    let (rows, columns) = (corner_weights(h, &device), corner_weights(w, &device));
    let (ny, nx) = (rows.dims()[1], columns.dims()[1]);
    // Each corner's total weight: the outer product of the two axes' totals.
    let mass = rows
        .clone()
        .sum_dim(0)
        .reshape([ny, 1])
        .matmul(columns.clone().sum_dim(0));
    let rows = rows.unsqueeze::<4>().expand([n, c, h, ny]);
    let columns = columns.unsqueeze::<4>().expand([n, c, w, nx]);
    let corners = rows
        .clone()
        .swap_dims(2, 3)
        .matmul(residual)
        .matmul(columns.clone())
        / mass.unsqueeze::<4>();
    rows.matmul(corners).matmul(columns.swap_dims(2, 3))
}

/// `[length, corners]`: each pixel's bilinear weight on each corner of the cast's grid
/// along an axis, `max(0, 1 - |x - i CELL| / CELL)`.
fn corner_weights(length: usize, device: &Device) -> Tensor<2> {
    let cell = CELL as usize;
    let corners = corners_along(length as u32, CELL) as usize;
    let weights = (0..length)
        .flat_map(|x| {
            (0..corners).map(move |i| {
                let distance = (x as f32 - (i * cell) as f32).abs() / cell as f32;
                (1.0 - distance).max(0.0)
            })
        })
        .collect::<Vec<f32>>();
    Tensor::from_data(TensorData::new(weights, [length, corners]), device)
}

/// The four terms of the loss, as tensors (so the total can be differentiated).
#[derive(Debug, Clone)]
pub struct LossParts {
    /// `mean |C - E|`.
    pub cover_l1: Tensor<1>,
    /// Batch mean of each image's population variance of `C - E`.
    pub cover_variance: Tensor<1>,
    /// `mean (C - E)^2`.
    pub cover_square: Tensor<1>,
    /// `mean |D - H|`.
    pub hidden_l1: Tensor<1>,
    /// Batch mean of each image's population variance of `D - H`.
    pub hidden_variance: Tensor<1>,
}

/// Mean absolute value and batch-mean per-image population variance of a residual.
fn residual_terms(residual: Tensor<4>) -> (Tensor<1>, Tensor<1>) {
    let [n, c, h, w] = residual.dims();
    let l1 = residual.clone().abs().mean();
    let per_image = residual.reshape([n, c * h * w]);
    let mean = per_image.clone().mean_dim(1);
    let variance = (per_image - mean).square().mean_dim(1).mean();
    (l1, variance)
}

impl LossParts {
    /// Measures cover `c`, embedded `e`, hidden `h` and decoded `d` (all `[n, 3, h, w]`).
    pub fn measure(c: Tensor<4>, e: Tensor<4>, h: Tensor<4>, d: Tensor<4>) -> Self {
        let cover_residual = c - e;
        let cover_square = cover_residual.clone().square().mean();
        let (cover_l1, cover_variance) = residual_terms(cover_residual);
        let (hidden_l1, hidden_variance) = residual_terms(d - h);
        Self {
            cover_l1,
            cover_variance,
            cover_square,
            hidden_l1,
            hidden_variance,
        }
    }

    /// What a run of `config` minimises: the terms of its objective, the cover's weighted
    /// by its cover weight. With the paper's objective and weight 1 (the default) this is
    /// the paper's loss, `(L_CE + V_CE + L_HD + V_HD) / 4`.
    pub fn minimised(&self, config: &TrainConfig) -> Tensor<1> {
        let (cover, hidden, terms) = match config.objective {
            Objective::Paper => (
                self.cover_l1.clone() + self.cover_variance.clone(),
                self.hidden_l1.clone() + self.hidden_variance.clone(),
                4.0,
            ),
            Objective::L1 | Objective::L1Saved => {
                (self.cover_l1.clone(), self.hidden_l1.clone(), 2.0)
            }
            Objective::PsnrSaved => {
                // `|e| + e^2 / 2k`, with k on the network's scale (2 / 255 per level).
                let knee = KNEE_LEVELS * 2.0 / 255.0;
                let cover =
                    self.cover_l1.clone() + self.cover_square.clone().div_scalar(2.0 * knee);
                (cover, self.hidden_l1.clone(), 2.0)
            }
        };
        (cover.mul_scalar(config.cover_weight) + hidden).div_scalar(terms)
    }

    /// The four values and the total, read back from the device.
    pub fn values(&self) -> LossValues {
        let read = |t: &Tensor<1>| t.clone().into_scalar::<f32>() as f64;
        let (a, b, c, d) = (
            read(&self.cover_l1),
            read(&self.cover_variance),
            read(&self.hidden_l1),
            read(&self.hidden_variance),
        );
        LossValues {
            total: (a + b + c + d) / 4.0,
            cover_l1: a,
            cover_variance: b,
            hidden_l1: c,
            hidden_variance: d,
        }
    }
}

/// The loss and its parts as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LossValues {
    pub total: f64,
    pub cover_l1: f64,
    pub cover_variance: f64,
    pub hidden_l1: f64,
    pub hidden_variance: f64,
}
