//! Training checkpoints: model, optimiser state, step and settings in one file, written
//! atomically so that killing the process at any moment never leaves a corrupt checkpoint.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn_pack::Bytes;

use super::TrainConfig;
use crate::fsutil::write_atomically;
use crate::model::{ModelInfo, StegNet, StegNetConfig, weights};

/// First bytes of a checkpoint file.
const MAGIC: &[u8; 16] = b"STEGNET-CKPT-v1\n";

/// What a checkpoint holds besides the tensors.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct CheckpointHeader {
    /// Steps completed.
    pub step: u64,
    /// The settings of the run (seed included: batches depend only on seed and step).
    pub config: TrainConfig,
    /// Wall time spent training so far, in seconds.
    pub elapsed_seconds: f64,
}

/// Writes a checkpoint: header, model weights (a regular weights file) and optimiser state.
pub fn save(
    path: &Path,
    header: &CheckpointHeader,
    model: &StegNet,
    optimizer: &ModuleOptimizer,
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
    let header_bytes = serde_json::to_vec(header)?;
    write_atomically(path, |file| {
        file.write_all(MAGIC)?;
        for part in [&header_bytes[..], &model_bytes[..], &optimizer_bytes[..]] {
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
}

/// The three parts of a checkpoint file (header, model, optimiser state), checked.
fn parts(path: &Path, bytes: &[u8]) -> Result<[Vec<u8>; 3]> {
    let damaged =
        |what: &str| anyhow::anyhow!("{} is not a complete checkpoint: {what}", path.display());
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        bail!("{} is not a StegNet training checkpoint", path.display());
    }
    let mut rest = &bytes[MAGIC.len()..];
    let mut parts: [Vec<u8>; 3] = Default::default();
    for (part, name) in parts.iter_mut().zip(["header", "model", "optimiser state"]) {
        if rest.len() < 8 {
            return Err(damaged(name));
        }
        let len = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes")) as usize;
        rest = &rest[8..];
        if rest.len() < len {
            return Err(damaged(name));
        }
        *part = rest[..len].to_vec();
        rest = &rest[len..];
    }
    Ok(parts)
}

fn read_parts(path: &Path) -> Result<(CheckpointHeader, [Vec<u8>; 3])> {
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

/// Reads a checkpoint onto `device` (an autodiff device, to go on training).
pub fn load(
    path: &Path,
    device: &Device,
    network: &StegNetConfig,
    fresh_optimizer: ModuleOptimizer,
) -> Result<Checkpoint> {
    let (header, [_, model, optimizer]) = read_parts(path)?;
    let (model, _) = weights::from_bytes_with(model, &path.display().to_string(), device, network)?;
    let optimizer = fresh_optimizer
        .from_bytes(Bytes::from_bytes_vec(optimizer))
        .map_err(|e| anyhow::anyhow!("{}: optimiser state: {e}", path.display()))?;
    Ok(Checkpoint {
        header,
        model,
        optimizer,
    })
}
