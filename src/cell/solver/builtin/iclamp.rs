//! `IClamp`: a current step (NEURON `stim.mod`), ELECTRODE_CURRENT point process. `i = amp` (nA)
//! while `del <= t < del + dur`, with t the mid-step time at which currents are evaluated, else 0.
//! Driving `amp` step-wise from a vector (bmtool's ZAP) is a solver `play` on its `amp` column.

use crate::cell::mechanism::{
    KernelContext, MechanismData, MechanismInfo, MechanismKernel, MechanismKind, VariableRole,
    VariableSpec,
};

const DEL: usize = 0;
const DUR: usize = 1;
const AMP: usize = 2;
const I: usize = 3;

/// The `IClamp` point-process type.
#[derive(Debug)]
pub struct IClamp {
    info: MechanismInfo,
}

impl Default for IClamp {
    fn default() -> Self {
        Self::new()
    }
}

impl IClamp {
    /// Its description: RANGE del (ms), dur (ms), amp (nA), i (nA).
    pub fn new() -> Self {
        Self {
            info: MechanismInfo {
                name: "IClamp".to_string(),
                kind: MechanismKind::Point,
                electrode_current: true,
                variables: vec![
                    VariableSpec::new("del", VariableRole::Parameter, 0.0),
                    VariableSpec::new("dur", VariableRole::Parameter, 0.0),
                    VariableSpec::new("amp", VariableRole::Parameter, 0.0),
                    VariableSpec::new("i", VariableRole::Assigned, 0.0),
                ],
                globals: Vec::new(),
                ions: Vec::new(),
            },
        }
    }
}

impl MechanismKernel for IClamp {
    fn info(&self) -> &MechanismInfo {
        &self.info
    }

    fn initialize(&self, data: &mut MechanismData, _ctx: &mut KernelContext) {
        data.columns[I].fill(0.0);
    }

    fn current(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let t = ctx.t_ms;
        for (k, &node) in data.node.iter().enumerate() {
            let (del, dur) = (data.columns[DEL][k], data.columns[DUR][k]);
            // The current does not depend on v, so NEURON's numerical dI/dV is exactly 0.
            let i = if t < del + dur && t >= del {
                data.columns[AMP][k]
            } else {
                0.0
            };
            data.columns[I][k] = i;
            ctx.add_current(node, i, 0.0);
        }
    }

    fn advance(&self, _data: &mut MechanismData, _ctx: &mut KernelContext) {}
}
