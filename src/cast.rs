//! What a saved stego image carries besides the secret: the stego image's colour cast,
//! carried aside, and the revealed secret's smooth error, carried along.
//!
//! StegNet's embedder shifts the level of whole regions of its output, mostly in green and
//! following the hidden image's colours (`assets/training/HISTORY.md`, session 27), and the
//! decoder reads part of the secret from that shift, so it cannot simply be taken out.
//! Before saving, a smooth field of shifts is taken out of the stego image and the field
//! itself, one byte per channel at each corner of a grid of [`CELL`] x [`CELL`] cells
//! (about 0.38 bits per pixel), is written into least significant bits spread evenly over
//! the image; revealing reads the field and puts it back, so the decoder sees what the
//! embedder made, up to those bits. The decoder's output in turn is off the secret by a
//! smooth error too (its colours shift by region); the embedding side knows the secret, so
//! it measures that error the same way and writes it as a second field, in bits halfway
//! between the first field's, which revealing takes out of the decoder's output. An image
//! that carries no field (any other image, or a stego image saved lossily) is revealed as
//! it is. Images saved by earlier builds, on grids of wider cells, are read as they were
//! saved.

use std::borrow::Cow;

use image::RgbImage;

/// Side of a cell of the grid fields are saved on, in pixels. Smaller cells take more of
/// the stego image's difference from its cover out and more of the secret's error along,
/// and cost more bits (`assets/training/HISTORY.md`, sessions 29, 34 and 35).
pub const CELL: u32 = 8;
/// The grids a field is saved on, with the version that ends its frame's magic: the current
/// one first, then those of earlier builds, still read (cells of 16 in session 34, of 32
/// in sessions 29 to 33).
const GRIDS: [(u32, u8); 3] = [(CELL, b'3'), (16, b'2'), (32, b'1')];
/// Bits besides a field's: the magic before it, a checksum after it.
const FRAME_BITS: usize = 64;

/// A smooth field of shifts: whole levels per channel at the corners of a grid of square
/// cells ([`CELL`] wide when measured), interpolated bilinearly in between, in integers, so
/// that the field read back from a saved image is exactly the one taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftField {
    width: u32,
    height: u32,
    /// Side of a cell, in pixels.
    cell: u32,
    /// Grid corners per row and per column.
    columns: u32,
    rows: u32,
    /// Per corner (row by row), per channel, in levels.
    corners: Vec<[i8; 3]>,
}

impl ShiftField {
    fn empty(width: u32, height: u32, cell: u32) -> Self {
        let (columns, rows) = (corners_along(width, cell), corners_along(height, cell));
        Self {
            width,
            height,
            cell,
            columns,
            rows,
            corners: vec![[0; 3]; (columns * rows) as usize],
        }
    }

    /// The field that best takes `stego`'s shift from `cover` out (each corner: the median
    /// shift over the pixels it reaches); with `bound` [`Bound::Exact`], bounded so that
    /// taking it out never pushes a level past 0 or 255: putting it back restores every
    /// level exactly.
    pub fn measure(cover: &RgbImage, stego: &RgbImage, bound: Bound) -> Self {
        Self::measure_part(cover, stego, (0, 0), cover.dimensions(), bound)
    }

