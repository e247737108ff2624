//! The app's state and everything it does, apart from drawing: loading pictures, running
//! embed and reveal on worker threads, saving, the LSB comparison and the residual images.
//! The views in the sibling modules only read this state and call these methods, so tests
//! can drive the same logic the buttons do.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use burn::prelude::*;
use image::RgbImage;

use super::worker::{Job, take_finished};
use crate::codec::{self, FitMode};
use crate::device::{self, DeviceChoice};
use crate::lsb;
use crate::metrics::{self, Report};
use crate::model::{ModelSource, StegNet, weights};
use crate::pipeline::{self, Tiling};
use crate::refine::Refinement;

/// The model and where it runs.
pub struct Engine {
    pub model: StegNet,
    pub device: Device,
    pub device_label: String,
    pub model_label: String,
    pub source: ModelSource,
    pub trained_steps: u64,
}

impl Engine {
    /// Loads the model on a worker thread.
    fn load_job(choice: DeviceChoice, source: ModelSource) -> Job<Engine> {
        Job::spawn("loading the model", move |_| Engine::load(choice, &source))
    }

    /// Picks the device (GPU if a hardware adapter exists) and loads the model.
    pub fn load(choice: DeviceChoice, source: &ModelSource) -> anyhow::Result<Self> {
        let compute = device::select(choice)?;
        let (model, info) = weights::load_with(source, &compute.device, &compute.network_config())?;
        Ok(Self {
            model: model.valid(),
            device: compute.device,
            device_label: compute.label,
            model_label: source.to_string(),
            source: source.clone(),
            trained_steps: info.trained_steps,
        })
    }
}

/// An image shown in the app, with where it came from.
#[derive(Clone)]
pub struct Picture {
    pub name: String,
    pub path: Option<PathBuf>,
    pub image: Arc<RgbImage>,
}

impl Picture {
    pub fn new(name: impl Into<String>, image: RgbImage) -> Self {
        Self {
            name: name.into(),
            path: None,
            image: Arc::new(image),
        }
    }

    /// Reads an image file (any format the core reads), refusing tiny images.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let loaded = codec::load_rgb(path)?;
        let (w, h) = loaded.image.dimensions();
        if w < crate::cli::MIN_SIDE || h < crate::cli::MIN_SIDE {
            bail!("{} is {w}x{h} pixels: too small to use", path.display());
        }
        Ok(Self {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            path: Some(path.to_path_buf()),
            image: Arc::new(loaded.image),
        })
    }

    pub fn size(&self) -> (u32, u32) {
        self.image.dimensions()
    }
}

/// Where a dropped or opened image goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Slot {
    Cover,
    Secret,
    /// The stego image to reveal.
    Stego,
}

impl Slot {
    pub fn title(self) -> &'static str {
        match self {
            Slot::Cover => "Cover",
            Slot::Secret => "Secret",
            Slot::Stego => "Stego image",
        }
    }
}

/// Everything an embedding produced, measured.
#[derive(Clone)]
pub struct Outcome {
    pub cover: Picture,
    /// The secret as it was hidden (fitted to the cover's size).
    pub secret: Picture,
    /// The stego image, 8-bit, as it will be saved.
    pub embedded: Picture,
    /// The secret revealed from the 8-bit stego image.
    pub decoded: Picture,
    pub report: Report,
    pub seconds: f64,
    pub device: String,
    /// How the stego image was refined for the decoder, if it was.
    pub refined: Option<Refinement>,
}

/// The k-bit LSB stego of the same pair, for comparison.
#[derive(Clone)]
pub struct LsbOutcome {
    pub bits: u8,
    pub embedded: Picture,
    pub decoded: Picture,
    pub report: Report,
}

/// A message for the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub error: bool,
    pub text: String,
}

/// The app's state.
pub struct Studio {
    pub engine: Option<Arc<Engine>>,
    engine_job: Option<Job<Engine>>,
    /// Where the model runs (kept for switching models).
    device_choice: DeviceChoice,
    pub cover: Option<Picture>,
    pub secret: Option<Picture>,
    pub stego: Option<Picture>,
    load_jobs: Vec<(Slot, Job<Picture>)>,
    pub fit: FitMode,
    /// Whether Embed refines the stego image for the decoder, and how.
    pub refine: bool,
    pub refinement: Refinement,
    pub embed_job: Option<Job<Outcome>>,
    pub outcome: Option<Outcome>,
    pub reveal_job: Option<Job<(Picture, f64)>>,
    /// The secret revealed in Reveal mode, and the seconds it took.
    pub revealed: Option<(Picture, f64)>,
    pub lsb_bits: u8,
    lsb_job: Option<Job<LsbOutcome>>,
    pub lsb: Option<LsbOutcome>,
    pub notices: Vec<Notice>,
    /// Embed the loaded pair as soon as the model is ready (the first-start demo).
    embed_when_ready: bool,
}

