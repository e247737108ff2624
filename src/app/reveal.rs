//! The Reveal tab: drop a stego PNG, press Reveal, see and save the secret.

use eframe::egui::{self, Rect};

use super::hide::{drop_zone, job_progress, path_row, result_panel};
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
    path_row(app, ui, &[Slot::Stego]);
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
        if let Some(job) = &app.studio.reveal_job
            && job_progress(ui, &job.progress)
        {
            app.studio.cancel();
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
