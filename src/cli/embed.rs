//! `stegnet embed`: hide an image in a cover with StegNet.

use std::path::PathBuf;

use anyhow::Result;

use super::{
    Bar, NetworkArgs, RefineArgs, check_stego_output, fit_hidden, load_image, save_image, timed,
};
use crate::codec::{self, FitMode};
use crate::metrics;
use crate::pipeline;
use crate::refine::{self, Saving};

#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// The image that will be seen.
    #[arg(long, value_name = "FILE")]
    pub cover: PathBuf,
    /// The image to hide (fitted to the cover's size).
    #[arg(long, value_name = "FILE")]
    pub hidden: PathBuf,
    /// Where to write the stego image (.png).
    #[arg(short, long, value_name = "OUT.png")]
    pub output: PathBuf,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub refine: RefineArgs,
    /// How the hidden image is brought to the cover's size.
    #[arg(long, value_enum, default_value_t = FitMode::Resize)]
    pub fit: FitMode,
    /// Allow writing a lossy format (JPEG), which destroys most of the hidden image.
    #[arg(long)]
    pub allow_lossy: bool,
    /// Replace the output file if it exists.
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(args: EmbedArgs) -> Result<()> {
    check_stego_output(
        &args.output,
        &[&args.cover, &args.hidden],
        args.allow_lossy,
        args.force,
    )?;
    let refinement = args.refine.settings(&args.network);
    let cover = load_image(&args.cover)?;
    let hidden = fit_hidden(load_image(&args.hidden)?, &cover, args.fit);
    let (model, device) = args.network.load()?;
    let tiling = args.network.tiling();
    eprintln!(
        "embedding {}x{} in {} tiles",
        cover.width(),
        cover.height(),
        tiling
            .tiles(cover.width() as usize, cover.height() as usize)
            .len()
    );
    let embedded = timed("embedded", || {
        pipeline::embed(
            &model,
            &device.device,
            &cover,
            &hidden,
            tiling,
            &mut Bar::new("embedding", "tiles"),
        )
    })?;
    let (mut bar, done) = match refinement {
        Some(_) => (Bar::new("refining", "steps, then tiles"), "refined"),
        None => (Bar::new("preparing", "tiles"), "prepared for saving"),
    };
    // A lossy file would not keep the low bits that carry the colour cast aside and the
    // secret's error along.
    let embedded = timed(done, || match codec::is_lossy(&args.output) {
        true => match &refinement {
            Some(settings) => refine::refine(
                &model,
                &device.device,
                &cover,
                &hidden,
                &embedded,
                Saving::default(),
                settings,
                &mut bar,
            ),
            None => Ok(embedded),
        },
        false => pipeline::to_save(
            &model,
            &device.device,
            &cover,
            &hidden,
            &embedded,
            refinement.as_ref(),
            tiling,
            &mut bar,
        ),
    })?;
    drop(bar);
    save_image(&embedded, &args.output)?;
    eprintln!(
        "cover changing rate {:.3}%, cover PSNR {:.2} dB",
        100.0 * metrics::cover_changing_rate(&cover, &embedded),
        metrics::psnr(&cover, &embedded)
    );
    Ok(())
}
