//! The training loop. It reports everything it does as [`TrainEvent`]s on a channel and
//! obeys a [`TrainControl`] (pause, stop), so the command line and the app's Train view
//! show it without touching it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use image::RgbImage;

use super::TrainConfig;
use super::average::WeightAverage;
use super::checkpoint::{self, CheckpointHeader};
use super::data::{Batch, Loader, PhotoSet};
use super::loss::{LossParts, LossValues, cover_view, quantize_straight_through};
use crate::codec;
use crate::device::ComputeDevice;
use crate::eval::centre_crop;
use crate::metrics;
use crate::model::{ModelInfo, ModelSource, StegNet, StegNetConfig, weights};
use crate::pipeline::{self, NoProgress, Tiling};

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct TrainSetup {
    pub config: TrainConfig,
    /// Folder of training photos.
    pub data: PathBuf,
    /// Folder of validation photos; without one, every tenth training photo is held out.
    pub val: Option<PathBuf>,
    /// Where the trained weights go at the end.
    pub out: PathBuf,
    /// Where checkpoints go.
    pub checkpoint: PathBuf,
    /// Where the best validated weights go (rewritten whenever a validation beats them).
    pub best: PathBuf,
    /// Go on from this checkpoint (its settings and step; `config.steps` may extend the run).
    pub resume: Option<PathBuf>,
    /// Start from these weights instead of a fresh initialisation.
    pub init: Option<ModelSource>,
    /// The device (without autodiff; training adds it).
    pub device: Device,
    /// What the device is, for people ("CPU (flex, 2 threads)", a GPU's name).
    pub device_label: String,
    /// How the network is built (the depthwise mode that runs fastest on the device).
    pub network: StegNetConfig,
    /// Memory for decoded photos.
    pub cache_bytes: usize,
}

impl TrainSetup {
    /// A fresh run of `config` on `data` (validation photos held out of it) on `compute`,
    /// writing the weights to `out` and checkpoints beside them (`.ckpt`).
    pub fn new(config: TrainConfig, data: PathBuf, out: PathBuf, compute: ComputeDevice) -> Self {
        Self {
            config,
            data,
            val: None,
            checkpoint: out.with_extension("ckpt"),
            best: best_path(&out),
            out,
            resume: None,
            init: None,
            network: compute.network_config(),
            device: compute.device,
            device_label: compute.label,
            cache_bytes: 1 << 30,
        }
    }
}

/// Where a run writing its weights to `out` keeps its best validated weights:
/// `NAME-best.EXT` beside `NAME.EXT`.
pub fn best_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    match out.extension() {
        Some(ext) => out.with_file_name(format!("{stem}-best.{}", ext.to_string_lossy())),
        None => out.with_file_name(format!("{stem}-best")),
    }
}

/// What the trainer reports.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    Started {
        /// The device that trains (see [`TrainSetup::device_label`]).
        device: String,
        first_step: u64,
        total_steps: u64,
        train_photos: usize,
        val_photos: usize,
    },
    Step(StepReport),
    Validation(ValidationReport),
    Preview(Box<Preview>),
    Checkpoint {
        step: u64,
        path: PathBuf,
    },
    /// The validation of `step` is the best of the run so far; its weights are in `path`.
    Best {
        step: u64,
        path: PathBuf,
    },
    Finished {
        step: u64,
        weights: PathBuf,
        checkpoint: PathBuf,
    },
}

/// One optimisation step.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct StepReport {
    /// Steps completed (1-based).
    pub step: u64,
    pub total_steps: u64,
    pub learning_rate: f64,
    pub loss: LossValues,
    /// Pairs (cover + hidden) per second, smoothed.
    pub pairs_per_second: f64,
    pub eta_seconds: f64,
}

/// The paper's figures on the fixed validation pairs, after 8-bit rounding (means).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ValidationReport {
    pub step: u64,
    pub cover_changing_rate: f64,
    pub hidden_decoded_difference: f64,
    pub decoded_rate: f64,
    pub cover_psnr_db: f64,
    pub hidden_psnr_db: f64,
}

impl ValidationReport {
    /// The sum of the paper's two error figures (cover changing rate and hidden-decoded
    /// difference): what "best" means when the trainer keeps the best weights.
    pub fn error(&self) -> f64 {
        self.cover_changing_rate + self.hidden_decoded_difference
    }
}

/// The best validation of a run so far (kept in checkpoints, so a resumed run compares
/// with the validations before the stop).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BestValidation {
    pub step: u64,
    /// [`ValidationReport::error`].
    pub error: f64,
}

