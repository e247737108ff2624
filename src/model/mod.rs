//! The StegNet network and its weights files.

pub mod kernels;
mod stegnet;
pub mod weights;

pub use stegnet::{
    BnElu, DepthwiseMode, FinalBlock, Network, RECEPTIVE_RADIUS, RGB, ScrBlock, StegNet,
    StegNetConfig, depthwise_shifted,
};
pub use weights::{ModelInfo, ModelSource, WeightsError};
