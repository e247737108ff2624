//! The desktop app: hide an image point-and-click, reveal it again, and inspect what the
//! embedding did (residuals, histograms, the paper's metrics, k-bit LSB side by side).
//! One [`StudioApp`] owns the state ([`studio::Studio`]); each tab is a small view.

pub mod analysis;
mod hide;
pub mod image_view;
mod inspect;
pub mod residual_gpu;
mod reveal;
pub mod studio;
pub mod train;
pub mod worker;

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

use crate::codec::FitMode;
use crate::device::DeviceChoice;
use crate::model::ModelSource;
use crate::refine::Refinement;
use image_view::Textures;
use studio::{Slot, Studio};
use worker::{Job, take_finished};

/// Opens the app window and runs until it is closed.
pub fn run() -> Result<()> {
    let icon = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")).ok();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("StegNet Studio")
        .with_inner_size([1280.0, 860.0])
        .with_min_inner_size([720.0, 480.0])
        .with_drag_and_drop(true);
    if let Some(icon) = icon {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "StegNet Studio",
        options,
        Box::new(|cc| {
            let mut app = StudioApp::new(cc.storage, DeviceChoice::Auto, ModelSource::BuiltIn);
            app.inspect.gpu_residual = residual_gpu::install(cc.wgpu_render_state.as_ref());
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow!("cannot open the app window: {e}"))
}

/// A folder of the app's own data (training runs, generated stego sets): under eframe's
/// storage folder, or the temporary folder where there is none.
pub fn data_folder(name: &str) -> PathBuf {
    eframe::storage_dir("StegNet Studio")
        .unwrap_or_else(std::env::temp_dir)
        .join(name)
}

/// The tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Tab {
    Hide,
    Reveal,
    Inspect,
    Analysis,
    Train,
}

/// What the user chose in a native file dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogPurpose {
    Open(Slot),
    SaveStego,
    SaveDecoded,
    SaveResidual,
    ExportMetrics,
    TrainData,
    TrainVal,
    TrainCheckpoint,
    AnalysisClean,
    AnalysisStego,
    AnalysisDetector,
}

/// Settings kept between runs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub tab: Tab,
    pub last_folder: Option<PathBuf>,
    pub magnify: f32,
    pub dark: bool,
    /// The Hide view's choices: how the secret is fitted, and whether and how Embed refines.
    pub fit: FitMode,
    pub refine: bool,
    pub refinement: Refinement,
    pub train_form: train::TrainForm,
    pub curves: train::CurveSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tab: Tab::Hide,
            last_folder: None,
            magnify: 10.0,
            dark: true,
            fit: FitMode::default(),
            refine: false,
            refinement: Refinement::default(),
            train_form: train::TrainForm::default(),
            curves: train::CurveSettings::default(),
        }
    }
}

const SETTINGS_KEY: &str = "stegnet-studio-settings";

/// The application: state, settings, and the views.
pub struct StudioApp {
    pub studio: Studio,
    pub settings: Settings,
    pub inspect: inspect::InspectView,
    pub train: train::TrainView,
    pub analysis: analysis::AnalysisView,
    textures: Textures,
    /// CPU time of recent frames, smoothed, in seconds.
    frame_seconds: f64,
    dialog: Option<(DialogPurpose, Job<Option<PathBuf>>)>,
    /// A path typed or pasted by the user, for the slot of the current tab.
    pub path_input: String,
}

impl StudioApp {
    /// The app with settings from `storage`, loading the model in the background and showing
    /// the demo pair.
    pub fn new(
        storage: Option<&dyn eframe::Storage>,
        device: DeviceChoice,
        model: ModelSource,
    ) -> Self {
        let settings: Settings = storage
            .and_then(|s| eframe::get_value(s, SETTINGS_KEY))
            .unwrap_or_default();
        let mut studio = Studio::new(device, model);
        studio.fit = settings.fit;
        studio.refine = settings.refine;
        studio.refinement = settings.refinement;
        studio.load_demo();
        Self {
            inspect: inspect::InspectView::new(settings.magnify),
            train: train::TrainView::new(settings.train_form.clone(), settings.curves),
            frame_seconds: 0.0,
            analysis: analysis::AnalysisView::default(),
            studio,
            settings,
            textures: Textures::default(),
            dialog: None,
            path_input: String::new(),
        }
    }

