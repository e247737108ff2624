//! The Inspect tab, for analysts: linked zoom-and-pan views of cover, embedded, secret,
//! decoded and their residuals magnified, a pixel inspector, histograms (the paper's figures
//! 2 and 9), the metrics, and k-bit LSB side by side with StegNet (figures 1 and 3).

use std::sync::Arc;

use eframe::egui::{self, Color32};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::DialogPurpose;
use super::hide::metrics_grid;
use super::image_view::{self, Textures, ViewTransform};
use super::residual_gpu::ResidualCallback;
use super::studio::{self, Picture, Studio};
use crate::metrics;

/// Side of each linked view, in points.
const VIEW: f32 = 250.0;

/// Residuals and histograms computed for one outcome (and magnification).
struct Derived {
    /// Identifies the outcome / LSB result they belong to.
    key: (usize, Option<usize>, u32),
    cover_residual: Picture,
    secret_residual: Picture,
    lsb_cover_residual: Option<Picture>,
    lsb_secret_residual: Option<Picture>,
}

/// Histograms of one outcome.
struct Histograms {
    key: (usize, Option<usize>),
    cover: [[u64; 256]; 3],
    embedded: [[u64; 256]; 3],
    lsb_embedded: Option<[[u64; 256]; 3]>,
    residual: Vec<u64>,
    lsb_residual: Option<Vec<u64>>,
}

/// What one linked view shows.
enum Cell {
    Image(Picture),
    /// The magnified residual of two images: drawn by the GPU shader, or from `cpu`.
    Residual {
        first: Picture,
        second: Picture,
        cpu: Option<Picture>,
    },
    Missing,
}

/// The Inspect view's own state.
pub struct InspectView {
    /// Whether residuals are drawn by the WGSL shader (the app runs on wgpu) rather than
    /// computed on the CPU.
    pub gpu_residual: bool,
    /// Magnification M of the residuals, clip(R x M, 0, 1).
    pub magnify: f32,
    /// The region shown, shared by every view.
    pub view: ViewTransform,
    derived: Option<Derived>,
    histograms: Option<Histograms>,
    hovered: Option<(u32, u32)>,
}

fn key_of(picture: &Picture) -> usize {
    Arc::as_ptr(&picture.image) as usize
}

impl InspectView {
    pub fn new(magnify: f32) -> Self {
        Self {
            gpu_residual: false,
            magnify: magnify.clamp(1.0, 50.0),
            view: ViewTransform::default(),
            derived: None,
            histograms: None,
            hovered: None,
        }
    }

    /// Recomputes the CPU residuals when the outcome, the LSB result or the magnification
    /// changed (only then: never per frame).
    fn refresh_residuals(&mut self, studio: &Studio) {
        let Some(outcome) = &studio.outcome else {
            self.derived = None;
            return;
        };
        let lsb_key = studio.lsb.as_ref().map(|l| key_of(&l.embedded));
        let key = (key_of(&outcome.embedded), lsb_key, self.magnify.to_bits());
        if self.derived.as_ref().map(|d| d.key) != Some(key) {
            let m = self.magnify;
            self.derived = Some(Derived {
                key,
                cover_residual: studio::residual(&outcome.cover, &outcome.embedded, m),
                secret_residual: studio::residual(&outcome.secret, &outcome.decoded, m),
                lsb_cover_residual: studio
                    .lsb
                    .as_ref()
                    .map(|l| studio::residual(&outcome.cover, &l.embedded, m)),
                lsb_secret_residual: studio
                    .lsb
                    .as_ref()
                    .map(|l| studio::residual(&outcome.secret, &l.decoded, m)),
            });
        }
    }

    /// Recomputes the histograms when the outcome or the LSB result changed.
    fn refresh_histograms(&mut self, studio: &Studio) {
        let Some(outcome) = &studio.outcome else {
            self.histograms = None;
            return;
        };
        let key = (
            key_of(&outcome.embedded),
            studio.lsb.as_ref().map(|l| key_of(&l.embedded)),
        );
        if self.histograms.as_ref().map(|h| h.key) != Some(key) {
            self.histograms = Some(Histograms {
                key,
                cover: metrics::histograms(&outcome.cover.image),
                embedded: metrics::histograms(&outcome.embedded.image),
                lsb_embedded: studio
                    .lsb
                    .as_ref()
                    .map(|l| metrics::histograms(&l.embedded.image)),
                residual: metrics::difference_histogram(
                    &outcome.cover.image,
                    &outcome.embedded.image,
                ),
                lsb_residual: studio.lsb.as_ref().map(|l| {
                    metrics::difference_histogram(&outcome.cover.image, &l.embedded.image)
                }),
            });
        }
    }

    /// The magnified residual of cover and embedded, as shown.
    pub fn cover_residual(&mut self, studio: &Studio) -> Option<Picture> {
        self.refresh_residuals(studio);
        self.derived.as_ref().map(|d| d.cover_residual.clone())
    }

