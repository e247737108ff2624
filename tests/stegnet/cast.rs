//! The colour cast carried aside: taking the field out and putting it back restores every
//! level but the few low bits that carry it (matched, not replaced), saturated levels
//! included; the saved image is closer to the cover; images that carry no field are left
//! alone. The revealed secret's error carried along: its bits leave the cast's alone and
//! take the smooth error out. And the built-in model reveals an image with the cast carried
//! aside as well as its own output, and a saved image better; so does the model built in
//! before with images earlier builds saved on their wider grids.

use image::{Pixel, Rgb, RgbImage};
use stegnet::cast::{self, Bound, CELL, ShiftField};
use stegnet::metrics;
use stegnet::model::ModelSource;
use stegnet::pipeline::{self, NoProgress, Tiling};

use crate::refine::Pair;

/// The model built in from session 28 to session 38, which made the fixtures' stego images.
const SESSION_28_MODEL: &str = "assets/training/stegnet-session28.bpk";

/// Deterministic noise in 0..n (a multiplicative hash of the position).
fn noise(x: u32, y: u32, c: u32, n: u32) -> u32 {
    let mixed = x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663);
    let h = (mixed ^ c.wrapping_mul(83_492_791)).wrapping_mul(2_654_435_761);
    (h >> 16) % n
}

/// A textured cover, and a stego image that shifts it by a smooth cast (large in green, up
/// to `amplitude` levels, past 0 and 255 where the cover is near them) plus a little noise.
fn cover_and_stego(width: u32, height: u32, amplitude: f32) -> (RgbImage, RgbImage) {
    let cover = RgbImage::from_fn(width, height, |x, y| {
        Rgb([0, 1, 2].map(|c| {
            let ramp = (x * 255 / width.max(2) + c * 90) % 256;
            (ramp + noise(x, y, c, 24)).min(255) as u8
        }))
    });
    let stego = RgbImage::from_fn(width, height, |x, y| {
        let wave = ((x as f32 / 40.0).sin() + (y as f32 / 55.0).cos()) * amplitude / 2.0;
        let pixel = cover.get_pixel(x, y).0;
        Rgb([0, 1, 2].map(|c| {
            let cast = if c == 1 { wave } else { wave / 8.0 };
            let jitter = noise(x, y, c + 7, 5) as f32 - 2.0;
            (pixel[c as usize] as f32 + cast + jitter)
                .round()
                .clamp(0.0, 255.0) as u8
        }))
    });
    (cover, stego)
}

/// The cell sizes of the cast and of the correction `saved` carries (`None` for a field it
/// does not carry).
fn cells_of_fields(saved: &RgbImage) -> [Option<u32>; 2] {
    [cast::carried(saved), cast::carried_correction(saved)]
        .map(|field| field.as_ref().map(ShiftField::cell))
}

#[test]
fn putting_the_field_back_restores_every_level_but_the_carrying_bits() {
    for (width, height) in [(200, 130), (64, 64), (33, 97), (8, 8)] {
        let (cover, stego) = cover_and_stego(width, height, 60.0);
        let saved = cast::carry_aside(&cover, &stego);
        assert!(cast::carried(&saved).is_some(), "{width}x{height}");
        let restored = cast::put_back(&saved).into_owned();
        let samples = stego.as_raw().len();
        let off_by_one = restored
            .as_raw()
            .iter()
            .zip(stego.as_raw())
            .filter(|(r, s)| r != s)
            .inspect(|(r, s)| assert_eq!(r.abs_diff(**s), 1, "{width}x{height}"))
            .count();
        // Each carrying bit changes its level by one at most: half of them on average.
        let corners = (width.div_ceil(CELL) + 1) * (height.div_ceil(CELL) + 1);
        let bits = 64 + 24 * corners as usize;
        assert!(
            off_by_one <= bits,
            "{width}x{height}: {off_by_one} of {samples}"
        );
    }
}

#[test]
fn the_saved_image_is_closer_to_the_cover() {
    let (cover, stego) = cover_and_stego(256, 192, 30.0);
    let saved = cast::carry_aside(&cover, &stego);
    let before = metrics::cover_changing_rate(&cover, &stego);
    let after = metrics::cover_changing_rate(&cover, &saved);
    assert!(after < 0.5 * before, "{after} against {before}");
}

#[test]
fn the_field_is_exact_bilinear_interpolation_in_whole_levels() {
    // A constant shift of 9 levels is a field of 9 everywhere; taking it out of a cover
    // lifted by 9 gives the cover back but for the carrying bits.
    let level = |x: u32, y: u32| Rgb([40 + (x % 7) as u8, 100, 60 + y as u8]);
    let cover = RgbImage::from_fn(70, 45, level);
    let lifted = RgbImage::from_fn(70, 45, |x, y| cover.get_pixel(x, y).map(|v| v + 9));
    let field = ShiftField::measure(&cover, &lifted, Bound::Exact);
    for (x, y) in [(0, 0), (31, 31), (32, 0), (69, 44), (40, 17)] {
        assert_eq!(
            [0, 1, 2].map(|c| field.at(x, y, c)),
            [9, 9, 9],
            "({x}, {y})"
        );
    }
    let saved = cast::carry_aside(&cover, &lifted);
    for (s, c) in saved.as_raw().iter().zip(cover.as_raw()) {
        assert!(s.abs_diff(*c) <= 1);
    }
}

