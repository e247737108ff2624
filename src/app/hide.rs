//! The Hide tab: drop a cover and a secret, press Embed, save the stego PNG.

use eframe::egui::{self, Color32, Rect, Sense, Stroke, Vec2};

use super::studio::{Picture, Slot};
use super::{DialogPurpose, StudioApp};
use crate::codec::FitMode;
use crate::metrics::Report;
use crate::refine::Refinement;

/// Side of the image panels, in points.
pub(super) const PANEL: f32 = 340.0;

/// A panel showing `picture` (if any), where a file can be dropped or a dialog opened.
pub(super) fn drop_zone(
    app: &mut StudioApp,
    ui: &mut egui::Ui,
    slot: Slot,
    hovering_files: bool,
    zones: &mut Vec<(Rect, Slot)>,
) {
    ui.vertical(|ui| {
        ui.strong(slot.title());
        let (rect, response) = ui.allocate_exact_size(Vec2::splat(PANEL), Sense::click());
        zones.push((rect, slot));
        let pointer_inside = ui.input(|i| i.pointer.latest_pos()).is_some_and(|p| rect.contains(p));
        let highlight = hovering_files && pointer_inside;
        let visuals = ui.visuals();
        let stroke = if highlight {
            Stroke::new(3.0, visuals.selection.stroke.color)
        } else {
            Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color)
        };
        ui.painter().rect_filled(rect, 6.0, visuals.extreme_bg_color);
        match app.studio.slot(slot).cloned() {
            Some(picture) => {
                let texture = app.textures().get(ui.ctx(), &picture);
                let inner = fit_rect(rect.shrink(4.0), picture.size());
                ui.painter().image(
                    texture.id(),
                    inner,
                    Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    Color32::WHITE,
                );
            }
            None => {
                let text = if app.studio.loading(slot) {
                    "Loading..."
                } else {
                    "Drop an image here\nor click to open one"
                };
                ui.painter().text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    text,
                    egui::FontId::proportional(16.0),
                    visuals.weak_text_color(),
                );
            }
        }
        ui.painter().rect_stroke(rect, 6.0, stroke, egui::StrokeKind::Inside);
        if response
            .on_hover_text("Drop an image file here, or click to choose one (PNG, JPEG, WebP, BMP, TIFF, GIF).")
            .clicked()
        {
            app.ask_path(DialogPurpose::Open(slot));
        }
        match app.studio.slot(slot) {
            Some(picture) => {
                let (w, h) = picture.size();
                ui.label(format!("{}  ({w} x {h})", picture.name));
            }
            None => {
                ui.label(" ");
            }
        }
    });
}

/// The largest rectangle of the image's aspect ratio inside `bounds`, centred.
pub(super) fn fit_rect(bounds: Rect, (w, h): (u32, u32)) -> Rect {
    let scale = (bounds.width() / w as f32).min(bounds.height() / h as f32);
    Rect::from_center_size(
        bounds.center(),
        Vec2::new(w as f32 * scale, h as f32 * scale),
    )
}

/// A panel showing a result image (not a drop target).
pub(super) fn result_panel(
    app: &mut StudioApp,
    ui: &mut egui::Ui,
    title: &str,
    picture: Option<Picture>,
    waiting: &str,
) {
    ui.vertical(|ui| {
        ui.strong(title);
        let (rect, _) = ui.allocate_exact_size(Vec2::splat(PANEL), Sense::hover());
        ui.painter()
            .rect_filled(rect, 6.0, ui.visuals().extreme_bg_color);
        match &picture {
            Some(picture) => {
                let texture = app.textures().get(ui.ctx(), picture);
                ui.painter().image(
                    texture.id(),
                    fit_rect(rect.shrink(4.0), picture.size()),
                    Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    Color32::WHITE,
                );
                let (w, h) = picture.size();
                ui.label(format!("{}  ({w} x {h})", picture.name));
            }
            None => {
                ui.painter().text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    waiting,
                    egui::FontId::proportional(16.0),
                    ui.visuals().weak_text_color(),
                );
                ui.label(" ");
            }
        }
    });
}

