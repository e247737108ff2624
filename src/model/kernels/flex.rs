//! Dedicated `flex` (CPU) kernels for the custom operations: one pass over the activation per
//! operation and direction, planes (one image's one channel) spread over the cores with
//! rayon, inner loops written so that the compiler vectorises them (a branch-free `exp`).

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{DType, Flex, TensorMetadata};
use burn::tensor::TensorData;
use rayon::prelude::*;

use super::{FastGradients, FastOps, composed};

/// Accumulator lanes of the reductions (independent partial sums the compiler keeps in
/// vector registers; they also keep the rounding error of long sums small).
const LANES: usize = 8;

/// Defines a kernel twice, for the x86-64 baseline (SSE2, 4 lanes) and for AVX2 (8 lanes),
/// and picks the wider one at run time where the CPU has it.
macro_rules! wide_kernel {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn generic($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    generic($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has the feature `avx2` was compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}

impl FastOps for Flex {
    fn affine_elu(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        alpha: f32,
    ) -> FloatTensor<Self> {
        if !all_f32([&x, &scale, &shift]) {
            return composed::affine_elu::<Self>(x, scale, shift, alpha);
        }
        let (x, scale, shift) = (contiguous(x), contiguous(scale), contiguous(shift));
        let (scale, shift) = (values(&scale), values(&shift));
        map_planes(&x, |c, out, xs| {
            affine_elu_plane(out, xs, scale[c], shift[c], alpha)
        })
    }

    fn channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32([&x]) {
            return composed::channel_moments::<Self>(x);
        }
        let planes = Planes::of(&x);
        let x = contiguous(x);
        let xs = values(&x);
        let sums: Vec<f64> = xs.par_chunks(planes.len).map(plane_sum).collect();
        let mean = planes.per_channel(&sums, planes.count());
        let squares: Vec<f64> = xs
            .par_chunks(planes.len)
            .enumerate()
            .map(|(plane, p)| plane_squares(p, mean[plane % planes.channels]))
            .collect();
        let variance = planes.per_channel(&squares, planes.count());
        let moments = [mean, variance].concat();
        FlexTensor::from_data(TensorData::new(moments, [2, planes.channels]))
    }

    fn depthwise3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if !all_f32([&x, &weight, &bias]) || x.shape().num_dims() != 4 {
            return composed::depthwise3x3::<Self>(x, weight, bias);
        }
        let width = x.shape()[3];
        let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
        let (weight, bias) = (values(&weight), values(&bias));
        map_planes(&x, |c, out, xs| {
            out.fill(bias[c]);
            depthwise_plane(out, xs, width, &taps(weight, c, false));
        })
    }
}

impl FastGradients for Flex {
    fn affine_elu_backward(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        y: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        alpha: f32,
    ) -> [FloatTensor<Self>; 3] {
        if !all_f32([&x, &scale, &y, &grad]) {
            return composed::affine_elu_backward::<Self>(x, scale, y, grad, alpha);
        }
        let planes = Planes::of(&x);
        let (x, scale, y, grad) = (
            contiguous(x),
            contiguous(scale),
            contiguous(y),
            contiguous(grad),
        );
        let (xs, scale, ys, grads) = (values(&x), values(&scale), values(&y), values(&grad));
        let mut x_grad = vec![0.0f32; xs.len()];
        let partial: Vec<(f64, f64)> = x_grad
            .par_chunks_mut(planes.len)
            .zip(xs.par_chunks(planes.len))
            .zip(ys.par_chunks(planes.len))
            .zip(grads.par_chunks(planes.len))
            .enumerate()
            .map(|(plane, (((dx, xs), ys), dys))| {
                affine_elu_backward_plane(dx, xs, ys, dys, scale[plane % planes.channels], alpha)
            })
            .collect();
        let (scale_sums, shift_sums): (Vec<f64>, Vec<f64>) = partial.into_iter().unzip();
        [
            tensor(x_grad, &x),
            vector(planes.per_channel(&scale_sums, 1.0)),
            vector(planes.per_channel(&shift_sums, 1.0)),
        ]
    }

