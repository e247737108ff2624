//! Distils refinement into the embedder: the first stage of each of the shipped model's
//! distillation rounds (sessions 10 and 11, see `assets/training/HISTORY.md`). Kept as an
//! example, not a subcommand: a round takes an hour of a 2-core CPU, and its later stages
//! are `stegnet train --tuning inference-mode` and `--tuning decoder-only`.
//!
//! Targets are stego crops refined for the fixed decoder (`stegnet::refine::refine_batch`
//! as those rounds ran it: Adam on the pixels, 100 steps, the first 4 levels, cosine decay,
//! the cover weighted 1, the defaults then); the embedder, on its BatchNorm running
//! statistics, then learns to output them directly (L1 on the 8-bit rounded output,
//! straight-through), the decoder frozen. It prints the one-pass figures of 24 held-out
//! 64x64 validation crops as it goes.
//!
//! ```text
//! cargo run --release --example distil -- MODEL.bpk OUT.bpk [TARGET_BATCHES] [STEPS]
//!     [--targets FILE] [--hidden-weight W] [--crop-seed N]
//! ```
//! `--targets FILE` keeps the refined targets (raw little-endian f32) so that a second run
//! with other step settings skips the refinement: read when it exists, written otherwise.
//! `--hidden-weight W` adds W times the decoder's L1 to the secret (through the frozen
//! decoder) to the L1 to the targets, so that the embedder keeps the secret's code too.
//! `--crop-seed N` draws other training crops for the targets (default 31, the crops of
//! sessions 10 and 11).
//! Session 10: the built-in model, 40 target batches of 16 (42 minutes of a 2-core CPU),
//! 1500 steps at lr 1e-4 (Adam 0.5 / 0.9, 20 warm-up steps; 16 minutes). Session 11: the
//! same from session 10's model (39 minutes for the targets, 18 for the steps), then 20
//! batches and 1000 steps from that round's model. Sessions 12 and 13: two more rounds each
//! of 20 batches and 1000 steps, with `--crop-seed 32`, 33, 34 and 35; sessions 14 to 20
//! three each, with 36 to 56; sessions 21 and 22 one each, with 57 and 58. The targets
//! belong to the model that refined them and to their crop seed: give each round its own
//! `--targets` file.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use stegnet::fsutil::write_atomically;
use stegnet::model::{ModelSource, StegNet, weights};
use stegnet::refine::{Refinement, refine_batch};
use stegnet::train::data::{PhotoSet, make_batch};
use stegnet::train::loss::{LossParts, quantize_straight_through};

