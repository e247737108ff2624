//! Training: data, loss, checkpoints and exact resume, on tiny generated photos (CPU).

use std::path::Path;
use std::sync::mpsc::channel;

use burn::prelude::*;
use image::{Rgb, RgbImage};
use stegnet::device;
use stegnet::model::{ModelSource, weights};
use stegnet::train::average::WeightAverage;
use stegnet::train::calibrate::{Calibration, calibrate_batch_norm};
use stegnet::train::checkpoint;
use stegnet::train::data::{PhotoSet, Rng, make_batch};
use stegnet::train::loss::{LossParts, cover_view, quantize_straight_through};
use stegnet::train::trainer::{
    self, BestValidation, TrainControl, TrainEvent, TrainSetup, ValidationReport,
};
use stegnet::train::{Objective, Schedule, TrainConfig, Tuning};

/// A folder of small generated "photos" with some structure.
fn photo_folder(dir: &Path, count: u32) {
    for i in 0..count {
        RgbImage::from_fn(40 + 3 * i, 36 + 2 * i, |x, y| {
            let v = |k: u32| ((x * (k + 2 + i) + y * (3 + k) + (x ^ y) * i) % 256) as u8;
            Rgb([v(0), v(1), v(2)])
        })
        .save(dir.join(format!("p{i}.png")))
        .unwrap();
    }
}

fn setup(dir: &Path, steps: u64, resume: bool) -> TrainSetup {
    averaged_setup(dir, steps, resume, None)
}

/// [`setup`], keeping a moving average of the weights with `average_decay`.
fn averaged_setup(dir: &Path, steps: u64, resume: bool, average_decay: Option<f64>) -> TrainSetup {
    let config = TrainConfig {
        steps,
        batch: 2,
        crop: 16,
        lr: 1e-3,
        schedule: Schedule::Cosine,
        warmup: 2,
        seed: 5,
        validate_every: 2,
        checkpoint_every: 2,
        val_pairs: 2,
        val_size: 16,
        average_decay,
        tuning: Tuning::Joint,
        objective: Objective::Paper,
        cover_weight: 1.0,
    };
    TrainSetup {
        checkpoint: dir.join("run.ckpt"),
        resume: resume.then(|| dir.join("run.ckpt")),
        // From fixed weights: a fresh initialisation draws from the device's random generator,
        // which every test running alongside shares, so two runs could start apart.
        init: Some(ModelSource::BuiltIn),
        cache_bytes: 1 << 24,
        ..TrainSetup::new(
            config,
            dir.join("photos"),
            dir.join("out.bpk"),
            device::cpu(),
        )
    }
}

/// Every tensor of the trained weights by name, as raw bytes (parameter ids, which are
/// random per run, left out).
fn trained_tensors(dir: &Path) -> Vec<(String, Vec<u8>)> {
    weights_tensors(&dir.join("out.bpk"))
}

/// Every tensor of the weights file `path` by name, as raw bytes.
fn weights_tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let (model, _) = weights::load(
        &ModelSource::File(path.to_path_buf()),
        &device::cpu().device,
    )
    .unwrap();
    tensors(model)
}

/// Every tensor of `model` by name, as raw bytes, sorted by name.
fn tensors(model: stegnet::model::StegNet) -> Vec<(String, Vec<u8>)> {
    let bytes = weights::to_bytes(model, &Default::default()).unwrap();
    let reader = burn_pack::Reader::from_bytes(burn_pack::Bytes::from_bytes_vec(bytes)).unwrap();
    let mut tensors: Vec<(String, Vec<u8>)> = reader
        .into_tensors()
        .unwrap()
        .into_iter()
        .map(|t| {
            let (name, _, _, _, data) = t.into_parts().unwrap();
            (name, data.to_vec())
        })
        .collect();
    tensors.sort();
    tensors
}