    fn channel_moments_backward(
        x: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if !all_f32([&x, &moments, &grad]) {
            return composed::channel_moments_backward::<Self>(x, moments, grad);
        }
        let c = x.shape()[1];
        let count = Planes::of(&x).count() as f32;
        let (x, moments, grad) = (contiguous(x), contiguous(moments), contiguous(grad));
        let (moments, grad) = (values(&moments), values(&grad));
        let (mean, grad_mean, grad_var) = (&moments[..c], &grad[..c], &grad[c..]);
        map_planes(&x, |ch, dx, xs| {
            let (a, b) = (grad_mean[ch] / count, 2.0 * grad_var[ch] / count);
            channel_moments_backward_plane(dx, xs, mean[ch], a, b);
        })
    }

    fn depthwise3x3_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        if !all_f32([&x, &weight, &grad]) || x.shape().num_dims() != 4 {
            return composed::depthwise3x3_backward::<Self>(x, weight, grad);
        }
        let planes = Planes::of(&x);
        let width = x.shape()[3];
        let (x, weight, grad) = (contiguous(x), contiguous(weight), contiguous(grad));
        let (xs, taps_all, grads) = (values(&x), values(&weight), values(&grad));
        let mut x_grad = vec![0.0f32; xs.len()];
        // The input gradient is the output gradient correlated with the flipped kernel; the
        // weight gradient, nine correlations of the output gradient with shifted inputs.
        let partial: Vec<[f64; 10]> = x_grad
            .par_chunks_mut(planes.len)
            .zip(xs.par_chunks(planes.len))
            .zip(grads.par_chunks(planes.len))
            .enumerate()
            .map(|(plane, ((dx, xs), gs))| {
                depthwise_plane(
                    dx,
                    gs,
                    width,
                    &taps(taps_all, plane % planes.channels, true),
                );
                depthwise_weight_plane(gs, xs, width)
            })
            .collect();
        let mut weight_grad = vec![0.0f64; planes.channels * 9];
        for (plane, sums) in partial.iter().enumerate() {
            let c = plane % planes.channels;
            for (total, v) in weight_grad[c * 9..c * 9 + 9].iter_mut().zip(&sums[..9]) {
                *total += v;
            }
        }
        let weight_grad = weight_grad.into_iter().map(|v| v as f32).collect();
        let bias_sums: Vec<f64> = partial.iter().map(|sums| sums[9]).collect();
        [
            tensor(x_grad, &x),
            tensor(weight_grad, &weight),
            vector(planes.per_channel(&bias_sums, 1.0)),
        ]
    }
}

/// Channel `c`'s nine taps, row by row, from a `[c, 1, 3, 3]` weight; `flipped` turns the
/// kernel by 180 degrees (the input gradient's kernel).
fn taps(weight: &[f32], c: usize, flipped: bool) -> [f32; 9] {
    let mut taps = [0.0; 9];
    taps.copy_from_slice(&weight[c * 9..c * 9 + 9]);
    if flipped {
        taps.reverse();
    }
    taps
}

wide_kernel! {
    /// Adds the 3x3 correlation of plane `xs` (rows of `width`) with `taps`, zero-padded, to
    /// `out`: row by row, each tap one shifted multiply-add over the row.
    fn depthwise_plane(out: &mut [f32], xs: &[f32], width: usize, taps: &[f32; 9]) {
        let height = xs.len() / width;
        for (i, row) in out.chunks_exact_mut(width).enumerate() {
            for dy in 0..3 {
                let Some(r) = (i + dy).checked_sub(1).filter(|&r| r < height) else {
                    continue;
                };
                let src = &xs[r * width..(r + 1) * width];
                let (left, centre, right) = (taps[dy * 3], taps[dy * 3 + 1], taps[dy * 3 + 2]);
                for (o, &v) in row.iter_mut().zip(src) {
                    *o += centre * v;
                }
                for (o, &v) in row[1..].iter_mut().zip(src) {
                    *o += left * v;
                }
                for (o, &v) in row.iter_mut().zip(&src[1..]) {
                    *o += right * v;
                }
            }
        }
    }
}

