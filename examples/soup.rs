//! Interpolates two StegNet weight files of one lineage: `(1 - t) * A + t * B` for every
//! weight and BatchNorm statistic (a "model soup"). Kept as an example, not a subcommand:
//! an experiment of session 22 (`assets/MODEL.md`), whose soups of the shipped model and a
//! later round landed on the same trade-off between cover and secret, not beyond it.
//!
//! ```text
//! cargo run --release --example soup -- A.bpk B.bpk T OUT.bpk
//! ```

use std::path::Path;

use anyhow::{Context, Result};
use burn::prelude::*;
use stegnet::model::{ModelInfo, ModelSource, weights};
use stegnet::train::average::WeightAverage;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a, b, t, out] = args.as_slice() else {
        anyhow::bail!("usage: soup A.bpk B.bpk T OUT.bpk");
    };
    let t: f64 = t.parse().context("T is not a number")?;
    anyhow::ensure!(
        (0.0..=1.0).contains(&t),
        "T must lie between 0 and 1, not {t}"
    );
    let device = Device::flex();
    let (model_a, info_a) = weights::load(&ModelSource::File(a.into()), &device)?;
    let (model_b, info_b) = weights::load(&ModelSource::File(b.into()), &device)?;
    // An average kept with decay 1 - t, updated once at a late step (where the decay is not
    // shortened for a young run), is (1 - t) * A + t * B.
    let mut mix = WeightAverage::new(1.0 - t, &model_a);
    mix.update(&model_b, u64::MAX / 2);
    let info = ModelInfo {
        trained_steps: info_a.trained_steps.max(info_b.trained_steps),
        note: format!(
            "{} of ({}) and {t} of ({})",
            1.0 - t,
            info_a.note,
            info_b.note
        ),
    };
    weights::save(mix.apply(model_a), &info, Path::new(out))?;
    println!("wrote {out}");
    Ok(())
}
