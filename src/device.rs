//! Choosing where the network runs: a wgpu GPU adapter, or Burn's `flex` CPU backend.

use burn::prelude::*;
use eframe::wgpu;

/// What the user asked for with `--device`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum DeviceChoice {
    /// A hardware GPU if wgpu finds one, otherwise the CPU.
    #[default]
    Auto,
    /// A wgpu adapter (software adapters such as lavapipe count); an error if there is none.
    Gpu,
    /// The CPU (`flex` backend).
    Cpu,
}

/// A device ready for tensors, with a description for people.
#[derive(Debug, Clone)]
pub struct ComputeDevice {
    pub device: Device,
    /// E.g. "GPU: NVIDIA H100 (Vulkan, wgpu)" or "CPU (flex, 2 threads)".
    pub label: String,
    pub is_gpu: bool,
}

impl ComputeDevice {
    /// The network configuration that runs fastest here: the custom CPU kernels (fused
    /// BatchNorm + ELU, depthwise convolution) and 1x1 convolutions as matrix products; on
    /// wgpu the same operations fall back to Burn's. `stegnet bench --runs 5` on a 2-core
    /// AVX-512 CPU (flex): 0.79 s per training step and 4.2 s per megapixel, against 2.22 s
    /// and 8.7 s with Burn's plain modules (`--plain`). The nine-shifted-multiply-adds
    /// depthwise variant was slower than the grouped convolution when last measured.
    pub fn network_config(&self) -> crate::model::StegNetConfig {
        crate::model::StegNetConfig::new()
    }
}

/// No device could be had.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no GPU adapter found (wgpu saw: {seen}); use --device cpu or --device auto")]
pub struct NoGpu {
    pub seen: String,
}

/// A GPU adapter as wgpu reports it.
#[derive(Debug, Clone)]
pub struct Adapter {
    pub name: String,
    pub backend: String,
    pub kind: wgpu::DeviceType,
}

impl Adapter {
    /// Hardware, as opposed to a software rasteriser (lavapipe, llvmpipe, WARP).
    pub fn is_hardware(&self) -> bool {
        matches!(
            self.kind,
            wgpu::DeviceType::DiscreteGpu
                | wgpu::DeviceType::IntegratedGpu
                | wgpu::DeviceType::VirtualGpu
        )
    }
}

/// Every adapter wgpu can see on this machine (none on a machine without a driver).
pub fn adapters() -> Vec<Adapter> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .into_iter()
        .map(|adapter| {
            let info = adapter.get_info();
            Adapter {
                name: info.name,
                backend: format!("{:?}", info.backend),
                kind: info.device_type,
            }
        })
        .collect()
}

/// The CPU device.
pub fn cpu() -> ComputeDevice {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    ComputeDevice {
        device: Device::flex(),
        label: format!("CPU (flex, {threads} threads)"),
        is_gpu: false,
    }
}

/// Resolves `--device`: GPU first for `auto` (hardware adapters only), CPU otherwise.
pub fn select(choice: DeviceChoice) -> Result<ComputeDevice, NoGpu> {
    if choice == DeviceChoice::Cpu {
        return Ok(cpu());
    }
    let found = adapters();
    let usable = |adapter: &&Adapter| choice == DeviceChoice::Gpu || adapter.is_hardware();
    match found.iter().find(usable) {
        Some(adapter) => Ok(gpu(adapter, &found)),
        None if choice == DeviceChoice::Auto => Ok(cpu()),
        None => Err(NoGpu {
            seen: if found.is_empty() {
                "nothing".to_string()
            } else {
                found
                    .iter()
                    .map(|a| format!("{} ({:?})", a.name, a.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        }),
    }
}

/// Burn's wgpu device for `adapter`, addressed by its index among adapters of its kind.
fn gpu(adapter: &Adapter, all: &[Adapter]) -> ComputeDevice {
    let index = all
        .iter()
        .filter(|a| a.kind == adapter.kind)
        .position(|a| a.name == adapter.name)
        .unwrap_or(0);
    let kind = match adapter.kind {
        wgpu::DeviceType::DiscreteGpu => DeviceKind::DiscreteGpu(index),
        wgpu::DeviceType::IntegratedGpu => DeviceKind::IntegratedGpu(index),
        wgpu::DeviceType::VirtualGpu => DeviceKind::VirtualGpu(index),
        wgpu::DeviceType::Cpu => DeviceKind::Cpu,
        wgpu::DeviceType::Other => DeviceKind::DefaultDevice,
    };
    let software = if adapter.is_hardware() {
        ""
    } else {
        ", software"
    };
    ComputeDevice {
        device: Device::wgpu(kind),
        label: format!(
            "GPU: {} ({}{software}, wgpu)",
            adapter.name, adapter.backend
        ),
        is_gpu: true,
    }
}