/// The first validation pair as the model handles it now.
#[derive(Debug, Clone)]
pub struct Preview {
    pub step: u64,
    pub cover: RgbImage,
    pub hidden: RgbImage,
    pub embedded: RgbImage,
    pub decoded: RgbImage,
}

/// Pause and stop, from another thread (the app's buttons, Ctrl-C).
#[derive(Debug)]
pub struct TrainControl {
    stop: AtomicBool,
    pause: AtomicBool,
    /// Stop once this many steps are done (a checkpoint is written).
    stop_at: AtomicU64,
}

impl Default for TrainControl {
    fn default() -> Self {
        Self {
            stop: AtomicBool::new(false),
            pause: AtomicBool::new(false),
            stop_at: AtomicU64::new(u64::MAX),
        }
    }
}

impl TrainControl {
    /// Ask the run to stop when `step` steps are done.
    pub fn stop_at(&self, step: u64) {
        self.stop_at.store(step, Ordering::SeqCst);
    }
    /// Ask the run to stop after the current step (it writes a checkpoint first).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
    pub fn set_paused(&self, paused: bool) {
        self.pause.store(paused, Ordering::SeqCst);
    }
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn reached(&self, step: u64) -> bool {
        self.is_stopped() || step >= self.stop_at.load(Ordering::SeqCst)
    }
    pub fn is_paused(&self) -> bool {
        self.pause.load(Ordering::SeqCst)
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub steps_done: u64,
    pub stopped_early: bool,
    pub weights: PathBuf,
    pub checkpoint: PathBuf,
    /// The best validated weights: their step and file (none if the run never validated).
    pub best: Option<(u64, PathBuf)>,
}

/// The Adam optimiser of the paper (beta1 0.5, beta2 0.9).
pub fn optimizer() -> ModuleOptimizer {
    AdamConfig::new().with_beta_1(0.5).with_beta_2(0.9).init()
}

/// One step: forward, the loss `config` minimises on the 8-bit rounded stego image,
/// backward, Adam. Returns the paper's loss and its parts, whatever the objective (the
/// cover's on the image its objective measures).
pub fn train_step(
    model: StegNet,
    optimizer: &mut ModuleOptimizer,
    batch: &Batch,
    learning_rate: f64,
    config: &TrainConfig,
    device: &Device,
) -> (StegNet, LossValues) {
    let (cover, hidden) = batch.tensors(device);
    let embedded = quantize_straight_through(model.embed(cover.clone(), hidden.clone()));
    let decoded = model.reveal(embedded.clone());
    let seen = cover_view(config.objective, cover.clone(), embedded);
    let parts = LossParts::measure(cover, seen, hidden, decoded);
    let values = parts.values();
    let gradients = GradientsParams::from_grads(parts.minimised(config).backward(), &model);
    (optimizer.step(learning_rate, model, gradients), values)
}

/// Fixed validation pairs: centre crops, photo i hiding photo i + 1.
struct ValidationSet {
    pairs: Vec<(RgbImage, RgbImage)>,
}

impl ValidationSet {
    fn new(photos: &mut PhotoSet, pairs: usize, size: u32) -> Result<Self> {
        let n = photos.len();
        let crop = |image: &RgbImage| centre_crop(image, size);
        let mut list = Vec::new();
        for i in 0..pairs.min(n) {
            let cover = crop(photos.get(i)?.as_ref());
            let hidden = crop(photos.get((i + 1) % n)?.as_ref());
            let hidden = codec::fit(
                &hidden,
                cover.width(),
                cover.height(),
                codec::FitMode::Resize,
            );
            list.push((cover, hidden));
        }
        Ok(Self { pairs: list })
    }