/// A text field for a typed or pasted path, with a button per slot it can open into.
pub(super) fn path_row(app: &mut StudioApp, ui: &mut egui::Ui, slots: &[Slot]) {
    ui.horizontal(|ui| {
        ui.label("Image path:");
        ui.add(
            egui::TextEdit::singleline(&mut app.path_input)
                .desired_width(360.0)
                .hint_text("paste a path"),
        );
        for &slot in slots {
            let label = if slots.len() == 1 {
                "Open".to_string()
            } else {
                format!("Open as {}", slot.title().to_lowercase())
            };
            if ui.button(label).clicked() && !app.path_input.trim().is_empty() {
                let path = std::path::PathBuf::from(app.path_input.trim());
                app.use_path(DialogPurpose::Open(slot), path);
            }
        }
    });
}

/// A running job's progress with a Cancel button; true when Cancel was clicked.
pub(super) fn job_progress(ui: &mut egui::Ui, progress: &super::worker::JobProgress) -> bool {
    ui.spinner();
    ui.add(
        egui::ProgressBar::new(progress.fraction().unwrap_or(0.0))
            .desired_width(160.0)
            .show_percentage(),
    );
    ui.button("Cancel").clicked()
}

/// The paper's figures and PSNR/SSIM, as a grid.
pub(super) fn metrics_grid(ui: &mut egui::Ui, id: &str, report: &Report) {
    egui::Grid::new(id).striped(true).num_columns(2).show(ui, |ui| {
        let mut row = |name: &str, tip: &str, value: String| {
            ui.label(name).on_hover_text(tip);
            ui.monospace(value);
            ui.end_row();
        };
        row(
            "Cover changing rate",
            "Equation 3 of the paper: mean |cover - embedded| over every sample, on [0, 1]. Lower is better.",
            format!("{:.3} %", 100.0 * report.cover_changing_rate),
        );
        row("Cover PSNR", "Peak signal-to-noise ratio of the embedded image against the cover.", format!("{:.2} dB", report.cover_psnr_db));
        row("Cover SSIM", "Structural similarity (Wang et al. 2004) of the embedded image and the cover.", format!("{:.4}", report.cover_ssim));
        if let Some(h) = &report.hidden {
            row(
                "Hidden-decoded difference",
                "mean |secret - decoded| over every sample, on [0, 1]. Lower is better.",
                format!("{:.3} %", 100.0 * h.hidden_decoded_difference),
            );
            row("Decoded rate", "Equation 1: 1 - the hidden-decoded difference.", format!("{:.3} %", 100.0 * h.decoded_rate));
            row(
                "Payload capacity",
                "Equation 2: decoded rate x 8 bits x 3 channels, in bits per pixel.",
                format!("{:.2} bpp", h.payload_bpp),
            );
            row("Hidden PSNR", "PSNR of the decoded secret against the secret.", format!("{:.2} dB", h.hidden_psnr_db));
            row("Hidden SSIM", "SSIM of the decoded secret against the secret.", format!("{:.4}", h.hidden_ssim));
        }
    });
}

