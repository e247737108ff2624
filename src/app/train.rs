//! The Train view: StegNet learning live, for demonstrators. The trainer of the core runs on
//! a worker thread and reports through its event channel; this view only drains the events,
//! keeps the history, and draws curves and previews from it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use anyhow::bail;
use eframe::egui::{self, Color32};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::image_view::Textures;
use super::studio::{Picture, residual};
use super::worker::{Job, take_finished};
use crate::device::{self, DeviceChoice};
use crate::model::ModelSource;
use crate::train::checkpoint;
use crate::train::trainer::{
    self, Preview, StepReport, TrainControl, TrainEvent, TrainOutcome, TrainSetup, ValidationReport,
};
use crate::train::{Objective, Schedule, TrainConfig, Tuning};

/// The most points drawn per curve; longer histories are thinned evenly.
const MAX_PLOT_POINTS: usize = 2000;

/// The settings of the next run, as the form shows them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TrainForm {
    /// Folder of training photos.
    pub data: String,
    /// Folder of validation photos; empty: every tenth training photo is held out.
    pub val: String,
    /// Where each run gets its own folder (checkpoint and weights).
    pub runs_folder: PathBuf,
    pub steps: u64,
    pub batch: usize,
    pub crop: u32,
    pub lr: f64,
    /// Validate, preview and checkpoint every this many steps.
    pub every: u64,
    /// Validate, preview and save the moving average of the weights (steadier, and better)
    /// rather than the last step's weights.
    pub average_weights: bool,
    pub device: DeviceChoice,
    /// The weights a new run starts from (a resumed run has its checkpoint's).
    pub start: StartFrom,
    /// What learns: both networks, or only the decoder of trained weights.
    pub tuning: Tuning,
    /// What the optimiser lowers: the paper's loss, or the two mean absolute errors alone.
    pub objective: Objective,
    /// Weight of the cover's terms against the secret's (1: as in the paper).
    pub cover_weight: f64,
    /// Go on from this checkpoint instead of starting fresh.
    #[serde(skip)]
    pub resume: Option<PathBuf>,
}

/// The weights a new run starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum StartFrom {
    /// A freshly initialised network: the network learning from nothing.
    #[default]
    Fresh,
    /// The built-in model, to fine-tune it.
    BuiltIn,
}

impl StartFrom {
    /// The peak learning rate to begin with: a fresh network learns fastest at 1e-3; the
    /// built-in model keeps what it learned only at a small rate.
    pub fn suggested_lr(self) -> f64 {
        match self {
            StartFrom::Fresh => 1e-3,
            StartFrom::BuiltIn => 1e-4,
        }
    }

    /// The crop side to begin with: small crops show a fresh network learning within
    /// minutes; the built-in model was trained on 64x64 crops.
    pub fn suggested_crop(self) -> u32 {
        match self {
            StartFrom::Fresh => 32,
            StartFrom::BuiltIn => 64,
        }
    }
}

impl Default for TrainForm {
    /// Settings a 2-core CPU shows progress with within minutes (small batch and crops).
    fn default() -> Self {
        let runs_folder = super::data_folder("training-runs");
        let trainer = TrainConfig::default();
        Self {
            data: String::new(),
            val: String::new(),
            runs_folder,
            steps: 1000,
            batch: 8,
            crop: StartFrom::Fresh.suggested_crop(),
            lr: StartFrom::Fresh.suggested_lr(),
            every: 25,
            average_weights: true,
            device: DeviceChoice::Auto,
            start: StartFrom::Fresh,
            tuning: trainer.tuning,
            objective: trainer.objective,
            cover_weight: trainer.cover_weight,
            resume: None,
        }
    }
}

