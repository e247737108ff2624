//! `stegnet metrics` and `stegnet residual`: measuring what embedding did.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use image::RgbImage;

use super::{fit_hidden, load_image, save_image};
use crate::codec::FitMode;
use crate::fsutil::check_output;
use crate::metrics::{self, Report};

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// The original cover image.
    #[arg(long, value_name = "FILE")]
    pub cover: PathBuf,
    /// The stego (embedded) image.
    #[arg(long, value_name = "FILE")]
    pub stego: PathBuf,
    /// The original hidden image (fitted to the decoded image's size as `embed` does).
    #[arg(long, value_name = "FILE", requires = "decoded")]
    pub hidden: Option<PathBuf>,
    /// The decoded (revealed) image.
    #[arg(long, value_name = "FILE", requires = "hidden")]
    pub decoded: Option<PathBuf>,
    /// How the hidden image was fitted when it was embedded.
    #[arg(long, value_enum, default_value_t = FitMode::Resize)]
    pub fit: FitMode,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Loads two images that must have the same size.
fn load_pair(a: &Path, b: &Path) -> Result<(RgbImage, RgbImage)> {
    let (first, second) = (load_image(a)?, load_image(b)?);
    if first.dimensions() != second.dimensions() {
        bail!(
            "{} is {}x{} but {} is {}x{}: they must have the same size",
            a.display(),
            first.width(),
            first.height(),
            b.display(),
            second.width(),
            second.height()
        );
    }
    Ok((first, second))
}

pub fn metrics(args: MetricsArgs) -> Result<()> {
    let (cover, stego) = load_pair(&args.cover, &args.stego)?;
    let hidden_pair = match (&args.hidden, &args.decoded) {
        (Some(hidden), Some(decoded)) => {
            let decoded = load_image(decoded)?;
            let hidden = fit_hidden(load_image(hidden)?, &decoded, args.fit);
            Some((hidden, decoded))
        }
        _ => None,
    };
    let report = Report::measure(&cover, &stego, hidden_pair.as_ref().map(|(h, d)| (h, d)));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// The report as aligned lines for a terminal.
fn table(report: &Report) -> String {
    let mut lines = vec![
        format!(
            "size                        {}x{}",
            report.width, report.height
        ),
        format!(
            "cover changing rate         {:.4} %",
            100.0 * report.cover_changing_rate
        ),
        format!("cover PSNR                  {:.2} dB", report.cover_psnr_db),
        format!("cover SSIM                  {:.4}", report.cover_ssim),
    ];
    if let Some(hidden) = &report.hidden {
        lines.extend([
            format!(
                "hidden-decoded difference   {:.4} %",
                100.0 * hidden.hidden_decoded_difference
            ),
            format!(
                "decoded rate                {:.4} %",
                100.0 * hidden.decoded_rate
            ),
            format!("payload capacity            {:.2} bpp", hidden.payload_bpp),
            format!(
                "hidden PSNR                 {:.2} dB",
                hidden.hidden_psnr_db
            ),
            format!("hidden SSIM                 {:.4}", hidden.hidden_ssim),
        ]);
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[derive(Debug, clap::Args)]
pub struct ResidualArgs {
    /// First image (e.g. the cover).
    #[arg(long, value_name = "FILE")]
    pub a: PathBuf,
    /// Second image (e.g. the stego image).
    #[arg(long, value_name = "FILE")]
    pub b: PathBuf,
    /// Magnification M in clip(R x M, 0, 1); the paper shows 5 and 10.
    #[arg(long, value_name = "M", default_value_t = 1.0, value_parser = magnification)]
    pub magnify: f64,
    /// Where to write the residual image.
    #[arg(short, long, value_name = "OUT.png")]
    pub output: PathBuf,
    /// Replace the output file if it exists.
    #[arg(short, long)]
    pub force: bool,
}

/// `--magnify`: a finite factor above zero.
fn magnification(text: &str) -> Result<f64, String> {
    super::positive(text).ok_or_else(|| format!("'{text}' is not a positive number"))
}

pub fn residual(args: ResidualArgs) -> Result<()> {
    check_output(&args.output, &[&args.a, &args.b], args.force)?;
    let (a, b) = load_pair(&args.a, &args.b)?;
    save_image(&metrics::residual(&a, &b, args.magnify), &args.output)
}
