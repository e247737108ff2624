//! Training StegNet: data ([`data`]), the loss ([`loss`]), the training loop with its event
//! channel ([`trainer`]), checkpoints ([`checkpoint`]), the moving average of the weights
//! ([`average`]) and BatchNorm calibration ([`calibrate`]). The command line and the app drive
//! the same loop; neither touches its insides.

pub mod average;
pub mod calibrate;
pub mod checkpoint;
pub mod data;
pub mod loss;
pub mod trainer;

use burn::module::Module;
use serde::{Deserialize, Serialize};

use crate::model::{ModelInfo, StegNet};

/// How the learning rate moves over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
pub enum Schedule {
    /// The same rate throughout (after warm-up).
    Constant,
    /// Cosine decay from the rate to a tenth of it over the run (after warm-up).
    #[default]
    Cosine,
}

/// The settings of a training run; stored in checkpoints so a resumed run goes on exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimisation steps in all (a resumed run stops at the same total).
    pub steps: u64,
    /// Pairs (cover, hidden) per step.
    pub batch: usize,
    /// Side of the square training crops.
    pub crop: u32,
    /// Peak learning rate of Adam (beta1 0.5, beta2 0.9).
    pub lr: f64,
    pub schedule: Schedule,
    /// Steps of linear warm-up.
    pub warmup: u64,
    /// Seed of the initialisation and of every batch.
    pub seed: u64,
    /// Validate (and send a preview) every this many steps.
    pub validate_every: u64,
    /// Write a checkpoint every this many steps.
    pub checkpoint_every: u64,
    /// Fixed validation pairs.
    pub val_pairs: usize,
    /// Side of the validation centre crops.
    pub val_size: u32,
    /// Keep an exponential moving average of the weights with this decay (0.998: about the
    /// last 500 steps) and validate and save it instead of the last iterate; `None` saves
    /// the last iterate. Checkpoints of runs from before the average read as `None`.
    #[serde(default)]
    pub average_decay: Option<f64>,
    /// What learns, and whether the networks run as in training or as in inference.
    #[serde(default)]
    pub tuning: Tuning,
    /// What the optimiser lowers. Checkpoints of runs from before the choice read as the
    /// paper's loss.
    #[serde(default)]
    pub objective: Objective,
    /// Weight of the cover's terms against the secret's (1: as in the paper): above 1 keeps
    /// stego images closer to their covers, below 1 reveals secrets better. Checkpoints of
    /// runs from before the choice read as 1.
    #[serde(default = "equal_weight")]
    pub cover_weight: f64,
}

fn equal_weight() -> f64 {
    1.0
}

/// The loss a run minimises. Either way the trainer reports the paper's loss and its four
/// parts, so runs compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
pub enum Objective {
    /// The paper's equation 7: both mean absolute errors and both residual variances.
    #[default]
    Paper,
    /// The two mean absolute errors alone, what `stegnet eval` reports as the cover
    /// changing rate and the hidden-decoded difference.
    L1,
    /// The two mean absolute errors, the cover's on the stego image as saved: less the
    /// smooth colour cast that [`crate::cast`] carries aside, which so costs nothing.
    L1Saved,
    /// As [`Objective::L1Saved`], the cover's difference `e` costing `|e| (1 + |e| / 2k)`
    /// with k [`loss::KNEE_LEVELS`]: each level beyond the k-th costs more than twice the
    /// first, so the few large changes that carry most of the squared difference, what the
    /// cover's PSNR measures, give way to smaller ones (`assets/training/HISTORY.md`,
    /// session 38).
    PsnrSaved,
}

/// Which networks learn, and how. Trained jointly (the paper's way) both networks run
/// BatchNorm on the batch's statistics, so the decoder never sees the stego image a user
/// saves (the embedder on its running statistics, 8-bit) and never runs as a user runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
pub enum Tuning {
    /// Both networks, BatchNorm on batch statistics.
    #[default]
    Joint,
    /// Fine-tunes trained weights: only the decoder's weights learn, and both networks run
    /// exactly as in inference (BatchNorm on running statistics, which stay as they are), so
    /// the decoder learns on the stego images users save. The embedder stays as it is.
    DecoderOnly,
    /// Fine-tunes trained weights: both networks learn, both running exactly as in
    /// inference (BatchNorm on running statistics, which stay as they are), so the embedder
    /// too learns on the stego images users get, not on those of batch statistics.
    InferenceMode,
}

