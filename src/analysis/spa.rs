//! Sample pair analysis (Dumitrescu, Wu, Wang 2003) over horizontally and vertically
//! adjacent sample pairs.

use super::{Channel, smaller_root};

/// Counts of the pair sets SPA works with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairCounts {
    pub x: u64,
    pub y: u64,
    pub z: u64,
    pub w: u64,
    pub pairs: u64,
}

impl PairCounts {
    /// Adds one pair `(u, v)`.
    pub fn add(&mut self, u: u8, v: u8) {
        self.pairs += 1;
        let v_even = v.is_multiple_of(2);
        if u == v {
            self.z += 1;
            return;
        }
        if (v_even && u < v) || (!v_even && u > v) {
            self.x += 1;
        } else {
            self.y += 1;
            if u / 2 == v / 2 {
                self.w += 1;
            }
        }
    }

    /// The embedding rate: the smaller root of
    /// `(|W| + |Z|) / 2 p^2 + (2|X| - |P|) p + |Y| - |X| = 0`.
    pub fn rate(&self) -> Option<f64> {
        if self.pairs == 0 {
            return None;
        }
        let p = self.pairs as f64;
        let (x, y, z, w) = (
            self.x as f64 / p,
            self.y as f64 / p,
            self.z as f64 / p,
            self.w as f64 / p,
        );
        smaller_root((w + z) / 2.0, 2.0 * x - 1.0, y - x)
    }
}

/// Pairs of horizontally adjacent samples, then vertically adjacent ones.
pub fn count_pairs(channel: &Channel, vertical: bool) -> PairCounts {
    let mut counts = PairCounts::default();
    for y in 0..channel.height {
        for x in 0..channel.width.saturating_sub(1) {
            counts.add(channel.at(x, y), channel.at(x + 1, y));
        }
    }
    if vertical {
        for y in 0..channel.height.saturating_sub(1) {
            for x in 0..channel.width {
                counts.add(channel.at(x, y), channel.at(x, y + 1));
            }
        }
    }
    counts
}

/// SPA's estimate of the fraction of samples carrying message bits.
pub fn estimate(channel: &Channel) -> Option<f64> {
    count_pairs(channel, true).rate()
}