impl TrainForm {
    /// The trainer's settings for this form.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            steps: self.steps.max(1),
            batch: self.batch.max(1),
            crop: self.crop.max(8),
            lr: self.lr,
            schedule: Schedule::Cosine,
            warmup: (self.steps / 20).min(50),
            validate_every: self.every.max(1),
            checkpoint_every: self.every.max(1),
            average_decay: TrainConfig::default()
                .average_decay
                .filter(|_| self.average_weights),
            tuning: self.tuning,
            objective: self.objective,
            cover_weight: self.cover_weight,
            ..TrainConfig::default()
        }
    }

    /// Changes the weights a new run starts from. The learning rate and crop follow the new
    /// start's suggestions where they still hold the old start's; values the user chose stay.
    pub fn set_start(&mut self, start: StartFrom) {
        if self.lr == self.start.suggested_lr() {
            self.lr = start.suggested_lr();
        }
        if self.crop == self.start.suggested_crop() {
            self.crop = start.suggested_crop();
        }
        self.start = start;
    }

    /// The trained weights a new run starts from, if any.
    pub fn init(&self) -> Option<ModelSource> {
        (self.start == StartFrom::BuiltIn).then_some(ModelSource::BuiltIn)
    }
}

/// The images of the latest preview: the fixed validation pair as the model handles it.
pub struct PreviewPictures {
    pub step: u64,
    pub cover: Picture,
    pub embedded: Picture,
    pub secret: Picture,
    pub decoded: Picture,
    /// `|cover - embedded|` magnified x10.
    pub residual: Picture,
}

impl PreviewPictures {
    fn new(preview: Preview) -> Self {
        let cover = Picture::new("cover", preview.cover);
        let embedded = Picture::new("embedded", preview.embedded);
        Self {
            step: preview.step,
            residual: residual(&cover, &embedded, 10.0),
            cover,
            embedded,
            secret: Picture::new("secret", preview.hidden),
            decoded: Picture::new("decoded", preview.decoded),
        }
    }
}

/// One training run on its worker thread, and everything it reported so far.
pub struct TrainRun {
    job: Option<Job<TrainOutcome>>,
    events: Receiver<TrainEvent>,
    control: Arc<TrainControl>,
    /// The run's folder: `weights.ckpt` (checkpoint), `weights.bpk` and `weights-best.bpk`.
    pub folder: PathBuf,
    /// The device that trains, once the trainer has started.
    pub device: Option<String>,
    pub first_step: u64,
    pub total_steps: u64,
    pub steps: Vec<StepReport>,
    pub validations: Vec<ValidationReport>,
    pub preview: Option<PreviewPictures>,
    /// The latest checkpoint written: step and file.
    pub checkpoint: Option<(u64, PathBuf)>,
    /// The best validated weights so far: step and file.
    pub best: Option<(u64, PathBuf)>,
    /// How the run ended; `None` while it runs.
    pub outcome: Option<Result<TrainOutcome, String>>,
}

impl TrainRun {
    /// Starts `form` as a new run in a fresh folder under `form.runs_folder`.
    fn start(form: &TrainForm) -> anyhow::Result<Self> {
        let data = PathBuf::from(form.data.trim());
        if form.data.trim().is_empty() {
            bail!("choose a folder of training photos first");
        }
        if !data.is_dir() {
            bail!("{} is not a folder", data.display());
        }
        let val = (!form.val.trim().is_empty()).then(|| PathBuf::from(form.val.trim()));
        if let Some(val) = val.as_ref().filter(|v| !v.is_dir()) {
            bail!("{} is not a folder", val.display());
        }
        let resume = form.resume.clone();
        let init = form.init();
        // Said at once, before a run folder or a worker exists (the trainer checks it too).
        form.tuning
            .check_start(resume.is_some() || init.is_some())?;
        let folder = crate::fsutil::new_folder(&form.runs_folder, "run")?;
        let config = form.config();
        let choice = form.device;
        let out = folder.join("weights.bpk");
        let control = Arc::new(TrainControl::default());
        let (sender, events) = channel();
        let worker_control = control.clone();
        let job = Job::spawn("training", move |_| {
            let compute = device::select(choice)?;
            let setup = TrainSetup {
                val,
                resume,
                init,
                ..TrainSetup::new(config, data, out, compute)
            };
            trainer::train(setup, &sender, &worker_control)
        });
        Ok(Self {
            job: Some(job),
            events,
            control,
            folder,
            device: None,
            first_step: 0,
            total_steps: form.steps,
            steps: Vec::new(),
            validations: Vec::new(),
            preview: None,
            checkpoint: None,
            best: None,
            outcome: None,
        })
    }

