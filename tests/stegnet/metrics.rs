//! The paper's equations and PSNR/SSIM on tiny images computed by hand.

use image::{Rgb, RgbImage};
use stegnet::metrics::{self, Report};

fn image(pixels: &[[u8; 3]], width: u32) -> RgbImage {
    RgbImage::from_raw(width, pixels.len() as u32 / width, pixels.concat()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn paper_figures_on_a_two_pixel_image() {
    let a = image(&[[0, 0, 0], [255, 255, 255]], 2);
    let b = image(&[[51, 0, 0], [255, 255, 255]], 2);
    // One sample differs by 51/255 = 0.2; six samples in all.
    assert!(close(metrics::mean_abs_diff(&a, &b), 0.2 / 6.0));
    assert!(close(metrics::cover_changing_rate(&a, &b), 0.2 / 6.0));
    assert!(close(metrics::decoded_rate(&a, &b), 1.0 - 0.2 / 6.0));
    assert!(close(
        metrics::payload_bpp(1.0 - 0.2 / 6.0),
        24.0 * (1.0 - 0.2 / 6.0)
    ));
    // MSE = 0.04 / 6.
    assert!(close(
        metrics::psnr(&a, &b),
        -10.0 * (0.04f64 / 6.0).log10()
    ));
    assert!(metrics::psnr(&a, &a).is_infinite());
}

#[test]
fn residual_is_normalised_magnified_and_clipped() {
    let a = image(&[[0, 10, 20]], 1);
    let b = image(&[[5, 10, 0]], 1);
    // |a - b| = [5, 0, 20], max 20: R = [0.25, 0, 1].
    assert_eq!(metrics::residual(&a, &b, 1.0).as_raw(), &vec![64, 0, 255]);
    assert_eq!(metrics::residual(&a, &b, 2.0).as_raw(), &vec![128, 0, 255]);
    assert_eq!(metrics::residual(&a, &b, 5.0).as_raw(), &vec![255, 0, 255]);
    assert_eq!(metrics::residual(&a, &a, 10.0).as_raw(), &vec![0, 0, 0]);
}

#[test]
fn histograms_count_each_channel() {
    let a = image(&[[0, 1, 2], [0, 1, 255], [7, 1, 2]], 3);
    let h = metrics::histograms(&a);
    assert_eq!((h[0][0], h[0][7]), (2, 1));
    assert_eq!(h[1][1], 3);
    assert_eq!((h[2][2], h[2][255]), (2, 1));
    assert_eq!(h.iter().map(|c| c.iter().sum::<u64>()).sum::<u64>(), 9);

    let b = image(&[[1, 1, 2], [0, 0, 255], [7, 1, 5]], 3);
    let d = metrics::difference_histogram(&a, &b);
    assert_eq!(d[255], 6);
    assert_eq!((d[256], d[254], d[258]), (1, 1, 1));
}

#[test]
fn ssim_of_flat_images_follows_the_formula() {
    let a = RgbImage::from_pixel(16, 16, Rgb([100, 100, 100]));
    let b = RgbImage::from_pixel(16, 16, Rgb([120, 120, 120]));
    let (ma, mb) = (100.0 / 255.0, 120.0 / 255.0);
    let c1 = 0.01f64 * 0.01;
    // No variance anywhere: the structure term is (0 + C2) / (0 + C2) = 1.
    let expected = (2.0 * ma * mb + c1) / (ma * ma + mb * mb + c1);
    assert!((metrics::ssim(&a, &b) - expected).abs() < 1e-9);
    assert!((metrics::ssim(&a, &a) - 1.0).abs() < 1e-12);
}

/// Reference values computed with scikit-image 0.26 `structural_similarity(a, b,
/// channel_axis=2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
/// data_range=255)` on the same generated images.
#[test]
fn ssim_matches_the_reference_implementation() {
    let a = RgbImage::from_fn(24, 20, |x, y| {
        Rgb([(x * 10) as u8, (y * 12) as u8, ((x * y) % 256) as u8])
    });
    let b = RgbImage::from_fn(24, 20, |x, y| {
        let p = a.get_pixel(x, y).0;
        let noise = ((x * 7 + y * 13) % 11) as i32 - 5;
        Rgb(p.map(|v| (v as i32 + noise).clamp(0, 255) as u8))
    });
    let ssim = metrics::ssim(&a, &b);
    println!("ssim = {ssim:.10}");
    assert!(
        (ssim - SKIMAGE_SSIM).abs() < 1e-6,
        "{ssim} vs {SKIMAGE_SSIM}"
    );
}
const SKIMAGE_SSIM: f64 = 0.985_564_246_824_710_1;

#[test]
fn report_holds_every_figure_and_writes_json() {
    let cover = RgbImage::from_fn(12, 12, |x, y| Rgb([(x * 20) as u8, (y * 20) as u8, 128]));
    let stego = RgbImage::from_fn(12, 12, |x, y| {
        Rgb([(x * 20) as u8 + 1, (y * 20) as u8, 128])
    });
    let report = Report::measure(&cover, &stego, Some((&cover, &cover)));
    assert!(close(report.cover_changing_rate, 1.0 / 255.0 / 3.0));
    let hidden = report.hidden.as_ref().unwrap();
    assert!(close(hidden.decoded_rate, 1.0));
    assert!(close(hidden.payload_bpp, 24.0));
    let json = serde_json::to_value(&report).unwrap();
    assert!(
        json["hidden"]["hidden_psnr_db"].is_null(),
        "identical images: PSNR is infinite"
    );
    assert!(json["cover_psnr_db"].as_f64().unwrap() > 50.0);
}
