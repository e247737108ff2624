//! The magnified residual on the GPU: `shaders/residual.wgsl` draws
//! `clip(|I1 - I2| / max * M, 0, 1)` straight from the two images' textures through egui's
//! wgpu paint callback, so changing the magnification, zooming or panning costs no CPU work
//! on full-size images. [`render`] runs the same pipeline off screen, which is how tests
//! compare it with the CPU's [`crate::metrics::residual`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use eframe::egui;
use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait, ScreenDescriptor};
use eframe::wgpu::{self, util::DeviceExt};
use image::RgbImage;

const SHADER: &str = include_str!("../../shaders/residual.wgsl");
/// Bytes of the shader's `Params` uniform.
const PARAMS_BYTES: u64 = 32;
/// Uploaded pairs not drawn for this long are dropped.
const KEEP_UNUSED: Duration = Duration::from_secs(5);

/// The residual render pipeline for one target format.
pub struct ResidualPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
}

impl ResidualPipeline {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("residual.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let texture = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                multisampled: false,
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("residual"),
            entries: &[
                texture(0),
                texture(1),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: wgpu::BufferSize::new(PARAMS_BYTES),
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("residual"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("residual"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                buffers: &[],
                compilation_options: wgpu::PipelineCompilationOptions::default(),
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
                compilation_options: wgpu::PipelineCompilationOptions::default(),
            }),
            multiview_mask: None,
            cache: None,
        });
        Self { pipeline, layout }
    }
}

/// Two images uploaded once, and the uniform holding magnification and shown region.
pub struct ResidualPair {
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
    /// `255 / max |I1 - I2|` (the textures hold values / 255), 0 for identical images.
    inv_max: f32,
}

impl ResidualPair {
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        pipeline: &ResidualPipeline,
        first: &RgbImage,
        second: &RgbImage,
    ) -> Self {
        let max = crate::metrics::max_abs_diff(first, second);
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("residual params"),
            size: PARAMS_BYTES,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let views = [first, second].map(|image| {
            upload(device, queue, image).create_view(&wgpu::TextureViewDescriptor::default())
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("residual"),
            layout: &pipeline.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&views[0]),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&views[1]),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: params.as_entire_binding(),
                },
            ],
        });
        Self {
            bind_group,
            params,
            inv_max: if max == 0 {
                0.0
            } else {
                255.0 / f32::from(max)
            },
        }
    }

    /// Sets the magnification and the region of the images shown (`uv`, in [0, 1]).
    pub fn set(&self, queue: &wgpu::Queue, magnify: f32, uv: egui::Rect) {
        let values = [
            self.inv_max,
            magnify,
            uv.min.x,
            uv.min.y,
            uv.width(),
            uv.height(),
            0.0,
            0.0,
        ];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        queue.write_buffer(&self.params, 0, &bytes);
    }

    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, pipeline: &ResidualPipeline) {
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.draw(0..6, 0..1);
    }
}