    /// Takes in what the trainer reported since the last call; call once per frame.
    pub fn poll(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                TrainEvent::Started {
                    device,
                    first_step,
                    total_steps,
                    ..
                } => {
                    self.device = Some(device);
                    self.first_step = first_step;
                    self.total_steps = total_steps;
                }
                TrainEvent::Step(report) => self.steps.push(report),
                TrainEvent::Validation(report) => self.validations.push(report),
                TrainEvent::Preview(preview) => {
                    self.preview = Some(PreviewPictures::new(*preview));
                }
                TrainEvent::Checkpoint { step, path } => self.checkpoint = Some((step, path)),
                TrainEvent::Best { step, path } => self.best = Some((step, path)),
                TrainEvent::Finished { .. } => {}
            }
        }
        if let Some(result) = take_finished(&mut self.job) {
            self.outcome = Some(result);
        }
    }

    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    pub fn paused(&self) -> bool {
        self.control.is_paused()
    }

    pub fn set_paused(&self, paused: bool) {
        self.control.set_paused(paused);
    }

    /// Stops after the current step; the trainer then writes a checkpoint and the weights.
    pub fn stop(&self) {
        self.control.set_paused(false);
        self.control.stop();
    }

    /// Steps completed so far.
    pub fn step(&self) -> u64 {
        self.steps.last().map_or(self.first_step, |s| s.step)
    }

    /// The weights the run wrote, once it has ended well.
    pub fn weights(&self) -> Option<&Path> {
        match &self.outcome {
            Some(Ok(outcome)) => Some(&outcome.weights),
            _ => None,
        }
    }
}

/// What the Train view asks the app to do (dialogs and the model in use belong to it).
#[derive(Debug, Clone, PartialEq)]
pub enum TrainRequest {
    PickDataFolder,
    PickValFolder,
    PickCheckpoint,
    /// Embed and reveal with these weights.
    UseWeights(PathBuf),
    UseBuiltIn,
}

/// Which loss curves are drawn, and how.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurveSettings {
    pub log_scale: bool,
    /// Weight of the past in the exponential moving average (0: raw values).
    pub smoothing: f32,
}

impl Default for CurveSettings {
    fn default() -> Self {
        Self {
            log_scale: true,
            smoothing: 0.8,
        }
    }
}

/// The Train view: the form, the current or last run, and how curves are drawn.
#[derive(Default)]
pub struct TrainView {
    pub form: TrainForm,
    pub run: Option<TrainRun>,
    pub curves: CurveSettings,
    /// The step the chosen checkpoint stopped at, shown beside it.
    resume_step: Option<u64>,
    pub error: Option<String>,
}

impl TrainView {
    pub fn new(form: TrainForm, curves: CurveSettings) -> Self {
        Self {
            form,
            curves,
            ..Self::default()
        }
    }