const CROP: u32 = 64;
const TARGET_BATCH: usize = 16;
const LEARNING_RATE: f64 = 1e-4;

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let targets_file = take_option(&mut args, "--targets")?;
    let hidden_weight: f64 = parsed_option(&mut args, "--hidden-weight", 0.0)?;
    let crop_seed: u64 = parsed_option(&mut args, "--crop-seed", 31)?;
    let [model_path, out, rest @ ..] = args.as_slice() else {
        anyhow::bail!(
            "usage: distil MODEL.bpk OUT.bpk [TARGET_BATCHES] [STEPS] [--targets FILE] \
             [--hidden-weight W] [--crop-seed N]"
        );
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
    let cached = targets_file
        .as_deref()
        .map(Path::new)
        .filter(|p| p.exists());
    let targets = match cached {
        Some(path) => read_targets(path, target_batches as usize)?,
        None => {
            let targets = make_targets(&plain, &device, target_batches, crop_seed, start)?;
            if let Some(path) = &targets_file {
                write_targets(Path::new(path), &targets)?;
            }
            targets
        }
    };

    let mut optimiser = AdamConfig::new().with_beta_1(0.5).with_beta_2(0.9).init();
    for step in 0..steps as usize {
        let (cover, secret, target) = &targets[(step * 7919) % targets.len()];
        let tensor = |data: &TensorData| Tensor::<4>::from_data(data.clone(), &autodiff);
        let stego = quantize_straight_through(model.embed(tensor(cover), tensor(secret)));
        let mut loss = (stego.clone() - tensor(target)).abs().mean();
        if hidden_weight > 0.0 {
            let revealed = model.reveal(stego);
            loss = loss
                + (revealed - tensor(secret))
                    .abs()
                    .mean()
                    .mul_scalar(hidden_weight);
        }
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
    let info = info.then(
        steps,
        &format!(
            "{steps} steps distilled from refinement (examples/distil.rs: {target_batches} \
             batches of {TARGET_BATCH} refined {CROP}x{CROP} targets, crop seed {crop_seed}, \
             lr {LEARNING_RATE:e}, embedder only, inference mode, hidden weight \
             {hidden_weight})"
        ),
    );
    weights::save(model.valid(), &info, Path::new(out))?;
    println!("wrote {out}");
    Ok(())
}

/// A batch of training crops and their refined stego images, as plain data.
type Target = (TensorData, TensorData, TensorData);

/// Refines `batches` batches of training crops (drawn with `seed`) for the fixed decoder of
/// `plain`.
fn make_targets(
    plain: &StegNet,
    device: &Device,
    batches: u64,
    seed: u64,
    start: Instant,
) -> Result<Vec<Target>> {
    let mut photos = PhotoSet::open(Path::new("data/photos/train"), 1 << 30)?;
    // The rounds' settings, which later defaults (cover weight 3, one-level steps) left.
    let settings = Refinement {
        cover_weight: 1.0,
        step_levels: 4.0,
        ..Refinement::default()
    };
    let mut targets = Vec::new();
    for k in 0..batches {
        let (cover, secret) = make_batch(&mut photos, seed, k, TARGET_BATCH, CROP)?.tensors(device);
        let stego = plain.embed(cover.clone(), secret.clone());
        let target = refine_batch(
            plain,
            device,
            cover.clone(),
            secret.clone(),
            stego,
            &settings,
        );
        targets.push((cover.to_data(), secret.to_data(), target.to_data()));
        println!(
            "targets {} of {batches} ({:.0} s)",
            k + 1,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(targets)
}

/// The shape of every tensor in a target: one batch of RGB crops.
const TARGET_SHAPE: [usize; 4] = [TARGET_BATCH, 3, CROP as usize, CROP as usize];

fn write_targets(path: &Path, targets: &[Target]) -> Result<()> {
    let mut bytes = Vec::new();
    for (cover, secret, target) in targets {
        for data in [cover, secret, target] {
            let values = data
                .try_to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        }
    }
    write_atomically(path, |file| std::io::Write::write_all(file, &bytes))
        .with_context(|| path.display().to_string())
}

fn read_targets(path: &Path, batches: usize) -> Result<Vec<Target>> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let size: usize = TARGET_SHAPE.iter().product();
    anyhow::ensure!(
        values.len() == 3 * size * batches,
        "{}: holds {} values, not {batches} batches",
        path.display(),
        values.len()
    );
    let data = |i: usize| TensorData::new(values[i * size..(i + 1) * size].to_vec(), TARGET_SHAPE);
    Ok((0..batches)
        .map(|k| (data(3 * k), data(3 * k + 1), data(3 * k + 2)))
        .collect())
}

/// Removes `--name VALUE` from `args` and returns the value.
fn take_option(args: &mut Vec<String>, name: &str) -> Result<Option<String>> {
    let Some(i) = args.iter().position(|a| a == name) else {
        return Ok(None);
    };
    anyhow::ensure!(i + 1 < args.len(), "{name} needs a value");
    let value = args.remove(i + 1);
    args.remove(i);
    Ok(Some(value))
}

/// Removes `name` and its value from `args` and parses the value; `default` without it.
fn parsed_option<T>(args: &mut Vec<String>, name: &str, default: T) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    take_option(args, name)?.map_or(Ok(default), |s| {
        s.parse().with_context(|| format!("{name}: not a number"))
    })
}
