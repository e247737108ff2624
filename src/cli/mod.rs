//! The headless face of StegNet Studio: one subcommand per task, each a thin call into the
//! core. Usage errors exit with 2 (clap), runtime errors with 1.

mod analyze;
mod bench;
mod embed;
mod lsb;
mod measure;
mod model;
mod reveal;
mod train;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use clap::{Parser, Subcommand};
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};

use crate::codec::{self, FitMode};
use crate::device::{self, ComputeDevice, DeviceChoice};
use crate::fsutil::check_output;
use crate::model::{ModelSource, StegNet, weights};
use crate::pipeline::Progress;
use crate::refine::Refinement;

/// StegNet Studio: hide one photo inside another with a neural network, reveal it again,
/// and measure what changed. Run without a subcommand to open the app.
#[derive(Debug, Parser)]
#[command(name = "stegnet", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The headless tasks.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hide an image inside a cover image with StegNet (writes a PNG).
    Embed(embed::EmbedArgs),
    /// Recover the hidden image from a StegNet stego image.
    Reveal(reveal::RevealArgs),
    /// The k-bit LSB baseline: embed or reveal.
    #[command(subcommand)]
    Lsb(lsb::LsbCommand),
    /// The paper's figures (cover changing rate, decoded rate, payload) plus PSNR and SSIM.
    Metrics(measure::MetricsArgs),
    /// The residual |I1 - I2| / max, magnified and clipped, as an image.
    Residual(measure::ResidualArgs),
    /// Inspect or create model weight files.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Run steganalysis detectors on clean and stego folders: scores, ROC curves, AUC.
    Analyze(analyze::AnalyzeArgs),
    /// Build a folder of stego images from folders of covers and secrets.
    MakeStego(analyze::MakeStegoArgs),
    /// Centre-crop a folder of photos to one size (for steganalysis sets).
    Crops(analyze::CropsArgs),
    /// Train StegNet on a folder of photos (progress, validation, checkpoints, resume).
    Train(train::TrainArgs),
    /// Evaluate a model on photo pairs: the paper's figures beside k-bit LSB.
    Eval(train::EvalArgs),
    /// Time the training step and embed + reveal on each available device.
    Bench(bench::BenchArgs),
    /// Train a steganalysis detector.
    #[command(subcommand)]
    Detector(analyze::DetectorCommand),
}

/// Runs one subcommand; the caller turns an error into exit code 1.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Embed(args) => embed::run(args),
        Command::Reveal(args) => reveal::run(args),
        Command::Lsb(command) => lsb::run(command),
        Command::Metrics(args) => measure::metrics(args),
        Command::Residual(args) => measure::residual(args),
        Command::Model(command) => model::run(command),
        Command::Analyze(args) => analyze::analyze(args),
        Command::MakeStego(args) => analyze::make_stego(args),
        Command::Crops(args) => analyze::crops(args),
        Command::Detector(command) => analyze::detector(command),
        Command::Train(args) => train::train(args),
        Command::Bench(args) => bench::run(args),
        Command::Eval(args) => train::eval(args),
    }
}

/// Options shared by the commands that run the network.
#[derive(Debug, clap::Args)]
pub struct NetworkArgs {
    /// Model weights (.bpk); default: the model built into this program.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Where the network runs.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Side of the tiles large images are processed in (bounds memory).
    #[arg(long, value_name = "PIXELS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(16..=4096))]
    pub tile: u32,
}

impl NetworkArgs {
    /// Picks the device and loads the model, saying on stderr which of each.
    fn load(&self) -> Result<(StegNet, ComputeDevice)> {
        let device = device::select(self.device)?;
        eprintln!("device: {}", device.label);
        let source = ModelSource::from_option(self.model.as_deref());
        let (model, info) = weights::load_with(&source, &device.device, &device.network_config())?;
        eprintln!("model: {source} ({} training steps)", info.trained_steps);
        if info.trained_steps == 0 {
            eprintln!("warning: this model is untrained; the decoded image will be noise");
        }
        Ok((model.valid(), device))
    }

    fn tiling(&self) -> crate::pipeline::Tiling {
        crate::pipeline::Tiling {
            tile: self.tile as usize,
            ..Default::default()
        }
    }
}

/// Refining the stego image for the decoder (`embed`, `eval`).
#[derive(Debug, clap::Args)]
pub struct RefineArgs {
    /// Refine the stego image for the decoder with this many steps of Adam per tile: a much
    /// smaller revealed error, the stego image still near the cover, at the cost of a
    /// decoder pass forward and backward per step (slow on a CPU). Revealing is unchanged.
    #[arg(long, value_name = "STEPS", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub refine: Option<u32>,
    /// Weight of the cover's difference against the secret's when refining (larger: closer
    /// to the cover; smaller: a better revealed secret).
    #[arg(long, value_name = "W", default_value_t = Refinement::default().cover_weight,
          requires = "refine", value_parser = positive_weight)]
    pub refine_cover_weight: f32,
}