    /// Starts a run with the form's settings (unless one is running).
    pub fn start(&mut self) {
        if self.running() {
            return;
        }
        match TrainRun::start(&self.form) {
            Ok(run) => {
                self.run = Some(run);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("Cannot start training: {e:#}")),
        }
    }

    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(TrainRun::running)
    }

    /// Collects the run's events; call once per frame.
    pub fn poll(&mut self) {
        if let Some(run) = &mut self.run {
            run.poll();
        }
    }

    /// Makes the next Start go on from `path` (checked now, so a bad file is said at once).
    pub fn choose_checkpoint(&mut self, path: PathBuf) {
        match checkpoint::read_header(&path) {
            Ok(header) => {
                let config = &header.config;
                // A resumed run ends at the checkpoint's total unless given more steps.
                self.form.steps = config.steps.max(header.step + 1);
                self.form.batch = config.batch;
                self.form.crop = config.crop;
                self.form.lr = config.lr;
                self.form.average_weights = config.average_decay.is_some();
                self.form.tuning = config.tuning;
                self.form.objective = config.objective;
                self.form.cover_weight = config.cover_weight;
                self.resume_step = Some(header.step);
                self.form.resume = Some(path);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("Cannot use that checkpoint: {e:#}")),
        }
    }

    /// Sets the folder of training photos (a dropped folder, or a dropped checkpoint).
    pub fn take_dropped(&mut self, path: PathBuf) {
        if path.is_dir() {
            self.form.data = path.display().to_string();
        } else {
            self.choose_checkpoint(path);
        }
    }

    /// Draws the view; returns what the app should do for it.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        textures: &mut Textures,
        model_in_use: Option<&crate::model::ModelSource>,
        frame_seconds: f64,
    ) -> Option<TrainRequest> {
        let mut request = None;
        ui.heading("Train StegNet");
        ui.label(
            "Point it at a folder of photos and press Start: the curves and the preview show \
             the network learning to hide one image in another.",
        );
        ui.add_space(4.0);
        let running = self.running();
        ui.add_enabled_ui(!running, |ui| self.form_ui(ui, &mut request));
        ui.add_space(4.0);
        self.controls_ui(ui, model_in_use, frame_seconds, &mut request);
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if let Some(run) = &self.run {
            ui.separator();
            run_status_ui(ui, run, &self.form);
            ui.separator();
            ui.columns(2, |columns| {
                loss_plot(&mut columns[0], run, &mut self.curves);
                validation_plots(&mut columns[1], run);
            });
            ui.separator();
            preview_ui(ui, run, textures);
        }
        request
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, request: &mut Option<TrainRequest>) {
        egui::Grid::new("train-form")
            .num_columns(3)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                ui.label("Training photos");
                ui.add_sized(
                    [360.0, 20.0],
                    egui::TextEdit::singleline(&mut self.form.data),
                )
                .on_hover_text("A folder of photos (searched recursively); drop one here.");
                if ui.button("Choose...").clicked() {
                    *request = Some(TrainRequest::PickDataFolder);
                }
                ui.end_row();
                ui.label("Validation photos");
                ui.add_sized(
                    [360.0, 20.0],
                    egui::TextEdit::singleline(&mut self.form.val)
                        .hint_text("empty: every tenth training photo is held out"),
                )
                .on_hover_text(
                    "Photos never trained on; the fixed validation pairs come from here.",
                );
                if ui.button("Choose...").clicked() {
                    *request = Some(TrainRequest::PickValFolder);
                }
                ui.end_row();
                ui.label("Resume from");
                match (&self.form.resume, self.resume_step) {
                    (Some(path), Some(step)) => {
                        ui.label(format!("{} (step {step})", path.display()));
                    }
                    _ => {
                        ui.weak("nothing: a new run");
                    }
                }
                ui.horizontal(|ui| {
                    if ui
                        .button("Load checkpoint...")
                        .on_hover_text("Go on training exactly where a checkpoint stopped.")
                        .clicked()
                    {
                        *request = Some(TrainRequest::PickCheckpoint);
                    }
                    if self.form.resume.is_some() && ui.button("Fresh").clicked() {
                        self.form.resume = None;
                        self.resume_step = None;
                    }
                });
                ui.end_row();
                // A resumed run has its checkpoint's weights and mode.
                let fresh_run = self.form.resume.is_none();
                let mut start = self.form.start;
                radio_row(
                    ui,
                    "Start from",
                    fresh_run,
                    &mut start,
                    &[
                        (
                            StartFrom::Fresh,
                            "a fresh network",
                            "Random weights: watch the network learn from nothing.",
                        ),
                        (
                            StartFrom::BuiltIn,
                            "the built-in model",
                            "Fine-tune the shipped model: a small learning rate keeps what it \
                             learned (1e-4 and 64x64 crops are set, unless you chose others).",
                        ),
                    ],
                );
                if start != self.form.start {
                    self.form.set_start(start);
                }
                radio_row(
                    ui,
                    "What learns",
                    fresh_run,
                    &mut self.form.tuning,
                    &[
                        (
                            Tuning::Joint,
                            "both networks",
                            "Embedder and decoder together, as in the paper.",
                        ),
                        (
                            Tuning::DecoderOnly,
                            "the decoder only",
                            "Trained weights only: the embedder stays as it is and the decoder \
                             learns on the stego images users save.",
                        ),
                        (
                            Tuning::InferenceMode,
                            "both, as in use",
                            "Trained weights only: both networks learn while running exactly \
                             as they do for users (BatchNorm on its running statistics).",
                        ),
                    ],
                );
                radio_row(
                    ui,
                    "What it lowers",
                    fresh_run,
                    &mut self.form.objective,
                    &[
                        (
                            Objective::Paper,
                            "the paper's loss",
                            "Equation 7: the mean absolute error and the variance of both \
                             residuals, cover and secret.",
                        ),
                        (
                            Objective::L1,
                            "the figures alone",
                            "The mean absolute errors of cover and secret alone: the cover \
                             changing rate and hidden-decoded difference that the app and \
                             `stegnet eval` report.",
                        ),
                        (
                            Objective::L1Saved,
                            "the figures as saved",
                            "The same, the cover's measured on the stego image as \
                             saved: the smooth colour cast that saving carries aside \
                             costs nothing.",
                        ),
                        (
                            Objective::PsnrSaved,
                            "the figures and PSNR",
                            "The figures as saved, the cover's large differences costing \
                             more (each level beyond the fourth more than twice the first): \
                             fewer of the large changes that lower the cover's PSNR.",
                        ),
                    ],
                );
            });
        ui.horizontal_wrapped(|ui| {
            ui.label("Steps");
            ui.add(egui::DragValue::new(&mut self.form.steps).range(1..=1_000_000))
                .on_hover_text("Optimisation steps in all; a resumed run goes at least to its checkpoint's total.");
            ui.label("Batch");
            ui.add(egui::DragValue::new(&mut self.form.batch).range(1..=256))
                .on_hover_text("Pairs (cover, secret) per optimisation step.");
            ui.label("Crop");
            ui.add(egui::DragValue::new(&mut self.form.crop).range(8..=512))
                .on_hover_text("Side of the square training crops, in pixels.");
            ui.label("Learning rate");
            ui.add(
                egui::DragValue::new(&mut self.form.lr)
                    .range(1e-6..=1e-1)
                    .speed(1e-5)
                    .custom_formatter(|v, _| format!("{v:.1e}")),
            )
            .on_hover_text(
                "Peak rate of Adam (beta1 0.5, beta2 0.9), with warm-up and cosine decay.",
            );
            ui.label("Cover weight");
            ui.add_enabled(
                self.form.resume.is_none(),
                egui::DragValue::new(&mut self.form.cover_weight)
                    .range(0.1..=10.0)
                    .speed(0.05),
            )
            .on_hover_text(
                "Weight of the cover's terms against the secret's: above 1 keeps stego \
                 images closer to their covers, below 1 reveals secrets better (1: as in \
                 the paper).",
            );
            ui.label("Preview every");
            ui.add(egui::DragValue::new(&mut self.form.every).range(1..=10_000))
                .on_hover_text(
                    "Validate, update the preview and write a checkpoint every this many steps.",
                );
            ui.checkbox(&mut self.form.average_weights, "Average weights")
                .on_hover_text(
                    "Preview, validate and save the moving average of the weights over about \
                     the last 500 steps: steadier than the last step's weights, and better.",
                );
            egui::ComboBox::from_label("Device")
                .selected_text(device_name(self.form.device))
                .show_ui(ui, |ui| {
                    for choice in [DeviceChoice::Auto, DeviceChoice::Gpu, DeviceChoice::Cpu] {
                        ui.selectable_value(&mut self.form.device, choice, device_name(choice));
                    }
                });
        });
    }

    fn controls_ui(
        &mut self,
        ui: &mut egui::Ui,
        model_in_use: Option<&crate::model::ModelSource>,
        frame_seconds: f64,
        request: &mut Option<TrainRequest>,
    ) {
        ui.horizontal(|ui| {
            let running = self.running();
            if ui
                .add_enabled(!running, egui::Button::new("Start"))
                .on_hover_text("Train on a worker thread; the app stays responsive.")
                .clicked()
            {
                self.start();
            }
            if let Some(run) = self.run.as_ref().filter(|r| r.running()) {
                let (label, tip) = if run.paused() {
                    ("Resume", "Go on training.")
                } else {
                    ("Pause", "Hold training after the current step.")
                };
                if ui.button(label).on_hover_text(tip).clicked() {
                    run.set_paused(!run.paused());
                }
                if ui
                    .button("Stop")
                    .on_hover_text(
                        "Stop after the current step, writing a checkpoint and the weights.",
                    )
                    .clicked()
                {
                    run.stop();
                }
            }
            if let Some(weights) = self.run.as_ref().and_then(TrainRun::weights) {
                use_weights_button(
                    ui,
                    "Use this model",
                    "Embed and reveal with the weights just trained.",
                    weights,
                    model_in_use,
                    request,
                );
            }
            if let Some((step, best)) = self.run.as_ref().and_then(|run| run.best.as_ref()) {
                use_weights_button(
                    ui,
                    &format!("Use the best (step {step})"),
                    "Embed and reveal with the weights of the best validation so far \
                     (lowest cover changing rate + hidden-decoded difference).",
                    best,
                    model_in_use,
                    request,
                );
            }
            if matches!(model_in_use, Some(crate::model::ModelSource::File(_)))
                && ui
                    .button("Use the built-in model")
                    .on_hover_text("Go back to the model shipped with the app.")
                    .clicked()
            {
                *request = Some(TrainRequest::UseBuiltIn);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.weak(format!("UI frame {:.1} ms", frame_seconds * 1e3))
                    .on_hover_text("CPU time of the last frames of this window (smoothed).");
            });
        });
    }
}