#[test]
fn calibration_changes_only_the_batchnorm_statistics_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("photos")).unwrap();
    photo_folder(&dir.path().join("photos"), 6);
    let (sender, _receiver) = channel();
    trainer::train(
        setup(dir.path(), 2, false),
        &sender,
        &TrainControl::default(),
    )
    .unwrap();
    let cpu = device::cpu();
    let network = cpu.network_config();
    let source = ModelSource::File(dir.path().join("out.bpk"));
    let calibrated = || {
        let (model, info) = weights::load_with(&source, &cpu.device, &network).unwrap();
        let mut photos = PhotoSet::open(&dir.path().join("photos"), 1 << 24).unwrap();
        let calibration = Calibration {
            batches: 3,
            size: 2,
            crop: 16,
        };
        calibrate_batch_norm(
            model,
            &info,
            &network,
            &mut photos,
            calibration,
            &cpu.device,
        )
        .unwrap()
    };
    let before = trained_tensors(dir.path());
    let after = tensors(calibrated());
    assert_eq!(after, tensors(calibrated()), "calibration is deterministic");
    assert_eq!(before.len(), after.len());
    let mut statistics_changed = 0;
    for ((name, x), (other, y)) in before.iter().zip(&after) {
        assert_eq!(name, other);
        if name.contains("running") {
            statistics_changed += usize::from(x != y);
        } else {
            assert!(x == y, "{name} is a weight: calibration must not change it");
        }
    }
    assert!(
        statistics_changed > 0,
        "the running statistics were re-estimated"
    );
}

/// Trains 6 steps in one go in one folder, 3 + resume + 3 in another (both with [`setup`]'s
/// settings as `adjust` changes them), checks that the saved weights are identical and
/// returns the events of all three runs and the second folder.
fn train_in_one_go_and_resumed(
    adjust: fn(&mut TrainConfig),
) -> (Vec<TrainEvent>, tempfile::TempDir) {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    for dir in [&one, &two] {
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        photo_folder(&dir.path().join("photos"), 6);
    }
    let run = |dir: &Path, resume: bool| {
        let mut run = setup(dir, 6, resume);
        adjust(&mut run.config);
        run
    };
    let (sender, receiver) = channel();
    let control = TrainControl::default();
    trainer::train(run(one.path(), false), &sender, &control).unwrap();

    let halfway = TrainControl::default();
    halfway.stop_at(3);
    let half = trainer::train(run(two.path(), false), &sender, &halfway).unwrap();
    assert_eq!((half.steps_done, half.stopped_early), (3, true));
    let header = checkpoint::read_header(&two.path().join("run.ckpt")).unwrap();
    assert_eq!(
        header.best.map(|best| best.step),
        Some(2),
        "the checkpoint remembers the best validation"
    );
    let rest = trainer::train(run(two.path(), true), &sender, &control).unwrap();
    assert_eq!((rest.steps_done, rest.stopped_early), (6, false));
    let (a, b) = (trained_tensors(one.path()), trained_tensors(two.path()));
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between one run and a resumed run");
    }
    let best = |dir: &Path| weights_tensors(&dir.join("out-best.bpk"));
    assert!(
        best(one.path()) == best(two.path()),
        "the best weights differ between one run and a resumed run"
    );
    (receiver.try_iter().collect(), two)
}

#[test]
fn resuming_gives_exactly_the_same_weights_as_one_run() {
    let (events, dir) = train_in_one_go_and_resumed(|_| {});
    // Started from the built-in weights, the weights count its steps too, across the resume.
    let cpu = device::cpu();
    let (_, built_in) = weights::load(&ModelSource::BuiltIn, &cpu.device).unwrap();
    let (_, info) =
        weights::load(&ModelSource::File(dir.path().join("out.bpk")), &cpu.device).unwrap();
    assert_eq!(info.trained_steps, built_in.trained_steps + 6);
    assert!(
        info.note.starts_with(&built_in.note) && info.note.contains("trained 6 steps"),
        "{}",
        info.note
    );
    // The channel saw every kind of event.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainEvent::Step(s) if s.loss.total.is_finite()))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainEvent::Validation(_)))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainEvent::Preview(p) if p.embedded.width() == 16))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainEvent::Checkpoint { .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainEvent::Finished { step: 6, .. }))
    );
}