impl Studio {
    /// Starts loading the model in the background.
    pub fn new(choice: DeviceChoice, source: ModelSource) -> Self {
        Self {
            engine: None,
            engine_job: Some(Engine::load_job(choice, source)),
            device_choice: choice,
            cover: None,
            secret: None,
            stego: None,
            load_jobs: Vec::new(),
            fit: FitMode::Resize,
            refine: false,
            refinement: Refinement::default(),
            embed_job: None,
            outcome: None,
            reveal_job: None,
            revealed: None,
            lsb_bits: 3,
            lsb_job: None,
            lsb: None,
            notices: Vec::new(),
            embed_when_ready: false,
        }
    }

    /// Switches embed and reveal to other weights, loaded in the background (the current
    /// model stays in use until they are ready).
    pub fn use_model(&mut self, source: ModelSource) {
        self.engine_job = Some(Engine::load_job(self.device_choice, source));
    }

    /// The weights embed and reveal use now.
    pub fn model_source(&self) -> Option<&ModelSource> {
        self.engine.as_ref().map(|e| &e.source)
    }

    /// Loads the demo pair shipped in `assets/` and embeds it once the model is ready.
    pub fn load_demo(&mut self) {
        let decode = |bytes: &[u8], name: &str| -> Option<Picture> {
            let image = image::load_from_memory(bytes).ok()?;
            Some(Picture::new(name, codec::to_rgb8(image).image))
        };
        self.cover = decode(
            include_bytes!("../../assets/demo-cover.png"),
            "demo-cover.png (NASA)",
        );
        self.secret = decode(
            include_bytes!("../../assets/demo-secret.png"),
            "demo-secret.png (CC0)",
        );
        self.embed_when_ready = true;
    }

    /// Whether any background work is running (the UI then keeps repainting).
    pub fn busy(&self) -> bool {
        self.engine_job.is_some()
            || !self.load_jobs.is_empty()
            || self.embed_job.is_some()
            || self.reveal_job.is_some()
            || self.lsb_job.is_some()
    }

    fn notify_error(&mut self, text: impl Into<String>) {
        self.notices.push(Notice {
            error: true,
            text: text.into(),
        });
    }

    fn notify(&mut self, text: impl Into<String>) {
        self.notices.push(Notice {
            error: false,
            text: text.into(),
        });
    }

    /// Collects finished background work; call once per frame.
    pub fn poll(&mut self) {
        if let Some(result) = take_finished(&mut self.engine_job) {
            match result {
                Ok(engine) => {
                    if self.engine.is_some() {
                        self.notify(format!("Now using {}.", engine.model_label));
                    }
                    if engine.trained_steps == 0 {
                        self.notify_error(
                            "The model is untrained: embedding works, but the revealed image will be noise.",
                        );
                    }
                    self.engine = Some(Arc::new(engine));
                }
                Err(e) => self.notify_error(format!("Cannot load the model: {e}")),
            }
        }
        let mut still_loading = Vec::new();
        for (slot, job) in std::mem::take(&mut self.load_jobs) {
            match job.poll() {
                Ok(Ok(picture)) => *self.slot_mut(slot) = Some(picture),
                Ok(Err(e)) => self.notify_error(e),
                Err(job) => still_loading.push((slot, job)),
            }
        }
        self.load_jobs = still_loading;
        if let Some(result) = take_finished(&mut self.embed_job) {
            match result {
                Ok(outcome) => {
                    self.outcome = Some(outcome);
                    self.lsb = None;
                    self.start_lsb();
                }
                Err(e) if e == "cancelled" => self.notify("Embedding cancelled."),
                Err(e) => self.notify_error(format!("Embedding failed: {e}")),
            }
        }
        if let Some(result) = take_finished(&mut self.reveal_job) {
            match result {
                Ok(revealed) => self.revealed = Some(revealed),
                Err(e) if e == "cancelled" => self.notify("Reveal cancelled."),
                Err(e) => self.notify_error(format!("Reveal failed: {e}")),
            }
        }
        if let Some(result) = take_finished(&mut self.lsb_job) {
            match result {
                Ok(lsb) if lsb.bits == self.lsb_bits => self.lsb = Some(lsb),
                Ok(_) => self.start_lsb(),
                Err(e) => self.notify_error(format!("LSB comparison failed: {e}")),
            }
        }
        if self.embed_when_ready && self.engine.is_some() && self.load_jobs.is_empty() {
            self.embed_when_ready = false;
            // One pass, refinement remembered or not: the demo is there at once.
            self.embed(None);
        }
    }

    pub fn slot(&self, slot: Slot) -> Option<&Picture> {
        match slot {
            Slot::Cover => self.cover.as_ref(),
            Slot::Secret => self.secret.as_ref(),
            Slot::Stego => self.stego.as_ref(),
        }
    }

