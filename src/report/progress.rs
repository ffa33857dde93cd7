//! A progress bar for long sweeps (FI), drawn on stderr only when stderr is a terminal, so pipes
//! and logs stay clean. The sweep reports through a plain callback; this module turns that into
//! an `indicatif` bar.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `total` steps labelled `label`, or `None` when stderr is not a terminal.
pub fn progress_bar(total: usize, label: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total as u64);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(label.to_string());
    Some(bar)
}

/// The callback a sweep calls with (done, total), moving `bar` when there is one.
pub fn callback(bar: &Option<ProgressBar>) -> impl Fn(usize, usize) + Sync + '_ {
    move |done, _total| {
        if let Some(bar) = bar {
            bar.set_position(done as u64);
        }
    }
}
