//! `stegnet reveal`: recover the hidden image from a StegNet stego image.

use std::path::PathBuf;

use anyhow::Result;

use super::{Bar, NetworkArgs, load_image, save_image, timed};
use crate::fsutil::check_output;
use crate::pipeline;

#[derive(Debug, clap::Args)]
pub struct RevealArgs {
    /// The stego image (as saved by `embed`).
    #[arg(long, value_name = "FILE")]
    pub stego: PathBuf,
    /// Where to write the decoded image.
    #[arg(short, long, value_name = "OUT.png")]
    pub output: PathBuf,
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Replace the output file if it exists.
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(args: RevealArgs) -> Result<()> {
    check_output(&args.output, &[&args.stego], args.force)?;
    let stego = load_image(&args.stego)?;
    let (model, device) = args.network.load()?;
    let decoded = timed("revealed", || {
        pipeline::reveal(
            &model,
            &device.device,
            &stego,
            args.network.tiling(),
            &mut Bar::new("revealing", "tiles"),
        )
    })?;
    save_image(&decoded, &args.output)
}
