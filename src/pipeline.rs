//! Embedding and revealing whole images of any size, tile by tile.
//!
//! The networks are fully convolutional with eight stacked 3x3 convolutions, so an output
//! pixel depends on the input within [`RECEPTIVE_RADIUS`] pixels. Each tile is processed
//! with that margin of real neighbours around it and only its core is kept: the result equals
//! a whole-image pass (up to float rounding) while memory stays bounded by the tile size.

use burn::prelude::*;
use image::RgbImage;

use crate::cast;
use crate::codec::Planar;
use crate::model::{Network, RECEPTIVE_RADIUS, StegNet};
use crate::refine::{self, Refinement, Saving};

/// How an image is cut into tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiling {
    /// Side of a tile's core, in pixels.
    pub tile: usize,
    /// Neighbouring pixels processed around each core and then dropped.
    pub margin: usize,
}

impl Default for Tiling {
    fn default() -> Self {
        Self {
            tile: 256,
            margin: RECEPTIVE_RADIUS,
        }
    }
}

/// One tile: its core (kept) and the window around it that is fed to the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
    pub window_x: usize,
    pub window_y: usize,
    pub window_width: usize,
    pub window_height: usize,
}

impl Tiling {
    /// The tiles covering a `width` x `height` image, row by row; cores do not overlap and
    /// cover every pixel exactly once.
    pub fn tiles(&self, width: usize, height: usize) -> Vec<Tile> {
        assert!(self.tile > 0, "tile size must be positive");
        let mut tiles = Vec::new();
        for y in (0..height).step_by(self.tile) {
            for x in (0..width).step_by(self.tile) {
                let (w, h) = (self.tile.min(width - x), self.tile.min(height - y));
                let (wx, wy) = (x.saturating_sub(self.margin), y.saturating_sub(self.margin));
                tiles.push(Tile {
                    x,
                    y,
                    width: w,
                    height: h,
                    window_x: wx,
                    window_y: wy,
                    window_width: (x + w + self.margin).min(width) - wx,
                    window_height: (y + h + self.margin).min(height) - wy,
                });
            }
        }
        tiles
    }

    /// Calls `f` on every tile in order, reporting progress and stopping when cancelled.
    pub fn for_each(
        &self,
        width: usize,
        height: usize,
        progress: &mut dyn Progress,
        mut f: impl FnMut(&Tile),
    ) -> Result<(), Cancelled> {
        let tiles = self.tiles(width, height);
        for (done, tile) in tiles.iter().enumerate() {
            if progress.cancelled() {
                return Err(Cancelled);
            }
            f(tile);
            progress.advance(done + 1, tiles.len());
        }
        Ok(())
    }

    /// Applies `f` (a map from an image window to a same-sized window of `out_channels`
    /// planes) tile by tile, and assembles the cores.
    pub fn map(
        &self,
        input: &Planar,
        out_channels: usize,
        progress: &mut dyn Progress,
        mut f: impl FnMut(&Planar) -> Planar,
    ) -> Result<Planar, Cancelled> {
        let mut output = Planar::zeros(out_channels, input.height, input.width);
        self.for_each(input.width, input.height, progress, |tile| {
            let window = input.crop(
                tile.window_x,
                tile.window_y,
                tile.window_width,
                tile.window_height,
            );
            let (x, y) = tile.core_offset();
            output.paste(&f(&window), x, y, tile.width, tile.height, tile.x, tile.y);
        })?;
        Ok(output)
    }

    /// Like [`map`](Self::map) for 8-bit images: windows are converted to floats one at a
    /// time and the cores rounded straight into the result, so memory holds only the 8-bit
    /// images and one tile's floats.
    pub fn map_rgb8(
        &self,
        inputs: &[&RgbImage],
        progress: &mut dyn Progress,
        mut f: impl FnMut(&Planar) -> Planar,
    ) -> Result<RgbImage, Cancelled> {
        let (width, height) = inputs[0].dimensions();
        let mut output = RgbImage::new(width, height);
        self.for_each(width as usize, height as usize, progress, |tile| {
            let parts: Vec<Planar> = inputs.iter().map(|image| tile.window_of(image)).collect();
            let window = Planar::concat(&parts.iter().collect::<Vec<_>>());
            tile.write_core(&f(&window), &mut output);
        })?;
        Ok(output)
    }
}

impl Tile {
    /// Where the core starts inside the window.
    pub fn core_offset(&self) -> (usize, usize) {
        (self.x - self.window_x, self.y - self.window_y)
    }

    /// This tile's window of an 8-bit image, on the network's scale.
    pub fn window_of(&self, image: &RgbImage) -> Planar {
        Planar::from_rgb8_window(
            image,
            self.window_x,
            self.window_y,
            self.window_width,
            self.window_height,
        )
    }