impl RefineArgs {
    /// The refinement asked for, tiled like the network's passes.
    fn settings(&self, network: &NetworkArgs) -> Option<Refinement> {
        self.refine.map(|steps| Refinement {
            steps: steps as usize,
            cover_weight: self.refine_cover_weight,
            tile: network.tile as usize,
            ..Refinement::default()
        })
    }
}

/// Ends the program with a usage error of `subcommand` (exit code 2 and its usage line, as
/// clap's own), for combinations of options that clap cannot check itself.
fn usage_error(subcommand: &str, message: &str) -> ! {
    use clap::CommandFactory;
    let mut cli = Cli::command();
    let command = cli
        .find_subcommand_mut(subcommand)
        .expect("a subcommand of this program");
    let mut command = command.clone().bin_name(format!("stegnet {subcommand}"));
    command
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

/// `text` as a finite number above zero, if it is one: the check behind every option that
/// takes a positive weight or factor (each names its own error).
fn positive<T: std::str::FromStr + Into<f64> + Copy>(text: &str) -> Option<T> {
    text.parse::<T>().ok().filter(|&value| {
        let value: f64 = value.into();
        value.is_finite() && value > 0.0
    })
}

/// `--refine-cover-weight`: a finite weight above zero.
fn positive_weight(text: &str) -> Result<f32, String> {
    positive(text).ok_or_else(|| format!("not a positive number: {text}"))
}

/// Smallest side of an image the commands accept.
pub const MIN_SIDE: u32 = 8;

/// Reads an image as RGB8, printing conversion notes, refusing images too small to use.
fn load_image(path: &Path) -> Result<RgbImage> {
    let loaded = codec::load_rgb(path)?;
    for note in &loaded.notes {
        eprintln!("note: {}: {note}", path.display());
    }
    let (w, h) = loaded.image.dimensions();
    if w < MIN_SIDE || h < MIN_SIDE {
        bail!(
            "cannot use image {}: it is {w}x{h} pixels, too small (at least {MIN_SIDE}x{MIN_SIDE})",
            path.display()
        );
    }
    Ok(loaded.image)
}

/// Fits `hidden` to the cover's size, saying so when it changes.
fn fit_hidden(hidden: RgbImage, cover: &RgbImage, mode: FitMode) -> RgbImage {
    let (w, h) = cover.dimensions();
    if hidden.dimensions() == (w, h) {
        return hidden;
    }
    eprintln!(
        "hidden image {}x{} fitted to the cover's {w}x{h} ({mode:?})",
        hidden.width(),
        hidden.height()
    );
    codec::fit(&hidden, w, h, mode)
}

/// Checks a stego output path: PNG, or a lossy format only with `allow_lossy`.
fn check_stego_output(
    output: &Path,
    inputs: &[&Path],
    allow_lossy: bool,
    force: bool,
) -> Result<()> {
    if codec::is_lossy(output) && !allow_lossy {
        bail!(
            "refusing to write {}: JPEG is lossy and its compression destroys the hidden image; \
             save as .png (or pass --allow-lossy to do it anyway)",
            output.display()
        );
    }
    let is_png = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png && !codec::is_lossy(output) {
        bail!(
            "cannot write {}: stego images are written as PNG; name the file .png",
            output.display()
        );
    }
    check_output(output, inputs, force)?;
    Ok(())
}

/// Saves an image, with the file named in any error.
fn save_image(image: &RgbImage, path: &Path) -> Result<()> {
    codec::save_rgb(image, path).with_context(|| "the output was not written".to_string())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Progress as a bar on stderr (drawn only on a terminal).
struct Bar(ProgressBar);

impl Bar {
    fn new(what: &str, unit: &str) -> Self {
        let bar = ProgressBar::new(0).with_message(what.to_string());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{elapsed}} (eta {{eta}})"
            ))
            .expect("valid template")
            .progress_chars("=> "),
        );
        Self(bar)
    }
}

impl Progress for Bar {
    fn advance(&mut self, done: usize, total: usize) {
        self.0.set_length(total as u64);
        self.0.set_position(done as u64);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Runs `work`, then says how long it took.
fn timed<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = work();
    eprintln!("{what} in {:.2} s", start.elapsed().as_secs_f64());
    result
}
