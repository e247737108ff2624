//! Refining a stego image for the fixed decoder.
//!
//! The embedder makes a stego image in one pass. The decoder that will reveal it is a fixed,
//! differentiable function, so the stego image itself can then be improved: steps of Adam on
//! its pixels lower `w |stego - cover| + |decoder(stego) - secret|`, measured after the same
//! 8-bit rounding as the saved PNG (straight-through gradient). Revealing is unchanged: any
//! copy of the same model reveals a refined image, with a smaller error; the cover's term
//! keeps the stego image near its cover (the weight trades the two). It costs a decoder
//! pass forward and backward per step and pixel.
//!
//! A stego image that will be saved has its colour cast taken out first ([`crate::cast`]):
//! the refinement moves the pixels without the cast, which are what the cover is compared
//! with, while the decoder sees them with the cast put back, as revealing will show it.
//! Saving also carries the revealed secret's smooth error along, which revealing takes out
//! of the decoder's output; at every step the refinement measures that correction on the
//! decoder's output as saving will and counts the secret's error after it.
//!
//! Large images are refined tile by tile. A decoded pixel depends on the stego image within
//! [`RECEPTIVE_RADIUS`] pixels, so each tile moves only its core and counts the secret's
//! error over the core and a ring of that radius around it, computed from a window twice that
//! radius wide: the tile sees exactly how it changes its neighbours' revealed pixels, and
//! later tiles start from the pixels earlier ones settled.

use burn::prelude::*;
use image::RgbImage;

use crate::cast::{Bound, ShiftField};
use crate::codec::Planar;
use crate::model::{Network, RECEPTIVE_RADIUS, StegNet};
use crate::pipeline::{Cancelled, Progress, Tile, Tiling, from_tensor, to_tensor};
use crate::train::loss::quantize_straight_through;

/// How a stego image is refined.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Refinement {
    /// Adam steps on each tile.
    pub steps: usize,
    /// The first step's size in 8-bit levels; it decays to zero over the steps (cosine).
    /// The default, 1, leaves both figures of the built-in model better than 4, the default
    /// until its stego images came within a few levels of their covers
    /// (`assets/training/HISTORY.md`, session 33). Not stored with the app's settings,
    /// which have no control for it: a stored value would outlive a better default.
    #[serde(skip)]
    pub step_levels: f32,
    /// Weight of the cover's difference against the secret's: larger keeps the stego image
    /// closer to the cover, smaller reveals the secret better. The default, 2.7, brings
    /// both figures of the built-in model within the paper's and the secret's rate and PSNR
    /// within the goal's (`assets/training/HISTORY.md`, session 37).
    pub cover_weight: f32,
    /// Side of a tile's core, in pixels.
    pub tile: usize,
}

impl Default for Refinement {
    fn default() -> Self {
        Self {
            steps: 100,
            step_levels: 1.0,
            cover_weight: 2.7,
            tile: 256,
        }
    }
}

impl Refinement {
    /// The tiles of a `width` x `height` image: cores of [`Refinement::tile`], windows with
    /// twice the receptive radius around them.
    fn tiling(&self) -> Tiling {
        Tiling {
            tile: self.tile,
            margin: 2 * RECEPTIVE_RADIUS,
        }
    }