    /// Rounds the core of `window` (this tile's window, RGB) into its place in `image`.
    pub fn write_core(&self, window: &Planar, image: &mut RgbImage) {
        let (x, y) = self.core_offset();
        window.write_rgb8(
            x,
            y,
            self.width,
            self.height,
            image,
            self.x as u32,
            self.y as u32,
        );
    }
}

/// Receives progress from long work, and may ask it to stop.
pub trait Progress {
    /// `done` of `total` units are finished.
    fn advance(&mut self, _done: usize, _total: usize) {}
    /// Whether the work should stop early.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Progress that nobody watches.
pub struct NoProgress;
impl Progress for NoProgress {}

/// The work was stopped through [`Progress::cancelled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// One forward pass of `network` over a whole planar image.
pub fn forward(network: &Network, device: &Device, input: &Planar) -> Planar {
    from_tensor(network.forward(to_tensor(input, device)))
}

/// A planar image as a batch of one, `[1, c, h, w]`, on `device`.
pub fn to_tensor(planar: &Planar, device: &Device) -> Tensor<4> {
    let shape = [1, planar.channels, planar.height, planar.width];
    Tensor::<4>::from_data(TensorData::new(planar.data.clone(), shape), device)
}

/// A batch of one, `[1, c, h, w]`, as a planar image.
pub fn from_tensor(tensor: Tensor<4>) -> Planar {
    let [batch, channels, height, width] = tensor.dims();
    assert_eq!(batch, 1, "one image at a time");
    let data = tensor
        .into_data()
        .try_into_vec::<f32>()
        .expect("images are f32");
    Planar {
        channels,
        height,
        width,
        data,
    }
}

/// Embeds `hidden` (already fitted to the cover's size) into `cover`; float output.
pub fn embed_planar(
    model: &StegNet,
    device: &Device,
    cover: &Planar,
    hidden: &Planar,
    tiling: Tiling,
    progress: &mut dyn Progress,
) -> Result<Planar, Cancelled> {
    let input = Planar::concat(&[cover, hidden]);
    tiling.map(&input, 3, progress, |window| {
        forward(&model.embedder, device, window)
    })
}

/// Reveals the hidden image from an embedded one; float output.
pub fn reveal_planar(
    model: &StegNet,
    device: &Device,
    embedded: &Planar,
    tiling: Tiling,
    progress: &mut dyn Progress,
) -> Result<Planar, Cancelled> {
    tiling.map(embedded, 3, progress, |window| {
        forward(&model.decoder, device, window)
    })
}

/// Embeds `hidden` into `cover` (same size) and rounds to 8 bits: the network's own output,
/// from which [`to_save`] makes the image that gets saved.
pub fn embed(
    model: &StegNet,
    device: &Device,
    cover: &RgbImage,
    hidden: &RgbImage,
    tiling: Tiling,
    progress: &mut dyn Progress,
) -> Result<RgbImage, Cancelled> {
    assert_eq!(
        cover.dimensions(),
        hidden.dimensions(),
        "fit the hidden image first"
    );
    tiling.map_rgb8(&[cover, hidden], progress, |window| {
        forward(&model.embedder, device, window)
    })
}

/// The image to save for `stego`, StegNet's output for `hidden` in `cover`: the colour
/// cast carried aside, the image refined for the decoder if `refinement` says how (the
/// pixels without the cast, so that the cover's difference counts as saved), and the
/// revealed secret's smooth error carried along ([`cast`]). Measuring that error takes one
/// decoder pass.
#[allow(clippy::too_many_arguments)]
pub fn to_save(
    model: &StegNet,
    device: &Device,
    cover: &RgbImage,
    hidden: &RgbImage,
    stego: &RgbImage,
    refinement: Option<&Refinement>,
    tiling: Tiling,
    progress: &mut dyn Progress,
) -> Result<RgbImage, Cancelled> {
    let mut aside = cast::Aside::take(cover, stego);
    if let Some(settings) = refinement {
        aside.image = refine::refine(
            model,
            device,
            cover,
            hidden,
            &aside.image,
            Saving {
                cast: aside.cast.as_ref(),
                corrected: cast::can_carry_correction(stego),
            },
            settings,
            progress,
        )?;
    }
    let saved = aside.carried(cover);
    // It carries no correction yet: what the decoder itself reveals.
    let decoded = reveal(model, device, &saved, tiling, progress)?;
    Ok(cast::carry_correction(&saved, cover, hidden, &decoded))
}

/// Reveals the hidden image from a saved (8-bit) embedded image, putting back the colour
/// cast it carries aside and taking out the error it carries along ([`cast`]), if any.
pub fn reveal(
    model: &StegNet,
    device: &Device,
    embedded: &RgbImage,
    tiling: Tiling,
    progress: &mut dyn Progress,
) -> Result<RgbImage, Cancelled> {
    let uncast = cast::put_back(embedded);
    let decoded = tiling.map_rgb8(&[&uncast], progress, |window| {
        forward(&model.decoder, device, window)
    })?;
    Ok(cast::corrected(embedded, decoded))
}
