//! The Analysis view: would anyone detect it? Runs the classic LSB detectors (and a trained
//! one) over a clean and a stego folder on a worker thread, shows ROC curves with their AUC,
//! and a per-image table; a clicked image opens beside its clean original with the residual.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::image_view::{self, Textures, ViewTransform};
use super::studio::{Engine, Picture, residual};
use super::worker::{Job, take_finished};
use crate::analysis::experiment::{self, DetectorSpec, Experiment, ImageScores};
use crate::analysis::stego_set::{self, Method};
use crate::analysis::{Detector, trained::TrainedDetector};
use crate::refine::Refinement;

/// Side of each image in the comparison under the table, in points.
const VIEW: f32 = 300.0;

/// How the per-image table is ordered: by a score column (`None`: the fused score), or by
/// name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Fused,
    Detector(usize),
}

/// A clean image beside its stego version, with the magnified residual.
pub struct Comparison {
    pub clean: Option<Picture>,
    pub stego: Picture,
    pub residual: Option<Picture>,
}

/// The Analysis view's state.
pub struct AnalysisView {
    pub clean: String,
    pub stego: String,
    /// Which classic detectors run (in [`Detector::ALL`] order).
    pub classic: [bool; 5],
    /// A trained detector file (`stegnet detector train`); empty: none.
    pub trained: String,
    /// How "Generate" hides images in the clean set.
    pub method: Method,
    /// Whether generated StegNet stego images are refined for the decoder, and how.
    pub refine: bool,
    pub refinement: Refinement,
    pub generate_job: Option<Job<PathBuf>>,
    pub job: Option<Job<Experiment>>,
    pub experiment: Option<Experiment>,
    pub sort: (SortKey, bool),
    pub selected: Option<usize>,
    compare_job: Option<Job<Comparison>>,
    pub comparison: Option<Comparison>,
    pub view: ViewTransform,
    pub error: Option<String>,
    /// Where generated stego sets go (a new folder each time).
    pub sets_folder: PathBuf,
}

impl Default for AnalysisView {
    fn default() -> Self {
        Self {
            clean: String::new(),
            stego: String::new(),
            classic: [true; 5],
            trained: String::new(),
            method: Method::StegNet,
            refine: false,
            refinement: Refinement::default(),
            generate_job: None,
            job: None,
            experiment: None,
            sort: (SortKey::Fused, true),
            selected: None,
            compare_job: None,
            comparison: None,
            view: ViewTransform::default(),
            error: None,
            sets_folder: super::data_folder("stego-sets"),
        }
    }
}

/// What the Analysis view asks the app for (dialogs belong to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisRequest {
    PickClean,
    PickStego,
    PickTrained,
}

fn folder(text: &str, what: &str) -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(text.trim());
    if text.trim().is_empty() {
        anyhow::bail!("choose the {what} folder first");
    }
    if !path.is_dir() {
        anyhow::bail!("{} is not a folder", path.display());
    }
    Ok(path)
}

impl AnalysisView {
    pub fn busy(&self) -> bool {
        self.generate_job.is_some() || self.job.is_some() || self.compare_job.is_some()
    }

    /// The detectors chosen, as the core names them.
    fn specs(&self) -> anyhow::Result<Vec<DetectorSpec>> {
        let mut specs: Vec<DetectorSpec> = Detector::ALL
            .into_iter()
            .zip(self.classic)
            .filter(|(_, on)| *on)
            .map(|(d, _)| DetectorSpec::Classic(d))
            .collect();
        if !self.trained.trim().is_empty() {
            let path = PathBuf::from(self.trained.trim());
            let detector = Box::new(TrainedDetector::load(&path)?);
            specs.push(DetectorSpec::Trained { path, detector });
        }
        if specs.is_empty() {
            anyhow::bail!("choose at least one detector");
        }
        Ok(specs)
    }

    /// Scores both folders with the chosen detectors on a worker thread.
    pub fn run(&mut self) {
        if self.busy() {
            return;
        }
        let prepared = (|| -> anyhow::Result<_> {
            let clean = experiment::list_images(&folder(&self.clean, "clean")?)?;
            let stego = experiment::list_images(&folder(&self.stego, "stego")?)?;
            Ok((clean, stego, self.specs()?))
        })();
        match prepared {
            Ok((clean, stego, specs)) => {
                self.error = None;
                self.job = Some(Job::spawn("running the detectors", move |progress| {
                    Ok(experiment::run(&clean, &stego, &specs, progress)?)
                }));
            }
            Err(e) => self.error = Some(format!("{e:#}")),
        }
    }

