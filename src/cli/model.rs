//! `stegnet model info|init|calibrate|from-checkpoint`: look into, create, calibrate and
//! extract weight files.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use crate::device;
use crate::fsutil::check_output;
use crate::model::{ModelInfo, ModelSource, StegNetConfig, weights};
use crate::train::calibrate::{Calibration, calibrate_batch_norm};
use crate::train::checkpoint;
use crate::train::data::PhotoSet;
use crate::train::trainer::optimizer;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Print what a weights file holds (default: the built-in model).
    Info {
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
    /// Write freshly initialised (untrained) weights: the starting point of training.
    Init {
        #[arg(short, long, value_name = "OUT.bpk")]
        output: PathBuf,
        /// Seed of the random initialisation.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Replace the output file if it exists.
        #[arg(short, long)]
        force: bool,
    },
    /// Re-estimate BatchNorm's running statistics over many training batches (the weights
    /// stay as they are): steadier figures than the moving average training leaves.
    Calibrate {
        /// The weights to calibrate.
        #[arg(long, value_name = "FILE")]
        model: PathBuf,
        /// Folder of training photos.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[arg(short, long, value_name = "OUT.bpk")]
        output: PathBuf,
        /// Batches averaged.
        #[arg(long, default_value_t = 200)]
        batches: u64,
        /// Pairs per batch.
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Side of the crops (as in training).
        #[arg(long, default_value_t = 32)]
        crop: u32,
        /// Replace the output file if it exists.
        #[arg(short, long)]
        force: bool,
    },
    /// Write the weights a training checkpoint holds, as the run would have saved them at
    /// its step (the moving average of the weights if the run keeps one).
    FromCheckpoint {
        /// The checkpoint (.ckpt).
        #[arg(value_name = "CKPT")]
        checkpoint: PathBuf,
        #[arg(short, long, value_name = "OUT.bpk")]
        output: PathBuf,
        /// The last step's weights instead of their moving average.
        #[arg(long)]
        iterate: bool,
        /// Replace the output file if it exists.
        #[arg(short, long)]
        force: bool,
    },
}

pub fn run(command: ModelCommand) -> Result<()> {
    let cpu = device::cpu();
    match command {
        ModelCommand::Info { model } => {
            let source = ModelSource::from_option(model.as_deref());
            let (net, info) = weights::load(&source, &cpu.device)?;
            println!("model:           {source}");
            println!("architecture:    {}", weights::ARCHITECTURE);
            println!(
                "embedder params: {} trainable",
                net.embedder.trainable_params()
            );
            println!(
                "decoder params:  {} trainable",
                net.decoder.trainable_params()
            );
            println!("training steps:  {}", info.trained_steps);
            println!("note:            {}", info.note);
        }
        ModelCommand::Init {
            output,
            seed,
            force,
        } => {
            check_output(&output, &[], force)?;
            cpu.device.seed(seed);
            let net = StegNetConfig::new().init(&cpu.device);
            let info = ModelInfo {
                trained_steps: 0,
                note: format!("untrained: Glorot-uniform initialisation, seed {seed}"),
            };
            weights::save(net, &info, &output)?;
            eprintln!("wrote {}", output.display());
        }
        ModelCommand::Calibrate {
            model,
            data,
            output,
            batches,
            batch,
            crop,
            force,
        } => {
            check_output(&output, &[&model], force)?;
            let network = cpu.network_config();
            let (net, info) = weights::load_with(&ModelSource::File(model), &cpu.device, &network)?;
            let mut photos = PhotoSet::open(&data, 1 << 30)?;
            eprintln!(
                "averaging BatchNorm statistics over {batches} batches of {batch} pairs of {crop}x{crop}..."
            );
            let net = calibrate_batch_norm(
                net,
                &info,
                &network,
                &mut photos,
                Calibration {
                    batches,
                    size: batch.max(1),
                    crop: crop.max(8),
                },
                &cpu.device,
            )?;
            let info = ModelInfo {
                note: format!(
                    "{}; BatchNorm statistics averaged over {batches} batches of {batch} x {crop}x{crop}",
                    info.note
                ),
                ..info
            };
            weights::save(net, &info, &output)?;
            eprintln!("wrote {}", output.display());
        }
        ModelCommand::FromCheckpoint {
            checkpoint,
            output,
            iterate,
            force,
        } => {
            check_output(&output, &[&checkpoint], force)?;
            let saved = checkpoint::load(
                &checkpoint,
                &cpu.device.clone().autodiff(),
                &cpu.network_config(),
                optimizer(),
            )?;
            let step = saved.header.step;
            let (net, info) = saved.into_weights(iterate);
            weights::save(net, &info, &output)?;
            eprintln!(
                "wrote {} (step {step} of the run, {} training steps in all)",
                output.display(),
                info.trained_steps
            );
        }
    }
    Ok(())
}