    /// Step size of step `step` (from 0) on the network's [-1, 1] scale.
    fn rate(&self, step: usize) -> f64 {
        let peak = f64::from(self.step_levels) * 2.0 / 255.0;
        let progress = step as f64 / self.steps as f64;
        peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

/// What saving does around the refined pixels ([`crate::cast`]), so that the refinement
/// counts both errors as they will be revealed. The default: nothing (a lossy file).
#[derive(Debug, Clone, Copy, Default)]
pub struct Saving<'a> {
    /// The colour cast taken out of the pixels, which the decoder sees put back.
    pub cast: Option<&'a ShiftField>,
    /// Whether the revealed secret's smooth error is carried along and taken out of what
    /// the decoder reveals.
    pub corrected: bool,
}

/// Refines `stego` (the embedder's 8-bit output for `cover` and `hidden`, all the same size,
/// as `saving` will save it: with the cast taken out if there is one) and returns the
/// refined 8-bit stego image, still without the cast. `device` is where the model runs; the
/// gradients are taken on its autodiff twin.
#[allow(clippy::too_many_arguments)]
pub fn refine(
    model: &StegNet,
    device: &Device,
    cover: &RgbImage,
    hidden: &RgbImage,
    stego: &RgbImage,
    saving: Saving,
    settings: &Refinement,
    progress: &mut dyn Progress,
) -> Result<RgbImage, Cancelled> {
    assert!(
        cover.dimensions() == hidden.dimensions() && cover.dimensions() == stego.dimensions(),
        "cover, hidden and stego images must be the same size"
    );
    let autodiff = device.clone().autodiff();
    let decoder = model.decoder.clone().to_device(&autodiff).freeze();
    let (width, height) = (cover.width() as usize, cover.height() as usize);
    let tiles = settings.tiling().tiles(width, height);
    let total = tiles.len() * settings.steps;
    let mut refined = stego.clone();
    for (index, tile) in tiles.iter().enumerate() {
        let problem = TileProblem::new(tile, hidden, saving, &autodiff);
        let mut steps_done = |step: usize| {
            progress.advance(index * settings.steps + step, total);
            !progress.cancelled()
        };
        let result = problem.solve(
            &decoder,
            tile.window_of(&refined),
            &tile.window_of(cover),
            &tile.window_of(hidden),
            settings,
            &mut steps_done,
        )?;
        tile.write_core(&result, &mut refined);
    }
    Ok(refined)
}

/// One tile's optimisation: which pixels move and where the errors count.
struct TileProblem {
    /// 1 on the tile's core (the pixels that move and whose cover difference counts).
    core: Tensor<4>,
    /// 1 on the core and the ring around it (where the secret's error counts).
    reach: Tensor<4>,
    core_pixels: usize,
    /// The colour cast the decoder sees added to the pixels, on the network's scale.
    shift: Option<Tensor<4>>,
    /// How the secret's correction is measured, when saving carries one.
    correction: Option<Correction>,
}

impl TileProblem {
    fn new(tile: &Tile, hidden: &RgbImage, saving: Saving, device: &Device) -> Self {
        let (width, height) = (hidden.width() as usize, hidden.height() as usize);
        let (w, h) = (tile.window_width, tile.window_height);
        let (cx, cy) = tile.core_offset();
        let mask = |x0: usize, y0: usize, x1: usize, y1: usize| {
            let mut data = vec![0.0f32; w * h];
            for row in y0..y1 {
                data[row * w + x0..row * w + x1].fill(1.0);
            }
            Tensor::<4>::from_data(TensorData::new(data, [1, 1, h, w]), device)
        };
        let r = RECEPTIVE_RADIUS;
        // The ring, clipped to the image, in window coordinates.
        let (rx0, ry0) = (tile.x.saturating_sub(r), tile.y.saturating_sub(r));
        let (rx1, ry1) = (
            (tile.x + tile.width + r).min(width),
            (tile.y + tile.height + r).min(height),
        );
        Self {
            core: mask(cx, cy, cx + tile.width, cy + tile.height),
            reach: mask(
                rx0 - tile.window_x,
                ry0 - tile.window_y,
                rx1 - tile.window_x,
                ry1 - tile.window_y,
            ),
            core_pixels: tile.width * tile.height,
            shift: saving
                .cast
                .map(|field| to_tensor(&shift_window(field, tile), device)),
            correction: saving.corrected.then(|| Correction {
                tile: *tile,
                origin: (rx0, ry0),
                size: (width, height),
                hidden: image::imageops::crop_imm(
                    hidden,
                    rx0 as u32,
                    ry0 as u32,
                    (rx1 - rx0) as u32,
                    (ry1 - ry0) as u32,
                )
                .to_image(),
            }),
        }
    }

    /// Adam on the core's pixels of `start`; `step_done(k)` after each step says whether to
    /// go on. Returns the window's pixels, unrounded.
    fn solve(
        &self,
        decoder: &Network,
        start: Planar,
        cover: &Planar,
        hidden: &Planar,
        settings: &Refinement,
        step_done: &mut dyn FnMut(usize) -> bool,
    ) -> Result<Planar, Cancelled> {
        let device = self.core.device();
        let targets = Targets {
            cover: to_tensor(cover, &device),
            hidden: to_tensor(hidden, &device),
            core: self.core.clone(),
            reach: self.reach.clone(),
            scale: 1.0 / (3 * self.core_pixels) as f64,
            shift: self.shift.clone(),
            correction: self.correction.as_ref(),
        };
        let pixels = descend(
            decoder,
            to_tensor(&start, &device),
            &targets,
            settings,
            step_done,
        )?;
        Ok(from_tensor(pixels))
    }
}

/// What the pixels are pulled towards, on the autodiff device: the cover over `core` (the
/// pixels that move) and the decoded secret over `reach`, the sum of both errors times
/// `scale`; the decoder sees the pixels plus `shift`, if any, within the 8-bit range, and
/// its output has `correction`, if any, taken out.
struct Targets<'a> {
    cover: Tensor<4>,
    hidden: Tensor<4>,
    core: Tensor<4>,
    reach: Tensor<4>,
    scale: f64,
    shift: Option<Tensor<4>>,
    correction: Option<&'a Correction>,
}

/// The secret's correction as saving measures it ([`crate::cast::carry_correction`]), for
/// one tile: over the tile's reach, the part of the image where its decoded pixels are
/// exact.
struct Correction {
    tile: Tile,
    /// The reach's top left corner in the image, and the image's size.
    origin: (usize, usize),
    size: (usize, usize),
    /// The secret over the reach.
    hidden: RgbImage,
}

