//! `bmtool util cell ... passive|iclamp|fi|zap`: run one protocol on the selected cell, print the
//! result (text, CSV or JSON), and write the picture and the v(t) trace when asked.

use std::path::Path;

use crate::cell::mechanism::MechanismRegistry;
use crate::cell::morphology::CellModel;
use crate::cell::protocols::{
    fi::{self, fi_amplitudes_na},
    run_fi, run_iclamp, run_passive, run_zap, ChirpKind, FiParams, IclampParams, PassiveParams,
    ProtocolCell, Site, TauMethod, Trace, ZapParams,
};
use crate::cli::cell::{CellCommand, ChirpArg, RunArgs, TauArg};
use crate::plot::{self, cell as figures};
use crate::report::{self, progress};

use super::AppError;

/// Run the protocol `command` names on `model`; false when `command` is not a protocol.
pub fn run(
    command: &CellCommand,
    model: &CellModel,
    registry: &MechanismRegistry,
) -> Result<bool, AppError> {
    if let Some(run) = run_args(command) {
        check_outputs(run)?;
    }
    match command {
        CellCommand::Passive(a) => {
            let cell = protocol_cell(model, registry, &a.run)?;
            let params = PassiveParams {
                inj_amp_pa: a.inj_amp,
                inj_delay_ms: a.inj_delay,
                inj_dur_ms: a.inj_dur,
                tstop_ms: a.tstop,
                method: match a.method {
                    TauArg::Simple => TauMethod::Simple,
                    TauArg::Exp => TauMethod::Exp,
                    TauArg::Exp2 => TauMethod::Exp2,
                },
            };
            let r = run_passive(&cell, &params)?;
            outputs(&a.run, &r.trace, &figures::passive_figure(&r))?;
            super::print(&report::protocols::passive(&r, a.run.format));
        }
        CellCommand::Iclamp(a) => {
            let cell = protocol_cell(model, registry, &a.run)?;
            let params = IclampParams {
                inj_amp_pa: a.inj_amp,
                inj_delay_ms: a.inj_delay,
                inj_dur_ms: a.inj_dur,
                tstop_ms: a.tstop,
                threshold_mv: a.threshold,
            };
            let r = run_iclamp(&cell, &params)?;
            outputs(&a.run, &r.trace, &figures::iclamp_figure(&r))?;
            super::print(&report::protocols::iclamp(&r, a.run.format));
        }
        CellCommand::Fi(a) => {
            let cell = protocol_cell(model, registry, &a.run)?;
            let params = FiParams {
                i_start_pa: a.i_start,
                i_stop_pa: a.i_stop,
                i_increment_pa: a.i_increment,
                tstart_ms: a.tstart,
                tdur_ms: a.tdur,
                threshold_mv: a.threshold,
                inclusive: a.inclusive,
            };
            // Validated first: a sweep of 1e9 trials must not allocate its amplitudes here.
            fi::check_params(&params)?;
            let bar = progress::progress_bar(fi_amplitudes_na(&params).len(), "FI");
            let callback = progress::callback(&bar);
            let r = run_fi(&cell, &params, Some(&callback))?;
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            if let Some(note) = report::protocols::fi_note(&r) {
                eprintln!("{note}");
            }
            if let Some(path) = &a.run.save_file {
                plot::save(path, &figures::FiFigure { result: &r }, a.run.force)?;
            }
            if a.run.trace_csv.is_some() {
                eprintln!(
                    "note: --trace-csv is for single runs; an FI sweep has one trace per amplitude"
                );
            }
            super::print(&report::protocols::fi(&r, a.run.format));
        }
        CellCommand::Zap(a) => {
            let cell = protocol_cell(model, registry, &a.run)?;
            let params = ZapParams {
                inj_amp_pa: a.inj_amp,
                inj_delay_ms: a.inj_delay,
                inj_dur_ms: a.inj_dur,
                tstop_ms: a.tstop,
                fstart_hz: a.fstart,
                fend_hz: a.fend,
                chirp: match a.chirp {
                    ChirpArg::Linear => ChirpKind::Linear,
                    ChirpArg::Exponential => ChirpKind::Exponential,
                },
                ..ZapParams::default()
            };
            let r = run_zap(&cell, &params)?;
            outputs(&a.run, &r.trace, &figures::ImpedanceFigure { result: &r })?;
            super::print(&report::protocols::zap(&r, a.run.format));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn run_args(command: &CellCommand) -> Option<&RunArgs> {
    match command {
        CellCommand::Passive(a) => Some(&a.run),
        CellCommand::Iclamp(a) => Some(&a.run),
        CellCommand::Fi(a) => Some(&a.run),
        CellCommand::Zap(a) => Some(&a.run),
        _ => None,
    }
}

fn protocol_cell<'a>(
    model: &'a CellModel,
    registry: &'a MechanismRegistry,
    run: &RunArgs,
) -> Result<ProtocolCell<'a>, AppError> {
    let mut cell = ProtocolCell::new(model, registry)?
        .with_dt(run.dt)
        .with_threads(run.threads as usize);
    let site = Site::named(model, &run.section, run.x)?;
    cell.injection = site;
    cell.recording = site;
    Ok(cell)
}

/// Refuse outputs that exist (without --force) before any simulation time is spent.
fn check_outputs(run: &RunArgs) -> Result<(), AppError> {
    if let Some(path) = &run.save_file {
        plot::Format::of(path)?;
        crate::output::check_destination(path, run.force)?;
    }
    if let Some(path) = &run.trace_csv {
        crate::output::check_destination(path, run.force)?;
    }
    Ok(())
}

/// Save the picture and the trace CSV when asked.
fn outputs(run: &RunArgs, trace: &Trace, figure: &impl plot::Figure) -> Result<(), AppError> {
    if let Some(path) = &run.save_file {
        plot::save(path, figure, run.force)?;
    }
    if let Some(path) = &run.trace_csv {
        write_trace(path, trace, run.force)?;
    }
    Ok(())
}

fn write_trace(path: &Path, trace: &Trace, force: bool) -> Result<(), AppError> {
    crate::output::write_atomic(path, report::protocols::trace_csv(trace).as_bytes(), force)?;
    Ok(())
}
