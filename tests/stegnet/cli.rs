//! The `stegnet` command line end to end, on images the tests generate.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{Rgb, RgbImage};

/// Runs `stegnet` with `args` on the CPU backend.
fn stegnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stegnet"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A smooth, textured photo-like image.
    fn image(&self, name: &str, w: u32, h: u32, seed: u32) -> PathBuf {
        let path = self.path(name);
        RgbImage::from_fn(w, h, |x, y| {
            let v = |k: u32| {
                ((x * (3 + k + seed) + y * (5 + 2 * k) + (x * y) % (7 + seed)) % 256) as u8
            };
            Rgb([v(0), v(1), v(2)])
        })
        .save(&path)
        .unwrap();
        path
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn read(path: &Path) -> RgbImage {
    image::open(path).unwrap().to_rgb8()
}

/// Exit code 1, a message naming `culprit`, and no output file.
fn assert_fails_cleanly(out: &Output, culprit: &str, output: &Path) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.contains(culprit),
        "message should name {culprit}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!output.exists(), "no output file may be left");
}

#[test]
fn embed_then_reveal_round_trip_on_cpu() {
    let t = Scratch::new();
    let cover = t.image("cover.png", 45, 33, 1);
    let hidden = t.image("hidden.png", 60, 60, 2);
    let stego = t.path("stego.png");
    let out = stegnet(&[
        "embed",
        "--cover",
        s(&cover),
        "--hidden",
        s(&hidden),
        "-o",
        s(&stego),
        "--device",
        "cpu",
        "--tile",
        "16",
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("device: CPU"), "{err}");
    assert!(err.contains("fitted to the cover's 45x33"), "{err}");
    assert_eq!(read(&stego).dimensions(), (45, 33));

    let decoded = t.path("decoded.png");
    let out = stegnet(&[
        "reveal",
        "--stego",
        s(&stego),
        "-o",
        s(&decoded),
        "--device",
        "cpu",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&decoded).dimensions(), (45, 33));

    // The tile size does not change the result.
    let again = t.path("again.png");
    let out = stegnet(&[
        "embed",
        "--cover",
        s(&cover),
        "--hidden",
        s(&hidden),
        "-o",
        s(&again),
        "--device",
        "cpu",
    ]);
    assert!(out.status.success());
    assert_eq!(read(&again), read(&stego));
}

#[test]
fn lsb_commands_agree_with_the_formula_bit_for_bit() {
    let t = Scratch::new();
    let cover = t.image("c.png", 20, 16, 3);
    let hidden = t.image("h.png", 20, 16, 4);
    let (c, h) = (read(&cover), read(&hidden));
    for k in [1u8, 3, 8] {
        let stego = t.path(&format!("s{k}.png"));
        let decoded = t.path(&format!("d{k}.png"));
        let bits = k.to_string();
        let out = stegnet(&[
            "lsb",
            "embed",
            "--bits",
            &bits,
            "--cover",
            s(&cover),
            "--hidden",
            s(&hidden),
            "-o",
            s(&stego),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = stegnet(&[
            "lsb",
            "reveal",
            "--bits",
            &bits,
            "--stego",
            s(&stego),
            "-o",
            s(&decoded),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mask = ((1u16 << k) - 1) as u8;
        let (e, d) = (read(&stego), read(&decoded));
        for i in 0..c.as_raw().len() {
            let expected = (c.as_raw()[i] & !mask) | (h.as_raw()[i] >> (8 - k));
            assert_eq!(e.as_raw()[i], expected);
            assert_eq!(d.as_raw()[i], (expected & mask) << (8 - k));
        }
    }
}

#[test]
fn metrics_prints_a_table_and_json() {
    let t = Scratch::new();
    let cover = t.image("c.png", 24, 24, 5);
    let hidden = t.image("h.png", 24, 24, 6);
    let stego = t.path("s.png");
    let decoded = t.path("d.png");
    assert!(
        stegnet(&[
            "lsb",
            "embed",
            "--bits",
            "3",
            "--cover",
            s(&cover),
            "--hidden",
            s(&hidden),
            "-o",
            s(&stego)
        ])
        .status
        .success()
    );
    assert!(
        stegnet(&[
            "lsb",
            "reveal",
            "--bits",
            "3",
            "--stego",
            s(&stego),
            "-o",
            s(&decoded)
        ])
        .status
        .success()
    );

    let args = [
        "metrics",
        "--cover",
        s(&cover),
        "--stego",
        s(&stego),
        "--hidden",
        s(&hidden),
        "--decoded",
        s(&decoded),
    ];
    let out = stegnet(&args);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    for label in [
        "cover changing rate",
        "decoded rate",
        "payload capacity",
        "cover PSNR",
        "hidden SSIM",
    ] {
        assert!(table.contains(label), "{table}");
    }

    let out = stegnet(&[&args[..], &["--json"]].concat());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = stegnet::metrics::cover_changing_rate(&read(&cover), &read(&stego));
    assert!((json["cover_changing_rate"].as_f64().unwrap() - expected).abs() < 1e-12);
    let rate = json["hidden"]["decoded_rate"].as_f64().unwrap();
    assert!(
        rate > 0.9 && rate < 1.0,
        "3-bit LSB keeps the top bits: {rate}"
    );
    assert!((json["hidden"]["payload_bpp"].as_f64().unwrap() - 24.0 * rate).abs() < 1e-9);
}

#[test]
fn residual_writes_the_magnified_difference() {
    let t = Scratch::new();
    let a = t.image("a.png", 16, 16, 7);
    let b = t.path("b.png");
    let mut img = read(&a);
    img.put_pixel(3, 4, Rgb([0, 0, 0]));
    img.save(&b).unwrap();
    let out_path = t.path("r.png");
    let out = stegnet(&[
        "residual",
        "--a",
        s(&a),
        "--b",
        s(&b),
        "--magnify",
        "10",
        "-o",
        s(&out_path),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read(&out_path),
        stegnet::metrics::residual(&read(&a), &img, 10.0)
    );
}

#[test]
fn bad_inputs_exit_1_with_the_file_named_and_no_output() {
    let t = Scratch::new();
    let good = t.image("good.png", 32, 32, 8);
    let mut png = Vec::new();
    read(&good)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let truncated = t.file("truncated.png", &png[..png.len() / 2]);
    let text = t.file("text.png", b"hello, I am not a picture\n");
    let empty = t.file("empty.png", b"");
    let tiny = t.image("tiny.png", 1, 1, 9);
    let out = t.path("out.png");

    for bad in [&truncated, &text, &empty, &tiny] {
        for args in [
            vec![
                "embed",
                "--cover",
                s(bad),
                "--hidden",
                s(&good),
                "-o",
                s(&out),
                "--device",
                "cpu",
            ],
            vec![
                "embed",
                "--cover",
                s(&good),
                "--hidden",
                s(bad),
                "-o",
                s(&out),
                "--device",
                "cpu",
            ],
            vec![
                "reveal",
                "--stego",
                s(bad),
                "-o",
                s(&out),
                "--device",
                "cpu",
            ],
            vec![
                "lsb",
                "embed",
                "--bits",
                "2",
                "--cover",
                s(bad),
                "--hidden",
                s(&good),
                "-o",
                s(&out),
            ],
        ] {
            assert_fails_cleanly(&stegnet(&args), s(bad), &out);
        }
    }

    let other = t.image("other.png", 32, 20, 10);
    assert_fails_cleanly(
        &stegnet(&["metrics", "--cover", s(&good), "--stego", s(&other)]),
        "same size",
        &out,
    );
    assert_fails_cleanly(
        &stegnet(&["residual", "--a", s(&good), "--b", s(&other), "-o", s(&out)]),
        s(&other),
        &out,
    );

    let missing_model = t.path("nope.bpk");
    assert_fails_cleanly(
        &stegnet(&[
            "reveal",
            "--stego",
            s(&good),
            "-o",
            s(&out),
            "--device",
            "cpu",
            "--model",
            s(&missing_model),
        ]),
        s(&missing_model),
        &out,
    );
    let foreign_model = t.file("foreign.bpk", &png);
    assert_fails_cleanly(
        &stegnet(&[
            "reveal",
            "--stego",
            s(&good),
            "-o",
            s(&out),
            "--device",
            "cpu",
            "--model",
            s(&foreign_model),
        ]),
        s(&foreign_model),
        &out,
    );

    let unwritable = t.path("no/such/folder/out.png");
    assert_fails_cleanly(
        &stegnet(&[
            "lsb",
            "embed",
            "--bits",
            "1",
            "--cover",
            s(&good),
            "--hidden",
            s(&good),
            "-o",
            s(&unwritable),
        ]),
        s(&unwritable),
        &unwritable,
    );
}

#[test]
fn lossy_stego_output_is_refused_unless_allowed() {
    let t = Scratch::new();
    let cover = t.image("c.png", 16, 16, 11);
    let jpeg = t.path("s.jpg");
    let args = [
        "lsb",
        "embed",
        "--bits",
        "2",
        "--cover",
        s(&cover),
        "--hidden",
        s(&cover),
        "-o",
        s(&jpeg),
    ];
    let out = stegnet(&args);
    assert_fails_cleanly(&out, "lossy", &jpeg);
    let out = stegnet(&[&args[..], &["--allow-lossy"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(jpeg.exists());
}

#[test]
fn inputs_and_existing_files_are_never_overwritten() {
    let t = Scratch::new();
    let cover = t.image("c.png", 16, 16, 12);
    let before = std::fs::read(&cover).unwrap();
    for force in [false, true] {
        let mut args = vec![
            "lsb",
            "embed",
            "--bits",
            "2",
            "--cover",
            s(&cover),
            "--hidden",
            s(&cover),
            "-o",
            s(&cover),
        ];
        if force {
            args.push("--force");
        }
        let out = stegnet(&args);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("input"), "{}", stderr(&out));
    }
    assert_eq!(std::fs::read(&cover).unwrap(), before);

    let existing = t.file("existing.png", b"keep me");
    let args = [
        "lsb",
        "reveal",
        "--bits",
        "2",
        "--stego",
        s(&cover),
        "-o",
        s(&existing),
    ];
    let out = stegnet(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--force"));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    assert!(
        stegnet(&[&args[..], &["--force"]].concat())
            .status
            .success()
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        stegnet(&["embed", "--cover", "x.png"]).status.code(),
        Some(2)
    );
    assert_eq!(
        stegnet(&[
            "lsb", "embed", "--bits", "9", "--cover", "a", "--hidden", "b", "-o", "c.png"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(stegnet(&["frobnicate"]).status.code(), Some(2));
    let decay_of_one = stegnet(&["train", "--data", "photos", "--ema", "1"]);
    assert_eq!(decay_of_one.status.code(), Some(2));
    assert!(stderr(&decay_of_one).contains("not a decay between 0 and 1"));
    let weight_of_zero = stegnet(&["train", "--data", "photos", "--cover-weight", "0"]);
    assert_eq!(weight_of_zero.status.code(), Some(2));
    assert!(stderr(&weight_of_zero).contains("0 is not a positive weight"));
    assert_eq!(
        stegnet(&[
            "residual",
            "--a",
            "a",
            "--b",
            "b",
            "--magnify",
            "-1",
            "-o",
            "r.png"
        ])
        .status
        .code(),
        Some(2)
    );
    for refine in [
        &["--refine-cover-weight", "2"][..],
        &["--refine", "0"],
        &["--refine", "3", "--refine-cover-weight=-1"],
    ] {
        let mut args = vec![
            "embed", "--cover", "a.png", "--hidden", "b.png", "-o", "c.png",
        ];
        args.extend_from_slice(refine);
        assert_eq!(stegnet(&args).status.code(), Some(2), "{refine:?}");
    }
    let refined_lsb = stegnet(&[
        "make-stego",
        "--method",
        "lsb3",
        "--covers",
        "c",
        "--secrets",
        "c",
        "--out",
        "o",
        "--refine",
        "5",
    ]);
    assert_eq!(refined_lsb.status.code(), Some(2));
    assert!(stderr(&refined_lsb).contains("use it with --method stegnet"));
    assert!(stegnet(&["--help"]).status.success());
}

#[test]
fn refined_embedding_and_its_evaluation() {
    let t = Scratch::new();
    let cover = t.image("cover.png", 40, 32, 1);
    let hidden = t.image("hidden.png", 40, 32, 2);
    let embed = |output: &Path, refine: &[&str]| {
        let mut args = vec![
            "embed",
            "--cover",
            s(&cover),
            "--hidden",
            s(&hidden),
            "-o",
            s(output),
        ];
        args.extend_from_slice(&["--device", "cpu", "--tile", "16"]);
        args.extend_from_slice(refine);
        stegnet(&args)
    };
    let (plain, refined) = (t.path("plain.png"), t.path("refined.png"));
    assert!(embed(&plain, &[]).status.success());
    let out = embed(&refined, &["--refine", "5", "--refine-cover-weight", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("refined in"), "{}", stderr(&out));
    assert_eq!(read(&refined).dimensions(), (40, 32));
    assert_ne!(read(&refined), read(&plain), "refinement moved pixels");

    // make-stego refines each image of a set exactly as embed does (cover i hides i + 1).
    let pair = t.path("pair");
    std::fs::create_dir(&pair).unwrap();
    std::fs::copy(&cover, pair.join("a-cover.png")).unwrap();
    std::fs::copy(&hidden, pair.join("b-hidden.png")).unwrap();
    let set = t.path("set");
    let out = stegnet(&[
        "make-stego",
        "--method",
        "stegnet",
        "--covers",
        s(&pair),
        "--secrets",
        s(&pair),
        "--out",
        s(&set),
        "--device",
        "cpu",
        "--tile",
        "16",
        "--refine",
        "5",
        "--refine-cover-weight",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        read(&set.join("a-cover.png")) == read(&refined),
        "make-stego and embed refined the same pair differently"
    );

    // eval: one-pass (as saved and the network's own) and refined figures side by side, as
    // a table and as JSON.
    let photos = t.path("photos");
    std::fs::create_dir(&photos).unwrap();
    for (i, seed) in [3, 4, 5].into_iter().enumerate() {
        let made = t.image(&format!("p{i}.png"), 30, 30, seed);
        std::fs::rename(made, photos.join(format!("p{i}.png"))).unwrap();
    }
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--data", s(&photos), "--pairs", "2", "--size", "24"];
        args.extend_from_slice(&["--device", "cpu", "--refine", "3"]);
        args.extend_from_slice(extra);
        stegnet(&args)
    };
    let out = eval(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    let settings = "refined: 3 steps per tile, first step 1 (8-bit levels), cover weight 2.7";
    assert!(table.contains(settings), "{table}");
    assert!(table.contains("refined mean"), "{table}");
    assert!(table.contains("network mean"), "{table}");
    let out = eval(&["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["pairs"], 2);
    assert_eq!(report["refined"]["steps"], 3);
    assert_eq!(report["refined"]["step_levels"], 1.0);
    let summaries = ["stegnet", "network", "refined", "lsb"].map(|key| &report[key]);
    for summary in summaries {
        let rate = summary["mean"]["cover_changing_rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&rate), "{report}");
    }
    // Each pair is listed by its photos, and the summaries are its mean and worst.
    let each = report["each_pair"].as_array().unwrap();
    assert_eq!(each.len(), 2, "{report}");
    assert_eq!(
        (&each[1]["cover"], &each[1]["hidden"]),
        (&"p1.png".into(), &"p2.png".into())
    );
    for key in ["stegnet", "network", "refined", "lsb"] {
        let figure = |i: usize| each[i][key]["hidden_decoded_difference"].as_f64().unwrap();
        let summary = &report[key];
        let mean = summary["mean"]["hidden_decoded_difference"]
            .as_f64()
            .unwrap();
        let worst = summary["worst"]["hidden_decoded_difference"]
            .as_f64()
            .unwrap();
        assert!(
            (mean - (figure(0) + figure(1)) / 2.0).abs() < 1e-12,
            "{key}: {report}"
        );
        assert_eq!(worst, figure(0).max(figure(1)), "{key}: {report}");
    }
}

#[test]
fn model_info_describes_the_built_in_model() {
    let out = stegnet(&["model", "info"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("embedder params: 74379 trainable"), "{text}");
}

#[test]
fn model_from_checkpoint_refuses_what_is_not_a_checkpoint() {
    let t = Scratch::new();
    let not_a_checkpoint = t.file("notes.ckpt", b"hello, I am not a checkpoint\n");
    let output = t.path("out.bpk");
    let out = stegnet(&[
        "model",
        "from-checkpoint",
        s(&not_a_checkpoint),
        "-o",
        s(&output),
    ]);
    assert_fails_cleanly(&out, "notes.ckpt", &output);
    assert!(stderr(&out).contains("not a StegNet training checkpoint"));
}

#[test]
fn steganalysis_commands_end_to_end() {
    let scratch = Scratch::new();
    let clean = scratch.path("clean");
    std::fs::create_dir(&clean).unwrap();
    for i in 0..4 {
        let image = scratch.image(&format!("c{i}.png"), 64, 48, i);
        std::fs::rename(&image, clean.join(format!("c{i}.png"))).unwrap();
    }
    let stego = scratch.path("lsb1");
    let make_stego = || {
        stegnet(&[
            "make-stego",
            "--method",
            "lsb1",
            "--covers",
            s(&clean),
            "--secrets",
            s(&clean),
            "--out",
            s(&stego),
        ])
    };
    let out = make_stego();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&stego).unwrap().count(), 4);
    // Cover i hides cover i + 1: the stego image's LSBs are that image's top bits.
    let (c0, c1, s0) = (
        read(&clean.join("c0.png")),
        read(&clean.join("c1.png")),
        read(&stego.join("c0.png")),
    );
    assert!(
        s0.as_raw()
            .iter()
            .zip(c0.as_raw())
            .zip(c1.as_raw())
            .all(|((&st, &co), &se)| { st >> 1 == co >> 1 && st & 1 == se >> 7 })
    );
    // Running make-stego again refuses to overwrite.
    let again = make_stego();
    assert_eq!(again.status.code(), Some(1));

    let detector = scratch.path("spam.json");
    let out = stegnet(&[
        "detector",
        "train",
        "--clean",
        s(&clean),
        "--stego",
        s(&stego),
        "-o",
        s(&detector),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = scratch.path("scores.csv");
    let plot = scratch.path("roc.png");
    let list = format!("classic,trained:{}", detector.display());
    let out = stegnet(&[
        "analyze",
        "--clean",
        s(&clean),
        "--stego",
        s(&stego),
        "--detectors",
        &list,
        "--csv",
        s(&csv),
        "--plot",
        s(&plot),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
    assert!(
        printed.contains("ROC AUC (4 clean, 4 stego images)"),
        "{printed}"
    );
    assert!(printed.contains("fused (StegExpose)"), "{printed}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "image,class,primary sets,chi-square,SPA,RS,weighted stego,trained (spam.json),fused"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 8);
    for row in rows {
        let cells: Vec<&str> = row.rsplitn(8, ',').collect();
        for cell in &cells[..7] {
            assert!(cell.is_empty() || cell.parse::<f64>().is_ok(), "{row}");
            assert!(cell.len() < 30, "scores are written compactly: {row}");
        }
    }
    let roc = image::open(&plot).unwrap();
    assert!(roc.width() >= 400 && roc.height() >= 300);

    // Centre crops for equal-size sets: 64x48 images give 32x32 crops from their middle.
    let crops = scratch.path("crops");
    let crop_clean = || {
        stegnet(&[
            "crops",
            "--images",
            s(&clean),
            "--size",
            "32",
            "--out",
            s(&crops),
        ])
    };
    let out = crop_clean();
    assert!(out.status.success(), "{}", stderr(&out));
    let crop = read(&crops.join("c2.png"));
    let original = read(&clean.join("c2.png"));
    assert_eq!(crop.dimensions(), (32, 32));
    assert_eq!(crop.get_pixel(0, 0), original.get_pixel(16, 8));
    let again = crop_clean();
    assert_eq!(
        again.status.code(),
        Some(1),
        "existing crops are not replaced"
    );
}
