//! Weighted stego (Fridrich, Goljan 2004; Ker, Böhme 2008):
//! `p = 2 * sum w_i (s_i - sbar_i)(s_i - F_i)`, with `sbar` the sample with its LSB flipped,
//! `F` the mean of the four neighbours, and weights `1 / (5 + local variance)` normalised
//! to sum 1. Interior samples only.

use super::Channel;

/// The weighted-stego estimate of the fraction of samples carrying message bits.
pub fn estimate(channel: &Channel) -> Option<f64> {
    let (w, h) = (channel.width, channel.height);
    if w < 3 || h < 3 {
        return None;
    }
    let (mut weighted, mut total_weight) = (0.0, 0.0);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let neighbours = [
                channel.at(x - 1, y),
                channel.at(x + 1, y),
                channel.at(x, y - 1),
                channel.at(x, y + 1),
            ]
            .map(f64::from);
            let mean = neighbours.iter().sum::<f64>() / 4.0;
            let variance = neighbours.iter().map(|n| (n - mean).powi(2)).sum::<f64>() / 4.0;
            let weight = 1.0 / (5.0 + variance);
            let s = channel.at(x, y);
            let s_bar = s ^ 1;
            weighted += weight * (s as f64 - s_bar as f64) * (s as f64 - mean);
            total_weight += weight;
        }
    }
    Some(2.0 * weighted / total_weight)
}
