//! Training data: photos decoded once into a bounded cache, and batches of random crops
//! (random downscale first, random flips), prepared by a loader thread so the training step
//! never waits on decoding.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Result, bail};
use burn::prelude::*;
use image::{RgbImage, imageops::FilterType};

use crate::codec;

/// A small, fast PRNG (SplitMix64) whose whole state is one number, so that training can be
/// resumed exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rng(pub u64);

impl Rng {
    /// The generator for one purpose (`stream`) at one step: batches depend only on the seed
    /// and the step, never on how far a loader thread ran ahead.
    pub fn for_step(seed: u64, stream: u64, step: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        rng.0 ^= step.wrapping_mul(0xE703_7ED1_A0B4_28DB);
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }
}

/// Longest side photos are reduced to when cached: large wallpapers then give crops that
/// show objects rather than flat patches of sky.
pub const CACHE_SIDE: u32 = 512;

/// The photos of a training set, decoded on first use and kept within a memory budget.
pub struct PhotoSet {
    paths: Vec<PathBuf>,
    cache: HashMap<usize, Arc<RgbImage>>,
    order: VecDeque<usize>,
    bytes: usize,
    budget: usize,
}

impl PhotoSet {
    /// The photos in `folder` (recursively); at least one is needed.
    pub fn open(folder: &Path, budget_bytes: usize) -> Result<Self> {
        let paths = codec::image_files(folder)
            .map_err(|e| anyhow::anyhow!("cannot list photos in {}: {e}", folder.display()))?;
        Self::from_paths(paths, budget_bytes, folder)
    }

    /// A set from explicit paths (`origin` names it in errors).
    pub fn from_paths(paths: Vec<PathBuf>, budget_bytes: usize, origin: &Path) -> Result<Self> {
        if paths.is_empty() {
            bail!("no photos found in {}", origin.display());
        }
        Ok(Self {
            paths,
            cache: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget: budget_bytes,
        })
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Photo `i`, reduced to at most [`CACHE_SIDE`] a side.
    pub fn get(&mut self, i: usize) -> Result<Arc<RgbImage>> {
        if let Some(image) = self.cache.get(&i) {
            return Ok(image.clone());
        }
        let image = Arc::new(reduce(codec::load_rgb(&self.paths[i])?.image, CACHE_SIDE));
        let size = image.as_raw().len();
        while self.bytes + size > self.budget
            && let Some(old) = self.order.pop_front()
        {
            if let Some(evicted) = self.cache.remove(&old) {
                self.bytes -= evicted.as_raw().len();
            }
        }
        self.cache.insert(i, image.clone());
        self.order.push_back(i);
        self.bytes += size;
        Ok(image)
    }
}

/// Downscales so the longer side is at most `side` (never upscales).
pub fn reduce(image: RgbImage, side: u32) -> RgbImage {
    let longest = image.width().max(image.height());
    if longest <= side {
        return image;
    }
    let scale = side as f64 / longest as f64;
    let (w, h) = (
        ((image.width() as f64 * scale).round() as u32).max(1),
        ((image.height() as f64 * scale).round() as u32).max(1),
    );
    image::imageops::resize(&image, w, h, FilterType::Triangle)
}

/// Where a crop came from, so cover and hidden are never the same crop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CropSource {
    photo: usize,
    x: u32,
    y: u32,
    side: u32,
    flip: bool,
}

