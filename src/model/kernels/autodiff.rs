//! The custom operations on the autodiff backend: each is one graph node whose backward step
//! calls the inner backend's [`FastGradients`].

use burn::backend::Backend;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;

use super::{FastGradients, FastOps};

/// Backward step of `affine_elu`; its parents are `x`, `scale` and `shift`.
#[derive(Debug)]
struct AffineEluBackward;

impl<B: Backend + FastGradients> Backward<B, 3> for AffineEluBackward {
    /// `x`, `scale`, the output, ELU's alpha.
    type State = (
        B::FloatTensorPrimitive,
        B::FloatTensorPrimitive,
        B::FloatTensorPrimitive,
        f32,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, scale, y, alpha) = ops.state;
        let gradients = B::affine_elu_backward(x, scale, y, grad, alpha);
        for (parent, gradient) in ops.parents.into_iter().zip(gradients) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, gradient);
            }
        }
    }
}

/// Backward step of `channel_moments`; its parent is `x`.
#[derive(Debug)]
struct ChannelMomentsBackward;

impl<B: Backend + FastGradients> Backward<B, 1> for ChannelMomentsBackward {
    /// `x` and the moments computed from it.
    type State = (B::FloatTensorPrimitive, B::FloatTensorPrimitive);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, moments) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::channel_moments_backward(x, moments, grad)
        });
    }
}

/// Backward step of `depthwise3x3`; its parents are `x`, `weight` and `bias`.
#[derive(Debug)]
struct Depthwise3x3Backward;

impl<B: Backend + FastGradients> Backward<B, 3> for Depthwise3x3Backward {
    /// `x` and `weight`.
    type State = (B::FloatTensorPrimitive, B::FloatTensorPrimitive);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight) = ops.state;
        let gradients = B::depthwise3x3_backward(x, weight, grad);
        for (parent, gradient) in ops.parents.into_iter().zip(gradients) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, gradient);
            }
        }
    }
}

impl<B: Backend + FastOps + FastGradients, C: CheckpointStrategy> FastOps for Autodiff<B, C> {
    fn affine_elu(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        alpha: f32,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), scale.node(), shift.node()];
        let (x, scale, shift) = (
            x.into_primitive(),
            scale.into_primitive(),
            shift.into_primitive(),
        );
        let y = B::affine_elu(x.clone(), scale.clone(), shift, alpha);
        match AffineEluBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, scale, y.clone(), alpha), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let nodes = [x.node()];
        let x = x.into_primitive();
        let moments = B::channel_moments(x.clone());
        match ChannelMomentsBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, moments.clone()), moments),
            OpsKind::UnTracked(prep) => prep.finish(moments),
        }
    }

    fn depthwise3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), weight.node(), bias.node()];
        let (x, weight, bias) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        let y = B::depthwise3x3(x.clone(), weight.clone(), bias);
        match Depthwise3x3Backward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, weight), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
