// The paper's magnified residual E(R(I1, I2), M) = clip(|I1 - I2| / max * M, 0, 1),
// drawn as a quad over the viewport from two textures of the same size (RGBA8 unorm); the
// viewport shows the region uv_min .. uv_min + uv_size of the images (zoom and pan), with
// nearest-neighbour texels. Computes the same values as `metrics::residual` on the CPU.

struct Params {
    // 1 / max |I1 - I2| over the whole image (0 when the images are identical).
    inv_max: f32,
    // Magnification M.
    magnify: f32,
    // The region of the images shown, in [0, 1] texture coordinates.
    uv_min: vec2<f32>,
    uv_size: vec2<f32>,
    _pad: vec2<f32>,
};

@group(0) @binding(0) var first: texture_2d<f32>;
@group(0) @binding(1) var second: texture_2d<f32>;
@group(0) @binding(2) var<uniform> params: Params;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    // Two triangles covering the viewport.
    var corners = array<vec2<f32>, 6>(
        vec2(0.0, 0.0), vec2(1.0, 0.0), vec2(0.0, 1.0),
        vec2(0.0, 1.0), vec2(1.0, 0.0), vec2(1.0, 1.0),
    );
    let uv = corners[index];
    var out: VertexOut;
    out.position = vec4(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.uv = uv;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let size = vec2<f32>(textureDimensions(first));
    let uv = params.uv_min + in.uv * params.uv_size;
    let texel = vec2<i32>(clamp(floor(uv * size), vec2(0.0), size - vec2(1.0)));
    let a = textureLoad(first, texel, 0).rgb;
    let b = textureLoad(second, texel, 0).rgb;
    let r = clamp(abs(a - b) * params.inv_max * params.magnify, vec3(0.0), vec3(1.0));
    return vec4(r, 1.0);
}
