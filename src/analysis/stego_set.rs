//! Building a stego set from folders of covers and secrets, for steganalysis experiments.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::prelude::*;
use image::RgbImage;

use crate::codec::{self, FitMode};
use crate::lsb;
use crate::model::StegNet;
use crate::pipeline::{self, Cancelled, NoProgress, Progress, Tiling};

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

/// Hides `secret` (fitted to the cover) in `cover`.
pub fn hide(
    method: Method,
    model: Option<(&StegNet, &Device)>,
    cover: &RgbImage,
    secret: &RgbImage,
) -> Result<RgbImage> {
    let secret = codec::fit(secret, cover.width(), cover.height(), FitMode::Resize);
    Ok(match method {
        Method::Lsb(k) => lsb::embed(cover, &secret, k)?,
        Method::StegNet => {
            let Some((net, device)) = model else {
                bail!("the StegNet method needs a model");
            };
            pipeline::embed(
                net,
                device,
                cover,
                &secret,
                Tiling::default(),
                &mut NoProgress,
            )?
        }
    })
}

/// Pairs cover i with secret i (cycling through the secrets; with the same folder for both,
/// cover i with cover i + 1, so no image hides itself) and writes each stego image as
/// `OUT/<cover name>.png`. Returns the files written.
pub fn make(
    method: Method,
    model: Option<(&StegNet, &Device)>,
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
        let stego = hide(method, model, &cover, &secret)?;
        let name = cover_path.file_stem().unwrap_or_default().to_string_lossy();
        let target = out.join(format!("{name}.png"));
        codec::save_rgb(&stego, &target)?;
        written.push(target);
        progress.advance(i + 1, covers.len());
    }
    Ok(written)
}