#[test]
fn the_chosen_objective_is_minimised_checkpointed_and_resumed_exactly() {
    let (_, dir) = train_in_one_go_and_resumed(|config| {
        config.objective = Objective::L1;
        config.cover_weight = 2.0;
    });
    let header = checkpoint::read_header(&dir.path().join("run.ckpt")).unwrap();
    assert_eq!(
        (header.config.objective, header.config.cover_weight),
        (Objective::L1, 2.0)
    );
    let out = ModelSource::File(dir.path().join("out.bpk"));
    let (_, info) = weights::load(&out, &device::cpu().device).unwrap();
    assert!(
        info.note.ends_with(", L1 terms only, cover weighted 2"),
        "{}",
        info.note
    );
    let (_, paper) = train_in_one_go_and_resumed(|_| {});
    assert!(
        trained_tensors(dir.path()) != trained_tensors(paper.path()),
        "the objective changes what is learned"
    );
    // Checkpoints written before the choice existed read as the paper's loss.
    let mut old = serde_json::to_value(TrainConfig::default()).unwrap();
    let fields = old.as_object_mut().unwrap();
    fields.remove("objective");
    fields.remove("cover_weight");
    let old: TrainConfig = serde_json::from_value(old).unwrap();
    assert_eq!((old.objective, old.cover_weight), (Objective::Paper, 1.0));
}

#[test]
fn averaged_weights_are_saved_checkpointed_and_resumed_exactly() {
    let (_, dir) = train_in_one_go_and_resumed(|config| config.average_decay = Some(0.5));
    let cpu = device::cpu();
    let load = || {
        checkpoint::load(
            &dir.path().join("run.ckpt"),
            &cpu.device.clone().autodiff(),
            &cpu.network_config(),
            trainer::optimizer(),
        )
        .unwrap()
    };
    let saved = load();
    let average = tensors(saved.average.expect("the checkpoint holds the average"));
    assert_eq!(
        average,
        trained_tensors(dir.path()),
        "the saved weights are the average"
    );
    let last_step = tensors(saved.model.valid());
    assert!(
        average
            .iter()
            .zip(&last_step)
            .any(|((name, a), (_, b))| !name.contains("running") && a != b),
        "the average differs from the last step's weights"
    );
    // The weights taken out of the checkpoint are the run's, described alike.
    let (_, saved_info) =
        weights::load(&ModelSource::File(dir.path().join("out.bpk")), &cpu.device).unwrap();
    let (averaged, info) = load().into_weights(false);
    assert_eq!(tensors(averaged), average);
    assert_eq!(info, saved_info);
    let (iterate, _) = load().into_weights(true);
    assert_eq!(tensors(iterate), last_step);
}