    /// Opens a native file dialog on a worker thread (the UI keeps running).
    pub fn ask_path(&mut self, purpose: DialogPurpose) {
        if self.dialog.is_some() {
            return;
        }
        let folder = self.settings.last_folder.clone();
        let suggested = match purpose {
            DialogPurpose::SaveStego => Some("stego.png"),
            DialogPurpose::SaveDecoded => Some("decoded.png"),
            DialogPurpose::SaveResidual => Some("residual.png"),
            DialogPurpose::ExportMetrics => Some("metrics.json"),
            _ => None,
        };
        let job = Job::spawn("file dialog", move |_| {
            let mut dialog = rfd::FileDialog::new();
            if let Some(folder) = folder {
                dialog = dialog.set_directory(folder);
            }
            Ok(match (purpose, suggested) {
                (
                    DialogPurpose::TrainData
                    | DialogPurpose::TrainVal
                    | DialogPurpose::AnalysisClean
                    | DialogPurpose::AnalysisStego,
                    _,
                ) => dialog.pick_folder(),
                (DialogPurpose::AnalysisDetector, _) => {
                    dialog.add_filter("Trained detector", &["json"]).pick_file()
                }
                (DialogPurpose::TrainCheckpoint, _) => dialog
                    .add_filter("StegNet checkpoint", &["ckpt"])
                    .pick_file(),
                (DialogPurpose::Open(_), _) => dialog
                    .add_filter("Images", &crate::codec::IMAGE_EXTENSIONS)
                    .pick_file(),
                (DialogPurpose::ExportMetrics, Some(name)) => dialog
                    .add_filter("JSON", &["json"])
                    .add_filter("CSV", &["csv"])
                    .set_file_name(name)
                    .save_file(),
                (_, name) => dialog
                    .add_filter("PNG image", &["png"])
                    .set_file_name(name.unwrap_or("image.png"))
                    .save_file(),
            })
        });
        self.dialog = Some((purpose, job));
    }

    /// Acts on a path chosen in a dialog, dropped, or typed.
    pub fn use_path(&mut self, purpose: DialogPurpose, path: PathBuf) {
        if let Some(folder) = path.parent() {
            self.settings.last_folder = Some(folder.to_path_buf());
        }
        match purpose {
            DialogPurpose::Open(slot) => self.studio.open(slot, path),
            DialogPurpose::SaveStego => {
                let result = self.studio.save_stego(&path);
                self.studio.report(result);
            }
            DialogPurpose::SaveDecoded => {
                let decoded = match self.settings.tab {
                    Tab::Reveal => self.studio.revealed.as_ref().map(|(p, _)| p.image.clone()),
                    _ => self
                        .studio
                        .outcome
                        .as_ref()
                        .map(|o| o.decoded.image.clone()),
                };
                let inputs: Vec<PathBuf> = self
                    .studio
                    .stego
                    .iter()
                    .filter_map(|p| p.path.clone())
                    .collect();
                let result = match decoded {
                    Some(image) => {
                        let inputs: Vec<&std::path::Path> =
                            inputs.iter().map(PathBuf::as_path).collect();
                        self.studio.save_image(&image, &path, &inputs)
                    }
                    None => Err(anyhow!("nothing decoded yet")),
                };
                self.studio.report(result);
            }
            DialogPurpose::SaveResidual => {
                let result = match self.inspect.cover_residual(&self.studio) {
                    Some(residual) => self.studio.save_image(&residual.image, &path, &[]),
                    None => Err(anyhow!("nothing embedded yet")),
                };
                self.studio.report(result);
            }
            DialogPurpose::ExportMetrics => {
                let result = self.studio.export_metrics(&path);
                self.studio.report(result);
            }
            DialogPurpose::TrainData => self.train.form.data = path.display().to_string(),
            DialogPurpose::TrainVal => self.train.form.val = path.display().to_string(),
            DialogPurpose::TrainCheckpoint => self.train.choose_checkpoint(path),
            DialogPurpose::AnalysisClean => self.analysis.clean = path.display().to_string(),
            DialogPurpose::AnalysisStego => self.analysis.stego = path.display().to_string(),
            DialogPurpose::AnalysisDetector => {
                self.analysis.trained = path.display().to_string();
            }
        }
    }

    /// The slot a file dropped on the current tab goes to when not dropped on a panel.
    fn default_slot(&self) -> Slot {
        match self.settings.tab {
            Tab::Reveal => Slot::Stego,
            _ if self.studio.cover.is_none() => Slot::Cover,
            _ => Slot::Secret,
        }
    }