    /// The same for an image of `size` of which `cover` and `stego` show only the part at
    /// `origin`: each corner measured over the pixels it reaches within that part (a
    /// corner that reaches none stays 0).
    pub fn measure_part(
        cover: &RgbImage,
        stego: &RgbImage,
        origin: (u32, u32),
        size: (u32, u32),
        bound: Bound,
    ) -> Self {
        assert_eq!(cover.dimensions(), stego.dimensions(), "same size");
        let (x0, y0) = origin;
        let (x1, y1) = (x0 + stego.width(), y0 + stego.height());
        assert!(
            x1 <= size.0 && y1 <= size.1,
            "the part lies within the image"
        );
        let mut field = Self::empty(size.0, size.1, CELL);
        for row in 0..field.rows {
            for column in 0..field.columns {
                let within = |reach: std::ops::Range<u32>, start: u32, end: u32| {
                    reach.start.max(start) - start..reach.end.min(end).max(start) - start
                };
                let xs = within(reach(column, field.width, field.cell), x0, x1);
                let ys = within(reach(row, field.height, field.cell), y0, y1);
                if xs.is_empty() || ys.is_empty() {
                    // A last corner one pixel past a cell's edge reaches nothing: it
                    // weighs nothing anywhere and stays 0, as does one that reaches no
                    // pixel of the part.
                    continue;
                }
                let corner = &mut field.corners[(row * field.columns + column) as usize];
                for (channel, value) in corner.iter_mut().enumerate() {
                    // Shifts stego - cover, offset by 255 into 0..=510.
                    let mut histogram = [0u32; 511];
                    let (mut lowest, mut highest) = (255i32, 0i32);
                    for y in ys.clone() {
                        for x in xs.clone() {
                            let s = stego.get_pixel(x, y)[channel] as i32;
                            let c = cover.get_pixel(x, y)[channel] as i32;
                            histogram[(s - c + 255) as usize] += 1;
                            (lowest, highest) = (lowest.min(s), highest.max(s));
                        }
                    }
                    let mut median = median_of(&histogram) - 255;
                    if bound == Bound::Exact {
                        median = median.clamp(highest - 255, lowest);
                    }
                    *value = median.clamp(-127, 127) as i8;
                }
            }
        }
        field
    }

    /// Side of the field's cells, in pixels: [`CELL`], or a wider one for a field read from
    /// an image an earlier build saved.
    pub fn cell(&self) -> u32 {
        self.cell
    }

    /// Whether the field shifts nothing.
    pub fn is_zero(&self) -> bool {
        self.corners.iter().all(|c| *c == [0; 3])
    }

    /// The shift at pixel (`x`, `y`) in `channel`, in levels: the corners of its cell
    /// weighted by nearness, rounded to the nearest level.
    pub fn at(&self, x: u32, y: u32, channel: usize) -> i32 {
        let (cx, cy) = (x / self.cell, y / self.cell);
        let (fx, fy) = ((x % self.cell) as i32, (y % self.cell) as i32);
        let corner = |column: u32, row: u32| {
            self.corners[(row * self.columns + column) as usize][channel] as i32
        };
        let cell = self.cell as i32;
        let sum = (cell - fx) * (cell - fy) * corner(cx, cy)
            + fx * (cell - fy) * corner(cx + 1, cy)
            + (cell - fx) * fy * corner(cx, cy + 1)
            + fx * fy * corner(cx + 1, cy + 1);
        let whole = cell * cell;
        // Round half away from zero, the same way for both signs.
        sum.signum() * ((2 * sum.abs() + whole) / (2 * whole))
    }

    /// `image` with the field added (`sign` 1) or taken out (`sign` -1), within 0..=255.
    fn applied(&self, image: &RgbImage, sign: i32) -> RgbImage {
        let mut out = image.clone();
        for (x, y, pixel) in out.enumerate_pixels_mut() {
            for (channel, level) in pixel.0.iter_mut().enumerate() {
                let shifted = *level as i32 + sign * self.at(x, y, channel);
                *level = shifted.clamp(0, 255) as u8;
            }
        }
        out
    }

    /// The field as bits: the frame's magic, corners, checksum.
    fn to_bits(&self, frame: Frame) -> Vec<bool> {
        let bytes: Vec<u8> = self.corners.iter().flatten().map(|&v| v as u8).collect();
        let mut bits = Vec::with_capacity(bit_count(self.width, self.height, self.cell));
        let mut push =
            |word: u32, count: u32| bits.extend((0..count).rev().map(|i| word >> i & 1 == 1));
        push(frame.magic(self.cell), 32);
        for &byte in &bytes {
            push(byte as u32, 8);
        }
        push(checksum(self.width, self.height, &bytes), 32);
        bits
    }

    /// The field on a grid of `cell` whose bits these are, if they are one of `frame`
    /// (magic and checksum agree).
    fn from_bits(frame: Frame, cell: u32, size: (u32, u32), bits: &[bool]) -> Option<Self> {
        let word = |bits: &[bool]| bits.iter().fold(0u32, |w, &b| w << 1 | b as u32);
        let (magic, rest) = bits.split_at(32);
        let (body, check) = rest.split_at(rest.len() - 32);
        if word(magic) != frame.magic(cell) {
            return None;
        }
        let bytes: Vec<u8> = body.chunks(8).map(|b| word(b) as u8).collect();
        let (width, height) = size;
        if word(check) != checksum(width, height, &bytes) {
            return None;
        }
        let mut field = Self::empty(width, height, cell);
        for (corner, values) in field.corners.iter_mut().zip(bytes.chunks(3)) {
            *corner = [values[0] as i8, values[1] as i8, values[2] as i8];
        }
        Some(field)
    }
}

