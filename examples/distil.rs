//! Distils refinement into the embedder: the first stage of the shipped model's session-10
//! training (see `assets/MODEL.md`). Kept as an example, not a subcommand: it ran once, and
//! its later stages are `stegnet train --tuning inference-mode` and `--tuning decoder-only`.
//!
//! Targets are stego crops refined for the fixed decoder (`stegnet::refine::refine_batch`
//! with the default settings: Adam on the pixels, 100 steps, the first 4 levels, cosine
//! decay); the embedder, on its BatchNorm running statistics, then learns to output them
//! directly (L1 on the 8-bit rounded output, straight-through), the decoder frozen. It
//! prints the one-pass figures of 24 held-out 64x64 validation crops as it goes.
//!
//! ```text
//! cargo run --release --example distil -- MODEL.bpk OUT.bpk [TARGET_BATCHES] [STEPS]
//! ```
//! Session 10: the built-in model, 40 target batches of 16 (42 minutes of a 2-core CPU),
//! 1500 steps at lr 1e-4 (Adam 0.5 / 0.9, 20 warm-up steps; 16 minutes).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use stegnet::model::{ModelInfo, ModelSource, StegNet, weights};
use stegnet::refine::{Refinement, refine_batch};
use stegnet::train::data::{PhotoSet, make_batch};
use stegnet::train::loss::{LossParts, quantize_straight_through};

const CROP: u32 = 64;
const TARGET_BATCH: usize = 16;
const LEARNING_RATE: f64 = 1e-4;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_path, out, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: distil MODEL.bpk OUT.bpk [TARGET_BATCHES] [STEPS]");
    };
    let number = |i: usize, default: u64| -> Result<u64> {
        rest.get(i)
            .map_or(Ok(default), |s| s.parse().context("not a number"))
    };
    let (target_batches, steps) = (number(0, 40)?, number(1, 1500)?);
    let device = Device::flex();
    let autodiff = device.clone().autodiff();
    let source = ModelSource::File(model_path.into());
    let (plain, info) = weights::load(&source, &device)?;
    let mut model = weights::load(&source, &autodiff)?.0;
    model.embedder = model.embedder.freeze().set_require_grad(true);
    model.decoder = model.decoder.freeze();

    let mut validation = PhotoSet::open(Path::new("data/photos/val"), 1 << 28)?;
    let (val_cover, val_secret) = make_batch(&mut validation, 99, 0, 24, CROP)?.tensors(&device);
    let figures = |m: &StegNet| {
        let stego = quantize_straight_through(m.embed(val_cover.clone(), val_secret.clone()));
        let revealed = m.reveal(stego.clone());
        let parts = LossParts::measure(val_cover.clone(), stego, val_secret.clone(), revealed);
        let values = parts.values();
        // Mean absolute error on the [-1, 1] scale, as a percentage of the 8-bit range.
        (values.cover_l1 * 50.0, values.hidden_l1 * 50.0)
    };
    let (cover, hidden) = figures(&plain);
    println!("one pass: cover {cover:.3} % hidden {hidden:.3} %");

    let start = Instant::now();
    let mut photos = PhotoSet::open(Path::new("data/photos/train"), 1 << 30)?;
    let settings = Refinement::default();
    let mut targets = Vec::new();
    for k in 0..target_batches {
        let (cover, secret) = make_batch(&mut photos, 31, k, TARGET_BATCH, CROP)?.tensors(&device);
        let stego = plain.embed(cover.clone(), secret.clone());
        let target = refine_batch(
            &plain,
            &device,
            cover.clone(),
            secret.clone(),
            stego,
            &settings,
        );
        targets.push((cover.to_data(), secret.to_data(), target.to_data()));
        println!(
            "targets {} of {target_batches} ({:.0} s)",
            k + 1,
            start.elapsed().as_secs_f64()
        );
    }

    let mut optimiser = AdamConfig::new().with_beta_1(0.5).with_beta_2(0.9).init();
    for step in 0..steps as usize {
        let (cover, secret, target) = &targets[(step * 7919) % targets.len()];
        let tensor = |data: &TensorData| Tensor::<4>::from_data(data.clone(), &autodiff);
        let stego = quantize_straight_through(model.embed(tensor(cover), tensor(secret)));
        let loss = (stego - tensor(target)).abs().mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let rate = LEARNING_RATE * ((step + 1) as f64 / 20.0).min(1.0);
        model = optimiser.step(rate, model, grads);
        if (step + 1) % 100 == 0 {
            let (cover, hidden) = figures(&model.valid());
            println!(
                "step {}: cover {cover:.3} % hidden {hidden:.3} % ({:.0} s)",
                step + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    let info = ModelInfo {
        trained_steps: info.trained_steps + steps,
        note: format!("{}; {steps} steps distilled from refinement", info.note),
    };
    weights::save(model.valid(), &info, Path::new(out))?;
    println!("wrote {out}");
    Ok(())
}
