//! `stegnet bench`: training-step and embed + reveal timings on each available device.

use anyhow::Result;

use crate::bench;
use crate::device;
use crate::model::{DepthwiseMode, StegNetConfig};

fn parse_mode(text: &str) -> Result<DepthwiseMode, String> {
    match text {
        "kernel" => Ok(DepthwiseMode::Kernel),
        "grouped" => Ok(DepthwiseMode::Grouped),
        "shifted" => Ok(DepthwiseMode::Shifted),
        _ => Err(format!("'{text}': use kernel, grouped or shifted")),
    }
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Measure only the CPU (default: the CPU and every GPU adapter found).
    #[arg(long)]
    pub cpu_only: bool,
    /// Timed runs of each measurement (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Pairs per training step.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Side of the training crops.
    #[arg(long, default_value_t = 64)]
    pub crop: usize,
    /// Side of the image embedded and revealed.
    #[arg(long, default_value_t = 1024)]
    pub side: u32,
    /// How the depthwise convolutions are computed (default: what the device runs best).
    #[arg(long, value_parser = parse_mode)]
    pub depthwise: Option<DepthwiseMode>,
    /// Burn's plain BatchNorm, ELU and convolution modules instead of the fast formulations
    /// (custom kernels, matrix products), for comparison.
    #[arg(long)]
    pub plain: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let mut devices = vec![device::cpu()];
    if !args.cpu_only
        && let Ok(gpu) = device::select(device::DeviceChoice::Gpu)
    {
        devices.push(gpu);
    }
    let mut results = Vec::new();
    for compute in &devices {
        eprintln!("measuring on {} ...", compute.label);
        let mut network = match args.plain {
            true => StegNetConfig::plain(),
            false => compute.network_config(),
        };
        if let Some(mode) = args.depthwise {
            network.depthwise = mode;
        }
        let timings = bench::run(
            compute, &network, args.runs, args.batch, args.crop, args.side,
        );
        if !args.json {
            println!("{}", timings.device);
            println!(
                "  training step ({} x {}x{}):  min {:.3} s  median {:.3} s  ({} runs)",
                timings.batch,
                timings.crop,
                timings.crop,
                timings.train_step.min,
                timings.train_step.median,
                timings.train_step.runs
            );
            println!(
                "  embed + reveal per megapixel ({}x{}):  min {:.3} s  median {:.3} s",
                timings.side,
                timings.side,
                timings.embed_reveal_per_megapixel.min,
                timings.embed_reveal_per_megapixel.median
            );
        }
        results.push(timings);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(())
}