/// Grid corners along an axis of `length` pixels: one every `cell` pixels from the first,
/// and one at or past the end.
pub fn corners_along(length: u32, cell: u32) -> u32 {
    length.div_ceil(cell) + 1
}

/// The pixels a grid corner at index `i` reaches along an axis of `length` pixels: those
/// less than a cell away.
fn reach(i: u32, length: u32, cell: u32) -> std::ops::Range<u32> {
    let centre = i * cell;
    (centre + 1).saturating_sub(cell)..(centre + cell).min(length)
}

/// The lower median of the values a histogram counts (by index).
fn median_of(histogram: &[u32]) -> i32 {
    let total: u32 = histogram.iter().sum();
    let mut seen = 0;
    for (value, &count) in histogram.iter().enumerate() {
        seen += count;
        if 2 * seen >= total {
            return value as i32;
        }
    }
    0
}

/// Bits a field of a `width` x `height` image on a grid of `cell` takes.
fn bit_count(width: u32, height: u32, cell: u32) -> usize {
    FRAME_BITS + 24 * (corners_along(width, cell) * corners_along(height, cell)) as usize
}

/// FNV-1a over the image's size and the field's bytes.
fn checksum(width: u32, height: u32, bytes: &[u8]) -> u32 {
    let size = width.to_le_bytes().into_iter().chain(height.to_le_bytes());
    size.chain(bytes.iter().copied())
        .fold(0x811c_9dc5, |hash, byte| {
            (hash ^ byte as u32).wrapping_mul(0x0100_0193)
        })
}

/// Whether a field's shift must keep every level within 0..=255 when taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Bounded: taking the field out and putting it back restores every level exactly.
    Exact,
    /// Unbounded: levels the field would push past 0 or 255 are clipped.
    Clip,
}

/// The two fields a saved image carries, each framed by its own magic: "SNc" or "SNd",
/// then the grid's version ([`GRIDS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// The stego image's colour cast, taken out before saving ("SNc3").
    Cast,
    /// The revealed secret's smooth error, taken out of the decoder's output ("SNd3").
    Correction,
}

impl Frame {
    /// The magic of this frame for a field on a grid of `cell`, one of [`GRIDS`].
    fn magic(self, cell: u32) -> u32 {
        let (_, version) = GRIDS
            .into_iter()
            .find(|&(side, _)| side == cell)
            .expect("fields are on a known grid");
        let kind = match self {
            Frame::Cast => b'c',
            Frame::Correction => b'd',
        };
        u32::from_be_bytes([b'S', b'N', kind, version])
    }

    /// Where the frame's `count` bits go among `len` samples (the raw R, G, B bytes):
    /// evenly spread, the correction's halfway between the cast's; none if the image is too
    /// small to hold them (apart, for the correction).
    fn positions(self, len: usize, count: usize) -> Option<impl Iterator<Item = usize>> {
        let (offset, room) = match self {
            Frame::Cast => (0, count),
            Frame::Correction => (1, 2 * count),
        };
        let halves = 2 * count as u64;
        let spread = move |i: usize| (2 * i + offset) as u64 * len as u64 / halves;
        (room <= len).then(|| (0..count).map(move |i| spread(i) as usize))
    }

    /// Whether an image the size of `image` holds this frame's bits.
    fn fits(self, image: &RgbImage) -> bool {
        let (width, height) = image.dimensions();
        self.positions(image.as_raw().len(), bit_count(width, height, CELL))
            .is_some()
    }

    /// Writes `field` into `image`'s carrying bits, unless the image is too small. A level
    /// whose lowest bit is wrong moves by one towards `cover`'s (LSB matching): replacing
    /// the bit instead would move even levels only up and odd ones only down, the trace
    /// that LSB detectors look for.
    fn write(self, field: &ShiftField, image: &mut RgbImage, cover: &RgbImage) {
        let (width, height) = image.dimensions();
        let samples: &mut [u8] = image;
        let count = bit_count(width, height, field.cell);
        let Some(positions) = self.positions(samples.len(), count) else {
            return;
        };
        for (position, bit) in positions.zip(field.to_bits(self)) {
            let (level, towards) = (samples[position], cover.as_raw()[position]);
            if (level & 1 == 1) != bit {
                let up = match level {
                    0 => true,
                    255 => false,
                    // At the cover's level, alternate by position: neither way is favoured.
                    _ => towards > level || (towards == level && position % 2 == 0),
                };
                samples[position] = if up { level + 1 } else { level - 1 };
            }
        }
    }

