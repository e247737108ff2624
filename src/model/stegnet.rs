//! The StegNet embedder and decoder, layer for layer as in
//! `shared/reference/stegnet-architecture.md`: pre-activation SCR blocks (separable
//! convolution with a zero-padded channel skip), two reducing blocks, linear output.
//! BatchNorm normalises per channel; on an inference device it uses running statistics,
//! so an image embeds the same alone, in a batch, or tile by tile.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Elu, EluConfig, Initializer, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::ops::PadMode;

use super::kernels;

/// Channel widths of the six SCR blocks after the input, shared by both networks.
const SCR_WIDTHS: [usize; 6] = [32, 32, 64, 64, 128, 128];
/// Width of the first reducing block; the second reduces to RGB.
const REDUCE_WIDTH: usize = 32;
/// Channels of an RGB image.
pub const RGB: usize = 3;

/// Hyper-parameters of the network. The defaults are the published architecture.
#[derive(Config, Debug)]
pub struct StegNetConfig {
    /// BatchNorm epsilon.
    #[config(default = 1e-5)]
    pub bn_epsilon: f64,
    /// Weight of the current batch in the running statistics (the reference's momentum 0.9
    /// on the old value is 0.1 here).
    #[config(default = 0.1)]
    pub bn_momentum: f64,
    /// ELU alpha.
    #[config(default = 1.0)]
    pub elu_alpha: f64,
    /// How the depthwise 3x3 convolutions are computed (the weights are the same).
    #[config(default = "DepthwiseMode::Kernel")]
    pub depthwise: DepthwiseMode,
    /// The fast formulations: each block head's BatchNorm + ELU as the fused operations of
    /// [`super::kernels`] (dedicated CPU kernels), and the 1x1 convolutions as batched matrix
    /// products (whose gradients are plain matrix products too). `false` runs Burn's
    /// BatchNorm, ELU and 1x1 convolution modules ([`StegNetConfig::plain`] also Burn's
    /// depthwise convolution). Same weights; the results agree within float rounding,
    /// forward and backward.
    #[config(default = true)]
    pub fast: bool,
}

/// Three ways to compute the same depthwise 3x3 convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum DepthwiseMode {
    /// The custom operation [`super::kernels::depthwise3x3`]: direct CPU kernels forward and
    /// backward, Burn's grouped convolution on other backends.
    #[default]
    Kernel,
    /// Burn's grouped convolution (groups = channels).
    Grouped,
    /// Nine shifted multiply-adds of whole tensors; autodiff then gives a backward pass that
    /// avoids the per-group loop of the grouped convolution's weight gradient.
    Shifted,
}

impl StegNetConfig {
    /// Burn's own modules throughout, no custom operations: the reference that the fast
    /// path is tested and benchmarked against.
    pub fn plain() -> Self {
        Self::new()
            .with_fast(false)
            .with_depthwise(DepthwiseMode::Grouped)
    }

    /// Builds both networks with Glorot-uniform kernels and zero biases.
    pub fn init(&self, device: &Device) -> StegNet {
        StegNet {
            embedder: Network::new(self, 2 * RGB, device),
            decoder: Network::new(self, RGB, device),
        }
    }
}

/// How many pixels beyond a region an output pixel depends on: one per 3x3 convolution
/// (six SCR blocks and two reducing blocks).
pub const RECEPTIVE_RADIUS: usize = SCR_WIDTHS.len() + 2;

/// Pre-activation BatchNorm followed by ELU, the head of every block.
#[derive(Module, Debug)]
pub struct BnElu {
    norm: BatchNorm,
    activation: Elu,
    #[module(skip)]
    fused: bool,
}

