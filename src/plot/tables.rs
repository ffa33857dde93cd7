//! Result tables drawn as a picture (for `plot summary` and `graph stats`): each table's title,
//! then its columns at fixed positions. Text only; the numbers come from the command.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, FONT};
use crate::report::Table;

const CHAR_PX: i32 = 8;
const LINE: i32 = 20;

/// Tables one under the other.
pub struct TablesFigure<'a> {
    pub title: String,
    pub tables: &'a [Table],
}

impl TablesFigure<'_> {
    fn widths(t: &Table) -> Vec<i32> {
        let mut w: Vec<i32> = t.columns.iter().map(|c| c.chars().count() as i32).collect();
        for row in &t.rows {
            for (k, c) in row.iter().enumerate() {
                if k < w.len() {
                    w[k] = w[k].max(c.shown().chars().count() as i32);
                }
            }
        }
        w
    }
}

impl Figure for TablesFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let width = self
            .tables
            .iter()
            .map(|t| {
                let cols: i32 = Self::widths(t).iter().map(|w| w * CHAR_PX + 20).sum();
                cols.max(t.title.chars().count() as i32 * CHAR_PX)
            })
            .max()
            .unwrap_or(300)
            + 40;
        let lines: usize = self.tables.iter().map(|t| t.rows.len() + 3).sum();
        (width.max(420) as u32, (60 + lines as i32 * LINE) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        root.draw(&Text::new(
            self.title.clone(),
            (20, 14),
            (FONT, 20).into_font().style(FontStyle::Bold).color(&BLACK),
        ))
        .map_err(e)?;
        let mut y = 50;
        for t in self.tables {
            root.draw(&Text::new(
                t.title.clone(),
                (20, y),
                (FONT, 15).into_font().style(FontStyle::Bold).color(&BLACK),
            ))
            .map_err(e)?;
            y += LINE;
            let widths = Self::widths(t);
            let head: Vec<String> = t.columns.clone();
            let rows = std::iter::once(head).chain(
                t.rows
                    .iter()
                    .map(|r| r.iter().map(|c| c.shown()).collect::<Vec<_>>()),
            );
            for (k, row) in rows.enumerate() {
                let colour = if k == 0 {
                    RGBColor(0x44, 0x44, 0x44)
                } else {
                    BLACK
                };
                let mut x = 20;
                for (c, text) in row.iter().enumerate() {
                    root.draw(&Text::new(
                        text.clone(),
                        (x, y),
                        (FONT, 13).into_font().color(&colour),
                    ))
                    .map_err(e)?;
                    x += widths.get(c).copied().unwrap_or(8) * CHAR_PX + 20;
                }
                y += LINE;
            }
            y += LINE;
        }
        Ok(())
    }
}