#[test]
fn the_best_validated_weights_are_kept_across_a_resume() {
    let (events, dir) = train_in_one_go_and_resumed(|config| config.average_decay = Some(0.5));
    // The runs validate at steps 2, 4, 6 (one go), then 2 and 4, 6 (stopped at 3, resumed).
    let validations: Vec<ValidationReport> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Validation(report) => Some(*report),
            _ => None,
        })
        .collect();
    assert_eq!(
        validations.iter().map(|v| v.step).collect::<Vec<_>>(),
        [2, 4, 6, 2, 4, 6]
    );
    let mut best = validations[0];
    for report in &validations[1..3] {
        if report.error() < best.error() {
            best = *report;
        }
    }
    // A new best is announced only when it beats every earlier validation of the run, the
    // ones before the resume included. The stopped run announces step 2 (its only
    // validation), the resumed one that best again as it starts, then whatever beats it: in
    // all, exactly what the one go announced.
    let announced: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Best { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    let one_go = &announced[..(announced.len() - 1) / 2];
    assert_eq!(
        announced,
        [one_go, &[2], one_go].concat(),
        "announced: {announced:?}"
    );
    assert_eq!(one_go.last(), Some(&best.step));

    // The best file holds the (averaged) weights of that step, described as such.
    let cpu = device::cpu();
    let (_, built_in) = weights::load(&ModelSource::BuiltIn, &cpu.device).unwrap();
    let best_file = dir.path().join("out-best.bpk");
    let (_, info) = weights::load(&ModelSource::File(best_file.clone()), &cpu.device).unwrap();
    assert_eq!(info.trained_steps, built_in.trained_steps + best.step);
    let stopped = tempfile::tempdir().unwrap();
    std::fs::create_dir(stopped.path().join("photos")).unwrap();
    photo_folder(&stopped.path().join("photos"), 6);
    let control = TrainControl::default();
    control.stop_at(best.step);
    let (sender, _receiver) = channel();
    let outcome = trainer::train(
        averaged_setup(stopped.path(), 6, false, Some(0.5)),
        &sender,
        &control,
    )
    .unwrap();
    assert_eq!(outcome.steps_done, best.step);
    assert!(
        weights_tensors(&best_file) == trained_tensors(stopped.path()),
        "the best file holds the weights of step {}",
        best.step
    );

    // A resumed run compares with the checkpoint's best, and writes the checkpoint's best
    // weights where it keeps its own: given a best nothing can beat, it keeps that one.
    let ckpt = dir.path().join("run.ckpt");
    let autodiff = cpu.device.clone().autodiff();
    let mut saved = checkpoint::load(
        &ckpt,
        &autodiff,
        &cpu.network_config(),
        trainer::optimizer(),
    )
    .unwrap();
    saved.header.best = Some(BestValidation {
        step: best.step,
        error: 0.0,
    });
    checkpoint::save(
        &ckpt,
        &saved.header,
        &saved.model,
        &saved.optimizer,
        saved.average,
        saved.best_weights.as_deref(),
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let moved_best = elsewhere.path().join("moved-best.bpk");
    let (sender, receiver) = channel();
    let outcome = trainer::train(
        TrainSetup {
            out: elsewhere.path().join("moved.bpk"),
            best: moved_best.clone(),
            ..averaged_setup(dir.path(), 8, true, Some(0.5))
        },
        &sender,
        &TrainControl::default(),
    )
    .unwrap();
    assert_eq!(outcome.steps_done, 8);
    assert_eq!(outcome.best, Some((best.step, moved_best.clone())));
    assert!(weights_tensors(&moved_best) == weights_tensors(&best_file));
    let announced: Vec<u64> = receiver
        .try_iter()
        .filter_map(|e| match e {
            TrainEvent::Best { step, .. } => Some(step),
            _ => None,
        })
        .collect();
    assert_eq!(announced, [best.step], "only the checkpoint's best");
}

#[test]
fn the_weight_average_blends_every_tensor() {
    let cpu = device::cpu();
    let network = cpu.network_config();
    let (a, _) = weights::load_with(&ModelSource::BuiltIn, &cpu.device, &network).unwrap();
    let b = network.init(&cpu.device);
    let floats = |model| -> Vec<(String, Vec<f32>)> {
        tensors(model)
            .into_iter()
            .map(|(name, bytes)| {
                let values = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                (name, values)
            })
            .collect()
    };
    let (fa, fb) = (floats(a.clone()), floats(b.clone()));
    let mut average = WeightAverage::new(0.25, &a);
    average.update(&b, 1000);
    let blended = floats(average.apply(network.init(&cpu.device)));
    assert_eq!(blended.len(), fa.len());
    let mut differing = 0;
    for (((name, m), (_, x)), (_, y)) in blended.iter().zip(&fa).zip(&fb) {
        differing += usize::from(x != y);
        for ((m, x), y) in m.iter().zip(x).zip(y) {
            let expected = 0.25 * x + 0.75 * y;
            let tolerance = 1e-6 * (1.0 + expected.abs());
            assert!(
                (m - expected).abs() <= tolerance,
                "{name}: {m} != {expected}"
            );
        }
    }
    assert!(differing > 0, "the two networks differ");
}

#[test]
fn fine_tuning_runs_as_in_inference_and_changes_only_what_it_tunes() {
    for tuning in [Tuning::DecoderOnly, Tuning::InferenceMode] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        photo_folder(&dir.path().join("photos"), 4);
        // With the weights averaged too: the average of an unchanging tensor is that tensor.
        let mut run = averaged_setup(dir.path(), 3, false, Some(0.9));
        run.config.tuning = tuning;
        let (sender, _receiver) = channel();
        trainer::train(run, &sender, &TrainControl::default()).unwrap();
        let (before, _) = weights::load(&ModelSource::BuiltIn, &device::cpu().device).unwrap();
        let (before, after) = (tensors(before), trained_tensors(dir.path()));
        assert_eq!(before.len(), after.len());
        // Everything runs as in inference: BatchNorm's statistics stay, and in decoder-only
        // tuning the embedder's weights too.
        let kept_network = match tuning {
            Tuning::DecoderOnly => "embedder",
            _ => "(none)",
        };
        let (mut kept, mut learned) = (0, [0, 0]);
        for ((name, a), (other, b)) in before.iter().zip(&after) {
            assert_eq!(name, other);
            if name.starts_with(kept_network) || name.contains("running") {
                assert!(a == b, "{tuning:?}: {name} changed");
                kept += 1;
            } else {
                learned[usize::from(name.starts_with("decoder"))] += usize::from(a != b);
            }
        }
        let learned_embedder = tuning == Tuning::InferenceMode;
        assert!(
            kept > 0 && learned[1] > 0 && (learned[0] > 0) == learned_embedder,
            "{tuning:?}: {kept} kept, {learned:?} learned (embedder, decoder)"
        );
    }
}