impl BnElu {
    fn new(config: &StegNetConfig, channels: usize, device: &Device) -> Self {
        Self {
            norm: BatchNormConfig::new(channels)
                .with_epsilon(config.bn_epsilon)
                .with_momentum(config.bn_momentum)
                .init(device),
            activation: EluConfig::new().with_alpha(config.elu_alpha).init(),
            fused: config.fast,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        if !self.fused {
            return self.activation.forward(self.norm.forward(x));
        }
        let norm = &self.norm;
        // Batch statistics when training (as Burn's BatchNorm decides), running ones otherwise.
        let (mean, variance) = if x.device().is_autodiff() && norm.training.is_enabled() {
            let (mean, variance) = kernels::channel_moments(x.clone());
            self.update_running_statistics(mean.clone().detach(), variance.clone().detach());
            (mean, variance)
        } else {
            let device = x.device();
            (
                norm.running_mean.value().to_device(&device),
                norm.running_var.value().to_device(&device),
            )
        };
        let scale = norm.gamma.val() / variance.add_scalar(norm.epsilon).sqrt();
        let shift = norm.beta.val() - mean * scale.clone();
        kernels::affine_elu(x, scale, shift, self.activation.alpha as f32)
    }

    /// Moves the running statistics towards a batch's, exactly as Burn's BatchNorm does.
    fn update_running_statistics(&self, mean: Tensor<1>, variance: Tensor<1>) {
        let norm = &self.norm;
        let device = mean.device();
        let blend = |running: Tensor<1>, batch: Tensor<1>| {
            running
                .to_device(&device)
                .mul_scalar(1.0 - norm.momentum)
                .add(batch.mul_scalar(norm.momentum))
                .detach()
        };
        norm.running_mean
            .update(blend(norm.running_mean.value_sync(), mean));
        norm.running_var
            .update(blend(norm.running_var.value_sync(), variance));
    }

    /// Channels normalised.
    fn channels(&self) -> usize {
        self.norm.gamma.dims()[0]
    }
}

/// A 3x3 or 1x1 "same" convolution with Glorot-uniform weights and a zero bias.
///
/// The fans are TensorFlow's, as in the authors' code. For an ordinary convolution Burn
/// counts the same (`k k c_in` and `k k c_out`). A depthwise kernel (the only grouped one
/// here: `groups == c_in`), TensorFlow's `[k, k, c_in, c_out / c_in]`, has `k k c_in` and
/// `k k c_out / c_in`, where Burn counts both per group: for 128 channels that would draw
/// weights eight times larger. The gain makes up the difference.
fn conv(channels: [usize; 2], kernel: usize, groups: usize, device: &Device) -> Conv2d {
    let area = (kernel * kernel) as f64;
    let burn_fans = area * (channels[0] + channels[1]) as f64 / groups as f64;
    let tensorflow_fans = if groups == 1 {
        burn_fans
    } else {
        area * (channels[0] + channels[1] / channels[0]) as f64
    };
    let mut conv = Conv2dConfig::new(channels, [kernel, kernel])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Same)
        .with_initializer(Initializer::XavierUniform {
            gain: (burn_fans / tensorflow_fans).sqrt(),
        })
        .init(device);
    conv.bias = Some(Param::from_tensor(Tensor::zeros([channels[1]], device)));
    conv
}

/// Separable convolution with residual: `SepConv3x3(ELU(BN(x))) + zero-pad(x)`.
#[derive(Module, Debug)]
pub struct ScrBlock {
    head: BnElu,
    depthwise: Conv2d,
    #[module(skip)]
    depthwise_mode: DepthwiseMode,
    pointwise: Conv2d,
    /// Compute `pointwise` as a matrix product.
    #[module(skip)]
    pointwise_as_matmul: bool,
    /// Zero channels put in front of the skip path (the rest go behind).
    pad_front: usize,
    pad_back: usize,
}

