//! StegNet weights as one burnpack (`.bpk`) file, tagged with the format and architecture
//! so that a file from another network is refused with a clear message, never a panic.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn_pack::{Bytes, Reader, Writer};

use super::stegnet::{StegNet, StegNetConfig};
use crate::fsutil::write_atomically;

/// Metadata key naming the file format and its version.
const FORMAT_KEY: &str = "stegnet.format";
/// The format this build reads and writes.
const FORMAT: &str = "stegnet-weights-v1";
/// Metadata key naming the architecture the tensors belong to.
const ARCHITECTURE_KEY: &str = "stegnet.architecture";
/// The published StegNet: 6 SCR blocks (32, 32, 64, 64, 128, 128), reducing blocks 32 and 3,
/// per-channel BatchNorm, for the embedder (6 inputs) and the decoder (3 inputs).
pub const ARCHITECTURE: &str = "stegnet/scr-32-32-64-64-128-128/reduce-32-3/bn-channel";
/// Metadata key: optimisation steps the weights have seen (0 = freshly initialised).
const STEPS_KEY: &str = "stegnet.trained_steps";
/// Metadata key: a free-text note on how the weights were made.
const NOTE_KEY: &str = "stegnet.note";

/// The weights shipped in `assets/`, compiled in so the binary works from any directory.
static BUILT_IN: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/stegnet.bpk"));

/// Where weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The model shipped in `assets/stegnet.bpk`, embedded in the binary.
    BuiltIn,
    /// A `.bpk` file on disk.
    File(PathBuf),
}

impl ModelSource {
    /// `--model PATH` if given, else the built-in model.
    pub fn from_option(path: Option<&Path>) -> Self {
        path.map_or(Self::BuiltIn, |p| Self::File(p.to_path_buf()))
    }
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BuiltIn => f.write_str("built-in model (assets/stegnet.bpk)"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// What a weights file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// Optimisation steps the weights have seen; 0 means untrained.
    pub trained_steps: u64,
    /// How the weights were made.
    pub note: String,
}

impl ModelInfo {
    /// What joins one stage of a note to the next ("A; then B"); `examples/soup.rs` reads
    /// notes back by it.
    pub const STAGE_SEPARATOR: &str = "; then ";

    /// The info of these weights after one more stage of `steps` steps, described by `stage`.
    pub fn then(&self, steps: u64, stage: &str) -> Self {
        Self {
            trained_steps: self.trained_steps + steps,
            note: format!("{}{}{stage}", self.note, Self::STAGE_SEPARATOR),
        }
    }
}

/// Why weights could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read model file {path}: {cause}")]
    Read {
        path: String,
        /// Not a `source`: the message already says it, and a chain would say it twice.
        cause: std::io::Error,
    },
    #[error("{origin} is not a StegNet weights file (burnpack): {reason}")]
    NotBurnpack { origin: String, reason: String },
    #[error("{origin} is not a StegNet weights file: it has no '{FORMAT_KEY}' tag")]
    Untagged { origin: String },
    #[error("{origin} has weights format '{found}', this build reads '{FORMAT}'")]
    WrongFormat { origin: String, found: String },
    #[error("{origin} holds a different network ('{found}'), this build runs '{ARCHITECTURE}'")]
    WrongArchitecture { origin: String, found: String },
    #[error("{origin} does not fit the StegNet architecture: {reason}")]
    Mismatch { origin: String, reason: String },
    #[error("cannot write model file {path}: {reason}")]
    Write { path: String, reason: String },
}

/// Loads weights onto `device`, checking format and architecture first.
pub fn load(source: &ModelSource, device: &Device) -> Result<(StegNet, ModelInfo), WeightsError> {
    load_with(source, device, &StegNetConfig::new())
}

/// [`load`] into a network built with `config` (e.g. another depthwise mode).
pub fn load_with(
    source: &ModelSource,
    device: &Device,
    config: &StegNetConfig,
) -> Result<(StegNet, ModelInfo), WeightsError> {
    let bytes = match source {
        ModelSource::BuiltIn => BUILT_IN.to_vec(),
        ModelSource::File(path) => std::fs::read(path).map_err(|cause| WeightsError::Read {
            path: path.display().to_string(),
            cause,
        })?,
    };
    from_bytes_with(bytes, &source.to_string(), device, config)
}

