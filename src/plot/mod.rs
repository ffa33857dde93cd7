//! Pictures: every figure bmtool draws, rendered with `plotters` to PNG or SVG (chosen by the
//! file extension) with an embedded font, so no system fonts or display are needed. Figures are
//! drawn in memory, encoded, and written through `output::write_atomic` (a temporary file renamed
//! into place), so neither a failure nor Ctrl-C leaves a partial picture.

pub mod cell;
pub mod graph;
pub mod heatmap;
pub mod histogram;
pub mod positions;
pub mod raster;
pub mod tables;
pub mod traces;

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::output::{self, OutputError};

static FONT_ONCE: Once = Once::new();

/// Register the embedded DejaVu Sans as the `sans-serif` family (once per process).
pub fn register_font() {
    FONT_ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        // The bytes are a valid TrueType font shipped with the crate; registration only fails
        // for unparsable fonts, so the result can be ignored.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, bytes);
    });
}

/// Picture formats, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    pub fn of(path: &Path) -> Result<Self, OutputError> {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => Err(OutputError {
                path: path.to_path_buf(),
                message: "the picture file must end in .png or .svg".into(),
            }),
        }
    }
}

/// Something that can draw itself on any plotters backend.
pub trait Figure {
    /// Canvas size in pixels.
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Render `figure` and save it to `path` (PNG or SVG by extension).
pub fn save(path: &Path, figure: &impl Figure, force: bool) -> Result<(), OutputError> {
    register_font();
    let format = Format::of(path)?;
    output::check_destination(path, force)?;
    let fail = |message: String| OutputError {
        path: path.to_path_buf(),
        message,
    };
    let size = figure.size();
    let bytes = match format {
        Format::Png => render_png(figure, size).map_err(fail)?,
        Format::Svg => render_svg(figure, size).map_err(fail)?.into_bytes(),
    };
    output::write_atomic(path, &bytes, force)
}

/// Draw `figure` into an RGB buffer and encode it as PNG.
fn render_png(figure: &impl Figure, (width, height): (u32, u32)) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        figure
            .draw(&root)
            .and_then(|_| root.present().map_err(|e| e.to_string()))?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, width, height, image::ColorType::Rgb8)
        .map_err(|e| format!("cannot encode the PNG: {e}"))?;
    Ok(png)
}

/// Draw `figure` as SVG text.
fn render_svg(figure: &impl Figure, size: (u32, u32)) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        figure
            .draw(&root)
            .and_then(|_| root.present().map_err(|e| e.to_string()))?;
    }
    Ok(svg)
}

/// matplotlib's `tab10` colours, in order.
pub const TAB10: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The colour of series `k` (tab10, repeating).
pub fn colour(k: usize) -> RGBColor {
    TAB10[k % TAB10.len()]
}

/// The font every figure uses.
pub const FONT: &str = "sans-serif";

/// Draw a legend box with its top-right corner at `(right, top)` (canvas pixels): one coloured
/// square and label per entry, under an optional title.
pub fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (right, top): (i32, i32),
    title: Option<&str>,
    entries: &[(String, RGBColor)],
) -> Result<(), String> {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    if entries.is_empty() {
        return Ok(());
    }
    let longest = entries
        .iter()
        .map(|(l, _)| l.chars().count())
        .chain(title.map(|t| t.chars().count()))
        .max()
        .unwrap_or(1) as i32;
    let width = longest * 8 + 40;
    let line = 18;
    let head = if title.is_some() { line } else { 0 };
    let height = head + entries.len() as i32 * line + 10;
    let left = right - width;
    root.draw(&Rectangle::new(
        [(left, top), (right, top + height)],
        WHITE.mix(0.85).filled(),
    ))
    .map_err(e)?;
    root.draw(&Rectangle::new(
        [(left, top), (right, top + height)],
        RGBColor(0xcc, 0xcc, 0xcc).stroke_width(1),
    ))
    .map_err(e)?;
    let style = (FONT, 13).into_font().color(&BLACK);
    if let Some(t) = title {
        root.draw(&Text::new(
            t.to_string(),
            (left + 8, top + 5),
            style.clone(),
        ))
        .map_err(e)?;
    }
    for (k, (label, c)) in entries.iter().enumerate() {
        let y = top + head + 6 + k as i32 * line;
        root.draw(&Rectangle::new(
            [(left + 8, y + 2), (left + 20, y + 14)],
            c.filled(),
        ))
        .map_err(e)?;
        root.draw(&Text::new(label.clone(), (left + 28, y), style.clone()))
            .map_err(e)?;
    }
    Ok(())
}