/// A button that switches Embed and Reveal to the weights file `weights`; disabled while
/// those are the model in use.
fn use_weights_button(
    ui: &mut egui::Ui,
    text: &str,
    hover: &str,
    weights: &Path,
    model_in_use: Option<&crate::model::ModelSource>,
    request: &mut Option<TrainRequest>,
) {
    let in_use = matches!(model_in_use, Some(crate::model::ModelSource::File(p)) if p == weights);
    if ui
        .add_enabled(!in_use, egui::Button::new(text))
        .on_hover_text(hover)
        .clicked()
    {
        *request = Some(TrainRequest::UseWeights(weights.to_path_buf()));
    }
}

/// A form grid row: `label`, then a radio button per choice (value, text, hover text).
fn radio_row<T: PartialEq + Copy>(
    ui: &mut egui::Ui,
    label: &str,
    enabled: bool,
    value: &mut T,
    choices: &[(T, &str, &str)],
) {
    ui.label(label);
    ui.add_enabled_ui(enabled, |ui| {
        ui.horizontal(|ui| {
            for &(choice, text, hover) in choices {
                ui.radio_value(value, choice, text).on_hover_text(hover);
            }
        });
    });
    ui.end_row();
}

fn device_name(choice: DeviceChoice) -> &'static str {
    match choice {
        DeviceChoice::Auto => "GPU if present, else CPU",
        DeviceChoice::Gpu => "GPU (wgpu)",
        DeviceChoice::Cpu => "CPU",
    }
}

