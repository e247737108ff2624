//! An exponential moving average of the weights (Polyak averaging). Single training
//! iterates of StegNet swing from step to step (the validation figures of one checkpoint
//! and the next differ by more than any trend); the average over the last few hundred steps
//! sits lower in the loss and does not swing. BatchNorm's running statistics are averaged
//! too, so the averaged model is a complete inference model.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use crate::model::StegNet;

/// The running average of every float tensor of a [`StegNet`], in the order the module
/// visits them (the same for every instance of the network, so an average can be rebuilt
/// from a saved averaged model).
#[derive(Debug, Clone)]
pub struct WeightAverage {
    /// Weight of the old average at each update (e.g. 0.998: about the last 500 steps).
    decay: f32,
    values: Vec<Vec<f32>>,
}

impl WeightAverage {
    /// An average that starts at `model`'s values.
    pub fn new(decay: f64, model: &StegNet) -> Self {
        let mut reader = Reader(Vec::new());
        model.visit(&mut reader);
        Self {
            decay: decay as f32,
            values: reader.0,
        }
    }

    /// Moves the average towards `model`, the weights after `step` steps:
    /// `average = d * average + (1 - d) * model` with `d = min(decay, (1 + step) / (10 + step))`,
    /// so that early in a run from scratch the average does not linger on the first weights.
    /// Computed as `a + (1 - d) (x - a)`, so a tensor that does not change (a frozen
    /// embedder) keeps exactly its value.
    pub fn update(&mut self, model: &StegNet, step: u64) {
        let mut reader = Reader(Vec::with_capacity(self.values.len()));
        model.visit(&mut reader);
        let keep = self.decay.min((1 + step) as f32 / (10 + step) as f32);
        for (average, current) in self.values.iter_mut().zip(reader.0) {
            for (a, x) in average.iter_mut().zip(current) {
                *a += (1.0 - keep) * (x - *a);
            }
        }
    }

    /// `model` (an inference model: the values come back untracked) with the averaged
    /// values in place of its own.
    pub fn apply(&self, model: StegNet) -> StegNet {
        model.map(&mut Writer {
            values: &self.values,
            next: 0,
        })
    }
}

/// Reads every float tensor of a module, in visiting order.
struct Reader(Vec<Vec<f32>>);

impl ModuleVisitor for Reader {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = param
            .val()
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("float tensors convert to f32");
        self.0.push(values);
    }
}

/// Replaces every float tensor of a module by the next of `values`.
struct Writer<'a> {
    values: &'a [Vec<f32>],
    next: usize,
}

impl ModuleMapper for Writer<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let values = self.values[self.next].clone();
        self.next += 1;
        let averaged =
            Tensor::<D>::from_data(TensorData::new(values, tensor.shape()), &tensor.device());
        Param::from_mapped_value(id, averaged, mapper)
    }
}
