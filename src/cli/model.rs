//! `stegnet model info|init`: look into and create weight files.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use crate::device;
use crate::fsutil::check_output;
use crate::model::{ModelInfo, ModelSource, StegNetConfig, weights};

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
    }
    Ok(())
}
