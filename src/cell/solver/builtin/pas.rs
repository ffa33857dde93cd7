//! `pas`: the passive leak `i = g*(v - e)` (NEURON `passive.mod`; defaults g = 0.001 S/cm2,
//! e = -70 mV), NONSPECIFIC_CURRENT with the numerical dI/dV like every nocmodl mechanism.

use crate::cell::mechanism::{
    KernelContext, MechanismData, MechanismInfo, MechanismKernel, MechanismKind, VariableRole,
    VariableSpec,
};

use super::DV_MV;

const G: usize = 0;
const E: usize = 1;
const I: usize = 2;

/// The `pas` mechanism type.
#[derive(Debug)]
pub struct Pas {
    info: MechanismInfo,
}

impl Default for Pas {
    fn default() -> Self {
        Self::new()
    }
}

impl Pas {
    /// Its description: RANGE g, e (parameters), i (assigned).
    pub fn new() -> Self {
        Self {
            info: MechanismInfo {
                name: "pas".to_string(),
                kind: MechanismKind::Density,
                electrode_current: false,
                variables: vec![
                    VariableSpec::new("g", VariableRole::Parameter, 0.001),
                    VariableSpec::new("e", VariableRole::Parameter, -70.0),
                    VariableSpec::new("i", VariableRole::Assigned, 0.0),
                ],
                globals: Vec::new(),
                ions: Vec::new(),
            },
        }
    }
}

impl MechanismKernel for Pas {
    fn info(&self) -> &MechanismInfo {
        &self.info
    }

    fn initialize(&self, _data: &mut MechanismData, _ctx: &mut KernelContext) {}

    fn current(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        // G, E and I are three distinct indices below `info.variables.len()`, the column count
        // `MechanismData::new` creates, so the disjoint borrow cannot fail.
        let [g, e, i] = data
            .columns
            .get_disjoint_mut([G, E, I])
            .expect("pas has three distinct columns");
        for (k, &node) in data.node.iter().enumerate() {
            let v = ctx.v_mv[node];
            let i_plus = g[k] * (v + DV_MV - e[k]);
            let i_v = g[k] * (v - e[k]);
            i[k] = i_v;
            ctx.add_current(node, i_v, (i_plus - i_v) / DV_MV);
        }
    }

    fn advance(&self, _data: &mut MechanismData, _ctx: &mut KernelContext) {}
}