/// A random `crop` x `crop` patch: a random photo, a random scale (down to showing the whole
/// shorter side), a random position, a random horizontal flip.
fn random_crop(photos: &mut PhotoSet, crop: u32, rng: &mut Rng) -> Result<(RgbImage, CropSource)> {
    let photo = rng.below(photos.len());
    let image = photos.get(photo)?;
    let shorter = image.width().min(image.height());
    if shorter < 8 {
        bail!(
            "photo {} is too small to crop",
            photos.paths()[photo].display()
        );
    }
    // Side of the square taken from the photo before resizing to `crop`: from pixel for
    // pixel up to the whole shorter side.
    let smallest = crop.min(shorter);
    let side = (smallest + (rng.uniform() * (shorter - smallest + 1) as f64) as u32).min(shorter);
    let x = rng.below((image.width() - side + 1) as usize) as u32;
    let y = rng.below((image.height() - side + 1) as usize) as u32;
    let flip = rng.uniform() < 0.5;
    let mut patch = image::imageops::crop_imm(image.as_ref(), x, y, side, side).to_image();
    if side != crop {
        patch = image::imageops::resize(&patch, crop, crop, FilterType::Triangle);
    }
    if flip {
        image::imageops::flip_horizontal_in_place(&mut patch);
    }
    Ok((
        patch,
        CropSource {
            photo,
            x,
            y,
            side,
            flip,
        },
    ))
}

/// One batch: covers and hidden images as `[n, 3, crop, crop]` floats on [-1, 1].
#[derive(Debug, Clone)]
pub struct Batch {
    pub step: u64,
    pub size: usize,
    pub crop: usize,
    pub cover: Vec<f32>,
    pub hidden: Vec<f32>,
}

impl Batch {
    /// Cover and hidden as `[size, 3, crop, crop]` tensors on `device`.
    pub fn tensors(&self, device: &Device) -> (Tensor<4>, Tensor<4>) {
        let shape = [self.size, 3, self.crop, self.crop];
        let tensor =
            |data: &[f32]| Tensor::<4>::from_data(TensorData::new(data.to_vec(), shape), device);
        (tensor(&self.cover), tensor(&self.hidden))
    }
}

/// Makes the batch of `step`, deterministically from `seed` and `step`.
pub fn make_batch(
    photos: &mut PhotoSet,
    seed: u64,
    step: u64,
    size: usize,
    crop: u32,
) -> Result<Batch> {
    let mut rng = Rng::for_step(seed, 1, step);
    let plane = (crop * crop * 3) as usize;
    let mut cover = Vec::with_capacity(size * plane);
    let mut hidden = Vec::with_capacity(size * plane);
    for _ in 0..size {
        let (c, c_source) = random_crop(photos, crop, &mut rng)?;
        let (mut h, mut h_source) = random_crop(photos, crop, &mut rng)?;
        // Redraw a hidden crop that is the cover's (a few tries: a set of one tiny photo
        // has only one crop).
        for _ in 0..16 {
            if h_source != c_source {
                break;
            }
            (h, h_source) = random_crop(photos, crop, &mut rng)?;
        }
        cover.extend(codec::Planar::from_rgb8(&c).data);
        hidden.extend(codec::Planar::from_rgb8(&h).data);
    }
    Ok(Batch {
        step,
        size,
        crop: crop as usize,
        cover,
        hidden,
    })
}

/// A thread that prepares batches ahead of the training step.
pub struct Loader {
    receiver: Receiver<Result<Batch>>,
    handle: Option<JoinHandle<()>>,
}

impl Loader {
    /// Starts preparing batches for steps `first_step..` (two ahead at most).
    pub fn start(mut photos: PhotoSet, seed: u64, first_step: u64, size: usize, crop: u32) -> Self {
        let (sender, receiver): (SyncSender<Result<Batch>>, _) = sync_channel(2);
        let handle = std::thread::Builder::new()
            .name("stegnet-loader".into())
            .spawn(move || {
                for step in first_step.. {
                    let batch = make_batch(&mut photos, seed, step, size, crop);
                    let failed = batch.is_err();
                    if sender.send(batch).is_err() || failed {
                        break;
                    }
                }
            })
            .expect("the loader thread starts");
        Self {
            receiver,
            handle: Some(handle),
        }
    }

    /// The next batch, in step order.
    pub fn next(&self) -> Result<Batch> {
        self.receiver
            .recv()
            .map_err(|_| anyhow::anyhow!("the data loader stopped"))?
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Unblock the thread (its next send fails), then wait for it.
        let (_, dummy) = sync_channel(0);
        drop(std::mem::replace(&mut self.receiver, dummy));
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