    /// The field of this frame that `image` carries, if any, on whichever grid it was
    /// saved.
    fn read(self, image: &RgbImage) -> Option<ShiftField> {
        let (width, height) = image.dimensions();
        let samples = image.as_raw();
        GRIDS.into_iter().find_map(|(cell, _)| {
            let bits: Vec<bool> = self
                .positions(samples.len(), bit_count(width, height, cell))?
                .map(|p| samples[p] & 1 == 1)
                .collect();
            ShiftField::from_bits(self, cell, (width, height), &bits)
        })
    }
}

/// A stego image with its colour cast taken out, before the cast is written into its bits:
/// what a refinement for the decoder starts from, so that it keeps the cast aside too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aside {
    /// The cast taken out; `None` when there is none, or the image is too small to carry
    /// it (a few pixels).
    pub cast: Option<ShiftField>,
    /// The stego image without the cast (the stego image itself when `cast` is `None`).
    pub image: RgbImage,
}

impl Aside {
    /// `stego`, embedded in `cover`, with its cast taken out.
    pub fn take(cover: &RgbImage, stego: &RgbImage) -> Self {
        let field = ShiftField::measure(cover, stego, Bound::Exact);
        match !field.is_zero() && Frame::Cast.fits(stego) {
            true => Self {
                image: field.applied(stego, -1),
                cast: Some(field),
            },
            false => Self {
                cast: None,
                image: stego.clone(),
            },
        }
    }

    /// The image to save: the cast written into the image's carrying bits.
    pub fn carried(mut self, cover: &RgbImage) -> RgbImage {
        if let Some(field) = &self.cast {
            Frame::Cast.write(field, &mut self.image, cover);
        }
        self.image
    }
}

/// The image to save for `stego` embedded in `cover`: the colour cast taken out and
/// carried in its low bits. `stego` itself when there is no cast, or the image is too small
/// to carry one (a few pixels).
pub fn carry_aside(cover: &RgbImage, stego: &RgbImage) -> RgbImage {
    Aside::take(cover, stego).carried(cover)
}

/// `saved` (from [`carry_aside`] for `cover`) carrying along the smooth error of
/// `decoded`, what the decoder reveals from it, against `hidden`, the secret it hides;
/// `saved` itself when there is none, or the image is too small to carry it.
pub fn carry_correction(
    saved: &RgbImage,
    cover: &RgbImage,
    hidden: &RgbImage,
    decoded: &RgbImage,
) -> RgbImage {
    let field = ShiftField::measure(hidden, decoded, Bound::Clip);
    let mut carrying = saved.clone();
    if !field.is_zero() {
        Frame::Correction.write(&field, &mut carrying, cover);
    }
    carrying
}

/// Whether an image the size of `image` can carry the secret's correction along.
pub fn can_carry_correction(image: &RgbImage) -> bool {
    Frame::Correction.fits(image)
}

/// The cast a saved image carries aside, if any.
pub fn carried(saved: &RgbImage) -> Option<ShiftField> {
    Frame::Cast.read(saved)
}

/// The correction of the revealed secret a saved image carries along, if any.
pub fn carried_correction(saved: &RgbImage) -> Option<ShiftField> {
    Frame::Correction.read(saved)
}

/// What the decoder should see for a saved image: the carried cast put back, or the image
/// as it is when it carries none.
pub fn put_back(saved: &RgbImage) -> Cow<'_, RgbImage> {
    match carried(saved) {
        Some(field) => Cow::Owned(field.applied(saved, 1)),
        None => Cow::Borrowed(saved),
    }
}

/// `decoded`, what the decoder revealed from `saved`, with the correction `saved` carries
/// taken out, or as it is when it carries none.
pub fn corrected(saved: &RgbImage, decoded: RgbImage) -> RgbImage {
    match carried_correction(saved) {
        Some(field) => field.applied(&decoded, -1),
        None => decoded,
    }
}
