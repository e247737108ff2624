//! `stegnet train` and `stegnet eval`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::channel;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::{Bar, NetworkArgs, RefineArgs};
use crate::analysis::experiment::list_images;
use crate::device;
use crate::eval::{self, EvalReport, Figures};
use crate::fsutil::check_output;
use crate::model::ModelSource;
use crate::train::trainer::{self, TrainControl, TrainEvent, TrainSetup};
use crate::train::{Objective, Schedule, TrainConfig, Tuning};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Folder of training photos (searched recursively).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Folder of validation photos (default: every tenth training photo is held out).
    #[arg(long, value_name = "DIR")]
    pub val: Option<PathBuf>,
    /// Total optimisation steps.
    #[arg(long, default_value_t = TrainConfig::default().steps)]
    pub steps: u64,
    /// Pairs per step.
    #[arg(long, default_value_t = TrainConfig::default().batch)]
    pub batch: usize,
    /// Side of the square training crops.
    #[arg(long, default_value_t = TrainConfig::default().crop)]
    pub crop: u32,
    /// Peak learning rate.
    #[arg(long, default_value_t = TrainConfig::default().lr)]
    pub lr: f64,
    #[arg(long, value_enum, default_value_t = Schedule::Cosine)]
    pub schedule: Schedule,
    /// Steps of linear learning-rate warm-up.
    #[arg(long, default_value_t = TrainConfig::default().warmup)]
    pub warmup: u64,
    /// Validate and checkpoint every this many steps.
    #[arg(long, default_value_t = TrainConfig::default().validate_every)]
    pub every: u64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Decay of the moving average of the weights that is validated and saved (0.998: about
    /// the last 500 steps); 0 saves the last step's weights instead.
    #[arg(long, value_name = "DECAY", value_parser = average_decay,
          default_value_t = TrainConfig::default().average_decay.unwrap_or(0.0))]
    pub ema: f64,
    /// What learns: both networks as in the paper (joint), or only the decoder's weights,
    /// with both networks running as in inference, on the stego images users save
    /// (decoder-only), or both networks running as in inference (inference-mode); the last
    /// two fine-tune trained weights given with --init.
    #[arg(long, value_enum, default_value_t = Tuning::Joint)]
    pub tuning: Tuning,
    /// What the optimiser lowers: the paper's loss (equation 7: mean absolute errors and
    /// residual variances of cover and secret), or the two mean absolute errors alone (l1),
    /// the figures `stegnet eval` reports, or those with the cover's on the image as saved,
    /// its smooth colour cast carried aside (l1-saved), or those with the cover's large
    /// differences costing more, for its PSNR (psnr-saved). Progress shows the paper's loss
    /// either way.
    #[arg(long, value_enum, default_value_t = Objective::Paper)]
    pub objective: Objective,
    /// Weight of the cover's terms against the secret's (1: as in the paper): above 1 keeps
    /// stego images closer to their covers, below 1 reveals secrets better.
    #[arg(long, value_name = "W", value_parser = cover_weight,
          default_value_t = TrainConfig::default().cover_weight)]
    pub cover_weight: f64,
    /// Where the trained weights go; the best validated weights go beside them, in
    /// NAME-best.bpk.
    #[arg(long, value_name = "FILE", default_value = "stegnet-trained.bpk")]
    pub out: PathBuf,
    /// Where checkpoints go (default: the output name with .ckpt).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Go on from a checkpoint, exactly where it stopped.
    #[arg(long, value_name = "CKPT")]
    pub resume: Option<PathBuf>,
    /// Start from these weights instead of a fresh initialisation.
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = device::DeviceChoice::Auto)]
    pub device: device::DeviceChoice,
    /// Replace the output weights if they exist.
    #[arg(short, long)]
    pub force: bool,
}

