//! Images on screen: textures uploaded once per image, and linked zoom-and-pan views that
//! are pixel-exact (nearest neighbour) when zoomed in.

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui::{
    self, Color32, ColorImage, Pos2, Rect, Sense, TextureHandle, TextureOptions, Vec2,
};
use image::RgbImage;

use super::studio::Picture;

/// Textures of the images on screen, keyed by the image's allocation: each image is uploaded
/// once, and textures of images no longer shown are dropped.
#[derive(Default)]
pub struct Textures {
    cache: HashMap<usize, (Arc<RgbImage>, TextureHandle, bool)>,
}

impl Textures {
    /// The texture of `picture`, uploading it the first time.
    pub fn get(&mut self, ctx: &egui::Context, picture: &Picture) -> TextureHandle {
        let key = Arc::as_ptr(&picture.image) as usize;
        let entry = self.cache.entry(key).or_insert_with(|| {
            let (w, h) = picture.image.dimensions();
            let color = ColorImage::from_rgb([w as usize, h as usize], picture.image.as_raw());
            let options = TextureOptions {
                magnification: egui::TextureFilter::Nearest,
                minification: egui::TextureFilter::Linear,
                ..TextureOptions::default()
            };
            (
                picture.image.clone(),
                ctx.load_texture(&picture.name, color, options),
                false,
            )
        });
        entry.2 = true;
        entry.1.clone()
    }

    /// Drops textures not used since the last call (call once per frame, at its end).
    pub fn end_frame(&mut self) {
        self.cache.retain(|_, (_, _, used)| std::mem::take(used));
    }
}

/// The region of the image shown, shared by linked views: a zoom factor relative to
/// "fit", and the image point (in [0, 1] coordinates) at the centre of the view.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ViewTransform {
    pub zoom: f32,
    pub center: Pos2,
}

impl Default for ViewTransform {
    fn default() -> Self {
        Self {
            zoom: 1.0,
            center: Pos2::new(0.5, 0.5),
        }
    }
}

impl ViewTransform {
    /// Largest zoom: 64 screen pixels per image pixel at most, in practice.
    pub const MAX_ZOOM: f32 = 256.0;

    /// The part of the image (uv coordinates) that is visible.
    pub fn uv(&self) -> Rect {
        let half = 0.5 / self.zoom;
        Rect::from_center_size(self.center, Vec2::splat(2.0 * half))
    }

    /// Zooms by `factor` keeping the image point under `anchor` (uv) where it is.
    pub fn zoom_about(&mut self, factor: f32, anchor: Pos2) {
        let new_zoom = (self.zoom * factor).clamp(1.0, Self::MAX_ZOOM);
        let ratio = self.zoom / new_zoom;
        self.center = anchor + (self.center - anchor) * ratio;
        self.zoom = new_zoom;
        self.clamp();
    }

    /// Moves the view by `delta` in uv units.
    pub fn pan(&mut self, delta: Vec2) {
        self.center -= delta;
        self.clamp();
    }

    fn clamp(&mut self) {
        let half = 0.5 / self.zoom;
        self.center.x = self.center.x.clamp(half, 1.0 - half);
        self.center.y = self.center.y.clamp(half, 1.0 - half);
    }
}

/// Draws `texture` (an image of `size` pixels) in a box of `side` points, showing the
/// region `view` selects; scrolling zooms and dragging pans `view`. Returns the image
/// pixel under the pointer, if any.
pub fn show(
    ui: &mut egui::Ui,
    texture: &TextureHandle,
    size: (u32, u32),
    view: &mut ViewTransform,
    side: f32,
) -> Option<(u32, u32)> {
    show_with(ui, size, view, side, |painter, rect, uv| {
        painter.image(texture.id(), rect, uv, Color32::WHITE);
    })
}

/// Like [`show`], with `paint(painter, rect, uv)` drawing the region `uv` of the image into
/// `rect` (a texture, or a GPU paint callback).
pub fn show_with(
    ui: &mut egui::Ui,
    size: (u32, u32),
    view: &mut ViewTransform,
    side: f32,
    paint: impl FnOnce(&egui::Painter, Rect, Rect),
) -> Option<(u32, u32)> {
    let aspect = size.0 as f32 / size.1.max(1) as f32;
    let box_size = if aspect >= 1.0 {
        Vec2::new(side, side / aspect)
    } else {
        Vec2::new(side * aspect, side)
    };
    let (rect, response) = ui.allocate_exact_size(box_size, Sense::click_and_drag());
    let uv = view.uv();
    paint(ui.painter(), rect, uv);
    let to_uv = |pos: Pos2| {
        let t = (pos - rect.min) / rect.size();
        Pos2::new(uv.min.x + t.x * uv.width(), uv.min.y + t.y * uv.height())
    };
    if response.dragged() {
        let delta = response.drag_delta() / rect.size() * uv.size();
        view.pan(delta);
    }
    let hovered = response.hover_pos()?;
    let scroll = ui.input(|i| i.smooth_scroll_delta.y);
    if scroll != 0.0 {
        view.zoom_about((scroll / 200.0).exp(), to_uv(hovered));
    }
    if response.double_clicked() {
        *view = ViewTransform::default();
    }
    let p = to_uv(hovered);
    let (x, y) = ((p.x * size.0 as f32) as i64, (p.y * size.1 as f32) as i64);
    (x >= 0 && y >= 0 && x < size.0 as i64 && y < size.1 as i64).then_some((x as u32, y as u32))
}
