//! Evaluation on photo pairs the model never saw: photo i hides photo i + 1, at full
//! resolution or as centre crops, through 8-bit rounding; StegNet's stego images as saved
//! and the network's own output, beside k-bit LSB.

use std::path::PathBuf;

use anyhow::Result;
use burn::prelude::*;
use image::RgbImage;
use serde::Serialize;

use crate::codec::{self, FitMode};
use crate::lsb;
use crate::metrics::Report;
use crate::model::StegNet;
use crate::pipeline::{self, Cancelled, NoProgress, Progress, Tiling};
use crate::refine::Refinement;

/// The figures for one embedded pair.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Figures {
    pub cover_changing_rate: f64,
    pub hidden_decoded_difference: f64,
    pub decoded_rate: f64,
    pub payload_bpp: f64,
    pub cover_psnr_db: f64,
    pub hidden_psnr_db: f64,
    pub cover_ssim: f64,
    pub hidden_ssim: f64,
}

impl Figures {
    fn from_report(report: &Report) -> Self {
        let hidden = report
            .hidden
            .as_ref()
            .expect("evaluation measures both pairs");
        // Identical images have infinite PSNR; cap it so means stay finite.
        let cap = |db: f64| db.min(100.0);
        Self {
            cover_changing_rate: report.cover_changing_rate,
            hidden_decoded_difference: hidden.hidden_decoded_difference,
            decoded_rate: hidden.decoded_rate,
            payload_bpp: hidden.payload_bpp,
            cover_psnr_db: cap(report.cover_psnr_db),
            hidden_psnr_db: cap(hidden.hidden_psnr_db),
            cover_ssim: report.cover_ssim,
            hidden_ssim: hidden.hidden_ssim,
        }
    }
}

/// Mean and worst of the figures over all pairs.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Summary {
    pub mean: Figures,
    pub worst: Figures,
}

fn summarise(all: &[Figures]) -> Summary {
    let n = all.len() as f64;
    let field = |f: fn(&Figures) -> f64| all.iter().map(f);
    let mean = |f: fn(&Figures) -> f64| field(f).sum::<f64>() / n;
    let max = |f: fn(&Figures) -> f64| field(f).fold(f64::NEG_INFINITY, f64::max);
    let min = |f: fn(&Figures) -> f64| field(f).fold(f64::INFINITY, f64::min);
    Summary {
        mean: Figures {
            cover_changing_rate: mean(|f| f.cover_changing_rate),
            hidden_decoded_difference: mean(|f| f.hidden_decoded_difference),
            decoded_rate: mean(|f| f.decoded_rate),
            payload_bpp: mean(|f| f.payload_bpp),
            cover_psnr_db: mean(|f| f.cover_psnr_db),
            hidden_psnr_db: mean(|f| f.hidden_psnr_db),
            cover_ssim: mean(|f| f.cover_ssim),
            hidden_ssim: mean(|f| f.hidden_ssim),
        },
        worst: Figures {
            cover_changing_rate: max(|f| f.cover_changing_rate),
            hidden_decoded_difference: max(|f| f.hidden_decoded_difference),
            decoded_rate: min(|f| f.decoded_rate),
            payload_bpp: min(|f| f.payload_bpp),
            cover_psnr_db: min(|f| f.cover_psnr_db),
            hidden_psnr_db: min(|f| f.hidden_psnr_db),
            cover_ssim: min(|f| f.cover_ssim),
            hidden_ssim: min(|f| f.hidden_ssim),
        },
    }
}

/// What `stegnet eval` reports.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub pairs: usize,
    /// `None`: full resolution; `Some(s)`: centre crops of s x s.
    pub crop: Option<u32>,
    /// The stego images as saved: the colour cast carried aside and the revealed secret's
    /// smooth error carried along ([`cast`]).
    pub stegnet: Summary,
    /// The network's own 8-bit output, as the paper measures it.
    pub network: Summary,
    /// The stego images refined for the decoder, as saved, when asked for.
    pub refined: Option<RefinedSummary>,
    pub lsb_bits: u8,
    pub lsb: Summary,
    /// Each pair's figures, in order: what the means and worst values summarise.
    pub each_pair: Vec<PairFigures>,
}