    /// The figures of `inference` (an inference model) on the pairs, as users save them.
    fn evaluate(
        &self,
        inference: &StegNet,
        device: &Device,
        step: u64,
    ) -> (ValidationReport, Preview) {
        let mut sums = [0.0f64; 4];
        let mut preview = None;
        for (cover, hidden) in &self.pairs {
            let tiling = Tiling::default();
            let embedded =
                pipeline::embed(inference, device, cover, hidden, tiling, &mut NoProgress)
                    .expect("not cancellable");
            let embedded = pipeline::to_save(
                inference,
                device,
                cover,
                hidden,
                &embedded,
                None,
                tiling,
                &mut NoProgress,
            )
            .expect("not cancellable");
            let decoded = pipeline::reveal(inference, device, &embedded, tiling, &mut NoProgress)
                .expect("not cancellable");
            sums[0] += metrics::cover_changing_rate(cover, &embedded);
            sums[1] += metrics::mean_abs_diff(hidden, &decoded);
            sums[2] += metrics::psnr(cover, &embedded).min(100.0);
            sums[3] += metrics::psnr(hidden, &decoded).min(100.0);
            preview.get_or_insert_with(|| Preview {
                step,
                cover: cover.clone(),
                hidden: hidden.clone(),
                embedded,
                decoded,
            });
        }
        let n = self.pairs.len().max(1) as f64;
        let report = ValidationReport {
            step,
            cover_changing_rate: sums[0] / n,
            hidden_decoded_difference: sums[1] / n,
            decoded_rate: 1.0 - sums[1] / n,
            cover_psnr_db: sums[2] / n,
            hidden_psnr_db: sums[3] / n,
        };
        (report, preview.expect("at least one validation pair"))
    }
}

/// Splits the photos: the validation folder if given, else every tenth photo.
fn photo_sets(setup: &TrainSetup) -> Result<(PhotoSet, PhotoSet)> {
    let budget = setup.cache_bytes;
    match &setup.val {
        Some(val) => Ok((
            PhotoSet::open(&setup.data, budget / 2)?,
            PhotoSet::open(val, budget / 2)?,
        )),
        None => {
            let all = codec::image_files(&setup.data)
                .with_context(|| format!("cannot list photos in {}", setup.data.display()))?;
            let (val, train): (Vec<_>, Vec<_>) =
                all.into_iter().enumerate().partition(|(i, _)| i % 10 == 9);
            let strip =
                |v: Vec<(usize, PathBuf)>| v.into_iter().map(|(_, p)| p).collect::<Vec<_>>();
            let (train, mut val) = (strip(train), strip(val));
            if val.is_empty() {
                val = train.clone();
            }
            Ok((
                PhotoSet::from_paths(train, budget / 2, &setup.data)?,
                PhotoSet::from_paths(val, budget / 2, &setup.data)?,
            ))
        }
    }
}

/// Where a run begins: a fresh initialisation, trained weights (`init`) or a checkpoint.
struct Beginning {
    model: StegNet,
    optimizer: ModuleOptimizer,
    config: TrainConfig,
    step: u64,
    elapsed_seconds: f64,
    /// The checkpoint's moving average of the weights.
    average: Option<StegNet>,
    /// The best validation before the checkpoint, and its weights (a weights file's bytes).
    best: Option<(BestValidation, Vec<u8>)>,
    start: Option<ModelInfo>,
}

fn begin(setup: &TrainSetup, autodiff: &Device) -> Result<Beginning> {
    if let Some(path) = &setup.resume {
        let saved = checkpoint::load(path, autodiff, &setup.network, optimizer())?;
        let mut config = saved.header.config.clone();
        config.steps = setup.config.steps.max(config.steps);
        return Ok(Beginning {
            model: saved.model,
            optimizer: saved.optimizer,
            config,
            step: saved.header.step,
            elapsed_seconds: saved.header.elapsed_seconds,
            average: saved.average,
            best: saved.header.best.zip(saved.best_weights),
            start: saved.header.start,
        });
    }
    setup.config.tuning.check_start(setup.init.is_some())?;
    autodiff.seed(setup.config.seed);
    let (model, start) = match &setup.init {
        Some(source) => {
            let (model, info) = weights::load_with(source, autodiff, &setup.network)?;
            (model, Some(info))
        }
        None => (setup.network.init(autodiff), None),
    };
    Ok(Beginning {
        model,
        optimizer: optimizer(),
        config: setup.config.clone(),
        step: 0,
        elapsed_seconds: 0.0,
        average: None,
        best: None,
        start,
    })
}

/// Runs training to the end or until stopped, reporting on `events` (a closed channel is
/// not an error: nobody is watching).
pub fn train(
    setup: TrainSetup,
    events: &Sender<TrainEvent>,
    control: &TrainControl,
) -> Result<TrainOutcome> {
    let autodiff = setup.device.clone().autodiff();
    let Beginning {
        mut model,
        mut optimizer,
        mut config,
        step: first_step,
        elapsed_seconds: earlier_seconds,
        average: saved_average,
        mut best,
        start,
    } = begin(&setup, &autodiff)?;
    model = config.tuning.prepare(model);
    // The average goes on from the checkpoint's, or starts at the first weights.
    let mut average = config.average_decay.map(|decay| match &saved_average {
        Some(saved) => WeightAverage::new(decay, saved),
        None => WeightAverage::new(decay, &model.valid()),
    });
    // What is validated, checkpointed as the average and saved: the averaged weights if the
    // run keeps them, else the last iterate.
    let inference_model = |model: &StegNet, average: &Option<WeightAverage>| match average {
        Some(average) => average.apply(model.valid()),
        None => model.valid(),
    };
    config.steps = config.steps.max(first_step);
    let (train_photos, mut val_photos) = photo_sets(&setup)?;
    let validation = ValidationSet::new(&mut val_photos, config.val_pairs, config.val_size)?;
    let _ = events.send(TrainEvent::Started {
        device: setup.device_label.clone(),
        first_step,
        total_steps: config.steps,
        train_photos: train_photos.len(),
        val_photos: val_photos.len(),
    });
    // A resumed run's best so far goes where this run keeps its best (it may be another
    // file than the stopped run's).
    if let Some((best, bytes)) = &best {
        weights::save_bytes(bytes, &setup.best)?;
        let _ = events.send(TrainEvent::Best {
            step: best.step,
            path: setup.best.clone(),
        });
    }
    let loader = Loader::start(
        train_photos,
        config.seed,
        first_step,
        config.batch,
        config.crop,
    );
    let started = Instant::now();
    let mut smoothed_step_seconds: Option<f64> = None;
    let mut step = first_step;
    let model_info = |step: u64| config.describe(&start, step);
    let save_checkpoint = |model: &StegNet,
                           optimizer: &ModuleOptimizer,
                           average: &Option<WeightAverage>,
                           best: &Option<(BestValidation, Vec<u8>)>,
                           step: u64|
     -> Result<()> {
        let header = CheckpointHeader {
            step,
            config: config.clone(),
            elapsed_seconds: earlier_seconds + started.elapsed().as_secs_f64(),
            start: start.clone(),
            best: best.as_ref().map(|(best, _)| *best),
        };
        let averaged = average.as_ref().map(|average| average.apply(model.valid()));
        let best_weights = best.as_ref().map(|(_, bytes)| bytes.as_slice());
        checkpoint::save(
            &setup.checkpoint,
            &header,
            model,
            optimizer,
            averaged,
            best_weights,
        )?;
        let _ = events.send(TrainEvent::Checkpoint {
            step,
            path: setup.checkpoint.clone(),
        });
        Ok(())
    };
    while step < config.steps && !control.reached(step) {
        if control.is_paused() {
            std::thread::sleep(Duration::from_millis(30));
            continue;
        }
        let batch = loader.next()?;
        let step_start = Instant::now();
        let lr = config.learning_rate(step);
        let (next, loss) = train_step(model, &mut optimizer, &batch, lr, &config, &autodiff);
        model = next;
        step += 1;
        if let Some(average) = &mut average {
            // `valid()` folds the step's running-statistics update in.
            average.update(&model.valid(), step);
        }
        let seconds = step_start.elapsed().as_secs_f64();
        let smoothed = smoothed_step_seconds.map_or(seconds, |s| 0.9 * s + 0.1 * seconds);
        smoothed_step_seconds = Some(smoothed);
        let _ = events.send(TrainEvent::Step(StepReport {
            step,
            total_steps: config.steps,
            learning_rate: lr,
            loss,
            pairs_per_second: config.batch as f64 / smoothed,
            eta_seconds: smoothed * (config.steps - step) as f64,
        }));
        if step % config.validate_every == 0 || step == config.steps {
            let inference = inference_model(&model, &average);
            let (report, preview) = validation.evaluate(&inference, &setup.device, step);
            let _ = events.send(TrainEvent::Validation(report));
            let _ = events.send(TrainEvent::Preview(Box::new(preview)));
            if best
                .as_ref()
                .is_none_or(|(best, _)| report.error() < best.error)
            {
                let bytes = weights::to_bytes(inference, &model_info(step))?;
                weights::save_bytes(&bytes, &setup.best)?;
                let validation = BestValidation {
                    step,
                    error: report.error(),
                };
                best = Some((validation, bytes));
                let _ = events.send(TrainEvent::Best {
                    step,
                    path: setup.best.clone(),
                });
            }
        }
        if step % config.checkpoint_every == 0 && step < config.steps {
            save_checkpoint(&model, &optimizer, &average, &best, step)?;
        }
    }
    save_checkpoint(&model, &optimizer, &average, &best, step)?;
    weights::save(
        inference_model(&model, &average),
        &model_info(step),
        &setup.out,
    )?;
    let _ = events.send(TrainEvent::Finished {
        step,
        weights: setup.out.clone(),
        checkpoint: setup.checkpoint.clone(),
    });
    Ok(TrainOutcome {
        steps_done: step,
        stopped_early: step < config.steps,
        weights: setup.out,
        checkpoint: setup.checkpoint,
        best: best.map(|(best, _)| (best.step, setup.best)),
    })
}