    /// Draws the view; returns an export the user asked for (the app opens the dialog).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        studio: &mut Studio,
        textures: &mut Textures,
    ) -> Option<DialogPurpose> {
        if !self.gpu_residual {
            self.refresh_residuals(studio);
        }
        self.refresh_histograms(studio);
        let Some(outcome) = studio.outcome.clone() else {
            ui.label("Embed a pair on the Hide tab first; its residuals, histograms and metrics appear here.");
            return None;
        };
        let export = self.controls(ui, studio);
        let derived = self.derived.as_ref().filter(|_| !self.gpu_residual);
        let lsb = studio.lsb.clone();
        let residual =
            |first: &Picture, second: Option<&Picture>, cpu: Option<&Picture>| match second {
                Some(second) => Cell::Residual {
                    first: first.clone(),
                    second: second.clone(),
                    cpu: cpu.cloned(),
                },
                None => Cell::Missing,
            };
        let image = |picture: Option<&Picture>| picture.cloned().map_or(Cell::Missing, Cell::Image);
        let lsb_embedded = lsb.as_ref().map(|l| &l.embedded);
        let lsb_decoded = lsb.as_ref().map(|l| &l.decoded);
        let rows: [[(String, Cell); 5]; 2] = [
            [
                ("Cover".into(), image(Some(&outcome.cover))),
                ("StegNet embedded".into(), image(Some(&outcome.embedded))),
                (
                    format!("Residual x{}", self.magnify),
                    residual(
                        &outcome.cover,
                        Some(&outcome.embedded),
                        derived.map(|d| &d.cover_residual),
                    ),
                ),
                (
                    format!("LSB-{} embedded", studio.lsb_bits),
                    image(lsb_embedded),
                ),
                (
                    format!("LSB residual x{}", self.magnify),
                    residual(
                        &outcome.cover,
                        lsb_embedded,
                        derived.and_then(|d| d.lsb_cover_residual.as_ref()),
                    ),
                ),
            ],
            [
                ("Secret".into(), image(Some(&outcome.secret))),
                ("StegNet decoded".into(), image(Some(&outcome.decoded))),
                (
                    format!("Residual x{}", self.magnify),
                    residual(
                        &outcome.secret,
                        Some(&outcome.decoded),
                        derived.map(|d| &d.secret_residual),
                    ),
                ),
                (
                    format!("LSB-{} decoded", studio.lsb_bits),
                    image(lsb_decoded),
                ),
                (
                    format!("LSB residual x{}", self.magnify),
                    residual(
                        &outcome.secret,
                        lsb_decoded,
                        derived.and_then(|d| d.lsb_secret_residual.as_ref()),
                    ),
                ),
            ],
        ];
        let mut hovered = None;
        egui::Grid::new("linked-views")
            .spacing([6.0, 6.0])
            .show(ui, |ui| {
                for row in &rows {
                    for (title, cell) in row {
                        ui.vertical(|ui| {
                            ui.small(title);
                            let shown = match cell {
                                Cell::Image(picture)
                                | Cell::Residual {
                                    cpu: Some(picture), ..
                                } => {
                                    let texture = textures.get(ui.ctx(), picture);
                                    image_view::show(
                                        ui,
                                        &texture,
                                        picture.size(),
                                        &mut self.view,
                                        VIEW,
                                    )
                                }
                                Cell::Residual { first, second, .. } => {
                                    let magnify = self.magnify;
                                    image_view::show_with(
                                        ui,
                                        first.size(),
                                        &mut self.view,
                                        VIEW,
                                        |painter, rect, uv| {
                                            painter.add(
                                                ResidualCallback {
                                                    first: first.image.clone(),
                                                    second: second.image.clone(),
                                                    magnify,
                                                    uv,
                                                }
                                                .shape(rect),
                                            );
                                        },
                                    )
                                }
                                Cell::Missing => {
                                    ui.allocate_exact_size(
                                        egui::Vec2::splat(VIEW),
                                        egui::Sense::hover(),
                                    );
                                    None
                                }
                            };
                            if shown.is_some() {
                                hovered = shown;
                            }
                        });
                    }
                    ui.end_row();
                }
            });
        if hovered.is_some() {
            self.hovered = hovered;
        }
        self.pixel_inspector(ui, &outcome, lsb.as_ref());
        ui.separator();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.strong("StegNet");
                metrics_grid(ui, "inspect-stegnet", &outcome.report);
            });
            ui.add_space(24.0);
            if let Some(lsb) = &lsb {
                ui.vertical(|ui| {
                    ui.strong(format!("LSB-{}", lsb.bits));
                    metrics_grid(ui, "inspect-lsb", &lsb.report);
                });
            }
        });
        ui.separator();
        self.histogram_plots(ui, studio.lsb_bits);
        export
    }

    fn controls(&mut self, ui: &mut egui::Ui, studio: &mut Studio) -> Option<DialogPurpose> {
        ui.horizontal(|ui| {
            ui.label("Residual magnification:").on_hover_text(
                "The paper's E(R, M) = clip(R x M, 0, 1), with R = |I1 - I2| / max |I1 - I2|. Keys 1, 5, 0.",
            );
            for (m, name) in [(1.0, "x1"), (5.0, "x5"), (10.0, "x10")] {
                if ui.selectable_label(self.magnify == m, name).clicked() {
                    self.magnify = m;
                }
            }
            ui.add(egui::Slider::new(&mut self.magnify, 1.0..=50.0).logarithmic(true).text("M"));
            ui.separator();
            let mut bits = studio.lsb_bits;
            ui.add(egui::Slider::new(&mut bits, 1..=8).text("LSB bits"))
                .on_hover_text("k-bit LSB: the top k bits of the secret replace the low k bits of the cover.");
            studio.set_lsb_bits(bits);
            ui.separator();
            if ui.button("Reset view").on_hover_text("Zoom and pan back to the whole image (or double-click a view).").clicked() {
                self.view = ViewTransform::default();
            }
            ui.label(format!("zoom {:.1}x", self.view.zoom));
        });
        ui.horizontal(|ui| {
            let mut export = None;
            if ui.button("Export residual PNG...").clicked() {
                export = Some(DialogPurpose::SaveResidual);
            }
            if ui.button("Export metrics (JSON/CSV)...").clicked() {
                export = Some(DialogPurpose::ExportMetrics);
            }
            export
        })
        .inner
    }

    fn pixel_inspector(
        &self,
        ui: &mut egui::Ui,
        outcome: &studio::Outcome,
        lsb: Option<&studio::LsbOutcome>,
    ) {
        let Some((x, y)) = self.hovered else {
            ui.label("Point at a view to inspect a pixel.");
            return;
        };
        let at = |p: &Picture| p.image.get_pixel(x, y).0;
        let diff = |a: [u8; 3], b: [u8; 3]| [0, 1, 2].map(|c| b[c] as i16 - a[c] as i16);
        let (c, e, s, d) = (
            at(&outcome.cover),
            at(&outcome.embedded),
            at(&outcome.secret),
            at(&outcome.decoded),
        );
        let mut text = format!(
            "pixel ({x}, {y})   cover {c:?}  embedded {e:?}  difference {:?}   secret {s:?}  decoded {d:?}  difference {:?}",
            diff(c, e),
            diff(s, d)
        );
        if let Some(lsb) = lsb {
            let l = at(&lsb.embedded);
            text += &format!("   LSB-{} {l:?} ({:?})", lsb.bits, diff(c, l));
        }
        ui.monospace(text);
    }

    fn histogram_plots(&self, ui: &mut egui::Ui, bits: u8) {
        let Some(h) = &self.histograms else { return };
        let colors = [
            Color32::from_rgb(230, 80, 80),
            Color32::from_rgb(80, 200, 80),
            Color32::from_rgb(90, 130, 240),
        ];
        let names = ["red", "green", "blue"];
        ui.strong("Histograms: cover vs embedded, per channel (the paper's figure 9)")
            .on_hover_text(
                "A good embedding leaves the cover's histogram unchanged; LSB leaves combs.",
            );
        ui.horizontal(|ui| {
            for c in 0..3 {
                Plot::new(format!("hist-{c}"))
                    .height(180.0)
                    .width(360.0)
                    .legend(Legend::default())
                    .show(ui, |plot| {
                        let series = |bins: &[u64; 256]| -> PlotPoints<'static> {
                            bins.iter()
                                .enumerate()
                                .map(|(i, &n)| [i as f64, n as f64])
                                .collect()
                        };
                        plot.line(
                            Line::new(format!("cover {}", names[c]), series(&h.cover[c]))
                                .color(colors[c].gamma_multiply(0.5)),
                        );
                        plot.line(
                            Line::new("StegNet embedded", series(&h.embedded[c])).color(colors[c]),
                        );
                        if let Some(lsb) = &h.lsb_embedded {
                            plot.line(
                                Line::new(format!("LSB-{bits} embedded"), series(&lsb[c]))
                                    .color(Color32::GRAY),
                            );
                        }
                    });
            }
        });
        ui.strong("Residual values: embedded - cover (the paper's figure 2)");
        Plot::new("residual-hist")
            .height(180.0)
            .legend(Legend::default())
            .show(ui, |plot| {
                let series = |bins: &[u64]| -> PlotPoints<'static> {
                    bins.iter()
                        .enumerate()
                        .map(|(i, &n)| [i as f64 - 255.0, n as f64])
                        .collect()
                };
                plot.line(Line::new("StegNet", series(&h.residual)));
                if let Some(lsb) = &h.lsb_residual {
                    plot.line(Line::new(format!("LSB-{bits}"), series(lsb)));
                }
            });
    }
}