impl ScrBlock {
    fn new(
        config: &StegNetConfig,
        channels_in: usize,
        channels_out: usize,
        device: &Device,
    ) -> Self {
        assert!(
            channels_out >= channels_in,
            "the skip path can only add channels"
        );
        let pad = channels_out - channels_in;
        Self {
            head: BnElu::new(config, channels_in, device),
            depthwise: conv([channels_in, channels_in], 3, channels_in, device),
            depthwise_mode: config.depthwise,
            pointwise: conv([channels_in, channels_out], 1, 1, device),
            pointwise_as_matmul: config.fast,
            pad_front: pad / 2,
            pad_back: pad - pad / 2,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let activated = self.head.forward(x.clone());
        let depthwise = match self.depthwise_mode {
            DepthwiseMode::Kernel => kernels::depthwise3x3(
                activated,
                self.depthwise.weight.val(),
                self.depthwise
                    .bias
                    .as_ref()
                    .expect("built with a bias")
                    .val(),
            ),
            DepthwiseMode::Grouped => self.depthwise.forward(activated),
            DepthwiseMode::Shifted => depthwise_shifted(
                activated,
                self.depthwise.weight.val(),
                self.depthwise.bias.as_ref().map(|b| b.val()),
            ),
        };
        let mixed = if self.pointwise_as_matmul {
            pointwise_matmul(
                depthwise,
                self.pointwise.weight.val(),
                self.pointwise.bias.as_ref().map(|b| b.val()),
            )
        } else {
            self.pointwise.forward(depthwise)
        };
        mixed + zero_pad_channels(x, self.pad_front, self.pad_back)
    }
}

/// A 1x1 convolution as one batched matrix product, `[co, ci] x [n, ci, h*w]`: `weight` is
/// `[co, ci, 1, 1]`, `bias` `[co]`. Its weight gradient is then one product over `h*w`
/// instead of Burn's generic grouped-convolution route.
fn pointwise_matmul(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    let [n, ci, h, w] = x.dims();
    let co = weight.dims()[0];
    let out = weight
        .reshape([1, co, ci])
        .matmul(x.reshape([n, ci, h * w]))
        .reshape([n, co, h, w]);
    match bias {
        Some(bias) => out + bias.reshape([1, co, 1, 1]),
        None => out,
    }
}

/// A depthwise 3x3 "same" convolution (cross-correlation, zero padding) as nine shifted
/// multiply-adds: `weight` is `[c, 1, 3, 3]`, `bias` `[c]`.
pub fn depthwise_shifted(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let padded = x.pad((1, 1, 1, 1), PadMode::Constant(0.0));
    let taps = weight.reshape([c, 9]);
    let mut sum: Option<Tensor<4>> = None;
    for dy in 0..3 {
        for dx in 0..3 {
            let k = dy * 3 + dx;
            let tap = taps.clone().slice([0..c, k..k + 1]).reshape([1, c, 1, 1]);
            let term = padded.clone().slice([0..n, 0..c, dy..dy + h, dx..dx + w]) * tap;
            sum = Some(match sum {
                None => term,
                Some(total) => total + term,
            });
        }
    }
    let sum = sum.expect("nine taps");
    match bias {
        Some(bias) => sum + bias.reshape([1, c, 1, 1]),
        None => sum,
    }
}

/// Adds `front` zero channels before and `back` after the channels of `x`.
fn zero_pad_channels(x: Tensor<4>, front: usize, back: usize) -> Tensor<4> {
    if front + back == 0 {
        return x;
    }
    let [n, _, h, w] = x.dims();
    let device = x.device();
    let mut parts = Vec::with_capacity(3);
    if front > 0 {
        parts.push(Tensor::zeros([n, front, h, w], &device));
    }
    parts.push(x);
    if back > 0 {
        parts.push(Tensor::zeros([n, back, h, w], &device));
    }
    Tensor::cat(parts, 1)
}

/// Reducing block: `Conv3x3(ELU(BN(x)))`, no skip.
#[derive(Module, Debug)]
pub struct FinalBlock {
    head: BnElu,
    conv: Conv2d,
}

impl FinalBlock {
    fn new(
        config: &StegNetConfig,
        channels_in: usize,
        channels_out: usize,
        device: &Device,
    ) -> Self {
        Self {
            head: BnElu::new(config, channels_in, device),
            conv: conv([channels_in, channels_out], 3, 1, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(self.head.forward(x))
    }
}

/// Six SCR blocks and two reducing blocks: the shape shared by embedder and decoder.
#[derive(Module, Debug)]
pub struct Network {
    blocks: Vec<ScrBlock>,
    reduce: FinalBlock,
    output: FinalBlock,
}

impl Network {
    fn new(config: &StegNetConfig, channels_in: usize, device: &Device) -> Self {
        let mut blocks = Vec::with_capacity(SCR_WIDTHS.len());
        let mut channels = channels_in;
        for width in SCR_WIDTHS {
            blocks.push(ScrBlock::new(config, channels, width, device));
            channels = width;
        }
        Self {
            blocks,
            reduce: FinalBlock::new(config, channels, REDUCE_WIDTH, device),
            output: FinalBlock::new(config, REDUCE_WIDTH, RGB, device),
        }
    }

    /// Trainable parameters: [`Module::num_params`] also counts BatchNorm's running mean and
    /// variance (two per normalised channel), which are statistics, not trained.
    pub fn trainable_params(&self) -> usize {
        let statistics: usize = self
            .blocks
            .iter()
            .map(|b| b.head.channels())
            .chain([self.reduce.head.channels(), self.output.head.channels()])
            .map(|c| 2 * c)
            .sum();
        self.num_params() - statistics
    }

    /// `[n, c_in, h, w]` in, `[n, 3, h, w]` out, linear (no squashing).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        self.output.forward(self.reduce.forward(x))
    }
}

/// Both halves of StegNet. Images are `[n, 3, h, w]` on the [-1, 1] scale.
#[derive(Module, Debug)]
pub struct StegNet {
    pub embedder: Network,
    pub decoder: Network,
}

impl StegNet {
    /// Hides `hidden` in `cover`; the result is meant to look like `cover`.
    pub fn embed(&self, cover: Tensor<4>, hidden: Tensor<4>) -> Tensor<4> {
        self.embedder.forward(Tensor::cat(vec![cover, hidden], 1))
    }

    /// Recovers the hidden image from an embedded one.
    pub fn reveal(&self, embedded: Tensor<4>) -> Tensor<4> {
        self.decoder.forward(embedded)
    }
}