/// Whether the stego image is refined for the decoder, and how (the Hide view's Embed, and the
/// Analysis view's StegNet sets).
pub(super) fn refine_row(ui: &mut egui::Ui, refine: &mut bool, settings: &mut Refinement) {
    ui.horizontal(|ui| {
        ui.checkbox(refine, "Refine for the decoder").on_hover_text(
            "After embedding, adjust the stego image's pixels by steps of Adam through the \
             decoder, so that the secret is revealed with a much smaller error from an image \
             still near the cover (a larger cover weight keeps it closer). Revealing is \
             unchanged. Slower: every step is a decoder pass forward and backward (about \
             0.45 s per step and 256x256 tile on a 2-core CPU).",
        );
        ui.add_enabled_ui(*refine, |ui| {
            ui.add(
                egui::DragValue::new(&mut settings.steps)
                    .range(1..=2000)
                    .suffix(" steps"),
            )
            .on_hover_text("Steps of Adam per 256x256 tile; 100 gets most of the gain.");
            ui.label("cover weight");
            ui.add(
                egui::DragValue::new(&mut settings.cover_weight)
                    .range(0.1..=10.0)
                    .speed(0.05)
                    .fixed_decimals(2),
            )
            .on_hover_text(
                "Weight of the cover's difference against the secret's: larger keeps the \
                 stego image closer to the cover, smaller reveals the secret better. At 2.7 \
                 (the default) the built-in model comes within the paper's figures on \
                 average, and the secret within this project's goal (1.5 %, 34 dB).",
            );
            let defaults = Refinement::default();
            let reset = ui
                .add_enabled(*settings != defaults, egui::Button::new("Defaults"))
                .on_hover_text(format!(
                    "Back to {} steps and cover weight {}. Your choices are remembered \
                     between runs, so a newer default applies only after this.",
                    defaults.steps, defaults.cover_weight
                ));
            if reset.clicked() {
                *settings = defaults;
            }
        });
    });
}

pub(super) fn ui(
    app: &mut StudioApp,
    ui: &mut egui::Ui,
    hovering_files: bool,
    zones: &mut Vec<(Rect, Slot)>,
) {
    ui.horizontal_top(|ui| {
        drop_zone(app, ui, Slot::Cover, hovering_files, zones);
        drop_zone(app, ui, Slot::Secret, hovering_files, zones);
        let embedded = app.studio.outcome.as_ref().map(|o| o.embedded.clone());
        let waiting = if app.studio.embed_job.is_some() {
            "Embedding..."
        } else {
            "Press Embed"
        };
        result_panel(app, ui, "Embedded (stego image)", embedded, waiting);
    });
    ui.add_space(8.0);
    path_row(app, ui, &[Slot::Cover, Slot::Secret]);
    refine_row(ui, &mut app.studio.refine, &mut app.studio.refinement);
    ui.horizontal(|ui| {
        ui.label("Fit the secret:")
            .on_hover_text("How the secret is brought to the cover's size.");
        ui.radio_value(&mut app.studio.fit, FitMode::Resize, "Resize")
            .on_hover_text("Stretch to the cover's size (Lanczos3).");
        ui.radio_value(&mut app.studio.fit, FitMode::Crop, "Crop")
            .on_hover_text("Scale to cover the whole area, then cut off the edges.");
        ui.separator();
        let blocker = app.studio.embed_blocker();
        let embed = ui
            .add_enabled(blocker.is_none(), egui::Button::new("Embed"))
            .on_hover_text("Hide the secret in the cover with StegNet (Ctrl+E).");
        if let Some(reason) = blocker {
            embed.clone().on_disabled_hover_text(reason);
        }
        if embed.clicked() {
            app.studio.start_embed();
        }
        if let Some(job) = &app.studio.embed_job
            && job_progress(ui, &job.progress)
        {
            app.studio.cancel();
        }
        ui.separator();
        if ui
            .add_enabled(
                app.studio.outcome.is_some(),
                egui::Button::new("Save stego PNG..."),
            )
            .on_hover_text(
                "Save the embedded image as PNG (Ctrl+S). JPEG would destroy the hidden image.",
            )
            .clicked()
        {
            app.ask_path(DialogPurpose::SaveStego);
        }
    });
    if let Some(outcome) = app.studio.outcome.clone() {
        ui.add_space(8.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.strong("What embedding did");
                metrics_grid(ui, "hide-metrics", &outcome.report);
                ui.label(format!("{:.2} s on {}", outcome.seconds, outcome.device));
                if let Some(refined) = &outcome.refined {
                    ui.label(format!(
                        "Refined: {} steps per tile, cover weight {:.2}",
                        refined.steps, refined.cover_weight
                    ));
                }
            });
            ui.add_space(16.0);
            result_panel(
                app,
                ui,
                "Secret revealed from the saved PNG",
                Some(outcome.decoded.clone()),
                "",
            );
        });
    }
}