/// Progress, throughput, device, checkpoint and how the run ended.
fn run_status_ui(ui: &mut egui::Ui, run: &TrainRun, form: &TrainForm) {
    ui.horizontal_wrapped(|ui| {
        let span = run.total_steps.saturating_sub(run.first_step).max(1);
        let fraction = run.step().saturating_sub(run.first_step) as f32 / span as f32;
        let state = match (&run.outcome, run.paused()) {
            (Some(Ok(o)), _) if o.stopped_early => "stopped",
            (Some(Ok(_)), _) => "finished",
            (Some(Err(_)), _) => "failed",
            (None, true) => "paused",
            (None, false) => "training",
        };
        ui.add(
            egui::ProgressBar::new(fraction)
                .desired_width(260.0)
                .text(format!(
                    "{state}: step {} of {}",
                    run.step(),
                    run.total_steps
                )),
        );
        if let Some(last) = run.steps.last() {
            ui.label(format!(
                "{:.1} pairs/s, ETA {}, lr {:.1e}",
                last.pairs_per_second,
                duration_text(last.eta_seconds),
                last.learning_rate
            ));
        }
    });
    match &run.device {
        Some(device) if device.starts_with("CPU") => {
            let hint = if form.crop > 32 || form.batch > 8 {
                " Crops of 32 and a batch of 8 show progress sooner here."
            } else {
                ""
            };
            ui.label(format!("Training on the {device}: no GPU is in use.{hint}"));
        }
        Some(device) => {
            ui.label(format!("Training on {device}."));
        }
        None if run.running() => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading photos and preparing the device...");
            });
        }
        None => {}
    }
    if let Some((step, path)) = &run.checkpoint {
        ui.label(format!("Checkpoint at step {step}: {}", path.display()));
    }
    if let Some((step, path)) = &run.best {
        ui.label(format!(
            "Best validation at step {step}: {}",
            path.display()
        ));
    }
    match &run.outcome {
        Some(Ok(outcome)) => {
            ui.label(format!(
                "Weights of step {}: {}",
                outcome.steps_done,
                outcome.weights.display()
            ));
        }
        Some(Err(error)) => {
            let kept = run
                .checkpoint
                .as_ref()
                .map_or(String::new(), |(step, path)| {
                    format!(" The checkpoint of step {step} is kept: {}", path.display())
                });
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Training stopped: {error}.{kept}"),
            );
        }
        None => {}
    }
}