    /// Makes a stego set from the clean folder (image i hides image i + 1) with the chosen
    /// method (StegNet's refined if asked), in a new folder; it becomes the stego folder when
    /// done.
    pub fn generate(&mut self, engine: Option<Arc<Engine>>) {
        if self.busy() {
            return;
        }
        let clean = match folder(&self.clean, "clean").and_then(|f| experiment::list_images(&f)) {
            Ok(files) => files,
            Err(e) => {
                self.error = Some(format!("{e:#}"));
                return;
            }
        };
        if self.method == Method::StegNet && engine.is_none() {
            self.error = Some("the model is still loading".into());
            return;
        }
        let method = self.method;
        let refinement = (method == Method::StegNet && self.refine).then_some(self.refinement);
        let name = match refinement {
            Some(_) => "stegnet-refined".to_string(),
            None => method_name(method),
        };
        let parent = self.sets_folder.clone();
        self.error = None;
        self.generate_job = Some(Job::spawn("making the stego set", move |progress| {
            let out = crate::fsutil::new_folder(&parent, &name)?;
            let hider = engine.as_deref().map(|e| stego_set::Hider {
                refinement,
                ..stego_set::Hider::new(&e.model, &e.device)
            });
            stego_set::make(method, hider.as_ref(), &clean, &clean, &out, progress)?;
            Ok(out)
        }));
    }

    /// Collects finished work; call once per frame.
    pub fn poll(&mut self) {
        if let Some(result) = take_finished(&mut self.generate_job) {
            match result {
                Ok(out) => self.stego = out.display().to_string(),
                Err(e) => self.error = Some(format!("Cannot make the stego set: {e}")),
            }
        }
        if let Some(result) = take_finished(&mut self.job) {
            match result {
                Ok(experiment) => {
                    self.experiment = Some(experiment);
                    self.selected = None;
                    self.comparison = None;
                }
                Err(e) => self.error = Some(format!("The detectors stopped: {e}")),
            }
        }
        if let Some(result) = take_finished(&mut self.compare_job) {
            match result {
                Ok(comparison) => self.comparison = Some(comparison),
                Err(e) => self.error = Some(e),
            }
        }
    }

