//! Distils refinement into the embedder: the first stage of the shipped model's session-10
//! training (see `assets/MODEL.md`). Kept as an example, not a subcommand: it ran once, and
//! its later stages are `stegnet train --tuning inference-mode` and `--tuning decoder-only`.
//!
//! Targets are stego crops refined for the fixed decoder (batched Adam on the pixels, as
//! `stegnet::refine` does tile by tile: 100 steps, the first 4 levels, cosine decay); the
//! embedder, on its BatchNorm running statistics, then learns to output them directly (L1 on
//! the 8-bit rounded output, straight-through), the decoder frozen. It prints the one-pass
//! figures of 24 held-out 64x64 validation crops as it goes.
//!
//! ```text
//! cargo run --release --example distil -- MODEL.bpk OUT.bpk [TARGET_BATCHES] [STEPS]
//! ```
//! Session 10: the built-in model, 40 target batches of 16 (42 minutes of a 2-core CPU),
//! 1500 steps at lr 1e-4 (Adam 0.5 / 0.9, 20 warm-up steps; 25 minutes).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use stegnet::model::{ModelInfo, ModelSource, StegNet, weights};
use stegnet::train::data::{PhotoSet, make_batch};
use stegnet::train::loss::{LossParts, quantize_straight_through};

const CROP: u32 = 64;
const TARGET_BATCH: usize = 16;
const REFINE_STEPS: usize = 100;
const LEARNING_RATE: f64 = 1e-4;

/// `stego` (a batch of stego crops) refined for `model`'s decoder (on an autodiff device)
/// against `cover` and `secret`, rounded to 8 bits.
fn refine_batch(
    model: &StegNet,
    cover: &Tensor<4>,
    secret: &Tensor<4>,
    stego: Tensor<4>,
) -> Tensor<4> {
    let device = stego.device();
    let autodiff = device.clone().autodiff();
    let peak = 4.0 * 2.0 / 255.0;
    let (beta1, beta2) = (0.9f64, 0.999f64);
    // Burn's autodiff tensors are made from data on the autodiff device.
    let on = |tensor: &Tensor<4>, device: &Device| Tensor::<4>::from_data(tensor.to_data(), device);
    let (cover, secret) = (on(cover, &autodiff), on(secret, &autodiff));
    let mut x = stego;
    let (mut m, mut v) = (x.zeros_like(), x.zeros_like());
    for step in 1..=REFINE_STEPS {
        let pixels = on(&x, &autodiff).require_grad();
        let rounded = quantize_straight_through(pixels.clone());
        let revealed = model.reveal(rounded.clone());
        let loss =
            (rounded - cover.clone()).abs().mean() + (revealed - secret.clone()).abs().mean();
        let grads = loss.backward();
        let g = on(&pixels.grad(&grads).expect("pixels require grad"), &device);
        m = m.mul_scalar(beta1) + g.clone().mul_scalar(1.0 - beta1);
        v = v.mul_scalar(beta2) + g.square().mul_scalar(1.0 - beta2);
        let m_hat = m.clone().div_scalar(1.0 - beta1.powi(step as i32));
        let v_hat = v.clone().div_scalar(1.0 - beta2.powi(step as i32));
        let progress = (step - 1) as f64 / REFINE_STEPS as f64;
        let rate = peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        x = (x - m_hat.div(v_hat.sqrt().add_scalar(1e-8)).mul_scalar(rate)).clamp(-1.0, 1.0);
    }
    quantize_straight_through(x)
}

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
    let frozen = weights::load(&source, &autodiff)?.0.freeze();
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
    let mut targets = Vec::new();
    for k in 0..target_batches {
        let (cover, secret) = make_batch(&mut photos, 31, k, TARGET_BATCH, CROP)?.tensors(&device);
        let target = refine_batch(
            &frozen,
            &cover,
            &secret,
            plain.embed(cover.clone(), secret.clone()),
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
