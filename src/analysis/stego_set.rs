//! Building a stego set from folders of covers and secrets, for steganalysis experiments.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::prelude::*;
use image::RgbImage;

use crate::codec::{self, FitMode};
use crate::lsb;
use crate::model::StegNet;
use crate::pipeline::{self, Cancelled, NoProgress, Progress, Tiling};
use crate::refine::Refinement;

/// How secrets are hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    StegNet,
    /// k-bit LSB replacement.
    Lsb(u8),
}

impl Method {
    /// Parses `stegnet` or `lsbK` (K = 1..8).
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.to_ascii_lowercase();
        if lower == "stegnet" {
            return Ok(Method::StegNet);
        }
        match lower.strip_prefix("lsb").map(str::parse::<u8>) {
            Some(Ok(k)) if (1..=8).contains(&k) => Ok(Method::Lsb(k)),
            _ => Err(format!(
                "'{text}' is not a method: use stegnet or lsb1 .. lsb8"
            )),
        }
    }
}

/// How the StegNet method hides: the model, where it runs, the tiles of its passes, and
/// whether each stego image is then refined for the decoder.
#[derive(Clone, Copy)]
pub struct Hider<'a> {
    pub model: &'a StegNet,
    pub device: &'a Device,
    pub tiling: Tiling,
    pub refinement: Option<Refinement>,
}

impl<'a> Hider<'a> {
    /// One pass of the embedder in tiles of the default size, no refinement.
    pub fn new(model: &'a StegNet, device: &'a Device) -> Self {
        Self {
            model,
            device,
            tiling: Tiling::default(),
            refinement: None,
        }
    }
}

/// Hides `secret` (fitted to the cover) in `cover`. `progress` is only asked whether to
/// stop, between refinement steps.
pub fn hide(
    method: Method,
    stegnet: Option<&Hider>,
    cover: &RgbImage,
    secret: &RgbImage,
    progress: &mut dyn Progress,
) -> Result<RgbImage> {
    let secret = codec::fit(secret, cover.width(), cover.height(), FitMode::Resize);
    Ok(match method {
        Method::Lsb(k) => lsb::embed(cover, &secret, k)?,
        Method::StegNet => {
            let Some(hider) = stegnet else {
                bail!("the StegNet method needs a model");
            };
            let (model, device) = (hider.model, hider.device);
            let stego =
                pipeline::embed(model, device, cover, &secret, hider.tiling, &mut NoProgress)?;
            pipeline::to_save(
                model,
                device,
                cover,
                &secret,
                &stego,
                hider.refinement.as_ref(),
                hider.tiling,
                &mut StopOnly(progress),
            )?
        }
    })
}

/// Passes on whether to stop, but not the steps of one image: the set's progress counts
/// images.
struct StopOnly<'a>(&'a mut dyn Progress);

impl Progress for StopOnly<'_> {
    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}

/// Pairs cover i with secret i (cycling through the secrets; with the same folder for both,
/// cover i with cover i + 1, so no image hides itself) and writes each stego image as
/// `OUT/<cover name>.png`. Returns the files written.
pub fn make(
    method: Method,
    stegnet: Option<&Hider>,
    covers: &[PathBuf],
    secrets: &[PathBuf],
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<Vec<PathBuf>> {
    if secrets.is_empty() {
        bail!("no secret images to hide");
    }
    let same_set = covers == secrets;
    let mut written = Vec::new();
    for (i, cover_path) in covers.iter().enumerate() {
        if progress.cancelled() {
            return Err(Cancelled.into());
        }
        let secret_path = &secrets[(i + usize::from(same_set)) % secrets.len()];
        let cover = codec::load_rgb(cover_path)?.image;
        let secret = codec::load_rgb(secret_path)?.image;
        let stego = hide(method, stegnet, &cover, &secret, progress)?;
        let name = cover_path.file_stem().unwrap_or_default().to_string_lossy();
        let target = out.join(format!("{name}.png"));
        codec::save_rgb(&stego, &target)?;
        written.push(target);
        progress.advance(i + 1, covers.len());
    }
    Ok(written)
}