#[test]
fn fine_tuning_refuses_a_fresh_network() {
    for tuning in [Tuning::DecoderOnly, Tuning::InferenceMode] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        photo_folder(&dir.path().join("photos"), 4);
        let mut run = averaged_setup(dir.path(), 3, false, None);
        run.config.tuning = tuning;
        run.init = None;
        let (sender, _receiver) = channel();
        let error = trainer::train(run, &sender, &TrainControl::default()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("start from the built-in model or other trained weights"),
            "{error}"
        );
        assert!(
            !dir.path().join("run.ckpt").exists(),
            "no checkpoint is written"
        );
    }
}

#[test]
fn a_stopped_run_writes_a_checkpoint_it_can_resume_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("photos")).unwrap();
    photo_folder(&dir.path().join("photos"), 4);
    let control = TrainControl::default();
    control.stop();
    let (sender, _receiver) = channel();
    let outcome = trainer::train(setup(dir.path(), 4, false), &sender, &control).unwrap();
    assert!(outcome.stopped_early);
    assert_eq!(outcome.steps_done, 0);
    let resumed = trainer::train(
        setup(dir.path(), 2, true),
        &sender,
        &TrainControl::default(),
    )
    .unwrap();
    assert_eq!(resumed.steps_done, 4, "the run keeps its planned length");
    // A damaged checkpoint is refused with a message.
    let ckpt = dir.path().join("run.ckpt");
    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() / 2]).unwrap();
    let error = trainer::train(
        setup(dir.path(), 6, true),
        &sender,
        &TrainControl::default(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("run.ckpt"), "{error:#}");
}

#[test]
fn batches_depend_only_on_seed_and_step() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 5);
    let mut photos = PhotoSet::open(dir.path(), 1 << 24).unwrap();
    let a = make_batch(&mut photos, 1, 7, 3, 16).unwrap();
    let b = make_batch(&mut photos, 1, 7, 3, 16).unwrap();
    let c = make_batch(&mut photos, 1, 8, 3, 16).unwrap();
    assert_eq!(a.cover, b.cover);
    assert_ne!(a.cover, c.cover);
    assert_eq!(a.cover.len(), 3 * 3 * 16 * 16);
    assert_ne!(
        a.cover, a.hidden,
        "cover and hidden are drawn independently"
    );
    assert!(a.cover.iter().all(|v| (-1.0..=1.0).contains(v)));
    let mut rng = Rng(3);
    assert!((0..1000).all(|_| rng.below(7) < 7));
}