/// An RGBA8 (unorm: values / 255, no sRGB decoding) texture of `image`.
fn upload(device: &wgpu::Device, queue: &wgpu::Queue, image: &RgbImage) -> wgpu::Texture {
    let rgba: Vec<u8> = image
        .pixels()
        .flat_map(|p| [p.0[0], p.0[1], p.0[2], 255])
        .collect();
    device.create_texture_with_data(
        queue,
        &wgpu::TextureDescriptor {
            label: Some("residual input"),
            size: wgpu::Extent3d {
                width: image.width(),
                height: image.height(),
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        &rgba,
    )
}

/// A device and queue on the first adapter wgpu finds, without a window.
pub fn headless_device() -> anyhow::Result<(wgpu::Device, wgpu::Queue, String)> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
        .context("no wgpu adapter")?;
    let name = adapter.get_info().name;
    let (device, queue) = pollster::block_on(adapter.request_device(&Default::default()))
        .with_context(|| format!("cannot open {name}"))?;
    Ok((device, queue, name))
}

/// The whole magnified residual of `first` and `second` rendered off screen by the shader.
pub fn render(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    first: &RgbImage,
    second: &RgbImage,
    magnify: f32,
) -> anyhow::Result<RgbImage> {
    let (width, height) = first.dimensions();
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let pipeline = ResidualPipeline::new(device, format);
    let pair = ResidualPair::new(device, queue, &pipeline, first, second);
    pair.set(
        queue,
        magnify,
        egui::Rect::from_min_size(egui::Pos2::ZERO, egui::Vec2::splat(1.0)),
    );
    let target = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("residual target"),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = target.create_view(&wgpu::TextureViewDescriptor::default());
    let row = (4 * width).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("residual readback"),
        size: u64::from(row) * u64::from(height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("residual"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pair.draw(&mut pass, &pipeline);
    }
    encoder.copy_texture_to_buffer(
        target.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
    queue.submit([encoder.finish()]);
    let slice = readback.slice(..);
    slice.map_async(wgpu::MapMode::Read, |_| {});
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| anyhow!("the GPU did not finish: {e}"))?;
    let mapped = slice
        .get_mapped_range()
        .map_err(|e| anyhow!("cannot read the GPU's result: {e}"))?;
    let mut rgb = Vec::with_capacity((3 * width * height) as usize);
    for line in mapped.chunks(row as usize) {
        for pixel in line[..(4 * width) as usize].chunks(4) {
            rgb.extend_from_slice(&pixel[..3]);
        }
    }
    drop(mapped);
    readback.unmap();
    RgbImage::from_raw(width, height, rgb).context("readback has the image's size")
}

/// What egui's renderer keeps for the residual callbacks: the pipeline, and the pairs of
/// images uploaded (keyed by the images, which the entry keeps alive).
pub struct ResidualResources {
    pipeline: ResidualPipeline,
    pairs: HashMap<(usize, usize), UploadedPair>,
}

/// A pair on the GPU: the images it was made from (kept alive, so their addresses stay
/// theirs), its textures and when it was last drawn.
type UploadedPair = (Arc<RgbImage>, Arc<RgbImage>, ResidualPair, Instant);

/// Registers the residual pipeline with eframe's wgpu renderer. False when the app is not
/// drawn with wgpu (residuals then come from the CPU).
pub fn install(render_state: Option<&egui_wgpu::RenderState>) -> bool {
    let Some(state) = render_state else {
        return false;
    };
    let pipeline = ResidualPipeline::new(&state.device, state.target_format);
    state
        .renderer
        .write()
        .callback_resources
        .insert(ResidualResources {
            pipeline,
            pairs: HashMap::new(),
        });
    true
}

/// Draws the residual of two images in a rect of the UI.
pub struct ResidualCallback {
    pub first: Arc<RgbImage>,
    pub second: Arc<RgbImage>,
    pub magnify: f32,
    /// The region of the images shown, in [0, 1].
    pub uv: egui::Rect,
}

impl ResidualCallback {
    fn key(&self) -> (usize, usize) {
        (
            Arc::as_ptr(&self.first) as usize,
            Arc::as_ptr(&self.second) as usize,
        )
    }

    /// The paint callback for `rect`.
    pub fn shape(self, rect: egui::Rect) -> egui::Shape {
        egui_wgpu::Callback::new_paint_callback(rect, self).into()
    }
}

impl CallbackTrait for ResidualCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(resources) = resources.get_mut::<ResidualResources>() else {
            return Vec::new();
        };
        let now = Instant::now();
        resources
            .pairs
            .retain(|_, (_, _, _, used)| now.duration_since(*used) < KEEP_UNUSED);
        let pipeline = &resources.pipeline;
        let entry = resources.pairs.entry(self.key()).or_insert_with(|| {
            let pair = ResidualPair::new(device, queue, pipeline, &self.first, &self.second);
            (self.first.clone(), self.second.clone(), pair, now)
        });
        entry.3 = now;
        entry.2.set(queue, self.magnify, self.uv);
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &CallbackResources,
    ) {
        if let Some(resources) = resources.get::<ResidualResources>()
            && let Some((_, _, pair, _)) = resources.pairs.get(&self.key())
        {
            pair.draw(pass, &resources.pipeline);
        }
    }
}
