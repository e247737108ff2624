//! Reproducible speed figures: the training step (16 pairs of 64x64: forward, loss, backward,
//! Adam) and embed + reveal per megapixel, on each available device, min and median of
//! several runs after a warm-up.

use std::time::Instant;

use burn::prelude::*;
use image::{Rgb, RgbImage};
use serde::Serialize;

use crate::device::ComputeDevice;
use crate::model::StegNetConfig;
use crate::pipeline::{self, NoProgress, Tiling};
use crate::train::TrainConfig;
use crate::train::data::Batch;
use crate::train::trainer::{optimizer, train_step};

/// Min and median of repeated timings, in seconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Timing {
    pub min: f64,
    pub median: f64,
    pub runs: usize,
}

impl Timing {
    fn of(mut seconds: Vec<f64>) -> Self {
        seconds.sort_by(f64::total_cmp);
        Self {
            min: seconds[0],
            median: seconds[seconds.len() / 2],
            runs: seconds.len(),
        }
    }
}

/// The benchmark's results on one device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceTimings {
    pub device: String,
    /// One training step of `batch` pairs of `crop` x `crop`.
    pub train_step: Timing,
    pub batch: usize,
    pub crop: usize,
    /// Embed + reveal of a `side` x `side` image, per megapixel.
    pub embed_reveal_per_megapixel: Timing,
    pub side: u32,
}

/// A smooth test image with detail, generated (the benchmark needs no files).
fn test_image(side: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(side, side, |x, y| {
        let v = |k: u32| (((x * (3 + k) + y * (5 + seed)) ^ (x * y / 7)) % 256) as u8;
        Rgb([v(0), v(1), v(2)])
    })
}

/// Times training steps and embed + reveal on `compute` with the network computed as
/// `network` says.
pub fn run(
    compute: &ComputeDevice,
    network: &StegNetConfig,
    runs: usize,
    batch: usize,
    crop: usize,
    side: u32,
) -> DeviceTimings {
    let device = &compute.device;
    let runs = runs.max(1);
    // Training step.
    let autodiff = device.clone().autodiff();
    autodiff.seed(1);
    let mut model = network.init(&autodiff);
    let mut adam = optimizer();
    let plane = batch * 3 * crop * crop;
    let data = |offset: usize| -> Vec<f32> {
        (0..plane)
            .map(|i| (((i * 7919 + offset) % 511) as f32 / 255.0) - 1.0)
            .collect()
    };
    let sample = Batch {
        step: 0,
        size: batch,
        crop,
        cover: data(0),
        hidden: data(17),
    };
    let mut step_seconds = Vec::new();
    for run in 0..=runs {
        let start = Instant::now();
        let (next, _) = train_step(
            model,
            &mut adam,
            &sample,
            1e-4,
            &TrainConfig::default(),
            &autodiff,
        );
        model = next;
        if run > 0 {
            step_seconds.push(start.elapsed().as_secs_f64());
        }
    }
    // Embed + reveal.
    let inference = model.valid();
    let (cover, hidden) = (test_image(side, 1), test_image(side, 2));
    let megapixels = (side as f64 * side as f64) / 1e6;
    let mut image_seconds = Vec::new();
    for run in 0..=runs {
        let start = Instant::now();
        let embedded = pipeline::embed(
            &inference,
            device,
            &cover,
            &hidden,
            Tiling::default(),
            &mut NoProgress,
        )
        .expect("not cancellable");
        pipeline::reveal(
            &inference,
            device,
            &embedded,
            Tiling::default(),
            &mut NoProgress,
        )
        .expect("not cancellable");
        if run > 0 {
            image_seconds.push(start.elapsed().as_secs_f64() / megapixels);
        }
    }
    DeviceTimings {
        device: format!(
            "{} [{}, depthwise: {:?}]",
            compute.label,
            if network.fast {
                "fast"
            } else {
                "plain Burn modules"
            },
            network.depthwise
        ),
        train_step: Timing::of(step_seconds),
        batch,
        crop,
        embed_reveal_per_megapixel: Timing::of(image_seconds),
        side,
    }
}
