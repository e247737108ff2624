//! Steganalysis detectors on synthetic images with known embedding rates.

use image::{Rgb, RgbImage};
use stegnet::analysis::{Channel, Detector, chi_square, fusion, roc, rs, spa};

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Roughly normal (sum of uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// A natural-looking image: smooth shapes and gradients plus sensor-like noise.
fn natural_image(size: u32, seed: u64) -> RgbImage {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let waves: Vec<[f64; 4]> = (0..6)
        .map(|_| {
            [
                rng.uniform() * 0.05,
                rng.uniform() * 0.05,
                rng.uniform() * std::f64::consts::TAU,
                20.0 + rng.uniform() * 30.0,
            ]
        })
        .collect();
    let tint = [rng.uniform(), rng.uniform(), rng.uniform()];
    RgbImage::from_fn(size, size, |x, y| {
        let base: f64 = 128.0
            + waves
                .iter()
                .map(|[fx, fy, phase, amp]| amp * (fx * x as f64 + fy * y as f64 + phase).sin())
                .sum::<f64>()
            + (x as f64 - size as f64 / 2.0) * 0.05;
        let pixel = [0, 1, 2].map(|c| {
            let v = base * (0.8 + 0.4 * tint[c]) + 2.5 * rng.normal();
            v.round().clamp(0.0, 255.0) as u8
        });
        Rgb(pixel)
    })
}

/// Replaces the LSB of a fraction `rate` of the samples with random bits.
fn lsb_replace(image: &RgbImage, rate: f64, seed: u64) -> RgbImage {
    let mut rng = Rng(seed | 1);
    let raw = image
        .as_raw()
        .iter()
        .map(|&s| {
            if rng.uniform() < rate {
                (s & !1) | (rng.next() >> 63) as u8
            } else {
                s
            }
        })
        .collect();
    RgbImage::from_raw(image.width(), image.height(), raw).unwrap()
}

#[test]
fn spa_and_rs_estimate_known_rates_within_five_percent() {
    for (i, rate) in [0.0, 0.1, 0.25, 0.5, 1.0].into_iter().enumerate() {
        let cover = natural_image(512, 100 + i as u64);
        let stego = lsb_replace(&cover, rate, 7 + i as u64);
        let spa = Detector::Spa.estimate(&stego).unwrap();
        let rs = Detector::Rs.estimate(&stego).unwrap();
        println!("rate {rate:.2}: SPA {spa:.4}, RS {rs:.4}");
        assert!((spa - rate).abs() <= 0.05, "SPA {spa} for {rate}");
        assert!((rs - rate).abs() <= 0.05, "RS {rs} for {rate}");
    }
}

#[test]
fn clean_images_score_near_zero() {
    for seed in 0..2 {
        let clean = natural_image(512, 500 + seed);
        let scores = fusion::score(&clean, &Detector::ALL);
        println!("{scores:?}");
        // Chi-square alone is fooled by smooth histograms (a known weakness); the fusion
        // stays below StegExpose's threshold.
        let fused = scores.fused.unwrap();
        assert!(
            fused < fusion::DEFAULT_THRESHOLD,
            "fused score {fused} on a clean image"
        );
        for detector in [Detector::Spa, Detector::Rs] {
            let estimate = detector.estimate(&clean).unwrap();
            assert!(estimate.abs() < 0.05, "{}: {estimate}", detector.name());
        }
        assert!(Detector::PrimarySets.estimate(&clean).unwrap().abs() < 0.1);
    }
}

#[test]
fn full_lsb_embedding_is_caught() {
    let cover = natural_image(256, 900);
    let stego = lsb_replace(&cover, 1.0, 901);
    let scores = fusion::score(&stego, &Detector::ALL);
    println!("{scores:?}");
    assert!(scores.fused.unwrap() > fusion::DEFAULT_THRESHOLD);
    // Sequential full embedding equalises value pairs: chi-square p near 1.
    assert!(Detector::ChiSquare.estimate(&stego).unwrap() > 0.9);
    assert!(Detector::ChiSquare.estimate(&cover).unwrap() < 0.5);
}

#[test]
fn spa_pair_sets_on_a_hand_made_channel() {
    // Pairs: (2,3) v odd u<v -> Y, also W; (3,3) Z; (5,2) v even u>v -> Y; (1,4) X.
    let channel = Channel {
        width: 2,
        height: 4,
        samples: vec![2, 3, 3, 3, 5, 2, 1, 4],
    };
    let counts = spa::count_pairs(&channel, false);
    assert_eq!(
        (counts.x, counts.y, counts.z, counts.w, counts.pairs),
        (1, 2, 1, 1, 4)
    );
}

#[test]
fn chi_square_statistics_match_known_values() {
    // Q(a, x) against closed forms: Q(1, x) = e^-x; Q(0.5, x) = erfc(sqrt x).
    for x in [0.1, 1.0, 3.0, 10.0] {
        assert!((chi_square::upper_regularised_gamma(1.0, x) - (-x).exp()).abs() < 1e-12);
    }
    assert!(
        (chi_square::upper_regularised_gamma(0.5, 1.0) - 0.157_299_207_050_285_13).abs() < 1e-10
    );
    assert!((chi_square::ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
    // Perfectly equalised pairs: chi2 = 0, p = 1.
    let histogram = [100u64; 256];
    assert!((chi_square::p_value(&histogram).unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn rs_is_undefined_on_images_without_groups() {
    let tiny = Channel {
        width: 3,
        height: 3,
        samples: vec![0; 9],
    };
    assert_eq!(rs::estimate(&tiny), None);
}

#[test]
fn roc_and_auc_on_known_scores() {
    // Perfectly separated.
    let perfect = roc::curve(&[0.0, 0.05, 0.1], &[0.5, 0.7, 0.9]);
    assert!((roc::auc(&perfect) - 1.0).abs() < 1e-12);
    // Identical distributions: the diagonal.
    let coin = roc::curve(&[0.1, 0.3, 0.5, 0.7], &[0.1, 0.3, 0.5, 0.7]);
    assert!((roc::auc(&coin) - 0.5).abs() < 1e-12);
    // Inverted.
    assert!(roc::auc(&roc::curve(&[0.9], &[0.1])).abs() < 1e-12);
    // Fusion clips absolute values and skips missing estimates.
    assert_eq!(fusion::fuse([Some(-0.4), None, Some(3.0)]), Some(0.7));
    assert_eq!(fusion::fuse([None, None]), None);
}
