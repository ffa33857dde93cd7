//! The native cable solver: NEURON's fixed-step method (`cvode.active(0)`, `secondorder = 0`)
//! reproduced operation for operation, on the compartments `morphology` builds and the mechanisms
//! registered through `mechanism`. Owns time stepping, the Hines solve, the built-in mechanisms,
//! recording, plays and spike detection; knows no file format.
//!
//! One step (`Simulation::step`, NEURON `nrn_fixed_step_thread`), from t_n:
//! 1. spike detectors test v_n at t_n (NetCon threshold); vector plays assign their value for n;
//! 2. t += dt/2; `rhs`, `d` and ion accumulators are zeroed, Nernst potentials refreshed; every
//!    mechanism adds `-i(v_n)` to rhs and its numerical dI/dV (at v + 0.001 mV) to d (point
//!    processes scaled by 1e2/area, ELECTRODE_CURRENT with the opposite sign); then
//!    `d += cm*0.001/dt` and the axial terms `rhs[i] -= b*(v_p - v_i)`, `rhs[p] += a*(v_p - v_i)`,
//!    `d[i] -= b`, `d[p] -= a`;
//! 3. Hines solve; `v += dv`;
//! 4. t += dt/2; every mechanism advances its states with v_{n+1};
//! 5. |v| > 1e4 mV or NaN stops the run with an error naming the section; recordings sample.
//!
//! `secondorder = 2` (Crank-Nicolson) would change only step 2's `cfac` to `0.002/dt`, step 3's
//! update to `v += 2*dv` plus an ion-current correction; only the default first-order step exists.
//!
//! Modules: `simulation` (the stepper and its public API), `build` (model + registry -> flat
//! mechanism and ion arrays, all name checks), `hines` (the tree solve), `record` (variable
//! references, recordings, plays, spike detectors), `builtin` (pas, hh, IClamp), `error`.
mod build;
pub mod builtin;
pub mod error;
pub mod hines;
pub mod record;
pub mod simulation;

pub use error::SimError;
pub use record::{DetectorId, IonField, RecordId, VarRef};
pub use simulation::Simulation;