    fn slot_mut(&mut self, slot: Slot) -> &mut Option<Picture> {
        match slot {
            Slot::Cover => &mut self.cover,
            Slot::Secret => &mut self.secret,
            Slot::Stego => &mut self.stego,
        }
    }

    /// Whether a file is being loaded into `slot`.
    pub fn loading(&self, slot: Slot) -> bool {
        self.load_jobs.iter().any(|(s, _)| *s == slot)
    }

    /// Reads `path` into `slot` in the background; errors become notices.
    pub fn open(&mut self, slot: Slot, path: PathBuf) {
        self.load_jobs.retain(|(s, _)| *s != slot);
        let job = Job::spawn(format!("opening {}", path.display()), move |_| {
            Picture::open(&path)
        });
        self.load_jobs.push((slot, job));
    }

    /// Why Embed cannot run now, if it cannot.
    pub fn embed_blocker(&self) -> Option<&'static str> {
        if self.engine.is_none() {
            Some("the model is still loading")
        } else if self.cover.is_none() {
            Some("drop a cover image first")
        } else if self.secret.is_none() {
            Some("drop a secret image first")
        } else if self.embed_job.is_some() {
            Some("embedding is running")
        } else {
            None
        }
    }

    /// Hides the secret in the cover on a worker thread: embed, round to 8 bits, refine if
    /// asked, reveal the 8-bit image, measure.
    pub fn start_embed(&mut self) {
        self.embed(self.refine.then_some(self.refinement));
    }

    /// [`Studio::start_embed`] with the refinement given (`None`: one pass).
    fn embed(&mut self, refinement: Option<Refinement>) {
        if let Some(reason) = self.embed_blocker() {
            self.notify_error(format!("Cannot embed: {reason}."));
            return;
        }
        let engine = self.engine.clone().expect("checked");
        let cover = self.cover.clone().expect("checked");
        let secret = self.secret.clone().expect("checked");
        let fit = self.fit;
        self.embed_job = Some(Job::spawn("embedding", move |progress| {
            let start = Instant::now();
            let (w, h) = cover.size();
            let fitted = codec::fit(&secret.image, w, h, fit);
            let tiling = Tiling::default();
            let embedded = pipeline::embed(
                &engine.model,
                &engine.device,
                &cover.image,
                &fitted,
                tiling,
                progress,
            )?;
            let embedded = pipeline::to_save(
                &engine.model,
                &engine.device,
                &cover.image,
                &fitted,
                &embedded,
                refinement.as_ref(),
                tiling,
                progress,
            )?;
            let decoded =
                pipeline::reveal(&engine.model, &engine.device, &embedded, tiling, progress)?;
            let seconds = start.elapsed().as_secs_f64();
            let report = Report::measure(&cover.image, &embedded, Some((&fitted, &decoded)));
            Ok(Outcome {
                secret: Picture::new(format!("{} (fitted)", secret.name), fitted),
                embedded: Picture::new("embedded", embedded),
                decoded: Picture::new("decoded", decoded),
                cover,
                report,
                seconds,
                device: engine.device_label.clone(),
                refined: refinement,
            })
        }));
    }

    /// Reveals the secret of the stego image on a worker thread.
    pub fn start_reveal(&mut self) {
        let (Some(engine), Some(stego)) = (self.engine.clone(), self.stego.clone()) else {
            self.notify_error("Cannot reveal: drop a stego image and wait for the model.");
            return;
        };
        if self.reveal_job.is_some() {
            return;
        }
        self.reveal_job = Some(Job::spawn("revealing", move |progress| {
            let start = Instant::now();
            let decoded = pipeline::reveal(
                &engine.model,
                &engine.device,
                &stego.image,
                Tiling::default(),
                progress,
            )?;
            Ok((
                Picture::new(format!("secret of {}", stego.name), decoded),
                start.elapsed().as_secs_f64(),
            ))
        }));
    }

    /// Stops the running embed or reveal.
    pub fn cancel(&mut self) {
        for job in [
            self.embed_job.as_ref().map(|j| &j.progress),
            self.reveal_job.as_ref().map(|j| &j.progress),
        ]
        .into_iter()
        .flatten()
        {
            job.cancel();
        }
    }

    /// Sets the LSB bits of the comparison and recomputes it in the background.
    pub fn set_lsb_bits(&mut self, bits: u8) {
        if bits != self.lsb_bits {
            self.lsb_bits = bits;
            self.start_lsb();
        }
    }

    fn start_lsb(&mut self) {
        let Some(outcome) = self.outcome.clone() else {
            return;
        };
        if self.lsb_job.is_some() {
            return; // poll() restarts it if the bits changed meanwhile
        }
        let bits = self.lsb_bits;
        self.lsb_job = Some(Job::spawn("LSB comparison", move |_| {
            let embedded = lsb::embed(&outcome.cover.image, &outcome.secret.image, bits)?;
            let decoded = lsb::reveal(&embedded, bits)?;
            let report = Report::measure(
                &outcome.cover.image,
                &embedded,
                Some((&outcome.secret.image, &decoded)),
            );
            Ok(LsbOutcome {
                bits,
                embedded: Picture::new(format!("LSB-{bits} embedded"), embedded),
                decoded: Picture::new(format!("LSB-{bits} decoded"), decoded),
                report,
            })
        }));
    }

    /// Saves the stego image as PNG. JPEG is refused: lossy compression destroys the hidden
    /// image. Input files are never overwritten.
    pub fn save_stego(&mut self, path: &Path) -> anyhow::Result<()> {
        let Some(outcome) = &self.outcome else {
            bail!("nothing embedded yet");
        };
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if codec::is_lossy(path) {
            bail!(
                "JPEG is lossy: its compression would destroy the hidden image. Save the stego image as PNG."
            );
        }
        if !is_png {
            bail!("stego images are saved as PNG: name the file .png");
        }
        let secret_path = self.secret.as_ref().and_then(|s| s.path.clone());
        let inputs: Vec<&Path> = [&outcome.cover.path, &secret_path]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect();
        // The native dialog already asked before replacing an existing file.
        crate::fsutil::check_output(path, &inputs, true)?;
        codec::save_rgb(&outcome.embedded.image, path).context("saving the stego image")?;
        self.notify(format!("Saved {}", path.display()));
        Ok(())
    }

    /// Saves any image (decoded secret, residual, ...) in the format its name says.
    pub fn save_image(
        &mut self,
        image: &RgbImage,
        path: &Path,
        inputs: &[&Path],
    ) -> anyhow::Result<()> {
        crate::fsutil::check_output(path, inputs, true)?;
        codec::save_rgb(image, path)?;
        self.notify(format!("Saved {}", path.display()));
        Ok(())
    }

    /// Writes the metrics of the current outcome (and the LSB comparison) as JSON or CSV,
    /// by the file's extension.
    pub fn export_metrics(&mut self, path: &Path) -> anyhow::Result<()> {
        let Some(outcome) = &self.outcome else {
            bail!("nothing embedded yet");
        };
        let text = metrics_export(outcome, self.lsb.as_ref(), path)?;
        crate::fsutil::write_atomically(path, |f| std::io::Write::write_all(f, text.as_bytes()))?;
        self.notify(format!("Saved {}", path.display()));
        Ok(())
    }

    /// Reports an error from a view's action.
    pub fn report(&mut self, result: anyhow::Result<()>) {
        if let Err(e) = result {
            self.notify_error(format!("{e:#}"));
        }
    }
}

