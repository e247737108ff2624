//! k-bit LSB: every bit of every sample value, for every k, against the formula written
//! with arithmetic instead of bit masks.

use image::RgbImage;
use stegnet::lsb;

#[test]
fn every_sample_pair_for_every_k_matches_the_formula() {
    for k in 1..=8u8 {
        let step = 1u32 << k; // 2^k
        let shift = 1u32 << (8 - k); // 2^(8-k)
        for cover in 0..=255u32 {
            for hidden in 0..=255u32 {
                let expected = cover - cover % step + hidden / shift;
                let embedded = lsb::embed_sample(cover as u8, hidden as u8, k).unwrap();
                assert_eq!(embedded as u32, expected, "k={k} c={cover} h={hidden}");
                let decoded = lsb::reveal_sample(embedded, k).unwrap();
                assert_eq!(decoded as u32, (expected % step) * shift);
                // The top k bits of the hidden sample come back exactly.
                assert_eq!(decoded as u32, hidden - hidden % shift);
                // Only the low k bits of the cover changed.
                assert_eq!(embedded as u32 / step, cover / step);
            }
        }
    }
}

#[test]
fn images_round_trip_their_top_bits() {
    let cover = RgbImage::from_fn(17, 9, |x, y| {
        image::Rgb([(x * 15) as u8, (y * 28) as u8, 200])
    });
    let hidden = RgbImage::from_fn(17, 9, |x, y| {
        image::Rgb([(x * y) as u8, 255, (x + 3 * y) as u8])
    });
    for k in 1..=8 {
        let embedded = lsb::embed(&cover, &hidden, k).unwrap();
        let decoded = lsb::reveal(&embedded, k).unwrap();
        let keep = !((1u16 << (8 - k)) - 1) as u8;
        for (d, h) in decoded.as_raw().iter().zip(hidden.as_raw()) {
            assert_eq!(*d, h & keep);
        }
    }
}

#[test]
fn bad_k_and_mismatched_sizes_are_refused() {
    let a = RgbImage::new(4, 4);
    assert_eq!(lsb::embed(&a, &a, 0).unwrap_err(), lsb::LsbError::Bits(0));
    assert_eq!(lsb::reveal(&a, 9).unwrap_err(), lsb::LsbError::Bits(9));
    assert!(matches!(
        lsb::embed(&a, &RgbImage::new(4, 5), 3),
        Err(lsb::LsbError::Size { .. })
    ));
}