fn duration_text(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as u64;
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds / 60 % 60),
    }
}

/// `(step, value)` points, smoothed by an exponential moving average and thinned to at most
/// [`MAX_PLOT_POINTS`].
pub fn curve(points: impl Iterator<Item = (u64, f64)>, smoothing: f64) -> Vec<[f64; 2]> {
    let mut average: Option<f64> = None;
    let smoothed: Vec<[f64; 2]> = points
        .map(|(step, value)| {
            let next = average.map_or(value, |a| smoothing * a + (1.0 - smoothing) * value);
            average = Some(next);
            [step as f64, next]
        })
        .collect();
    let stride = smoothed.len().div_ceil(MAX_PLOT_POINTS).max(1);
    let last = smoothed.len().saturating_sub(1);
    smoothed
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % stride == 0 || *i == last)
        .map(|(_, p)| p)
        .collect()
}

/// A loss curve: its name, the value it shows, its colour.
type LossSeries = (&'static str, fn(&StepReport) -> f64, Color32);

/// The loss and its four parts over the steps.
fn loss_plot(ui: &mut egui::Ui, run: &TrainRun, curves: &mut CurveSettings) {
    ui.horizontal(|ui| {
        ui.strong("Loss");
        ui.checkbox(&mut curves.log_scale, "log scale");
        ui.add(egui::Slider::new(&mut curves.smoothing, 0.0..=0.99).text("smoothing"))
            .on_hover_text("Exponential moving average over steps (0: the raw values).");
    });
    let log = curves.log_scale;
    let smoothing = f64::from(curves.smoothing);
    let series: [LossSeries; 5] = [
        ("total", |s| s.loss.total, Color32::GRAY),
        (
            "cover L1",
            |s| s.loss.cover_l1,
            Color32::from_rgb(90, 160, 255),
        ),
        (
            "cover variance",
            |s| s.loss.cover_variance,
            Color32::from_rgb(60, 200, 200),
        ),
        (
            "hidden L1",
            |s| s.loss.hidden_l1,
            Color32::from_rgb(255, 140, 60),
        ),
        (
            "hidden variance",
            |s| s.loss.hidden_variance,
            Color32::from_rgb(230, 90, 160),
        ),
    ];
    Plot::new("train-loss")
        .height(240.0)
        .legend(Legend::default())
        .x_axis_label("step")
        .y_axis_label(if log { "log10 loss" } else { "loss" })
        .show(ui, |plot| {
            for (name, value, color) in series {
                let points = curve(
                    run.steps.iter().map(|s| {
                        let v = value(s);
                        (s.step, if log { v.max(1e-8).log10() } else { v })
                    }),
                    smoothing,
                );
                plot.line(Line::new(name, PlotPoints::from(points)).color(color));
            }
        });
}

/// The paper's figures on the validation pairs over the steps.
fn validation_plots(ui: &mut egui::Ui, run: &TrainRun) {
    ui.strong("Validation (8-bit rounded)");
    let over_steps = |value: fn(&ValidationReport) -> f64| -> PlotPoints<'static> {
        PlotPoints::from(
            run.validations
                .iter()
                .map(|v| [v.step as f64, value(v)])
                .collect::<Vec<_>>(),
        )
    };
    Plot::new("train-rates")
        .height(115.0)
        .legend(Legend::default())
        .y_axis_label("%")
        .show(ui, |plot| {
            plot.line(Line::new(
                "cover changing rate",
                over_steps(|v| 100.0 * v.cover_changing_rate),
            ));
            plot.line(Line::new(
                "hidden-decoded difference",
                over_steps(|v| 100.0 * v.hidden_decoded_difference),
            ));
        });
    Plot::new("train-psnr")
        .height(115.0)
        .legend(Legend::default())
        .x_axis_label("step")
        .y_axis_label("PSNR dB")
        .show(ui, |plot| {
            plot.line(Line::new("cover PSNR", over_steps(|v| v.cover_psnr_db)));
            plot.line(Line::new("hidden PSNR", over_steps(|v| v.hidden_psnr_db)));
        });
}

/// The fixed validation pair: cover, embedded, secret, decoded, residual x10.
fn preview_ui(ui: &mut egui::Ui, run: &TrainRun, textures: &mut Textures) {
    let Some(preview) = &run.preview else {
        ui.weak("The preview of a validation pair appears at the first validation.");
        return;
    };
    ui.strong(format!("Preview at step {}", preview.step));
    ui.horizontal_wrapped(|ui| {
        for (title, picture) in [
            ("Cover", &preview.cover),
            ("Embedded", &preview.embedded),
            ("Secret", &preview.secret),
            ("Decoded", &preview.decoded),
            ("Residual x10", &preview.residual),
        ] {
            ui.vertical(|ui| {
                ui.label(title);
                let texture = textures.get(ui.ctx(), picture);
                ui.add(egui::Image::new(&texture).fit_to_exact_size(egui::vec2(160.0, 160.0)));
            });
        }
    });
}
