//! Training checkpoints: model, optimiser state, step and settings in one file (and the
//! moving average of the weights when the run keeps one, and the best validated weights),
//! written atomically so that killing the process at any moment never leaves a corrupt
//! checkpoint.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn_pack::Bytes;

use super::TrainConfig;
use super::trainer::BestValidation;
use crate::fsutil::write_atomically;
use crate::model::{ModelInfo, StegNet, StegNetConfig, weights};

/// First bytes of a checkpoint file.
const MAGIC: &[u8; 16] = b"STEGNET-CKPT-v1\n";
/// The parts of a checkpoint file, in order (each a u64 little-endian length and bytes).
const PARTS: [&str; 5] = [
    "header",
    "model",
    "optimiser state",
    "averaged weights",
    "best weights",
];
/// How many of [`PARTS`] every checkpoint has. The others are optional: a file may end
/// before them, and an empty part stands for one that is absent (the averaged weights of a
/// run without an average that has best weights).
const REQUIRED_PARTS: usize = 3;

/// What a checkpoint holds besides the tensors.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct CheckpointHeader {
    /// Steps completed.
    pub step: u64,
    /// The settings of the run (seed included: batches depend only on seed and step).
    pub config: TrainConfig,
    /// Wall time spent training so far, in seconds.
    pub elapsed_seconds: f64,
    /// How the weights the run started from (`--init`) describe themselves: the run's own
    /// weights then count those steps too, and say how they were made.
    #[serde(default)]
    pub start: Option<ModelInfo>,
    /// The best validation so far (checkpoints from before the trainer kept it: none).
    #[serde(default)]
    pub best: Option<BestValidation>,
}

/// Writes a checkpoint: header, model weights (a regular weights file), optimiser state and,
/// if given, the averaged weights and the bytes of the best validated weights (weights
/// files too).
pub fn save(
    path: &Path,
    header: &CheckpointHeader,
    model: &StegNet,
    optimizer: &ModuleOptimizer,
    average: Option<StegNet>,
    best_weights: Option<&[u8]>,
) -> Result<()> {
    let info = ModelInfo {
        trained_steps: header.step,
        note: format!("checkpoint at step {}", header.step),
    };
    // `valid()` also folds BatchNorm's pending running-statistics update into the shared
    // state; recording the training module directly would save statistics one step old.
    let model_bytes = weights::to_bytes(model.valid(), &info)?;
    let optimizer_bytes = optimizer
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("cannot serialise the optimiser state: {e}"))?;
    let average_bytes = average
        .map(|average| weights::to_bytes(average, &info))
        .transpose()?;
    let header_bytes = serde_json::to_vec(header)?;
    write_atomically(path, |file| {
        file.write_all(MAGIC)?;
        let mut parts = vec![&header_bytes[..], &model_bytes[..], &optimizer_bytes[..]];
        match (average_bytes.as_deref(), best_weights) {
            (average, Some(best)) => parts.extend([average.unwrap_or_default(), best]),
            (Some(average), None) => parts.push(average),
            (None, None) => {}
        }
        for part in parts {
            file.write_all(&(part.len() as u64).to_le_bytes())?;
            file.write_all(part)?;
        }
        Ok(())
    })
    .with_context(|| format!("cannot write checkpoint {}", path.display()))
}

/// A checkpoint read back.
pub struct Checkpoint {
    pub header: CheckpointHeader,
    pub model: StegNet,
    pub optimizer: ModuleOptimizer,
    /// The moving average of the weights, on the inference device, if the run keeps one.
    pub average: Option<StegNet>,
    /// The bytes of the best validated weights (a weights file), if the run has validated.
    pub best_weights: Option<Vec<u8>>,
}

impl Checkpoint {
    /// The weights the run would save if it ended here (the moving average if it keeps one,
    /// else, or with `iterate`, the last step's), described as the run describes its own.
    pub fn into_weights(self, iterate: bool) -> (StegNet, ModelInfo) {
        let info = self
            .header
            .config
            .describe(&self.header.start, self.header.step);
        let model = match self.average {
            Some(average) if !iterate => average,
            _ => self.model.valid(),
        };
        (model, info)
    }
}

/// The parts of a checkpoint file (header, model, optimiser state, and the optional ones
/// present), checked.
fn parts(path: &Path, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let damaged =
        |what: &str| anyhow::anyhow!("{} is not a complete checkpoint: {what}", path.display());
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        bail!("{} is not a StegNet training checkpoint", path.display());
    }
    let mut rest = &bytes[MAGIC.len()..];
    let mut parts = Vec::new();
    for (index, name) in PARTS.into_iter().enumerate() {
        // The parts after the required ones are optional: a file may end before them.
        if index >= REQUIRED_PARTS && rest.is_empty() {
            break;
        }
        if rest.len() < 8 {
            return Err(damaged(name));
        }
        let len = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes")) as usize;
        rest = &rest[8..];
        if rest.len() < len {
            return Err(damaged(name));
        }
        parts.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    Ok(parts)
}

fn read_parts(path: &Path) -> Result<(CheckpointHeader, Vec<Vec<u8>>)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    let parts = parts(path, &bytes)?;
    let header = serde_json::from_slice(&parts[0])
        .map_err(|_| anyhow::anyhow!("{} is not a complete checkpoint: header", path.display()))?;
    Ok((header, parts))
}

/// Reads only what a checkpoint says about its run (step, settings), checking the file is
/// complete.
pub fn read_header(path: &Path) -> Result<CheckpointHeader> {
    read_parts(path).map(|(header, _)| header)
}

/// Reads a checkpoint: the model onto `device` (an autodiff device, to go on training), the
/// averaged weights onto the device beneath it.
pub fn load(
    path: &Path,
    device: &Device,
    network: &StegNetConfig,
    fresh_optimizer: ModuleOptimizer,
) -> Result<Checkpoint> {
    let (header, parts) = read_parts(path)?;
    let name = path.display().to_string();
    let mut parts = parts.into_iter();
    let mut required = || parts.next().expect("the required parts");
    let (_header, model, optimizer) = (required(), required(), required());
    let mut optional = || parts.next().filter(|part| !part.is_empty());
    let average = optional()
        .map(|bytes| weights::from_bytes_with(bytes, &name, &device.clone().inner(), network))
        .transpose()?
        .map(|(average, _)| average);
    let best_weights = optional();
    let (model, _) = weights::from_bytes_with(model, &name, device, network)?;
    let optimizer = fresh_optimizer
        .from_bytes(Bytes::from_bytes_vec(optimizer))
        .map_err(|e| anyhow::anyhow!("{}: optimiser state: {e}", path.display()))?;
    Ok(Checkpoint {
        header,
        model,
        optimizer,
        average,
        best_weights,
    })
}