    /// Routes dropped files: each to the panel under the pointer, else to a free slot.
    pub fn handle_dropped(&mut self, files: Vec<PathBuf>, target: Option<Slot>) {
        if self.settings.tab == Tab::Train {
            if let Some(path) = files.into_iter().next() {
                self.train.take_dropped(path);
            }
            return;
        }
        for (i, path) in files.into_iter().enumerate() {
            let slot = match (target, self.settings.tab, i) {
                (Some(slot), _, 0) => slot,
                (_, Tab::Reveal, _) => Slot::Stego,
                (_, _, 0) => self.default_slot(),
                _ => Slot::Secret,
            };
            self.use_path(DialogPurpose::Open(slot), path);
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let command = |key| KeyboardShortcut::new(Modifiers::COMMAND, key);
        let typing = ctx.egui_wants_keyboard_input();
        let (open, save, embed, reveal) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&command(Key::O)),
                i.consume_shortcut(&command(Key::S)),
                i.consume_shortcut(&command(Key::E)),
                i.consume_shortcut(&command(Key::R)),
            )
        });
        if open {
            let slot = self.default_slot();
            self.ask_path(DialogPurpose::Open(slot));
        }
        if save {
            self.ask_path(match self.settings.tab {
                Tab::Reveal => DialogPurpose::SaveDecoded,
                _ => DialogPurpose::SaveStego,
            });
        }
        if embed {
            self.settings.tab = Tab::Hide;
            self.studio.start_embed();
        }
        if reveal {
            self.settings.tab = Tab::Reveal;
            self.studio.start_reveal();
        }
        if !typing {
            let magnify = ctx.input(|i| {
                [(Key::Num1, 1.0), (Key::Num5, 5.0), (Key::Num0, 10.0)]
                    .into_iter()
                    .find(|(key, _)| i.key_pressed(*key))
                    .map(|(_, m)| m)
            });
            if let Some(m) = magnify {
                self.inspect.magnify = m;
            }
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            match &self.studio.engine {
                Some(engine) => {
                    ui.label(format!("Device: {}", engine.device_label))
                        .on_hover_text("Where the network runs: a GPU through wgpu, or the CPU (Burn's flex backend).");
                    ui.separator();
                    ui.label(format!("Model: {} ({} training steps)", engine.model_label, engine.trained_steps));
                }
                None => {
                    ui.spinner();
                    ui.label("Loading the model...");
                }
            }
            if let Some(outcome) = &self.studio.outcome {
                ui.separator();
                ui.label(format!("Last embed + reveal: {:.2} s on {}", outcome.seconds, outcome.device));
            }
            for job in [
                self.studio.embed_job.as_ref().map(|j| (&j.label, &j.progress)),
                self.studio.reveal_job.as_ref().map(|j| (&j.label, &j.progress)),
            ]
            .into_iter()
            .flatten()
            {
                ui.separator();
                ui.spinner();
                let fraction = job.1.fraction().unwrap_or(0.0);
                ui.add(egui::ProgressBar::new(fraction).desired_width(120.0).text(job.0.clone()));
            }
        });
    }

    fn notices(&mut self, ui: &mut egui::Ui) {
        let mut dismiss = None;
        for (i, notice) in self.studio.notices.iter().enumerate() {
            ui.horizontal(|ui| {
                let color = if notice.error {
                    ui.visuals().error_fg_color
                } else {
                    ui.visuals().weak_text_color()
                };
                ui.colored_label(color, &notice.text);
                if ui.small_button("Dismiss").clicked() {
                    dismiss = Some(i);
                }
            });
        }
        if let Some(i) = dismiss {
            self.studio.notices.remove(i);
        }
    }

    /// One frame of the whole UI.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let started = std::time::Instant::now();
        let ctx = ui.ctx().clone();
        ctx.set_theme(if self.settings.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        self.studio.poll();
        self.train.poll();
        self.analysis.poll();
        if let Some((purpose, result)) = self.poll_dialog() {
            match result {
                Ok(Some(path)) => self.use_path(purpose, path),
                Ok(None) => {}
                Err(e) => self.studio.report(Err(anyhow!("file dialog: {e}"))),
            }
        }
        self.shortcuts(&ctx);
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        let hovering_files = ctx.input(|i| !i.raw.hovered_files.is_empty());
        let pointer = ctx.input(|i| i.pointer.latest_pos());

        egui::Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("StegNet Studio");
                ui.separator();
                for (tab, name, tip) in [
                    (
                        Tab::Hide,
                        "Hide",
                        "Hide a secret image inside a cover image (Ctrl+E).",
                    ),
                    (
                        Tab::Reveal,
                        "Reveal",
                        "Recover the secret from a stego PNG (Ctrl+R).",
                    ),
                    (
                        Tab::Inspect,
                        "Inspect",
                        "Residuals, histograms, the paper's metrics and LSB side by side.",
                    ),
                    (
                        Tab::Analysis,
                        "Analysis",
                        "Steganalysis: would a detector find the hidden image? ROC curves and AUC.",
                    ),
                    (
                        Tab::Train,
                        "Train",
                        "Train StegNet on a folder of photos and watch it learn.",
                    ),
                ] {
                    ui.selectable_value(&mut self.settings.tab, tab, name)
                        .on_hover_text(tip);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let label = if self.settings.dark {
                        "Light theme"
                    } else {
                        "Dark theme"
                    };
                    if ui.button(label).clicked() {
                        self.settings.dark = !self.settings.dark;
                    }
                });
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            self.notices(ui);
            self.status_bar(ui);
        });
        let mut drop_zones = Vec::new();
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::both()
                .auto_shrink(false)
                .show(ui, |ui| match self.settings.tab {
                    Tab::Hide => hide::ui(self, ui, hovering_files, &mut drop_zones),
                    Tab::Reveal => reveal::ui(self, ui, hovering_files, &mut drop_zones),
                    Tab::Inspect => {
                        if let Some(export) =
                            self.inspect.ui(ui, &mut self.studio, &mut self.textures)
                        {
                            self.ask_path(export);
                        }
                    }
                    Tab::Analysis => {
                        let request = self.analysis.ui(
                            ui,
                            &mut self.textures,
                            self.studio.engine.clone(),
                            self.inspect.magnify,
                        );
                        if let Some(request) = request {
                            self.ask_path(match request {
                                analysis::AnalysisRequest::PickClean => {
                                    DialogPurpose::AnalysisClean
                                }
                                analysis::AnalysisRequest::PickStego => {
                                    DialogPurpose::AnalysisStego
                                }
                                analysis::AnalysisRequest::PickTrained => {
                                    DialogPurpose::AnalysisDetector
                                }
                            });
                        }
                    }
                    Tab::Train => {
                        let request = self.train.ui(
                            ui,
                            &mut self.textures,
                            self.studio.model_source(),
                            self.frame_seconds,
                        );
                        if let Some(request) = request {
                            self.train_request(request);
                        }
                    }
                });
        });
        if !dropped.is_empty() {
            let target = pointer.and_then(|p| {
                drop_zones
                    .iter()
                    .find(|(rect, _)| rect.contains(p))
                    .map(|(_, s)| *s)
            });
            self.handle_dropped(dropped, target);
        }
        if self.studio.busy()
            || self.dialog.is_some()
            || self.train.running()
            || self.analysis.busy()
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
        self.textures.end_frame();
        let seconds = started.elapsed().as_secs_f64();
        self.frame_seconds = if self.frame_seconds == 0.0 {
            seconds
        } else {
            0.9 * self.frame_seconds + 0.1 * seconds
        };
    }

    /// CPU time of recent frames (smoothed), in seconds.
    pub fn frame_seconds(&self) -> f64 {
        self.frame_seconds
    }

    fn train_request(&mut self, request: train::TrainRequest) {
        match request {
            train::TrainRequest::PickDataFolder => self.ask_path(DialogPurpose::TrainData),
            train::TrainRequest::PickValFolder => self.ask_path(DialogPurpose::TrainVal),
            train::TrainRequest::PickCheckpoint => self.ask_path(DialogPurpose::TrainCheckpoint),
            train::TrainRequest::UseWeights(path) => {
                self.studio.use_model(ModelSource::File(path));
            }
            train::TrainRequest::UseBuiltIn => self.studio.use_model(ModelSource::BuiltIn),
        }
    }

    fn poll_dialog(&mut self) -> Option<(DialogPurpose, Result<Option<PathBuf>, String>)> {
        let (purpose, job) = self.dialog.take()?;
        let mut slot = Some(job);
        match take_finished(&mut slot) {
            Some(result) => Some((purpose, result)),
            None => {
                self.dialog = slot.map(|job| (purpose, job));
                None
            }
        }
    }

    /// The textures cache (views draw through it).
    pub fn textures(&mut self) -> &mut Textures {
        &mut self.textures
    }
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.magnify = self.inspect.magnify;
        self.settings.fit = self.studio.fit;
        self.settings.refine = self.studio.refine;
        self.settings.refinement = self.studio.refinement;
        self.settings.train_form = self.train.form.clone();
        self.settings.curves = self.train.curves;
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}
