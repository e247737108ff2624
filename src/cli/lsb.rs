//! `stegnet lsb embed|reveal`: the k-bit LSB baseline.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::{check_stego_output, fit_hidden, load_image, save_image};
use crate::codec::FitMode;
use crate::fsutil::check_output;
use crate::lsb;

#[derive(Debug, Subcommand)]
pub enum LsbCommand {
    /// Replace the low K bits of the cover with the top K bits of the hidden image.
    Embed {
        /// Bits per sample (1..8).
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u8).range(1..=8))]
        bits: u8,
        #[arg(long, value_name = "FILE")]
        cover: PathBuf,
        #[arg(long, value_name = "FILE")]
        hidden: PathBuf,
        #[arg(short, long, value_name = "OUT.png")]
        output: PathBuf,
        /// How the hidden image is brought to the cover's size.
        #[arg(long, value_enum, default_value_t = FitMode::Resize)]
        fit: FitMode,
        /// Allow writing a lossy format (JPEG), which destroys the low bits.
        #[arg(long)]
        allow_lossy: bool,
        /// Replace the output file if it exists.
        #[arg(short, long)]
        force: bool,
    },
    /// Shift the low K bits of a stego image back up.
    Reveal {
        /// Bits per sample (1..8).
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u8).range(1..=8))]
        bits: u8,
        #[arg(long, value_name = "FILE")]
        stego: PathBuf,
        #[arg(short, long, value_name = "OUT.png")]
        output: PathBuf,
        /// Replace the output file if it exists.
        #[arg(short, long)]
        force: bool,
    },
}

pub fn run(command: LsbCommand) -> Result<()> {
    match command {
        LsbCommand::Embed {
            bits,
            cover,
            hidden,
            output,
            fit,
            allow_lossy,
            force,
        } => {
            check_stego_output(&output, &[&cover, &hidden], allow_lossy, force)?;
            let cover_image = load_image(&cover)?;
            let hidden_image = fit_hidden(load_image(&hidden)?, &cover_image, fit);
            save_image(&lsb::embed(&cover_image, &hidden_image, bits)?, &output)
        }
        LsbCommand::Reveal {
            bits,
            stego,
            output,
            force,
        } => {
            check_output(&output, &[&stego], force)?;
            save_image(&lsb::reveal(&load_image(&stego)?, bits)?, &output)
        }
    }
}
