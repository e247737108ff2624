//! Custom Burn operations with hand-written CPU kernels and hand-written gradients, for the
//! parts of StegNet that Burn's generic operations run slowly on the CPU.
//!
//! - The head of every block, BatchNorm followed by ELU. Burn computes it as about a dozen
//!   whole-tensor passes forward and as many backward (BatchNorm's statistics through
//!   transposed copies, ELU as compare, exp, subtract, multiply and select); here it is
//!   [`channel_moments`] (per-channel mean and variance of the batch, training only) and
//!   [`affine_elu`] (`elu(x * scale[c] + shift[c])`, where `scale` and `shift` fold the
//!   statistics, `gamma` and `beta` together: tiny per-channel tensors autodiff handles).
//! - The depthwise 3x3 convolution, [`depthwise3x3`]: Burn's grouped convolution computes
//!   its gradients through transposed copies, a transposed convolution and one small
//!   convolution per channel; here each direction is one pass of direct loops per plane.
//!
//! Each is a backend extension ([`FastOps`]): the `flex` CPU backend runs dedicated parallel,
//! vectorised kernels (`flex.rs`); any other backend (wgpu) runs the same mathematics
//! composed of Burn's own operations, so the model stays one Burn `Module`. The autodiff
//! backend differentiates each operation as a single node (`autodiff.rs`).

mod autodiff;
mod flex;

use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Backend, Cube, Dispatch, Scalar, Slice, TensorMetadata, backend_extension,
    get_or_init_device_settings,
};
use burn::prelude::*;

/// The custom operations. Default bodies compose Burn operations and serve every backend;
/// `flex` overrides them with dedicated kernels.
#[backend_extension(Flex, Cube, Autodiff)]
pub trait FastOps: Backend {
    /// `elu(x * scale[c] + shift[c])` with ELU's `alpha`, for `x` `[n, c, ...]` and `scale`,
    /// `shift` `[c]`.
    fn affine_elu(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        alpha: f32,
    ) -> FloatTensor<Self> {
        composed::affine_elu::<Self>(x, scale, shift, alpha)
    }

    /// Per-channel mean and biased (population) variance of `x` `[n, c, ...]` over every
    /// other axis, as one `[2, c]` tensor: row 0 the means, row 1 the variances.
    fn channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::channel_moments::<Self>(x)
    }

    /// Depthwise 3x3 "same" convolution (cross-correlation, zero padding): `x`
    /// `[n, c, h, w]`, `weight` `[c, 1, 3, 3]`, `bias` `[c]`.
    fn depthwise3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        composed::depthwise3x3::<Self>(x, weight, bias)
    }
}

/// The gradients of [`FastOps`], called by the autodiff backend on the inner backend.
pub trait FastGradients: Backend {
    /// Gradients of [`FastOps::affine_elu`] with respect to `x`, `scale` and `shift`, given
    /// its output `y` and the output's gradient. ELU's derivative is read off `y`: 1 where
    /// `y > 0`, else `y + alpha`.
    fn affine_elu_backward(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        alpha: f32,
    ) -> [FloatTensor<Self>; 3] {
        composed::affine_elu_backward::<Self>(x, scale, y, grad, alpha)
    }

    /// Gradient of [`FastOps::channel_moments`] with respect to `x`, given its output
    /// `moments` and the output's gradient (both `[2, c]`):
    /// `(grad_mean[c] + 2 grad_var[c] (x - mean[c])) / m`, `m` values per channel.
    fn channel_moments_backward(
        x: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        composed::channel_moments_backward::<Self>(x, moments, grad)
    }

    /// Gradients of [`FastOps::depthwise3x3`] with respect to `x`, `weight` and `bias`.
    fn depthwise3x3_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        composed::depthwise3x3_backward::<Self>(x, weight, grad)
    }
}

/// Stride 1, padding 1, dilation 1, one group per channel.
fn depthwise_options(channels: usize) -> ConvOptions<2> {
    ConvOptions::new([1, 1], [1, 1], [1, 1], channels)
}

impl FastOps for Cube {}
impl FastGradients for Cube {}

/// `[1, c, 1, ...]` for a `[n, c, ...]` shape.
fn per_channel_shape(shape: &Shape) -> Shape {
    let mut dims = vec![1; shape.num_dims()];
    dims[1] = shape[1];
    Shape::from(dims)
}

/// Sum over every axis but 1, keeping them (length one).
fn sum_except_channels<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    (0..x.shape().num_dims())
        .filter(|&d| d != 1)
        .fold(x, |t, d| B::float_sum_dim(t, d))
}

/// Mean over every axis but 1, keeping them (length one).
fn mean_except_channels<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let count = (x.shape().num_elements() / x.shape()[1]) as f64;
    B::float_mul_scalar(sum_except_channels::<B>(x), Scalar::Float(1.0 / count))
}

/// `elu(x * scale[c] + shift[c])`: `x` `[n, c, h, w]`, `scale` and `shift` `[c]`.
pub fn affine_elu(x: Tensor<4>, scale: Tensor<1>, shift: Tensor<1>, alpha: f32) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as FastOps>::affine_elu(
        x.into_dispatch(),
        scale.into_dispatch(),
        shift.into_dispatch(),
        alpha,
    ))
}

