//! Re-estimating BatchNorm's running statistics from many batches ("precise BN").
//! During training they are an exponential moving average (momentum 0.1) over batches of
//! a few small crops, so they mostly follow the last dozen batches and the inference
//! figures swing from one checkpoint to the next. With the weights fixed, averaging the
//! batch statistics over many batches gives the statistics of the data itself.

use anyhow::Result;
use burn::module::Module;
use burn::prelude::*;

use super::data::{PhotoSet, make_batch};
use super::loss::quantize_straight_through;
use crate::model::{ModelInfo, StegNet, StegNetConfig, weights};

/// Data stream of the calibration batches (apart from the training loop's).
const STREAM_SEED: u64 = 0x5eed_ca11;

/// How many batches of which shape the statistics are averaged over.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    pub batches: u64,
    /// Pairs per batch.
    pub size: usize,
    /// Side of the crops.
    pub crop: u32,
}

/// Replaces the running statistics of `model` by the mean of the batch statistics over the
/// `calibration` batches from `photos`; the weights are unchanged. Runs the networks as
/// training does (batch statistics, 8-bit rounded stego image into the decoder) on
/// `device`, without gradients being used.
pub fn calibrate_batch_norm(
    model: StegNet,
    info: &ModelInfo,
    network: &StegNetConfig,
    photos: &mut PhotoSet,
    calibration: Calibration,
    device: &Device,
) -> Result<StegNet> {
    let Calibration {
        batches,
        size,
        crop,
    } = calibration;
    let training = device.clone().autodiff();
    let mut bytes = weights::to_bytes(model, info)?;
    for k in 1..=batches.max(1) {
        // Momentum 1/k makes the running value the plain mean of the k batches so far.
        let averaging = network.clone().with_bn_momentum(1.0 / k as f64);
        let (model, _) = weights::from_bytes_with(bytes, "calibration", &training, &averaging)?;
        // No parameter is tracked, so autodiff records no graph (none would ever be freed
        // without a backward pass); BatchNorm still takes its training path on this device.
        let model = model.no_grad();
        let batch = make_batch(photos, STREAM_SEED, k, size, crop)?;
        let (cover, hidden) = batch.tensors(&training);
        let embedded = quantize_straight_through(model.embed(cover, hidden));
        drop(model.reveal(embedded));
        bytes = weights::to_bytes(model.valid(), info)?;
    }
    Ok(weights::from_bytes_with(bytes, "calibration", device, network)?.0)
}
