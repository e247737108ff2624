//! The network: architecture, inference semantics, tiling, weights files.

use burn::prelude::*;
use burn::tensor::Distribution;
use stegnet::codec::Planar;
use stegnet::device;
use stegnet::model::{ModelInfo, ModelSource, StegNet, StegNetConfig, weights};
use stegnet::pipeline::{self, NoProgress, Tiling};

/// A CPU model whose BatchNorm running statistics are not the identity, as after training,
/// so that tests would notice them being ignored or lost.
fn model_with_statistics() -> (StegNet, Device) {
    let cpu = device::cpu().device;
    cpu.seed(7);
    let trainer = cpu.clone().autodiff();
    let mut model = StegNetConfig::new().init(&trainer);
    for _ in 0..3 {
        let cover = Tensor::<4>::random([2, 3, 12, 12], Distribution::Uniform(-1.0, 1.0), &trainer);
        let hidden =
            Tensor::<4>::random([2, 3, 12, 12], Distribution::Uniform(-0.5, 0.9), &trainer);
        // Forward passes on a training device update the running statistics.
        let embedded = model.embed(cover, hidden);
        let _ = model.reveal(embedded);
        model = model.clone();
    }
    (model.valid(), cpu)
}

fn random_planar(channels: usize, height: usize, width: usize, seed: u32) -> Planar {
    let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
    let data = (0..channels * height * width)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect();
    Planar {
        channels,
        height,
        width,
        data,
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn parameter_counts_match_the_architecture() {
    let model = StegNetConfig::new().init(&device::cpu().device);
    let (embedder, decoder) = (
        model.embedder.trainable_params(),
        model.decoder.trainable_params(),
    );
    println!("embedder parameters: {embedder}, decoder parameters: {decoder}");
    // Counted by hand from stegnet-architecture.md: BN scale+shift, depthwise 3x3 + bias,
    // pointwise 1x1 + bias per SCR block; BN + 3x3 conv + bias per reducing block.
    assert_eq!(embedder, 74_379);
    assert_eq!(decoder, 74_247);
}

#[test]
fn kernels_start_glorot_uniform_with_tensorflow_fans() {
    // The authors' TensorFlow code draws every kernel Glorot-uniform with TensorFlow's fans:
    // `k k c_in` and `k k c_out` for a convolution, `9 c` and `9` for a depthwise 3x3
    // kernel (`[3, 3, c, 1]`), which Burn would count as 9 and 9.
    struct Kernels(Vec<([usize; 4], f32)>);
    impl burn::module::ModuleVisitor for Kernels {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let value = param.val();
            if let Ok(dims) = <[usize; 4]>::try_from(value.dims().as_slice()) {
                self.0.push((dims, value.abs().max().into_scalar::<f32>()));
            }
        }
    }
    let mut kernels = Kernels(Vec::new());
    StegNetConfig::new()
        .init(&device::cpu().device)
        .visit(&mut kernels);
    assert_eq!(kernels.0.len(), 2 * (6 * 2 + 2));
    for ([c_out, c_in, k, _], largest) in kernels.0 {
        let fans = if c_in == 1 && k == 3 {
            9 * c_out + 9
        } else {
            k * k * (c_in + c_out)
        };
        let bound = (6.0 / fans as f32).sqrt();
        // At least 27 draws per kernel: the largest is within half the bound of it.
        assert!(
            largest <= bound && largest > 0.5 * bound,
            "[{c_out}, {c_in}, {k}, {k}]: largest {largest}, bound {bound}"
        );
    }
}

#[test]
fn output_keeps_the_image_size_for_odd_shapes() {
    let (model, cpu) = model_with_statistics();
    let out = model.embed(
        Tensor::zeros([1, 3, 13, 7], &cpu),
        Tensor::zeros([1, 3, 13, 7], &cpu),
    );
    assert_eq!(out.dims(), [1, 3, 13, 7]);
    assert_eq!(model.reveal(out).dims(), [1, 3, 13, 7]);
}

#[test]
fn inference_is_the_same_alone_or_in_a_batch() {
    let (model, cpu) = model_with_statistics();
    let a = random_planar(3, 16, 16, 1);
    let b = random_planar(3, 16, 16, 2);
    let tensor = |p: &Planar, n: usize| {
        let data: Vec<f32> = p
            .data
            .iter()
            .copied()
            .cycle()
            .take(n * p.data.len())
            .collect();
        Tensor::<4>::from_data(TensorData::new(data, [n, 3, 16, 16]), &cpu)
    };
    let alone = model.embed(tensor(&a, 1), tensor(&b, 1));
    let batch = model.embed(
        Tensor::cat(vec![tensor(&a, 1), tensor(&b, 1)], 0),
        Tensor::cat(vec![tensor(&b, 1), tensor(&a, 1)], 0),
    );
    let alone = alone.into_data().try_into_vec::<f32>().unwrap();
    let first = batch
        .narrow(0, 0, 1)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert!(max_abs_diff(&alone, &first) < 1e-5);
}

#[test]
fn tiled_output_equals_whole_image_output() {
    let (model, cpu) = model_with_statistics();
    // Several tiles wide and high, odd sizes, a ragged last row and column.
    let (height, width) = (45, 71);
    let cover = random_planar(3, height, width, 3);
    let hidden = random_planar(3, height, width, 4);
    let tiling = Tiling {
        tile: 16,
        margin: 8,
    };
    assert_eq!(tiling.tiles(width, height).len(), 5 * 3);

    let whole = pipeline::forward(&model.embedder, &cpu, &Planar::concat(&[&cover, &hidden]));
    let tiled =
        pipeline::embed_planar(&model, &cpu, &cover, &hidden, tiling, &mut NoProgress).unwrap();
    let diff = max_abs_diff(&whole.data, &tiled.data);
    println!("embedder: max |tiled - whole| = {diff:e}");
    assert!(diff < 1e-4);

    let whole = pipeline::forward(&model.decoder, &cpu, &tiled);
    let revealed = pipeline::reveal_planar(&model, &cpu, &tiled, tiling, &mut NoProgress).unwrap();
    let diff = max_abs_diff(&whole.data, &revealed.data);
    println!("decoder: max |tiled - whole| = {diff:e}");
    assert!(diff < 1e-4);
}

#[test]
fn tiles_cover_every_pixel_once() {
    let tiling = Tiling {
        tile: 10,
        margin: 8,
    };
    let (w, h) = (37, 23);
    let mut seen = vec![0u8; w * h];
    for tile in tiling.tiles(w, h) {
        assert!(tile.window_x + tile.window_width <= w && tile.window_y + tile.window_height <= h);
        // The margin is there wherever the image goes on.
        assert!(tile.x - tile.window_x == tile.x.min(8));
        assert!(tile.window_x + tile.window_width == (tile.x + tile.width + 8).min(w));
        for y in tile.y..tile.y + tile.height {
            for x in tile.x..tile.x + tile.width {
                seen[y * w + x] += 1;
            }
        }
    }
    assert!(seen.iter().all(|&n| n == 1));
}

#[test]
fn weights_round_trip_through_a_file() {
    let (model, cpu) = model_with_statistics();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bpk");
    let info = ModelInfo {
        trained_steps: 42,
        note: "test".into(),
    };
    let input = random_planar(6, 12, 12, 5);
    let before = pipeline::forward(&model.embedder, &cpu, &input);
    weights::save(model, &info, &path).unwrap();
    let (loaded, loaded_info) = weights::load(&ModelSource::File(path), &cpu).unwrap();
    assert_eq!(loaded_info, info);
    let after = pipeline::forward(&loaded.valid().embedder, &cpu, &input);
    assert_eq!(
        before.data, after.data,
        "weights and running statistics survive"
    );
}

#[test]
fn built_in_weights_load() {
    let (model, _) = weights::load(&ModelSource::BuiltIn, &device::cpu().device).unwrap();
    assert_eq!(model.embedder.trainable_params(), 74_379);
}

#[test]
fn damaged_or_foreign_weights_are_refused_with_a_reason() {
    let cpu = device::cpu().device;
    let bytes = weights::to_bytes(StegNetConfig::new().init(&cpu), &ModelInfo::default()).unwrap();
    let error = |bytes: Vec<u8>| {
        weights::from_bytes(bytes, "x.bpk", &cpu)
            .err()
            .unwrap()
            .to_string()
    };

    let truncated = error(bytes[..bytes.len() / 2].to_vec());
    assert!(truncated.contains("x.bpk"), "{truncated}");
    assert!(error(Vec::new()).contains("not a StegNet weights file"));
    assert!(error(b"hello, this is text".to_vec()).contains("not a StegNet weights file"));

    // A valid burnpack of another module: untagged.
    let other = burn::nn::LinearConfig::new(2, 2)
        .init(&cpu)
        .into_record()
        .into_bytes()
        .unwrap();
    assert!(error(other.to_vec()).contains("no 'stegnet.format' tag"));

    let missing = weights::load(&ModelSource::File("/nonexistent/m.bpk".into()), &cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("/nonexistent/m.bpk"), "{missing}");
}

/// A wgpu adapter, or `None` (saying why) where there is none.
fn gpu_adapter() -> Option<device::ComputeDevice> {
    device::select(device::DeviceChoice::Gpu)
        .inspect_err(|reason| println!("skipped: {reason}"))
        .ok()
}

/// One small forward pass on a wgpu adapter, where one exists (lavapipe in CI), compared
/// with the CPU result.
#[test]
fn gpu_forward_matches_cpu_when_an_adapter_exists() {
    let Some(gpu) = gpu_adapter() else {
        return;
    };
    println!("running on {}", gpu.label);
    let (model, cpu) = model_with_statistics();
    let input = random_planar(6, 16, 16, 9);
    let on_cpu = pipeline::forward(&model.embedder, &cpu, &input);
    let on_gpu_model = model.to_device(&gpu.device);
    let on_gpu = pipeline::forward(&on_gpu_model.embedder, &gpu.device, &input);
    let diff = max_abs_diff(&on_cpu.data, &on_gpu.data);
    println!("max |gpu - cpu| = {diff:e}");
    assert!(diff < 1e-3);
}

/// The depthwise kernel operation and the nine shifted multiply-adds compute what Burn's
/// grouped convolution computes: outputs, and gradients for the input, weights and bias.
#[test]
fn depthwise_variants_match_grouped_convolution_forward_and_backward() {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    let device = device::cpu().device.autodiff();
    device.seed(3);
    let conv = Conv2dConfig::new([5, 5], [3, 3])
        .with_groups(5)
        .with_padding(PaddingConfig2d::Same)
        .init(&device);
    let input = random_planar(10, 7, 9, 11);
    let x = Tensor::<4>::from_data(TensorData::new(input.data.clone(), [2, 5, 7, 9]), &device)
        .require_grad();
    let upstream = Tensor::<4>::random([2, 5, 7, 9], Distribution::Uniform(-1.0, 1.0), &device);
    let bias = conv.bias.as_ref().unwrap().val();
    let values = |t: Tensor<4>| t.into_data().try_into_vec::<f32>().unwrap();
    let outputs = [
        conv.forward(x.clone()),
        stegnet::model::depthwise_shifted(x.clone(), conv.weight.val(), Some(bias.clone())),
        stegnet::model::kernels::depthwise3x3(x.clone(), conv.weight.val(), bias.clone()),
    ];
    let gradients = outputs.clone().map(|out| {
        let grads = (out * upstream.clone()).sum().backward();
        let of = |t: Tensor<4>| values(t.grad(&grads).unwrap());
        let bias_grad = bias.grad(&grads).unwrap().into_data();
        (
            of(x.clone()),
            of(conv.weight.val()),
            bias_grad.try_into_vec::<f32>().unwrap(),
        )
    });
    let reference = values(outputs[0].clone());
    let (gx, gw, gb) = &gradients[0];
    for (out, (gx2, gw2, gb2)) in outputs.into_iter().zip(&gradients).skip(1) {
        assert!(max_abs_diff(&reference, &values(out)) < 1e-5, "output");
        assert!(max_abs_diff(gx, gx2) < 1e-4, "input gradient");
        assert!(max_abs_diff(gw, gw2) < 1e-3, "weight gradient");
        assert!(max_abs_diff(gb, gb2) < 1e-3, "bias gradient");
    }
}

#[test]
fn every_depthwise_mode_gives_the_same_network_output() {
    use stegnet::model::DepthwiseMode;
    let cpu = device::cpu().device;
    cpu.seed(4);
    let grouped = StegNetConfig::new()
        .with_depthwise(DepthwiseMode::Grouped)
        .init(&cpu);
    let bytes = weights::to_bytes(grouped.clone(), &ModelInfo::default()).unwrap();
    let input = random_planar(6, 20, 13, 12);
    let reference = pipeline::forward(&grouped.embedder, &cpu, &input);
    for mode in [DepthwiseMode::Shifted, DepthwiseMode::Kernel] {
        let config = StegNetConfig::new().with_depthwise(mode);
        let model = weights::from_bytes_with(bytes.clone(), "m", &cpu, &config)
            .unwrap()
            .0;
        let out = pipeline::forward(&model.embedder, &cpu, &input);
        assert!(max_abs_diff(&reference.data, &out.data) < 1e-4, "{mode:?}");
    }
}

/// The largest difference between corresponding parameters of two models of one shape.
fn parameter_difference(a: &StegNet, b: &StegNet) -> f32 {
    let (a, b) = (parameter_values(a), parameter_values(b));
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| max_abs_diff(x, y))
        .fold(0.0, f32::max)
}

