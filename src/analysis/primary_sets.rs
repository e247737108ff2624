//! Primary sets (Dumitrescu, Wu, Memon 2002): the pair sets of SPA seen as a finite-state
//! machine under embedding, over horizontally adjacent pairs, as StegExpose runs it (on the
//! red channel only; the caller picks the channel).

use super::Channel;
use super::spa::count_pairs;

/// The primary-sets estimate of the fraction of samples carrying message bits.
pub fn estimate(channel: &Channel) -> Option<f64> {
    count_pairs(channel, false).rate()
}