/// One pair's photos (file names) and figures, for each way of embedding.
#[derive(Debug, Clone, Serialize)]
pub struct PairFigures {
    pub cover: String,
    pub hidden: String,
    pub stegnet: Figures,
    pub network: Figures,
    pub refined: Option<Figures>,
    pub lsb: Figures,
}

/// Figures of refined stego images, with the refinement's settings.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RefinedSummary {
    pub steps: usize,
    /// The first step's size in 8-bit levels ([`Refinement::step_levels`]).
    pub step_levels: f32,
    pub cover_weight: f32,
    #[serde(flatten)]
    pub summary: Summary,
}

/// Centre crop of `side` x `side` (or the largest square that fits).
pub fn centre_crop(image: &RgbImage, side: u32) -> RgbImage {
    let side = side.min(image.width()).min(image.height());
    let (x, y) = ((image.width() - side) / 2, (image.height() - side) / 2);
    image::imageops::crop_imm(image, x, y, side, side).to_image()
}

/// Evaluates `pairs` pairs (photo i hides photo i + 1) from `photos`; with `refinement`,
/// also each stego image refined for the decoder.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    model: &StegNet,
    device: &Device,
    photos: &[PathBuf],
    pairs: usize,
    crop: Option<u32>,
    lsb_bits: u8,
    refinement: Option<&Refinement>,
    progress: &mut dyn Progress,
) -> Result<EvalReport> {
    anyhow::ensure!(photos.len() >= 2, "evaluation needs at least two photos");
    let pairs = pairs.min(photos.len() - 1).max(1);
    let prepare = |path: &PathBuf| -> Result<RgbImage> {
        let image = codec::load_rgb(path)?.image;
        Ok(match crop {
            Some(side) => centre_crop(&image, side),
            None => image,
        })
    };
    let name = |path: &PathBuf| {
        let name = path.file_name().unwrap_or(path.as_os_str());
        name.to_string_lossy().into_owned()
    };
    let mut each_pair = Vec::with_capacity(pairs);
    for i in 0..pairs {
        if progress.cancelled() {
            return Err(Cancelled.into());
        }
        let cover = prepare(&photos[i])?;
        let hidden = prepare(&photos[i + 1])?;
        let hidden = codec::fit(&hidden, cover.width(), cover.height(), FitMode::Resize);
        let tiling = Tiling::default();
        let embedded = pipeline::embed(model, device, &cover, &hidden, tiling, &mut NoProgress)?;
        let measure = |embedded: &RgbImage| -> Result<Figures> {
            let decoded = pipeline::reveal(model, device, embedded, tiling, &mut NoProgress)?;
            Ok(Figures::from_report(&Report::measure(
                &cover,
                embedded,
                Some((&hidden, &decoded)),
            )))
        };
        let network = measure(&embedded)?;
        let to_save = |refinement: Option<&Refinement>| {
            pipeline::to_save(
                model,
                device,
                &cover,
                &hidden,
                &embedded,
                refinement,
                tiling,
                &mut NoProgress,
            )
        };
        let stegnet = measure(&to_save(None)?)?;
        let refined = match refinement {
            Some(_) => Some(measure(&to_save(refinement)?)?),
            None => None,
        };
        let lsb_embedded = lsb::embed(&cover, &hidden, lsb_bits)?;
        let lsb_decoded = lsb::reveal(&lsb_embedded, lsb_bits)?;
        let lsb = Figures::from_report(&Report::measure(
            &cover,
            &lsb_embedded,
            Some((&hidden, &lsb_decoded)),
        ));
        each_pair.push(PairFigures {
            cover: name(&photos[i]),
            hidden: name(&photos[i + 1]),
            stegnet,
            network,
            refined,
            lsb,
        });
        progress.advance(i + 1, pairs);
    }
    let summary = |f: fn(&PairFigures) -> Option<Figures>| {
        summarise(&each_pair.iter().filter_map(f).collect::<Vec<_>>())
    };
    Ok(EvalReport {
        pairs,
        crop,
        stegnet: summary(|p| Some(p.stegnet)),
        network: summary(|p| Some(p.network)),
        refined: refinement.map(|settings| RefinedSummary {
            steps: settings.steps,
            step_levels: settings.step_levels,
            cover_weight: settings.cover_weight,
            summary: summary(|p| p.refined),
        }),
        lsb_bits,
        lsb: summary(|p| Some(p.lsb)),
        each_pair,
    })
}