wide_kernel! {
    /// One plane's share of the depthwise weight gradient (nine sums: the output gradient
    /// `gs` times the input shifted by each tap) and of the bias gradient (the tenth).
    fn depthwise_weight_plane(gs: &[f32], xs: &[f32], width: usize) -> [f64; 10] {
        let height = xs.len() / width;
        let mut sums = [0.0f64; 10];
        for (i, g) in gs.chunks_exact(width).enumerate() {
            for dy in 0..3 {
                let Some(r) = (i + dy).checked_sub(1).filter(|&r| r < height) else {
                    continue;
                };
                let src = &xs[r * width..(r + 1) * width];
                sums[dy * 3] += dot(&g[1..], src);
                sums[dy * 3 + 1] += dot(g, src);
                sums[dy * 3 + 2] += dot(g, &src[1..]);
            }
            sums[9] += sum(g, |v| v);
        }
        sums
    }
}

/// `sum a[i] b[i]` over the shorter length, in [`LANES`] partial sums.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; LANES];
    let (mut ca, mut cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            lanes[l] += x[l] * y[l];
        }
    }
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| (x * y) as f64)
        .sum();
    lanes_total(&lanes) + tail
}

/// A new tensor of `x`'s shape (contiguous f32), each plane written in parallel by
/// `f(channel, plane out, plane of x)`.
fn map_planes(x: &FlexTensor, f: impl Fn(usize, &mut [f32], &[f32]) + Sync) -> FlexTensor {
    let planes = Planes::of(x);
    let xs = values(x);
    let mut out = vec![0.0f32; xs.len()];
    out.par_chunks_mut(planes.len)
        .zip(xs.par_chunks(planes.len))
        .enumerate()
        .for_each(|(plane, (out, xs))| f(plane % planes.channels, out, xs));
    tensor(out, x)
}

/// How a `[n, c, ...]` tensor splits into contiguous planes.
struct Planes {
    /// Channels (axis 1).
    channels: usize,
    /// Planes in all (`n * c`).
    total: usize,
    /// Values per plane.
    len: usize,
}

impl Planes {
    fn of(x: &FlexTensor) -> Self {
        let shape = x.shape();
        let (n, channels) = (shape[0], shape[1]);
        let total = n * channels;
        Self {
            channels,
            total,
            len: (shape.num_elements() / total.max(1)).max(1),
        }
    }

    /// Values per channel.
    fn count(&self) -> f64 {
        (self.total / self.channels * self.len) as f64
    }

    /// Adds per-plane figures up per channel and divides the totals by `divisor`.
    fn per_channel(&self, per_plane: &[f64], divisor: f64) -> Vec<f32> {
        let mut totals = vec![0.0; self.channels];
        for (plane, v) in per_plane.iter().enumerate() {
            totals[plane % self.channels] += v;
        }
        totals.into_iter().map(|t| (t / divisor) as f32).collect()
    }
}

wide_kernel! {
    /// One plane of `affine_elu`.
    fn affine_elu_plane(out: &mut [f32], xs: &[f32], s: f32, t: f32, alpha: f32) {
        for (o, &v) in out.iter_mut().zip(xs) {
            *o = elu(v * s + t, alpha);
        }
    }
}

wide_kernel! {
    /// One plane of `affine_elu_backward`: writes the input gradient, returns the plane's
    /// shares of the scale and shift gradients.
    fn affine_elu_backward_plane(
        dx: &mut [f32],
        xs: &[f32],
        ys: &[f32],
        dys: &[f32],
        s: f32,
        alpha: f32,
    ) -> (f64, f64) {
        let mut scale_grad = [0.0f32; LANES];
        let mut shift_grad = [0.0f32; LANES];
        let mut chunks = dx
            .chunks_exact_mut(LANES)
            .zip(xs.chunks_exact(LANES))
            .zip(ys.chunks_exact(LANES))
            .zip(dys.chunks_exact(LANES));
        for (((dx, xs), ys), dys) in &mut chunks {
            for l in 0..LANES {
                let g = dys[l] * elu_derivative(ys[l], alpha);
                dx[l] = g * s;
                scale_grad[l] += g * xs[l];
                shift_grad[l] += g;
            }
        }
        let tail = xs.len() - xs.len() % LANES;
        for i in tail..xs.len() {
            let g = dys[i] * elu_derivative(ys[i], alpha);
            dx[i] = g * s;
            scale_grad[0] += g * xs[i];
            shift_grad[0] += g;
        }
        (lanes_total(&scale_grad), lanes_total(&shift_grad))
    }
}

