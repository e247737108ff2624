//! The Reveal tab: drop a stego PNG, press Reveal, see and save the secret.

use eframe::egui::{self, Rect};

use super::hide::{drop_zone, result_panel};
use super::studio::Slot;
use super::{DialogPurpose, StudioApp};

pub(super) fn ui(
    app: &mut StudioApp,
    ui: &mut egui::Ui,
    hovering_files: bool,
    zones: &mut Vec<(Rect, Slot)>,
) {
    ui.horizontal_top(|ui| {
        drop_zone(app, ui, Slot::Stego, hovering_files, zones);
        let decoded = app.studio.revealed.as_ref().map(|(p, _)| p.clone());
        let waiting = if app.studio.reveal_job.is_some() {
            "Revealing..."
        } else {
            "Press Reveal"
        };
        result_panel(app, ui, "Revealed secret", decoded, waiting);
    });
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        ui.label("Image path:");
        ui.add(
            egui::TextEdit::singleline(&mut app.path_input)
                .desired_width(360.0)
                .hint_text("paste a path"),
        );
        if ui.button("Open").clicked() && !app.path_input.trim().is_empty() {
            let path = std::path::PathBuf::from(app.path_input.trim());
            app.use_path(DialogPurpose::Open(Slot::Stego), path);
        }
    });
    ui.horizontal(|ui| {
        let ready = app.studio.stego.is_some()
            && app.studio.engine.is_some()
            && app.studio.reveal_job.is_none();
        if ui
            .add_enabled(ready, egui::Button::new("Reveal the secret"))
            .on_hover_text("Recover the hidden image with StegNet's decoder (Ctrl+R).")
            .clicked()
        {
            app.studio.start_reveal();
        }
        if let Some(job) = &app.studio.reveal_job {
            ui.spinner();
            ui.add(
                egui::ProgressBar::new(job.progress.fraction().unwrap_or(0.0))
                    .desired_width(160.0)
                    .show_percentage(),
            );
            if ui.button("Cancel").clicked() {
                app.studio.cancel();
            }
        }
        if ui
            .add_enabled(
                app.studio.revealed.is_some(),
                egui::Button::new("Save secret..."),
            )
            .on_hover_text("Save the revealed image (Ctrl+S).")
            .clicked()
        {
            app.ask_path(DialogPurpose::SaveDecoded);
        }
        if let Some((_, seconds)) = &app.studio.revealed {
            ui.label(format!("revealed in {seconds:.2} s"));
        }
    });
}