impl Tuning {
    /// Prepares `model` (on the training device) for this tuning; called at the start of
    /// every run, resumed or not (the modes live in the module, not in saved weights).
    pub fn prepare(self, mut model: StegNet) -> StegNet {
        // `freeze` switches BatchNorm to its running statistics (and off gradients).
        match self {
            Tuning::Joint => {}
            Tuning::DecoderOnly => {
                model.embedder = model.embedder.freeze();
                model.decoder = model.decoder.freeze().set_require_grad(true);
            }
            Tuning::InferenceMode => {
                model.embedder = model.embedder.freeze().set_require_grad(true);
                model.decoder = model.decoder.freeze().set_require_grad(true);
            }
        }
        model
    }

    /// Refuses to start a fine-tuning run from a fresh network (`trained` is false): the
    /// decoder alone is tuned only on a trained embedder, and running statistics mean
    /// something only once trained. Resumed runs have trained weights.
    pub fn check_start(self, trained: bool) -> anyhow::Result<()> {
        match self {
            Tuning::DecoderOnly if !trained => anyhow::bail!(
                "only the decoder of trained weights can be tuned: start from the built-in \
                 model or other trained weights"
            ),
            Tuning::InferenceMode if !trained => anyhow::bail!(
                "only trained weights can be tuned in inference mode: start from the \
                 built-in model or other trained weights"
            ),
            _ => Ok(()),
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 2000,
            batch: 16,
            crop: 64,
            lr: 1e-3,
            schedule: Schedule::Cosine,
            warmup: 50,
            seed: 0,
            validate_every: 100,
            checkpoint_every: 100,
            val_pairs: 8,
            val_size: 128,
            average_decay: Some(0.998),
            tuning: Tuning::Joint,
            objective: Objective::Paper,
            cover_weight: equal_weight(),
        }
    }
}

impl TrainConfig {
    /// How the weights of a run of these settings describe themselves after `step` steps,
    /// following what the weights it started from (`start`, given with `--init`) say.
    pub fn describe(&self, start: &Option<ModelInfo>, step: u64) -> ModelInfo {
        let averaged = match self.average_decay {
            Some(decay) => format!(", weights averaged (decay {decay})"),
            None => String::new(),
        };
        let networks = match self.tuning {
            Tuning::Joint => "",
            Tuning::DecoderOnly => ", decoder only (inference mode)",
            Tuning::InferenceMode => ", both networks in inference mode",
        };
        let objective = match self.objective {
            Objective::Paper => "",
            Objective::L1 => ", L1 terms only",
            Objective::L1Saved => ", L1 terms only, the cover's as saved",
            Objective::PsnrSaved => ", L1 terms only, the cover's as saved and its squares too",
        };
        let weighted = if self.cover_weight == 1.0 {
            String::new()
        } else {
            format!(", cover weighted {}", self.cover_weight)
        };
        let run = format!(
            "trained {step} steps, batch {} of {}x{} crops, lr {} ({:?}), seed \
             {}{averaged}{networks}{objective}{weighted}",
            self.batch, self.crop, self.crop, self.lr, self.schedule, self.seed
        );
        match start {
            Some(start) => start.then(step, &run),
            None => ModelInfo {
                trained_steps: step,
                note: run,
            },
        }
    }

    /// The learning rate for `step` (0-based).
    pub fn learning_rate(&self, step: u64) -> f64 {
        let warm = if self.warmup > 0 && step < self.warmup {
            (step + 1) as f64 / self.warmup as f64
        } else {
            1.0
        };
        let decay = match self.schedule {
            Schedule::Constant => 1.0,
            Schedule::Cosine => {
                let span = self.steps.saturating_sub(self.warmup).max(1) as f64;
                let t = (step.saturating_sub(self.warmup) as f64 / span).min(1.0);
                0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        };
        self.lr * warm * decay
    }
}