/// The metrics as JSON (`.json`) or CSV (anything else).
fn metrics_export(
    outcome: &Outcome,
    lsb: Option<&LsbOutcome>,
    path: &Path,
) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct Export<'a> {
        stegnet: &'a Report,
        seconds: f64,
        device: &'a str,
        lsb_bits: Option<u8>,
        lsb: Option<&'a Report>,
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return Ok(serde_json::to_string_pretty(&Export {
            stegnet: &outcome.report,
            seconds: outcome.seconds,
            device: &outcome.device,
            lsb_bits: lsb.map(|l| l.bits),
            lsb: lsb.map(|l| &l.report),
        })?);
    }
    let mut csv = String::from(
        "method,width,height,cover_changing_rate,cover_psnr_db,cover_ssim,hidden_decoded_difference,decoded_rate,payload_bpp,hidden_psnr_db,hidden_ssim\n",
    );
    let mut row = |name: String, r: &Report| {
        let h = r.hidden.as_ref();
        let cell = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        csv += &format!(
            "{name},{},{},{},{},{},{},{},{},{},{}\n",
            r.width,
            r.height,
            r.cover_changing_rate,
            r.cover_psnr_db,
            r.cover_ssim,
            cell(h.map(|h| h.hidden_decoded_difference)),
            cell(h.map(|h| h.decoded_rate)),
            cell(h.map(|h| h.payload_bpp)),
            cell(h.map(|h| h.hidden_psnr_db)),
            cell(h.map(|h| h.hidden_ssim)),
        );
    };
    row("stegnet".into(), &outcome.report);
    if let Some(lsb) = lsb {
        row(format!("lsb{}", lsb.bits), &lsb.report);
    }
    Ok(csv)
}

/// The residual image of a pair at a magnification (CPU path of the residual shader).
pub fn residual(a: &Picture, b: &Picture, magnify: f32) -> Picture {
    Picture::new(
        format!("residual {} vs {} x{magnify}", a.name, b.name),
        metrics::residual(&a.image, &b.image, magnify as f64),
    )
}