/// Depthwise 3x3 "same" convolution: `x` `[n, c, h, w]`, `weight` `[c, 1, 3, 3]`, `bias` `[c]`.
pub fn depthwise3x3(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as FastOps>::depthwise3x3(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// Per-channel mean and biased variance of `x` `[n, c, h, w]`, differentiable.
pub fn channel_moments(x: Tensor<4>) -> (Tensor<1>, Tensor<1>) {
    let moments: Tensor<2> =
        Tensor::from_dispatch(<Dispatch as FastOps>::channel_moments(x.into_dispatch()));
    let [_, channels] = moments.dims();
    let mean = moments
        .clone()
        .slice([0..1, 0..channels])
        .reshape([channels]);
    let variance = moments.slice([1..2, 0..channels]).reshape([channels]);
    (mean, variance)
}

/// The operations composed of Burn's own: the defaults, and the fallback for dtypes the
/// dedicated kernels do not cover.
mod composed {
    use super::*;

    pub fn affine_elu<B: Backend>(
        x: FloatTensor<B>,
        scale: FloatTensor<B>,
        shift: FloatTensor<B>,
        alpha: f32,
    ) -> FloatTensor<B> {
        let per_channel = per_channel_shape(&x.shape());
        let scale = B::float_reshape(scale, per_channel.clone());
        let shift = B::float_reshape(shift, per_channel);
        let z = B::float_add(B::float_mul(x, scale), shift);
        let positive = B::float_clamp_min(z.clone(), Scalar::Float(0.0));
        let negative = B::float_exp(B::float_clamp_max(z, Scalar::Float(0.0)));
        let negative = B::float_mul_scalar(
            B::float_sub_scalar(negative, Scalar::Float(1.0)),
            Scalar::Float(alpha as f64),
        );
        B::float_add(positive, negative)
    }

    pub fn channel_moments<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
        let channels = x.shape()[1];
        let mean = mean_except_channels::<B>(x.clone());
        let centred = B::float_sub(x, mean.clone());
        let variance = mean_except_channels::<B>(B::float_mul(centred.clone(), centred));
        let row = Shape::new([1, channels]);
        B::float_cat(
            vec![
                B::float_reshape(mean, row.clone()),
                B::float_reshape(variance, row),
            ],
            0,
        )
    }

    pub fn affine_elu_backward<B: Backend>(
        x: FloatTensor<B>,
        scale: FloatTensor<B>,
        y: FloatTensor<B>,
        grad: FloatTensor<B>,
        alpha: f32,
    ) -> [FloatTensor<B>; 3] {
        let shape = x.shape();
        let per_channel = per_channel_shape(&shape);
        let bool_dtype = get_or_init_device_settings::<B>(&y.device()).bool_dtype;
        let positive = B::float_greater_elem(y.clone(), Scalar::Float(0.0), bool_dtype);
        let derivative = B::float_mask_fill(
            B::float_add_scalar(y, Scalar::Float(alpha as f64)),
            positive,
            Scalar::Float(1.0),
        );
        let g = B::float_mul(grad, derivative);
        let channels = Shape::new([shape[1]]);
        let scale_grad = B::float_reshape(
            sum_except_channels::<B>(B::float_mul(g.clone(), x)),
            channels.clone(),
        );
        let shift_grad = B::float_reshape(sum_except_channels::<B>(g.clone()), channels);
        let x_grad = B::float_mul(g, B::float_reshape(scale, per_channel));
        [x_grad, scale_grad, shift_grad]
    }

    pub fn channel_moments_backward<B: Backend>(
        x: FloatTensor<B>,
        moments: FloatTensor<B>,
        grad: FloatTensor<B>,
    ) -> FloatTensor<B> {
        let shape = x.shape();
        let count = (shape.num_elements() / shape[1]) as f64;
        let per_channel = per_channel_shape(&shape);
        let row = |t: FloatTensor<B>, i: usize| {
            let channels = t.shape()[1];
            let slices = [Slice::from(i..i + 1), Slice::from(0..channels)];
            B::float_reshape(B::float_slice(t, &slices), per_channel.clone())
        };
        let mean = row(moments, 0);
        let grad_mean = row(grad.clone(), 0);
        let grad_var = row(grad, 1);
        let spread = B::float_mul(
            B::float_sub(x, mean),
            B::float_mul_scalar(grad_var, Scalar::Float(2.0)),
        );
        B::float_mul_scalar(B::float_add(spread, grad_mean), Scalar::Float(1.0 / count))
    }

    /// Burn's grouped convolution.
    pub fn depthwise3x3<B: Backend>(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
    ) -> FloatTensor<B> {
        let channels = x.shape()[1];
        B::conv2d(x, weight, Some(bias), depthwise_options(channels))
    }

    /// Burn's grouped-convolution gradients.
    pub fn depthwise3x3_backward<B: Backend>(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        grad: FloatTensor<B>,
    ) -> [FloatTensor<B>; 3] {
        let channels = x.shape()[1];
        let options = depthwise_options(channels);
        let bias_grad = B::float_reshape(
            sum_except_channels::<B>(grad.clone()),
            Shape::new([channels]),
        );
        [
            B::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone()),
            B::conv2d_weight_backward(x, weight, grad, options),
            bias_grad,
        ]
    }
}
