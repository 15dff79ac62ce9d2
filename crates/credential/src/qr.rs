//! The QR code of an authorisation: error correction Q (a quarter of the code may be
//! damaged), as PNG or SVG.

use qrcode::{Color, EcLevel, QrCode};

/// Why no QR code was made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// Too long for the largest QR code at level Q.
    #[error("too long for a QR code: {0}")]
    TooLong(#[from] qrcode::types::QrError),
    /// PNG encoding failed.
    #[error("PNG encoding: {0}")]
    Png(#[from] png::EncodingError),
}

fn code(text: &str) -> Result<QrCode, QrError> {
    Ok(QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q)?)
}

/// A grey-scale PNG: `scale` pixels per module and the four-module quiet zone the standard
/// asks for.
pub fn png(text: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    let code = code(text)?;
    let modules = u32::try_from(code.width()).expect("a QR code is at most 177 modules wide");
    let scale = scale.max(1);
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; (side * side) as usize];
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let i = u32::try_from(i).expect("small");
            let (mx, my) = (i % modules, i / modules);
            for dy in 0..scale {
                let y = (my + quiet) * scale + dy;
                let start = (y * side + (mx + quiet) * scale) as usize;
                pixels[start..start + scale as usize].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

/// An SVG image, for pages and printed letters.
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build())
}

/// The QR version (1–40) the text needs at level Q.
pub fn version(text: &str) -> Result<i16, QrError> {
    match code(text)?.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
    }
}