pub fn train(args: TrainArgs) -> Result<()> {
    // The weights a run starts from are never overwritten by its own.
    let inputs: Vec<&Path> = args.init.iter().map(PathBuf::as_path).collect();
    check_output(&args.out, &inputs, args.force)?;
    check_output(&trainer::best_path(&args.out), &inputs, args.force)?;
    let checkpoint = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| args.out.with_extension("ckpt"));
    let compute = device::select(args.device)?;
    eprintln!("device: {}", compute.label);
    let config = TrainConfig {
        steps: args.steps,
        batch: args.batch.max(1),
        crop: args.crop.max(8),
        lr: args.lr,
        schedule: args.schedule,
        warmup: args.warmup,
        seed: args.seed,
        validate_every: args.every.max(1),
        checkpoint_every: args.every.max(1),
        average_decay: (args.ema > 0.0).then_some(args.ema),
        tuning: args.tuning,
        objective: args.objective,
        cover_weight: args.cover_weight,
        ..TrainConfig::default()
    };
    let setup = TrainSetup {
        val: args.val,
        checkpoint,
        resume: args.resume,
        init: args.init.map(ModelSource::File),
        ..TrainSetup::new(config, args.data, args.out, compute)
    };
    let control = Arc::new(TrainControl::default());
    let on_interrupt = control.clone();
    ctrlc::set_handler(move || {
        eprintln!("\nstopping after this step (a checkpoint is written)...");
        on_interrupt.stop();
    })
    .context("cannot install the Ctrl-C handler")?;

    let (sender, receiver) = channel();
    let printer = std::thread::spawn(move || print_events(receiver));
    let outcome = trainer::train(setup, &sender, &control);
    drop(sender);
    let _ = printer.join();
    let outcome = outcome?;
    if let Some((step, path)) = &outcome.best {
        eprintln!("best validated weights: step {step}, {}", path.display());
    }
    if outcome.stopped_early {
        eprintln!(
            "stopped at step {}: resume with --resume {}",
            outcome.steps_done,
            outcome.checkpoint.display()
        );
    }
    Ok(())
}

/// `--ema`: a decay in [0, 1).
fn average_decay(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(decay) if (0.0..1.0).contains(&decay) => Ok(decay),
        _ => Err(format!(
            "{text} is not a decay between 0 and 1 (e.g. 0.998)"
        )),
    }
}

/// `--cover-weight`: a positive, finite weight.
fn cover_weight(text: &str) -> Result<f64, String> {
    super::positive(text).ok_or_else(|| format!("{text} is not a positive weight (e.g. 1.5)"))
}

