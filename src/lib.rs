//! StegNet Studio's core: the StegNet network (Wu, Yang, Li 2018) in Burn, image files,
//! tiled embedding of images of any size, the paper's metrics and the k-bit LSB baseline.
//! The desktop app ([`app`]) and the command line ([`cli`]) are thin faces over it.

pub mod analysis;
pub mod app;
pub mod bench;
pub mod cast;
pub mod cli;
pub mod codec;
pub mod device;
pub mod eval;
pub mod fsutil;
pub mod lsb;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod refine;
pub mod train;
