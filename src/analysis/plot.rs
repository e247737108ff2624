//! ROC curves drawn to a PNG file with plotters.

use std::path::Path;

use anyhow::{Result, anyhow};
use image::RgbImage;
use plotters::prelude::*;

use super::experiment::Curve;
use crate::codec;

/// Width and height of the plot in pixels.
const SIZE: (u32, u32) = (800, 640);

/// Registers the bundled font once (plotters draws text with it).
fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font egui ships; the bytes live for the whole program.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// Draws ROC curves (with their AUC in the legend) and returns the image.
pub fn roc_image(curves: &[Curve], title: &str) -> Result<RgbImage> {
    register_font();
    let (w, h) = SIZE;
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(|e| anyhow!("plot: {e}"))?;
        chart
            .configure_mesh()
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.3)))
            .map_err(|e| anyhow!("plot: {e}"))?;
        for (i, curve) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    curve
                        .points
                        .iter()
                        .map(|p| (p.false_positive_rate, p.true_positive_rate)),
                    color.stroke_width(2),
                ))
                .map_err(|e| anyhow!("plot: {e}"))?
                .label(format!("{} (AUC {:.3})", curve.name, curve.auc))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
    }
    RgbImage::from_raw(w, h, buffer).ok_or_else(|| anyhow!("plot buffer has the wrong size"))
}

/// Draws ROC curves to a PNG file (atomically).
pub fn save_roc(curves: &[Curve], title: &str, path: &Path) -> Result<()> {
    codec::save_rgb(&roc_image(curves, title)?, path)?;
    Ok(())
}