/// Shows the trainer's events: a progress bar on a terminal, lines otherwise.
fn print_events(events: std::sync::mpsc::Receiver<TrainEvent>) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("step {pos}/{len} [{bar:25}] {msg} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    for event in events {
        match event {
            TrainEvent::Started {
                device: _,
                first_step,
                total_steps,
                train_photos,
                val_photos,
            } => {
                bar.set_length(total_steps);
                bar.set_position(first_step);
                eprintln!(
                    "training steps {first_step}..{total_steps} on {train_photos} photos, validating on {val_photos}"
                );
            }
            TrainEvent::Step(report) => {
                bar.set_position(report.step);
                let l = report.loss;
                bar.set_message(format!(
                    "loss {:.4} (cover L1 {:.4} var {:.4}, hidden L1 {:.4} var {:.4}) {:.1} pairs/s",
                    l.total, l.cover_l1, l.cover_variance, l.hidden_l1, l.hidden_variance, report.pairs_per_second
                ));
                if bar.is_hidden() && (report.step % 10 == 0 || report.step == report.total_steps) {
                    eprintln!(
                        "step {}/{}: loss {:.5} lr {:.2e} {:.2} pairs/s eta {:.0} s",
                        report.step, report.total_steps, l.total, report.learning_rate,
                        report.pairs_per_second, report.eta_seconds
                    );
                }
            }
            TrainEvent::Validation(v) => bar.suspend(|| {
                eprintln!(
                    "validation at step {}: cover changing rate {:.3}%, hidden-decoded difference {:.3}%, \
                     PSNR cover {:.2} dB, hidden {:.2} dB",
                    v.step,
                    100.0 * v.cover_changing_rate,
                    100.0 * v.hidden_decoded_difference,
                    v.cover_psnr_db,
                    v.hidden_psnr_db
                )
            }),
            TrainEvent::Preview(_) => {}
            TrainEvent::Checkpoint { step, path } => {
                bar.suspend(|| eprintln!("checkpoint at step {step}: {}", path.display()))
            }
            TrainEvent::Best { step, path } => bar.suspend(|| {
                eprintln!("best validation so far at step {step}: {}", path.display())
            }),
            TrainEvent::Finished { step, weights, .. } => {
                bar.finish_and_clear();
                eprintln!("wrote {} (step {step})", weights.display());
            }
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Folder of photos (photo i hides photo i + 1, in name order).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Pairs to evaluate.
    #[arg(long, default_value_t = 20)]
    pub pairs: usize,
    /// Centre crops of S x S instead of full resolution.
    #[arg(long, value_name = "S", conflicts_with = "full")]
    pub size: Option<u32>,
    /// Full resolution (the default).
    #[arg(long)]
    pub full: bool,
    /// Bits of the LSB baseline shown beside StegNet.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub bits: u8,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub refine: RefineArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let refinement = args.refine.settings(&args.network);
    let photos = list_images(&args.data)?;
    let (model, compute) = args.network.load()?;
    let report = eval::evaluate(
        &model,
        &compute.device,
        &photos,
        args.pairs,
        args.size,
        args.bits,
        refinement.as_ref(),
        &mut Bar::new("evaluating", "pairs"),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", eval_table(&report));
    }
    Ok(())
}

fn eval_table(report: &EvalReport) -> String {
    let size = report.crop.map_or("full resolution".to_string(), |s| {
        format!("{s}x{s} centre crops")
    });
    let mut out = format!("{} pairs, {size}\n", report.pairs);
    out += "StegNet: as saved (colour cast carried aside, secret's smooth error carried \
            along); network: its own 8-bit output\n";
    // Columns: a name, then a summary's mean and worst for each method.
    let mut columns = vec![
        ("StegNet".to_string(), &report.stegnet),
        ("network".to_string(), &report.network),
    ];
    if let Some(refined) = &report.refined {
        out += &format!(
            "refined: {} steps per tile, first step {} (8-bit levels), cover weight {}\n",
            refined.steps, refined.step_levels, refined.cover_weight
        );
        columns.push(("refined".to_string(), &refined.summary));
    }
    columns.push((format!("LSB-{}", report.lsb_bits), &report.lsb));
    out += &format!("{:<28}", "");
    for (name, _) in &columns {
        out += &format!(" {:>12} {:>12}", format!("{name} mean"), "worst");
    }
    out += "\n";
    /// A table row: name, the figure, whether it is shown in percent.
    type Row = (&'static str, fn(&Figures) -> f64, bool);
    let rows: [Row; 8] = [
        ("cover changing rate (%)", |f| f.cover_changing_rate, true),
        (
            "hidden-decoded diff (%)",
            |f| f.hidden_decoded_difference,
            true,
        ),
        ("decoded rate (%)", |f| f.decoded_rate, true),
        ("payload (bpp)", |f| f.payload_bpp, false),
        ("cover PSNR (dB)", |f| f.cover_psnr_db, false),
        ("hidden PSNR (dB)", |f| f.hidden_psnr_db, false),
        ("cover SSIM", |f| f.cover_ssim, false),
        ("hidden SSIM", |f| f.hidden_ssim, false),
    ];
    for (name, get, percent) in rows {
        let v = |f: &Figures| if percent { 100.0 * get(f) } else { get(f) };
        out += &format!("{name:<28}");
        for (_, summary) in &columns {
            out += &format!(" {:>12.4} {:>12.4}", v(&summary.mean), v(&summary.worst));
        }
        out += "\n";
    }
    out
}
