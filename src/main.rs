//! The `bmtool` binary: parse the command line, run it, turn any error into one line on stderr
//! and an exit code (2 for problems with the input or arguments, 1 for internal errors, 130
//! when Ctrl-C stopped the run; see `output` for what an interrupt cleans up).

use clap::Parser;

fn main() {
    let cli = bmtool::cli::Cli::parse();
    if let Err(e) = bmtool::output::install_interrupt_handler() {
        eprintln!("note: {e}");
    }
    if let Err(e) = bmtool::commands::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
