// The paper's magnified residual E(R(I1, I2), M) = clip(|I1 - I2| / max * M, 0, 1),
// drawn as a full-screen quad from two textures of the same size.

struct Params {
    // 1 / max |I1 - I2| over the whole image (0 when the images are identical).
    inv_max: f32,
    // Magnification M.
    magnify: f32,
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
    let texel = vec2<i32>(min(in.uv * size, size - vec2(1.0)));
    let a = textureLoad(first, texel, 0).rgb;
    let b = textureLoad(second, texel, 0).rgb;
    let r = clamp(abs(a - b) * params.inv_max * params.magnify, vec3(0.0), vec3(1.0));
    return vec4(r, 1.0);
}
