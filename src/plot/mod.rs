//! Pictures: every figure bmtool draws, rendered with `plotters` to PNG or SVG (chosen by the
//! file extension) with an embedded font, so no system fonts or display are needed. Figures are
//! drawn into a temporary file and renamed into place (see `output`).

pub mod cell;
pub mod heatmap;

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::output::{self, OutputError};

static FONT: Once = Once::new();

/// Register the embedded DejaVu Sans as the `sans-serif` family (once per process).
pub fn register_font() {
    FONT.call_once(|| {
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
    match format {
        Format::Png => {
            let temp = output::temp_path(path);
            let result = {
                let root = BitMapBackend::new(&temp, size).into_drawing_area();
                figure
                    .draw(&root)
                    .and_then(|_| root.present().map_err(|e| e.to_string()))
            };
            if let Err(e) = result {
                let _ = std::fs::remove_file(&temp);
                return Err(fail(e));
            }
            output::commit(&temp, path)
        }
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                figure
                    .draw(&root)
                    .and_then(|_| root.present().map_err(|e| e.to_string()))
                    .map_err(fail)?;
            }
            output::write_atomic(path, svg.as_bytes(), force)
        }
    }
}