/// Decodes weights from burnpack bytes; `origin` names them in errors.
pub fn from_bytes(
    bytes: Vec<u8>,
    origin: &str,
    device: &Device,
) -> Result<(StegNet, ModelInfo), WeightsError> {
    from_bytes_with(bytes, origin, device, &StegNetConfig::new())
}

/// [`from_bytes`] into a network built with `config`.
pub fn from_bytes_with(
    bytes: Vec<u8>,
    origin: &str,
    device: &Device,
    config: &StegNetConfig,
) -> Result<(StegNet, ModelInfo), WeightsError> {
    let not_burnpack = |reason: String| WeightsError::NotBurnpack {
        origin: origin.to_string(),
        reason,
    };
    let reader = Reader::from_bytes(Bytes::from_bytes_vec(bytes.clone()))
        .map_err(|e| not_burnpack(e.to_string()))?;
    let metadata = reader.metadata();
    let tag = |key: &str| metadata.get(key).cloned();
    match tag(FORMAT_KEY) {
        None => {
            return Err(WeightsError::Untagged {
                origin: origin.to_string(),
            });
        }
        Some(found) if found != FORMAT => {
            return Err(WeightsError::WrongFormat {
                origin: origin.to_string(),
                found,
            });
        }
        Some(_) => {}
    }
    let architecture = tag(ARCHITECTURE_KEY).unwrap_or_default();
    if architecture != ARCHITECTURE {
        return Err(WeightsError::WrongArchitecture {
            origin: origin.to_string(),
            found: architecture,
        });
    }
    let info = ModelInfo {
        trained_steps: tag(STEPS_KEY).and_then(|s| s.parse().ok()).unwrap_or(0),
        note: tag(NOTE_KEY).unwrap_or_default(),
    };
    // Touch every tensor's bytes now, so a truncated file fails here, not mid-inference.
    reader
        .into_tensors()
        .and_then(|tensors| tensors.into_iter().try_for_each(|t| t.to_bytes().map(drop)))
        .map_err(|e| not_burnpack(e.to_string()))?;
    let record = burn::store::ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| not_burnpack(e.to_string()))?;
    let model =
        config
            .init(device)
            .try_load_record(record)
            .map_err(|e| WeightsError::Mismatch {
                origin: origin.to_string(),
                reason: e.to_string(),
            })?;
    Ok((model, info))
}

/// Encodes weights as tagged burnpack bytes.
pub fn to_bytes(model: StegNet, info: &ModelInfo) -> Result<Vec<u8>, WeightsError> {
    let write_error = |reason: String| WeightsError::Write {
        path: "<memory>".into(),
        reason,
    };
    let plain = model
        .into_record()
        .into_bytes()
        .map_err(|e| write_error(e.to_string()))?;
    let tensors = Reader::from_bytes(plain)
        .and_then(Reader::into_tensors)
        .map_err(|e| write_error(e.to_string()))?;
    let tagged = Writer::new(tensors)
        .with_metadata(FORMAT_KEY, FORMAT)
        .with_metadata(ARCHITECTURE_KEY, ARCHITECTURE)
        .with_metadata(STEPS_KEY, &info.trained_steps.to_string())
        .with_metadata(NOTE_KEY, &info.note)
        .into_bytes()
        .map_err(|e| write_error(e.to_string()))?;
    Ok(tagged.to_vec())
}

/// Saves weights to `path` atomically (temporary file, then rename).
pub fn save(model: StegNet, info: &ModelInfo, path: &Path) -> Result<(), WeightsError> {
    save_bytes(&to_bytes(model, info)?, path)
}

/// Saves the bytes of a weights file ([`to_bytes`]) to `path` atomically.
pub fn save_bytes(bytes: &[u8], path: &Path) -> Result<(), WeightsError> {
    write_atomically(path, |file| std::io::Write::write_all(file, bytes)).map_err(|e| {
        WeightsError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    })
}