#[test]
fn loss_matches_the_formula_and_rounding_passes_gradients() {
    let cpu = device::cpu().device.autodiff();
    let c = Tensor::<4>::from_data(
        TensorData::new(vec![0.0f32, 0.5, -0.5, 1.0], [1, 1, 2, 2]),
        &cpu,
    );
    let e = Tensor::<4>::from_data(
        TensorData::new(vec![0.1f32, 0.5, -0.5, 0.6], [1, 1, 2, 2]),
        &cpu,
    );
    // Cover and secret residuals alike: C - E = D - H = [-0.1, 0, 0, 0.4].
    let parts = LossParts::measure(c.clone(), e.clone(), c.clone(), e.clone());
    let minimised = |objective, cover_weight| {
        let config = TrainConfig {
            objective,
            cover_weight,
            ..TrainConfig::default()
        };
        parts.minimised(&config).into_scalar::<f32>() as f64
    };
    let (l1, variance) = (0.125, 0.17 / 4.0 - 0.075f64.powi(2));
    assert!((minimised(Objective::Paper, 1.0) - parts.values().total).abs() < 1e-6);
    let paper_weighted = (3.0 + 1.0) * (l1 + variance) / 4.0;
    assert!((minimised(Objective::Paper, 3.0) - paper_weighted).abs() < 1e-6);
    assert!((minimised(Objective::L1, 1.0) - l1).abs() < 1e-6);
    assert!((minimised(Objective::L1, 3.0) - (3.0 + 1.0) * l1 / 2.0).abs() < 1e-6);
    // `|e| + e^2 / 2k` on the cover, k = 4 levels on the [-1, 1] scale.
    let square = 0.17 / 4.0;
    let cover_psnr = l1 + square * 255.0 / 16.0;
    let psnr_weighted = (3.0 * cover_psnr + l1) / 2.0;
    assert!((minimised(Objective::PsnrSaved, 3.0) - psnr_weighted).abs() < 1e-5);
    let values = LossParts::measure(c.clone(), e.clone(), c.clone(), c.clone()).values();
    // C - E = [-0.1, 0, 0, 0.4]: mean |.| = 0.125, mean 0.075, variance = mean(x^2) - 0.075^2.
    assert!((values.cover_l1 - 0.125).abs() < 1e-6);
    assert!((values.cover_variance - (0.17 / 4.0 - 0.075f64.powi(2))).abs() < 1e-6);
    assert!(values.hidden_l1.abs() < 1e-9 && values.hidden_variance.abs() < 1e-9);
    assert!((values.total - (values.cover_l1 + values.cover_variance) / 4.0).abs() < 1e-9);

    let x = Tensor::<4>::from_data(
        TensorData::new(vec![0.3001f32, -2.0, 0.999, 0.0], [1, 1, 2, 2]),
        &cpu,
    )
    .require_grad();
    let q = quantize_straight_through(x.clone());
    let levels: Vec<f32> = q.clone().into_data().try_into_vec().unwrap();
    for (v, expected) in levels
        .iter()
        .zip([stegnet::codec::to_level(0.3001), 0, 255, 128])
    {
        assert!((v - (expected as f32 / 127.5 - 1.0)).abs() < 1e-6);
    }
    let grad = q.sum().backward();
    let g: Vec<f32> = x.grad(&grad).unwrap().into_data().try_into_vec().unwrap();
    assert_eq!(
        g,
        vec![1.0; 4],
        "straight-through: the gradient of identity"
    );
}

#[test]
fn the_saved_objectives_measure_the_cover_less_its_smooth_cast() {
    let cpu = device::cpu().device;
    let shape = [2, 3, 40, 70];
    let count = shape.iter().product::<usize>();
    let tensor = |values: Vec<f32>| Tensor::from_data(TensorData::new(values, shape), &cpu);
    let cover = tensor((0..count).map(|i| (i % 13) as f32 / 13.0 - 0.5).collect());
    let residual_left = |embedded: Tensor<4>| {
        let view = cover_view(Objective::L1Saved, cover.clone(), embedded.clone());
        let psnr_view = cover_view(Objective::PsnrSaved, cover.clone(), embedded);
        assert_eq!(view.clone().into_data(), psnr_view.into_data());
        (view - cover.clone()).abs().mean().into_scalar::<f32>()
    };
    // A constant shift is carried aside whole.
    assert!(residual_left(cover.clone().add_scalar(0.1)) < 1e-6);
    // Pixel-level texture (a checkerboard of 0.2) is not smooth: nearly all of it stays.
    let checkerboard = tensor(
        (0..count)
            .map(|i| {
                if (i % 70 + i / 70) % 2 == 0 {
                    0.2
                } else {
                    -0.2
                }
            })
            .collect(),
    );
    let left = residual_left(cover.clone() + checkerboard);
    assert!((left - 0.2).abs() < 0.01, "{left}");
    // The other objectives measure the stego image itself.
    let shifted = cover.clone().add_scalar(0.1);
    let view = cover_view(Objective::L1, cover.clone(), shifted.clone());
    assert_eq!(view.into_data(), shifted.into_data());
}