wide_kernel! {
    /// One plane of `channel_moments_backward`: `dx = a + b (x - m)`.
    fn channel_moments_backward_plane(dx: &mut [f32], xs: &[f32], m: f32, a: f32, b: f32) {
        for (d, &v) in dx.iter_mut().zip(xs) {
            *d = a + b * (v - m);
        }
    }
}

wide_kernel! {
    /// The sum of a plane's values.
    fn plane_sum(values: &[f32]) -> f64 {
        sum(values, |v| v)
    }
}

wide_kernel! {
    /// The sum of a plane's squared deviations from `m`.
    fn plane_squares(values: &[f32], m: f32) -> f64 {
        sum(values, |v| (v - m) * (v - m))
    }
}

/// `f(v)` summed over a plane, in [`LANES`] partial sums.
#[inline(always)]
fn sum(values: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for l in 0..LANES {
            lanes[l] += f(chunk[l]);
        }
    }
    lanes_total(&lanes) + chunks.remainder().iter().map(|&v| f(v) as f64).sum::<f64>()
}

#[inline(always)]
fn lanes_total(lanes: &[f32; LANES]) -> f64 {
    lanes.iter().map(|&v| v as f64).sum()
}

/// ELU: `z` where positive, `alpha (e^z - 1)` elsewhere.
#[inline(always)]
fn elu(z: f32, alpha: f32) -> f32 {
    let e = exp_nonpositive(if z < 0.0 { z } else { 0.0 });
    if z > 0.0 { z } else { alpha * (e - 1.0) }
}

/// ELU's derivative from its output: 1 where positive, `y + alpha` (= `alpha e^z`) elsewhere.
#[inline(always)]
fn elu_derivative(y: f32, alpha: f32) -> f32 {
    if y > 0.0 { 1.0 } else { y + alpha }
}

/// `e^x` for `x <= 0` to about one unit in the last place, without branches, calls or
/// float-to-integer conversions (Rust's saturating `as i32` is scalar code), so that loops
/// over it vectorise. Cephes' `expf`: `x = k ln 2 + r`, a degree-6 polynomial in `r`, `2^k`
/// put in the exponent bits. Below -87 it returns `e^-87`.
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that `k * LN2_HI` is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding it rounds to an integer, which then sits in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = if x < -87.0 { -87.0 } else { x };
    let shifted = x * LOG2_E + ROUND;
    let k = shifted - ROUND;
    let k_bits = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e_r = p * r * r + r + 1.0;
    e_r * f32::from_bits((k_bits.wrapping_add(127) << 23) as u32)
}

fn all_f32<const N: usize>(tensors: [&FlexTensor; N]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// The tensor itself when its values are one contiguous run, else a contiguous copy.
fn contiguous(t: FlexTensor) -> FlexTensor {
    match t.as_slice::<f32>() {
        Some(_) => t,
        None => t.to_contiguous(),
    }
}

/// The values of a contiguous f32 tensor.
fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("a contiguous f32 tensor (see `contiguous`)")
}

/// A one-dimensional tensor (per-channel figures).
fn vector(values: Vec<f32>) -> FlexTensor {
    let len = values.len();
    FlexTensor::from_data(TensorData::new(values, [len]))
}

/// A new tensor of `like`'s shape holding `values`.
fn tensor(values: Vec<f32>, like: &FlexTensor) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, like.shape()))
}
