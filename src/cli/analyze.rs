//! `stegnet analyze`, `stegnet make-stego`, `stegnet crops` and `stegnet detector train`:
//! the steganalysis lab on the command line.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use super::{Bar, NetworkArgs, RefineArgs, usage_error};
use crate::analysis::experiment::{self, DetectorSpec, Experiment};
use crate::analysis::plot;
use crate::analysis::stego_set::{self, Method};
use crate::analysis::trained::{self, TrainOptions, TrainedDetector};
use crate::codec;
use crate::eval::centre_crop;
use crate::fsutil::{check_output, write_atomically};
use crate::pipeline::Progress;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Folder of clean images (negatives).
    #[arg(long, value_name = "DIR")]
    pub clean: PathBuf,
    /// Folder of stego images (positives).
    #[arg(long, value_name = "DIR")]
    pub stego: PathBuf,
    /// Comma-separated: chi-square, rs, spa, primary-sets, weighted-stego, classic (all
    /// five), trained:FILE.
    #[arg(long, value_name = "LIST", default_value = "classic")]
    pub detectors: String,
    /// Also write the per-image scores as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also draw the ROC curves to a PNG.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Print the whole result as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Replace output files that exist.
    #[arg(short, long)]
    pub force: bool,
}

pub fn analyze(args: AnalyzeArgs) -> Result<()> {
    let specs = DetectorSpec::parse_list(&args.detectors)?;
    if specs.is_empty() {
        bail!("no detectors named");
    }
    for output in [&args.csv, &args.plot].into_iter().flatten() {
        check_output(output, &[], args.force)?;
    }
    let clean = experiment::list_images(&args.clean)?;
    let stego = experiment::list_images(&args.stego)?;
    eprintln!(
        "scoring {} clean and {} stego images",
        clean.len(),
        stego.len()
    );
    let result = experiment::run(&clean, &stego, &specs, &mut Bar::new("scoring", "images"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", per_image_table(&result));
        println!();
        print!("{}", auc_table(&result, clean.len(), stego.len()));
    }
    if let Some(csv) = &args.csv {
        write_atomically(csv, |file| file.write_all(csv_text(&result).as_bytes()))
            .with_context(|| format!("cannot write {}", csv.display()))?;
        eprintln!("wrote {}", csv.display());
    }
    if let Some(path) = &args.plot {
        let title = format!("ROC: {} clean vs {} stego", clean.len(), stego.len());
        plot::save_roc(&result.curves, &title, path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn show(score: Option<f64>) -> String {
    score.map_or_else(|| "-".to_string(), |s| format!("{s:.4}"))
}

fn per_image_table(result: &Experiment) -> String {
    let mut out = format!("{:<40} {:>6}", "image", "class");
    for name in &result.detectors {
        out += &format!(" {:>16}", truncate(name, 16));
    }
    out += &format!(" {:>8}\n", "fused");
    for image in &result.images {
        let name = image.path.file_name().unwrap_or_default().to_string_lossy();
        out += &format!(
            "{:<40} {:>6}",
            truncate(&name, 40),
            if image.stego { "stego" } else { "clean" }
        );
        for score in &image.scores {
            out += &format!(" {:>16}", show(*score));
        }
        out += &format!(" {:>8}\n", show(image.fused));
    }
    out
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

fn auc_table(result: &Experiment, clean: usize, stego: usize) -> String {
    let mut out = format!("ROC AUC ({clean} clean, {stego} stego images)\n");
    for curve in &result.curves {
        out += &format!("  {:<28} {:.4}\n", curve.name, curve.auc);
    }
    out
}

fn csv_text(result: &Experiment) -> String {
    let mut out = String::from("image,class");
    for name in &result.detectors {
        out += &format!(",{name}");
    }
    out += ",fused\n";
    // `{:?}` switches to exponent notation for tiny p-values (`Display` would write a
    // hundred zeros), and still round-trips exactly.
    let cell = |s: Option<f64>| s.map_or_else(String::new, |v| format!("{v:?}"));
    for image in &result.images {
        out += &format!(
            "\"{}\",{}",
            image.path.display().to_string().replace('"', "\"\""),
            if image.stego { "stego" } else { "clean" }
        );
        for score in &image.scores {
            out += &format!(",{}", cell(*score));
        }
        out += &format!(",{}\n", cell(image.fused));
    }
    out
}

#[derive(Debug, clap::Args)]
pub struct MakeStegoArgs {
    /// stegnet, or lsbK with K = 1..8.
    #[arg(long, value_parser = Method::parse)]
    pub method: Method,
    /// Folder of cover images.
    #[arg(long, value_name = "DIR")]
    pub covers: PathBuf,
    /// Folder of images to hide (may be the covers folder: cover i then hides cover i + 1).
    #[arg(long, value_name = "DIR")]
    pub secrets: PathBuf,
    /// Folder to write the stego images to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub refine: RefineArgs,
    /// Replace stego images that exist.
    #[arg(short, long)]
    pub force: bool,
}

pub fn make_stego(args: MakeStegoArgs) -> Result<()> {
    let refinement = args.refine.settings(&args.network);
    if refinement.is_some() && args.method != Method::StegNet {
        usage_error(
            "make-stego",
            "--refine refines StegNet stego images: use it with --method stegnet",
        );
    }
    let covers = experiment::list_images(&args.covers)?;
    let secrets = experiment::list_images(&args.secrets)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create folder {}", args.out.display()))?;
    png_outputs(&covers, &args.out, args.force)?;
    let loaded = match args.method {
        Method::StegNet => Some(args.network.load()?),
        Method::Lsb(_) => None,
    };
    let hider = loaded.as_ref().map(|(model, device)| stego_set::Hider {
        tiling: args.network.tiling(),
        refinement,
        ..stego_set::Hider::new(model, &device.device)
    });
    let written = stego_set::make(
        args.method,
        hider.as_ref(),
        &covers,
        &secrets,
        &args.out,
        &mut Bar::new("embedding", "images"),
    )?;
    eprintln!(
        "wrote {} stego images to {}",
        written.len(),
        args.out.display()
    );
    Ok(())
}

/// `OUT/<stem>.png` for each input, checked: no two inputs share a stem, and no existing
/// file is replaced unless `force`.
fn png_outputs(inputs: &[PathBuf], out: &Path, force: bool) -> Result<Vec<PathBuf>> {
    let mut names = std::collections::HashSet::new();
    inputs
        .iter()
        .map(|input| {
            let stem = input
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !names.insert(stem.clone()) {
                bail!("two images are named {stem}: their outputs would collide");
            }
            let target = out.join(format!("{stem}.png"));
            check_output(&target, &[input], force)?;
            Ok(target)
        })
        .collect()
}

#[derive(Debug, clap::Args)]
pub struct CropsArgs {
    /// Folder of images (searched recursively).
    #[arg(long, value_name = "DIR")]
    pub images: PathBuf,
    /// Side of the square centre crops (smaller images give the largest square that fits).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(16..=8192))]
    pub size: u32,
    /// Folder to write the crops to as PNG (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace crops that exist.
    #[arg(short, long)]
    pub force: bool,
}

/// Centre crops of a folder of photos: equal-size sets for steganalysis experiments.
pub fn crops(args: CropsArgs) -> Result<()> {
    let images = experiment::list_images(&args.images)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create folder {}", args.out.display()))?;
    let targets = png_outputs(&images, &args.out, args.force)?;
    let mut bar = Bar::new("cropping", "images");
    for (i, (image, target)) in images.iter().zip(&targets).enumerate() {
        let loaded = codec::load_rgb(image)?.image;
        codec::save_rgb(&centre_crop(&loaded, args.size), target)?;
        bar.advance(i + 1, images.len());
    }
    eprintln!("wrote {} crops to {}", targets.len(), args.out.display());
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum DetectorCommand {
    /// Train a SPAM + logistic-regression detector on clean and stego images.
    Train {
        #[arg(long, value_name = "DIR")]
        clean: PathBuf,
        #[arg(long, value_name = "DIR")]
        stego: PathBuf,
        /// Where to write the detector (JSON).
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
        /// Gradient-descent epochs.
        #[arg(long, default_value_t = TrainOptions::default().epochs)]
        epochs: usize,
        /// Replace the output file if it exists.
        #[arg(short, long)]
        force: bool,
    },
}

pub fn detector(command: DetectorCommand) -> Result<()> {
    let DetectorCommand::Train {
        clean,
        stego,
        out,
        epochs,
        force,
    } = command;
    check_output(&out, &[], force)?;
    let features = |folder: &PathBuf| -> Result<Vec<Vec<f64>>> {
        experiment::list_images(folder)?
            .iter()
            .map(|path| Ok(trained::spam_features(&codec::load_rgb(path)?.image)))
            .collect()
    };
    let (clean_features, stego_features) = (features(&clean)?, features(&stego)?);
    eprintln!(
        "training on {} clean and {} stego images ({} SPAM features each)",
        clean_features.len(),
        stego_features.len(),
        trained::FEATURES
    );
    let detector = TrainedDetector::train(
        &clean_features,
        &stego_features,
        TrainOptions {
            epochs,
            ..Default::default()
        },
    );
    let correct = clean_features
        .iter()
        .filter(|f| detector.score_features(f) < 0.5)
        .count()
        + stego_features
            .iter()
            .filter(|f| detector.score_features(f) >= 0.5)
            .count();
    eprintln!(
        "training accuracy {:.1}% (measure it on images it never saw with `stegnet analyze --detectors trained:{}`)",
        100.0 * correct as f64 / (clean_features.len() + stego_features.len()) as f64,
        out.display()
    );
    detector.save(&out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