impl Correction {
    /// The field to take out of `decoded` (the decoder's output on the tile's window, on
    /// the network's scale) in the network's units, measured on its 8-bit levels over the
    /// reach.
    fn shift(&self, decoded: Tensor<4>) -> Tensor<4> {
        let device = decoded.device();
        let (x, y) = (
            self.origin.0 - self.tile.window_x,
            self.origin.1 - self.tile.window_y,
        );
        let (w, h) = self.hidden.dimensions();
        let mut levels = RgbImage::new(w, h);
        from_tensor(decoded).write_rgb8(x, y, w as usize, h as usize, &mut levels, 0, 0);
        let field = ShiftField::measure_part(
            &self.hidden,
            &levels,
            (self.origin.0 as u32, self.origin.1 as u32),
            (self.size.0 as u32, self.size.1 as u32),
            Bound::Clip,
        );
        to_tensor(&shift_window(&field, &self.tile), &device)
    }
}

/// `tile`'s window of `field`, in the network's units (2 / 255 per level).
fn shift_window(field: &ShiftField, tile: &Tile) -> Planar {
    let (w, h) = (tile.window_width, tile.window_height);
    let mut window = Planar::zeros(3, h, w);
    for channel in 0..3 {
        for row in 0..h {
            for column in 0..w {
                let (x, y) = (
                    (tile.window_x + column) as u32,
                    (tile.window_y + row) as u32,
                );
                let levels = field.at(x, y, channel) as f32;
                window.data[(channel * h + row) * w + column] = levels * 2.0 / 255.0;
            }
        }
    }
    window
}

/// Adam on `start`'s pixels (an autodiff tensor) through the 8-bit rounding and `decoder`;
/// `step_done(k)` after each step says whether to go on. Returns the pixels unrounded (a
/// tensor of the device autodiff wraps).
fn descend(
    decoder: &Network,
    start: Tensor<4>,
    targets: &Targets,
    settings: &Refinement,
    step_done: &mut dyn FnMut(usize) -> bool,
) -> Result<Tensor<4>, Cancelled> {
    let (beta1, beta2, epsilon) = (0.9f64, 0.999f64, 1e-8);
    let mut pixels = start.inner();
    let core = targets.core.clone().inner();
    let mut moment = pixels.zeros_like();
    let mut second = pixels.zeros_like();
    for step in 0..settings.steps {
        let tracked = pixels.clone().autodiff().require_grad();
        let stego = quantize_straight_through(tracked.clone());
        let seen = match &targets.shift {
            Some(shift) => (stego.clone() + shift.clone()).clamp(-1.0, 1.0),
            None => stego.clone(),
        };
        let decoded = decoder.forward(seen);
        let decoded = match targets.correction {
            Some(correction) => {
                let field = correction.shift(decoded.clone().inner());
                // As revealing rounds the output to 8 bits and then takes the field out.
                (decoded.clamp(-1.0, 1.0) - field.autodiff()).clamp(-1.0, 1.0)
            }
            None => decoded,
        };
        let cover_error = ((stego - targets.cover.clone()).abs() * targets.core.clone()).sum();
        let hidden_error = ((decoded - targets.hidden.clone()).abs() * targets.reach.clone()).sum();
        let loss = (cover_error.mul_scalar(settings.cover_weight) + hidden_error)
            .mul_scalar(targets.scale);
        let gradient = tracked
            .grad(&loss.backward())
            .expect("the pixels require a gradient")
            * core.clone();
        let k = (step + 1) as i32;
        moment = moment.mul_scalar(beta1) + gradient.clone().mul_scalar(1.0 - beta1);
        second = second.mul_scalar(beta2) + gradient.square().mul_scalar(1.0 - beta2);
        let update = moment.clone().div_scalar(1.0 - beta1.powi(k))
            / second
                .clone()
                .div_scalar(1.0 - beta2.powi(k))
                .sqrt()
                .add_scalar(epsilon);
        pixels = (pixels - update.mul_scalar(settings.rate(step))).clamp(-1.0, 1.0);
        if !step_done(step + 1) {
            return Err(Cancelled);
        }
    }
    Ok(pixels)
}

/// Refines a batch of whole stego images (`[n, 3, h, w]` on `device`, the network's [-1, 1]
/// scale, as the embedder makes them) for `model`'s decoder against their covers and
/// secrets: every pixel moves, and both errors count everywhere. Returns them rounded to
/// 8-bit levels. For training on refined images (`examples/distil.rs`); images of any size
/// go through [`refine`].
pub fn refine_batch(
    model: &StegNet,
    device: &Device,
    cover: Tensor<4>,
    hidden: Tensor<4>,
    stego: Tensor<4>,
    settings: &Refinement,
) -> Tensor<4> {
    let autodiff = device.clone().autodiff();
    let decoder = model.decoder.clone().to_device(&autodiff).freeze();
    let [n, channels, h, w] = stego.dims();
    let everywhere = Tensor::<4>::ones([1, 1, h, w], &autodiff);
    let targets = Targets {
        cover: cover.autodiff(),
        hidden: hidden.autodiff(),
        core: everywhere.clone(),
        reach: everywhere,
        scale: 1.0 / (n * channels * h * w) as f64,
        shift: None,
        correction: None,
    };
    // `descend` returns the pixels on `device` itself (the tensor the autodiff one wraps).
    let refined = descend(&decoder, stego.autodiff(), &targets, settings, &mut |_| {
        true
    })
    .expect("never cancelled");
    quantize_straight_through(refined)
}
