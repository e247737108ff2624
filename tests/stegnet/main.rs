//! All integration tests in one binary (one link step instead of five).

mod analysis;
mod app;
mod cast;
mod cli;
mod codec;
mod lsb;
mod metrics;
mod model;
mod refine;
mod train;