#[test]
fn a_field_measured_on_part_of_an_image_agrees_where_the_part_reaches() {
    let (cover, stego) = cover_and_stego(200, 130, 60.0);
    let (size, bound) = (cover.dimensions(), Bound::Clip);
    let whole = ShiftField::measure(&cover, &stego, bound);
    // The part from one pixel past the first cell to the bottom, ending 9 pixels short of
    // the right edge. A corner reaches the pixels less than a cell away: corners from 2 on,
    // across and down, whose reach ends within the part reach only pixels inside it,
    // corners 0 across or down none of them.
    let (x0, y0) = (CELL + 1, CELL + 1);
    let (w, h) = (191 - x0, 130 - y0);
    let crop = |image: &RgbImage| image::imageops::crop_imm(image, x0, y0, w, h).to_image();
    let (cover_part, stego_part) = (crop(&cover), crop(&stego));
    let part = ShiftField::measure_part(&cover_part, &stego_part, (x0, y0), size, bound);
    let inside = |i: u32, end: u32| i >= 2 && (i + 1) * CELL <= end;
    let (columns, rows) = (
        cast::corners_along(200, CELL),
        cast::corners_along(130, CELL),
    );
    let mut shifted = 0;
    // At a grid corner the field is that corner's value.
    let corners = (0..rows).flat_map(|row| (0..columns).map(move |column| (row, column)));
    for (row, column) in corners {
        for channel in 0..3 {
            let (x, y) = ((column * CELL).min(199), (row * CELL).min(129));
            let (got, full) = (part.at(x, y, channel), whole.at(x, y, channel));
            if inside(column, x0 + w) && inside(row, y0 + h) {
                assert_eq!(got, full, "corner ({column}, {row}), channel {channel}");
                shifted += usize::from(got != 0);
            } else if column == 0 || row == 0 {
                assert_eq!(got, 0, "corner ({column}, {row}), channel {channel}");
            }
        }
    }
    assert!(
        shifted > 9,
        "the corners inside shift too little to tell: {shifted}"
    );
    let same = ShiftField::measure_part(&cover, &stego, (0, 0), size, bound);
    assert_eq!(same, whole);
}

#[test]
fn carrying_bits_move_levels_both_ways_whatever_their_parity() {
    // A cover lifted by 9 saves as the cover but for the carrying bits. Replacing a bit
    // would move even levels only up and odd ones only down; matching moves both both ways.
    let cover = cover_and_stego(160, 120, 0.0).0;
    let shifted = |by: u8| {
        let level = |x, y| cover.get_pixel(x, y).map(|v| v / 2 + by);
        RgbImage::from_fn(160, 120, level)
    };
    let (halved, lifted) = (shifted(0), shifted(9));
    let saved = cast::carry_aside(&halved, &lifted);
    let (mut even_down, mut odd_up) = (0, 0);
    for (s, c) in saved.as_raw().iter().zip(halved.as_raw()) {
        assert!(s.abs_diff(*c) <= 1);
        even_down += usize::from(c % 2 == 0 && s < c);
        odd_up += usize::from(c % 2 == 1 && s > c);
    }
    assert!(
        even_down > 10 && odd_up > 10,
        "{even_down} even down, {odd_up} odd up"
    );
}

#[test]
fn images_that_carry_no_field_are_left_alone() {
    let (cover, stego) = cover_and_stego(120, 80, 40.0);
    // Any image: no field, revealed as it is.
    assert!(cast::carried(&stego).is_none());
    assert!(matches!(
        cast::put_back(&stego),
        std::borrow::Cow::Borrowed(_)
    ));
    // No cast to carry: saved unchanged, whatever the size (33 = one past a cell's edge).
    assert_eq!(cast::carry_aside(&cover, &cover), cover);
    let odd = RgbImage::from_fn(33, 65, |x, y| Rgb([x as u8, y as u8, 9]));
    assert_eq!(cast::carry_aside(&odd, &odd), odd);
    // Too small to hold the bits (a 3x3 image has 27 samples): saved unchanged.
    let tiny = |v: u8| RgbImage::from_pixel(3, 3, Rgb([v; 3]));
    assert_eq!(cast::carry_aside(&tiny(50), &tiny(70)), tiny(70));
    // A damaged carrier (one carrying bit flipped): its field is refused.
    let mut saved = cast::carry_aside(&cover, &stego);
    let samples: &mut [u8] = &mut saved;
    samples[0] ^= 1;
    assert!(cast::carried(&saved).is_none());
}