    /// The rows of the table in the chosen order (indices into the experiment's images).
    pub fn order(&self) -> Vec<usize> {
        let Some(experiment) = &self.experiment else {
            return Vec::new();
        };
        let images = &experiment.images;
        let mut order: Vec<usize> = (0..images.len()).collect();
        let (key, descending) = self.sort;
        let score = |s: &ImageScores| match key {
            SortKey::Fused => s.fused,
            SortKey::Detector(i) => s.scores.get(i).copied().flatten(),
            SortKey::Name => None,
        };
        order.sort_by(|&a, &b| {
            let (a, b) = (&images[a], &images[b]);
            let ordering = match key {
                SortKey::Name => a.path.cmp(&b.path),
                _ => score(a)
                    .unwrap_or(-1.0)
                    .total_cmp(&score(b).unwrap_or(-1.0)),
            };
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
        order
    }

    /// Opens image `index` of the experiment beside its clean original (same file stem in
    /// the clean folder) and the residual magnified by `magnify`.
    pub fn select(&mut self, index: usize, magnify: f32) {
        let Some(image) = self.experiment.as_ref().and_then(|e| e.images.get(index)) else {
            return;
        };
        self.selected = Some(index);
        let path = image.path.clone();
        let clean_folder = PathBuf::from(self.clean.trim());
        self.compare_job = Some(Job::spawn("opening the image", move |_| {
            let stego = Picture::open(&path)?;
            let clean = counterpart(&clean_folder, &path)
                .filter(|c| *c != path)
                .map(|c| Picture::open(&c))
                .transpose()?
                .filter(|c| c.size() == stego.size());
            let residual = clean.as_ref().map(|c| residual(c, &stego, magnify));
            Ok(Comparison {
                clean,
                stego,
                residual,
            })
        }));
    }

    /// Draws the view; returns what the app should do for it.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        textures: &mut Textures,
        engine: Option<Arc<Engine>>,
        magnify: f32,
    ) -> Option<AnalysisRequest> {
        let mut request = None;
        ui.heading("Steganalysis");
        ui.label(
            "Would anyone detect it? Score a folder of clean images and a folder of stego \
             images with classic LSB detectors (as StegExpose does) or a trained detector.",
        );
        egui::Grid::new("analysis-form")
            .num_columns(3)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                for (label, text, pick, tip) in [
                    ("Clean images", &mut self.clean, AnalysisRequest::PickClean, "Images with nothing hidden."),
                    ("Stego images", &mut self.stego, AnalysisRequest::PickStego, "Images with something hidden (or Generate them)."),
                    ("Trained detector", &mut self.trained, AnalysisRequest::PickTrained, "Optional: a detector from `stegnet detector train` (SPAM features + logistic regression)."),
                ] {
                    ui.label(label);
                    ui.add_sized([360.0, 20.0], egui::TextEdit::singleline(text))
                        .on_hover_text(tip);
                    if ui.button("Choose...").clicked() {
                        request = Some(pick);
                    }
                    ui.end_row();
                }
            });
        ui.horizontal_wrapped(|ui| {
            ui.label("Detectors:");
            for (on, detector) in self.classic.iter_mut().zip(Detector::ALL) {
                ui.checkbox(on, detector.name())
                    .on_hover_text(detector_tip(detector));
            }
        });
        ui.horizontal(|ui| {
            let busy = self.busy();
            if ui
                .add_enabled(!busy, egui::Button::new("Run detectors"))
                .on_hover_text(
                    "Score every image; ROC curves sweep the threshold 0.00..1.00 in 0.01 steps.",
                )
                .clicked()
            {
                self.run();
            }
            ui.separator();
            egui::ComboBox::from_id_salt("generate-method")
                .selected_text(method_name(self.method))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.method, Method::StegNet, "stegnet");
                    for k in 1..=8 {
                        ui.selectable_value(&mut self.method, Method::Lsb(k), format!("lsb{k}"));
                    }
                });
            if ui
                .add_enabled(!busy, egui::Button::new("Generate stego set"))
                .on_hover_text(
                    "Hide clean image i + 1 in clean image i with this method, into a new folder.",
                )
                .clicked()
            {
                self.generate(engine);
            }
            for job in [
                self.generate_job.as_ref().map(|j| (&j.label, &j.progress)),
                self.job.as_ref().map(|j| (&j.label, &j.progress)),
            ]
            .into_iter()
            .flatten()
            {
                ui.spinner();
                ui.add(
                    egui::ProgressBar::new(job.1.fraction().unwrap_or(0.0))
                        .desired_width(200.0)
                        .text(job.0.clone()),
                );
                if ui.button("Cancel").clicked() {
                    job.1.cancel();
                }
            }
        });
        if self.method == Method::StegNet {
            super::hide::refine_row(ui, &mut self.refine, &mut self.refinement);
        }
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if self.experiment.is_some() {
            ui.separator();
            ui.columns(2, |columns| {
                self.roc_ui(&mut columns[0]);
                self.auc_ui(&mut columns[1]);
            });
            ui.separator();
            self.table_ui(ui, magnify);
            self.comparison_ui(ui, textures, magnify);
        }
        request
    }

    fn roc_ui(&self, ui: &mut egui::Ui) {
        let Some(experiment) = &self.experiment else {
            return;
        };
        ui.strong("ROC curves");
        Plot::new("roc")
            .height(300.0)
            .data_aspect(1.0)
            .legend(Legend::default())
            .x_axis_label("false positive rate")
            .y_axis_label("true positive rate")
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(1.0)
            .show(ui, |plot| {
                plot.line(
                    Line::new("chance", PlotPoints::from(vec![[0.0, 0.0], [1.0, 1.0]]))
                        .style(egui_plot::LineStyle::dashed_dense()),
                );
                for curve in &experiment.curves {
                    let points: Vec<[f64; 2]> = curve
                        .points
                        .iter()
                        .map(|p| [p.false_positive_rate, p.true_positive_rate])
                        .collect();
                    plot.line(Line::new(
                        format!("{} (AUC {:.3})", curve.name, curve.auc),
                        PlotPoints::from(points),
                    ));
                }
            });
    }

    fn auc_ui(&self, ui: &mut egui::Ui) {
        let Some(experiment) = &self.experiment else {
            return;
        };
        ui.strong("Area under the ROC curve");
        let clean = experiment.images.iter().filter(|i| !i.stego).count();
        ui.label(format!(
            "{clean} clean and {} stego images; 0.5 is a coin toss, 1.0 finds every one.",
            experiment.images.len() - clean
        ));
        egui::Grid::new("auc-table").striped(true).show(ui, |ui| {
            ui.strong("detector");
            ui.strong("AUC");
            ui.end_row();
            for curve in &experiment.curves {
                ui.label(&curve.name);
                ui.label(format!("{:.3}", curve.auc));
                ui.end_row();
            }
        });
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, magnify: f32) {
        let Some(experiment) = &self.experiment else {
            return;
        };
        ui.strong("Per image (click a header to sort, a row to open it)");
        let order = self.order();
        let mut columns = vec![
            (SortKey::Name, "image".to_string()),
            (SortKey::Fused, "fused".to_string()),
        ];
        columns.extend(
            experiment
                .detectors
                .iter()
                .enumerate()
                .map(|(i, name)| (SortKey::Detector(i), name.clone())),
        );
        let mut clicked_row = None;
        let mut clicked_sort = None;
        egui::ScrollArea::vertical()
            .id_salt("per-image")
            .max_height(260.0)
            .show(ui, |ui| {
                egui::Grid::new("per-image-table")
                    .striped(true)
                    .show(ui, |ui| {
                        for (key, name) in &columns {
                            let arrow = match self.sort {
                                (k, true) if k == *key => " v",
                                (k, false) if k == *key => " ^",
                                _ => "",
                            };
                            if ui.button(format!("{name}{arrow}")).clicked() {
                                clicked_sort = Some(*key);
                            }
                        }
                        ui.strong("set");
                        ui.end_row();
                        for &i in &order {
                            let image = &experiment.images[i];
                            let name = image.path.file_name().map_or_else(
                                || image.path.display().to_string(),
                                |n| n.to_string_lossy().into_owned(),
                            );
                            if ui
                                .selectable_label(self.selected == Some(i), name)
                                .clicked()
                            {
                                clicked_row = Some(i);
                            }
                            ui.label(score_text(image.fused));
                            for score in &image.scores {
                                ui.label(score_text(*score));
                            }
                            ui.label(if image.stego { "stego" } else { "clean" });
                            ui.end_row();
                        }
                    });
            });
        if let Some(key) = clicked_sort {
            self.sort = match self.sort {
                (k, descending) if k == key => (k, !descending),
                _ => (key, key != SortKey::Name),
            };
        }
        if let Some(i) = clicked_row {
            self.select(i, magnify);
        }
    }

    fn comparison_ui(&mut self, ui: &mut egui::Ui, textures: &mut Textures, magnify: f32) {
        if self.compare_job.is_some() {
            ui.spinner();
            return;
        }
        let Some(comparison) = &self.comparison else {
            return;
        };
        ui.separator();
        ui.horizontal(|ui| {
            let titled = [
                ("Clean original".to_string(), comparison.clean.as_ref()),
                (comparison.stego.name.clone(), Some(&comparison.stego)),
                (format!("Residual x{magnify}"), comparison.residual.as_ref()),
            ];
            for (title, picture) in titled {
                ui.vertical(|ui| {
                    ui.label(title);
                    match picture {
                        Some(picture) => {
                            let texture = textures.get(ui.ctx(), picture);
                            image_view::show(ui, &texture, picture.size(), &mut self.view, VIEW);
                        }
                        None => {
                            ui.weak("no clean image of the same name and size");
                        }
                    }
                });
            }
        });
    }
}

/// The clean image with the same file stem as `stego`, if the clean folder has one.
fn counterpart(clean_folder: &Path, stego: &Path) -> Option<PathBuf> {
    let stem = stego.file_stem()?;
    crate::codec::image_files(clean_folder)
        .ok()?
        .into_iter()
        .find(|p| p.file_stem() == Some(stem))
}

fn score_text(score: Option<f64>) -> String {
    score.map_or_else(|| "-".to_string(), |s| format!("{s:.3}"))
}

fn method_name(method: Method) -> String {
    match method {
        Method::StegNet => "stegnet".into(),
        Method::Lsb(k) => format!("lsb{k}"),
    }
}

fn detector_tip(detector: Detector) -> &'static str {
    match detector {
        Detector::ChiSquare => "Westfeld and Pfitzmann's chi-square attack on pairs of values.",
        Detector::Rs => "Fridrich's RS analysis: regular and singular groups under flipping.",
        Detector::Spa => "Dumitrescu's sample pair analysis.",
        Detector::PrimarySets => "Dumitrescu's primary sets.",
        Detector::WeightedStego => "Fridrich and Goljan's weighted stego image (Ker's version).",
    }
}
