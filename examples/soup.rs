//! Interpolates two StegNet weight files of one lineage: `(1 - t) * A + t * B` for every
//! weight and BatchNorm statistic (a "model soup"). Kept as an example, not a subcommand:
//! an experiment of session 22 (`assets/training/HISTORY.md`), whose soups of the shipped
//! model and a later round landed on the same trade-off between cover and secret, not
//! beyond it. T up to 2 extrapolates: with A a stage from B, T = 1.5 mirrors B half a stage
//! away from A.
//! Session 28's shipped model is a soup (T = 0.5) so mirrored away from a worse stage.
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
        (0.0..=2.0).contains(&t),
        "T must lie between 0 and 2, not {t}"
    );
    let device = Device::flex();
    let (model_a, info_a) = weights::load(&ModelSource::File(a.into()), &device)?;
    let (model_b, info_b) = weights::load(&ModelSource::File(b.into()), &device)?;
    // An average kept with decay 1 - t, updated once at a late step (where the decay is not
    // shortened for a young run), is (1 - t) * A + t * B; a negative decay (t > 1) too.
    let mut mix = WeightAverage::new(1.0 - t, &model_a);
    mix.update(&model_b, u64::MAX / 2);
    let info = ModelInfo {
        trained_steps: info_a.trained_steps.max(info_b.trained_steps),
        note: soup_note(&info_a.note, &info_b.note, t),
    };
    weights::save(mix.apply(model_a), &info, Path::new(out))?;
    println!("wrote {out}");
    Ok(())
}

/// Where one stage of a weight file's note ends and the next begins.
const STAGE: &str = ModelInfo::STAGE_SEPARATOR;

/// The soup's note: the stages A and B share are written once, then what each did after.
fn soup_note(a: &str, b: &str, t: f64) -> String {
    let shared = shared_stages(a, b);
    let after = |note: &str| match note[shared.len()..].strip_prefix(STAGE) {
        Some(rest) => format!("these weights after: {rest}"),
        None => "these weights".to_string(),
    };
    if shared.is_empty() {
        return format!("{} of ({a}) and {t} of ({b})", 1.0 - t);
    }
    let how = if t <= 1.0 { "averaged" } else { "extrapolated" };
    format!(
        "{shared}{STAGE}the weights {how}: {} of ({}) and {t} of ({})",
        1.0 - t,
        after(a),
        after(b)
    )
}

/// The longest run of whole stages both notes begin with (outside any parentheses).
fn shared_stages<'a>(a: &'a str, b: &str) -> &'a str {
    let ends_stage = |note: &str, at: usize| at == note.len() || note[at..].starts_with(STAGE);
    let ends = a.match_indices(STAGE).map(|(at, _)| at).chain([a.len()]);
    ends.filter(|&at| {
        b.get(..at) == Some(&a[..at])
            && ends_stage(b, at)
            && a[..at].matches('(').count() == a[..at].matches(')').count()
    })
    .max()
    .map_or("", |at| &a[..at])
}