/// Every float parameter of a model, in visiting order.
fn parameter_values(model: &StegNet) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let values = param
                .val()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>();
            self.0.push(values.unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// One SGD step (learning rate 1, so each weight moves by its whole gradient) on a fixed
/// batch, with the fast formulations or Burn's plain modules; returns the stepped model made ready for inference.
fn sgd_step(fast: bool, device: &Device, bytes: &[u8]) -> StegNet {
    use burn::optim::{GradientsParams, SgdConfig};
    let trainer = device.clone().autodiff();
    let config = match fast {
        true => StegNetConfig::new(),
        false => StegNetConfig::plain(),
    };
    let model = weights::from_bytes_with(bytes.to_vec(), "m", &trainer, &config)
        .unwrap()
        .0
        .train();
    let batch = |seed| {
        let planar = random_planar(3, 2 * 9, 11, seed);
        Tensor::<4>::from_data(TensorData::new(planar.data, [2, 3, 9, 11]), &trainer)
    };
    let (cover, hidden) = (batch(21), batch(22));
    let embedded = model.embed(cover.clone(), hidden.clone());
    let decoded = model.reveal(embedded.clone());
    let loss = stegnet::train::loss::LossParts::measure(cover, embedded, hidden, decoded)
        .minimised(&stegnet::train::TrainConfig::default());
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    SgdConfig::new().init().step(1.0, model, grads).valid()
}

/// The fast formulations (fused BatchNorm + ELU kernels, 1x1 convolutions as matrix
/// products) compute what Burn's modules compute: after
/// one training step the weights (hence every gradient) and the running statistics (hence
/// the inference output) agree within float rounding.
#[test]
fn fast_path_matches_burn_modules_in_training_and_inference() {
    let cpu = device::cpu().device;
    cpu.seed(5);
    let bytes = weights::to_bytes(StegNetConfig::new().init(&cpu), &ModelInfo::default()).unwrap();
    let plain = sgd_step(false, &cpu, &bytes);
    let fast = sgd_step(true, &cpu, &bytes);
    let before = weights::from_bytes(bytes.clone(), "m", &cpu).unwrap().0;
    let moved = parameter_difference(&plain, &before);
    let worst = parameter_difference(&plain, &fast);
    println!("largest weight change {moved:e}, largest plain-fast difference {worst:e}");
    assert!(moved > 1e-2, "the step changed the weights");
    assert!(
        worst < 1e-4 * moved.max(1.0),
        "weights after one step differ by {worst:e}"
    );

    let input = random_planar(6, 15, 13, 23);
    let out_plain = pipeline::forward(&plain.embedder, &cpu, &input);
    let out_fast = pipeline::forward(&fast.embedder, &cpu, &input);
    assert!(max_abs_diff(&out_plain.data, &out_fast.data) < 1e-4);
}

/// The fused operations' composed form (what wgpu runs) matches the CPU kernels, training
/// step included, where a GPU adapter exists (lavapipe in CI).
#[test]
fn fast_path_on_gpu_matches_cpu_kernels_when_an_adapter_exists() {
    let Some(gpu) = gpu_adapter() else {
        return;
    };
    let cpu = device::cpu().device;
    cpu.seed(6);
    let bytes = weights::to_bytes(StegNetConfig::new().init(&cpu), &ModelInfo::default()).unwrap();
    let worst = parameter_difference(
        &sgd_step(true, &cpu, &bytes),
        &sgd_step(true, &gpu.device, &bytes),
    );
    println!("largest cpu-gpu weight difference after one step {worst:e}");
    assert!(worst < 1e-3);
}
