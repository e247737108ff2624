//! ROC curves and their area, with the threshold swept from 0.00 to 1.00 in steps of 0.01
//! as the paper did.

/// One point of an ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RocPoint {
    pub threshold: f64,
    pub false_positive_rate: f64,
    pub true_positive_rate: f64,
}

/// The curve for scores of clean images (negatives) and stego images (positives): an image
/// is called stego when its score is at least the threshold. Sorted by false-positive rate,
/// from (0, 0) to (1, 1).
pub fn curve(clean: &[f64], stego: &[f64]) -> Vec<RocPoint> {
    let rate = |scores: &[f64], t: f64| {
        if scores.is_empty() {
            0.0
        } else {
            scores.iter().filter(|&&s| s >= t).count() as f64 / scores.len() as f64
        }
    };
    let mut points: Vec<RocPoint> = (0..=100)
        .map(|i| {
            let threshold = i as f64 / 100.0;
            RocPoint {
                threshold,
                false_positive_rate: rate(clean, threshold),
                true_positive_rate: rate(stego, threshold),
            }
        })
        .collect();
    // Anchor both ends: above every score nothing is called stego; at minus infinity all is.
    points.push(RocPoint {
        threshold: f64::INFINITY,
        false_positive_rate: 0.0,
        true_positive_rate: 0.0,
    });
    points.push(RocPoint {
        threshold: f64::NEG_INFINITY,
        false_positive_rate: 1.0,
        true_positive_rate: 1.0,
    });
    points.sort_by(|a, b| {
        (a.false_positive_rate, a.true_positive_rate)
            .partial_cmp(&(b.false_positive_rate, b.true_positive_rate))
            .expect("rates are finite")
    });
    points
}

/// The area under a curve from [`curve`] (trapezoids).
pub fn auc(points: &[RocPoint]) -> f64 {
    points
        .windows(2)
        .map(|w| {
            (w[1].false_positive_rate - w[0].false_positive_rate)
                * (w[1].true_positive_rate + w[0].true_positive_rate)
                / 2.0
        })
        .sum()
}