#[test]
fn the_error_carried_along_leaves_the_cast_alone_and_takes_the_smooth_error_out() {
    // The secret (`cover_and_stego`'s cover) and a revealed image off it by a smooth error
    // (its stego image).
    let (hidden, decoded) = cover_and_stego(200, 130, 40.0);
    let (cover, stego) = cover_and_stego(200, 130, 60.0);
    let saved = cast::carry_aside(&cover, &stego);
    let carrying = cast::carry_correction(&saved, &cover, &hidden, &decoded);
    // Only carrying bits change, and the cast still reads back.
    for (c, s) in carrying.as_raw().iter().zip(saved.as_raw()) {
        assert!(c.abs_diff(*s) <= 1);
    }
    assert_eq!(cast::carried(&carrying), cast::carried(&saved));
    // The correction is the measured field, taken out of the decoder's output exactly.
    let field = cast::carried_correction(&carrying).expect("a correction is carried");
    assert_eq!(field, ShiftField::measure(&hidden, &decoded, Bound::Clip));
    let corrected = cast::corrected(&carrying, decoded.clone());
    for (x, y, pixel) in corrected.enumerate_pixels() {
        for (channel, &level) in pixel.0.iter().enumerate() {
            let level_before = decoded.get_pixel(x, y)[channel] as i32;
            let expected = (level_before - field.at(x, y, channel)).clamp(0, 255);
            assert_eq!(level as i32, expected, "({x}, {y})");
        }
    }
    let error = |image: &RgbImage| metrics::mean_abs_diff(&hidden, image);
    assert!(
        error(&corrected) < 0.5 * error(&decoded),
        "{} against {}",
        error(&corrected),
        error(&decoded)
    );
    // An image that carries no correction reveals what the decoder gives.
    assert!(cast::carried_correction(&saved).is_none());
    assert_eq!(cast::corrected(&saved, decoded.clone()), decoded);
}

#[test]
fn the_built_in_model_reveals_a_saved_image_better_than_its_own_output() {
    let Pair {
        model,
        device,
        cover,
        hidden,
        stego,
    } = Pair::new(96);
    let tiling = Tiling::default();
    let saved = pipeline::to_save(
        &model,
        &device,
        &cover,
        &hidden,
        &stego,
        None,
        tiling,
        &mut NoProgress,
    )
    .unwrap();
    // Both fields are saved on the current grid.
    assert_eq!(cells_of_fields(&saved), [Some(CELL); 2]);
    let reveal = |image: &RgbImage| {
        pipeline::reveal(&model, &device, image, tiling, &mut NoProgress).unwrap()
    };
    let own = metrics::mean_abs_diff(&hidden, &reveal(&stego));
    // The cast alone carried aside: the decoder sees its own output but for a few bits.
    let cast_aside = cast::carry_aside(&cover, &stego);
    let cast_only = metrics::mean_abs_diff(&hidden, &reveal(&cast_aside));
    assert!((cast_only - own).abs() < 0.002, "{cast_only} against {own}");
    let from_saved = metrics::mean_abs_diff(&hidden, &reveal(&saved));
    assert!(from_saved < own, "{from_saved} against {own}");
    let rate = |image: &RgbImage| metrics::cover_changing_rate(&cover, image);
    assert!(rate(&saved) < rate(&stego));
}

#[test]
fn images_saved_on_earlier_grids_reveal_as_they_were_saved() {
    // The 96x96 pair's stego image as earlier builds saved it: session 33's, its fields on
    // cells of 32, and session 34's (`stegnet embed` of the same crops), on cells of 16; both
    // with the model built in then, which is kept beside.
    let Pair {
        model,
        device,
        hidden,
        stego,
        ..
    } = Pair::with_model(96, &ModelSource::File(SESSION_28_MODEL.into()));
    let reveal = |image: &RgbImage| {
        let tiling = Tiling::default();
        let revealed = pipeline::reveal(&model, &device, image, tiling, &mut NoProgress);
        metrics::mean_abs_diff(&hidden, &revealed.unwrap())
    };
    let own = reveal(&stego);
    let off = |image: &RgbImage| metrics::mean_abs_diff(&stego, image);
    for cell in [32, 16] {
        let path = format!("tests/fixtures/saved-with-{cell}-pixel-cells.png");
        let saved = image::open(&path).unwrap().to_rgb8();
        assert_eq!(cells_of_fields(&saved), [Some(cell); 2], "{path}");
        // Putting the cast back gives the decoder the embedder's output again, but for the
        // carrying bits (and a level where this CPU's arithmetic rounds otherwise).
        let restored = off(&cast::put_back(&saved));
        assert!(restored < 0.1 * off(&saved), "{path}: {restored}");
        let from_saved = reveal(&saved);
        assert!(from_saved < own, "{path}: {from_saved} against {own}");
    }
}
