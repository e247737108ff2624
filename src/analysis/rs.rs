//! RS analysis (Fridrich, Goljan, Du 2001) with groups of four horizontally adjacent samples
//! and the mask [0, 1, 1, 0].

use super::{Channel, smaller_root};

/// The flipping mask applied to each group.
const MASK: [i8; 4] = [0, 1, 1, 0];

/// `F1`: flips the LSB (0 <-> 1, 2 <-> 3, ...).
fn flip_positive(x: i32) -> i32 {
    x ^ 1
}

/// `F-1`: the shifted flip (-1 <-> 0, 1 <-> 2, ..., 255 <-> 256).
fn flip_negative(x: i32) -> i32 {
    ((x + 1) ^ 1) - 1
}

/// Discrimination: how noisy a group is.
fn smoothness(group: &[i32; 4]) -> i32 {
    group.windows(2).map(|w| (w[1] - w[0]).abs()).sum()
}

/// Fractions of regular and singular groups under `mask` (+1 = F1, -1 = F-1, 0 = none).
fn regular_singular(groups: &[[i32; 4]], mask: [i8; 4]) -> (f64, f64) {
    let (mut regular, mut singular) = (0u64, 0u64);
    for group in groups {
        let before = smoothness(group);
        let mut flipped = *group;
        for (value, &m) in flipped.iter_mut().zip(&mask) {
            *value = match m {
                1 => flip_positive(*value),
                -1 => flip_negative(*value),
                _ => *value,
            };
        }
        let after = smoothness(&flipped);
        if after > before {
            regular += 1;
        } else if after < before {
            singular += 1;
        }
    }
    let n = groups.len() as f64;
    (regular as f64 / n, singular as f64 / n)
}

/// RS's estimate of the fraction of samples carrying message bits.
pub fn estimate(channel: &Channel) -> Option<f64> {
    let mut groups = Vec::with_capacity(channel.samples.len() / 4);
    for y in 0..channel.height {
        for x in (0..channel.width.saturating_sub(3)).step_by(4) {
            groups.push([0, 1, 2, 3].map(|i| channel.at(x + i, y) as i32));
        }
    }
    if groups.is_empty() {
        return None;
    }
    let flipped: Vec<[i32; 4]> = groups.iter().map(|g| g.map(flip_positive)).collect();
    let negative = MASK.map(|m| -m);
    let d = |groups: &[[i32; 4]], mask| {
        let (r, s) = regular_singular(groups, mask);
        r - s
    };
    let (d0, d1) = (d(&groups, MASK), d(&flipped, MASK));
    let (dn0, dn1) = (d(&groups, negative), d(&flipped, negative));
    let z = smaller_root(2.0 * (d1 + d0), dn0 - dn1 - d1 - 3.0 * d0, d0 - dn0)?;
    let denominator = z - 0.5;
    (denominator.abs() > 1e-12).then(|| z / denominator)
}
