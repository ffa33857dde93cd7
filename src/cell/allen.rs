//! Allen Cell Types perisomatic models (an SWC morphology plus a `*_fit.json`), built as bmtk's
//! `aibs_perisomatic` processing builds them, natively: the SWC is imported with Import3d's rules
//! (`morphology::swc`), the reconstructed axon is replaced by two 30 um x 1 um stubs (axon[0] at
//! soma(0.5), axon[1] at axon[0](1); bmtk's `fix_axon_peri`), then `set_params_peri`: Ra, cm per
//! section type and `pas` with `e_pas` everywhere, every `genome` entry inserted and set on the
//! sections of its type, and the `conditions` reversal potentials (`ena`, `ek`) on their sections.
//! nseg stays 1 per section, as bmtool's `load_allen_database_cells` leaves it. The fit's
//! `celsius` becomes the model's temperature; v_init stays at NEURON's -65 mV (bmtool's protocols
//! start there), while the fit's `v_init` is returned for callers who want it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::morphology::swc::{SwcError, SwcMorphology};
use super::morphology::{CellModel, ModelError, SectionId};

/// A problem with the morphology or the fit file.
#[derive(Debug, thiserror::Error)]
pub enum AllenError {
    #[error(transparent)]
    Swc(#[from] SwcError),
    #[error("{}: {message}", file.display())]
    Fit { file: PathBuf, message: String },
    #[error("{}: {source}", file.display())]
    Model { file: PathBuf, source: ModelError },
}

#[derive(Debug, Deserialize)]
struct Fit {
    passive: Vec<Passive>,
    conditions: Vec<Conditions>,
    genome: Vec<Gene>,
}

#[derive(Debug, Deserialize)]
struct Passive {
    ra: f64,
    cm: Vec<SectionValue>,
    e_pas: f64,
}

#[derive(Debug, Deserialize)]
struct SectionValue {
    section: String,
    cm: f64,
}

#[derive(Debug, Deserialize)]
struct Conditions {
    celsius: f64,
    #[serde(default)]
    erev: Vec<Erev>,
    v_init: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Erev {
    section: String,
    ena: Option<f64>,
    ek: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Gene {
    section: String,
    name: String,
    value: f64,
    #[serde(default)]
    mechanism: String,
}

/// A built Allen cell.
#[derive(Debug, Clone)]
pub struct AllenCell {
    pub model: CellModel,
    /// The fit's own `conditions.v_init` (mV), when it has one.
    pub fit_v_init_mv: Option<f64>,
    /// Mechanisms the cell uses (to check against the mod folder).
    pub mechanisms: Vec<String>,
}

/// Build the cell from `swc` and `fit_json`.
pub fn load(swc: &Path, fit_json: &Path) -> Result<AllenCell, AllenError> {
    let morphology = SwcMorphology::read(swc)?;
    let fit = read_fit(fit_json)?;
    let fit_err = |message: String| AllenError::Fit {
        file: fit_json.to_path_buf(),
        message,
    };
    let model_err = |source: ModelError| AllenError::Model {
        file: fit_json.to_path_buf(),
        source,
    };
    let mut model = CellModel::new();
    let swc_err = |source: ModelError| AllenError::Model {
        file: swc.to_path_buf(),
        source,
    };
    let ids = morphology.add_to(&mut model, &["axon"]).map_err(swc_err)?;
    // Geometry the SWC alone decides (a zero soma radius gives L = 0): name the SWC, not the
    // simulation that would trip over it later.
    model.validate().map_err(swc_err)?;
    let soma = ids
        .iter()
        .zip(&morphology.sections)
        .find(|(_, s)| s.kind == "soma")
        .and_then(|(id, _)| *id)
        .ok_or_else(|| fit_err("the morphology has no soma section".into()))?;
    add_axon_stubs(&mut model, soma).map_err(model_err)?;

    let passive = fit
        .passive
        .first()
        .ok_or_else(|| fit_err("'passive' is empty".into()))?;
    let conditions = fit
        .conditions
        .first()
        .ok_or_else(|| fit_err("'conditions' is empty".into()))?;
    let sections: Vec<(SectionId, String)> = model
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| (SectionId(i), section_type(&s.name).to_string()))
        .collect();
    for (id, kind) in &sections {
        let cm = passive
            .cm
            .iter()
            .find(|c| &c.section == kind)
            .ok_or_else(|| fit_err(format!("passive.cm has no entry for section type '{kind}'")))?;
        model.set_ra(*id, passive.ra).map_err(model_err)?;
        model.set_cm(*id, cm.cm).map_err(model_err)?;
        model.insert(*id, "pas").map_err(model_err)?;
        model
            .set_range(*id, "e_pas", passive.e_pas)
            .map_err(model_err)?;
    }
    let mut mechanisms = vec!["pas".to_string()];
    for gene in &fit.genome {
        for (id, kind) in sections.iter().filter(|(_, k)| *k == gene.section) {
            let _ = kind;
            if !gene.mechanism.is_empty() {
                model.insert(*id, &gene.mechanism).map_err(model_err)?;
                if !mechanisms.contains(&gene.mechanism) {
                    mechanisms.push(gene.mechanism.clone());
                }
            }
            model
                .set_range(*id, &gene.name, gene.value)
                .map_err(model_err)?;
        }
    }
    for erev in &conditions.erev {
        for (id, _) in sections.iter().filter(|(_, k)| *k == erev.section) {
            if let Some(ena) = erev.ena {
                model.set_range(*id, "ena", ena).map_err(model_err)?;
            }
            if let Some(ek) = erev.ek {
                model.set_range(*id, "ek", ek).map_err(model_err)?;
            }
        }
    }
    model.celsius_degc = conditions.celsius;
    Ok(AllenCell {
        model,
        fit_v_init_mv: conditions.v_init,
        mechanisms,
    })
}

fn read_fit(path: &Path) -> Result<Fit, AllenError> {
    let text = std::fs::read_to_string(path).map_err(|e| AllenError::Fit {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    serde_json::from_str(text).map_err(|e| AllenError::Fit {
        file: path.to_path_buf(),
        message: format!("line {} column {}: {e}", e.line(), e.column()),
    })
}

/// `soma[0]` -> `soma`: the section type bmtk matches genome entries on.
fn section_type(name: &str) -> &str {
    name.split('[').next().unwrap_or(name)
}

/// bmtk's `fix_axon_peri`: two 30 um long, 1 um wide stubs.
fn add_axon_stubs(model: &mut CellModel, soma: SectionId) -> Result<(), ModelError> {
    let first = model.add_cylinder("axon[0]", 30.0, 1.0, 1)?;
    let second = model.add_cylinder("axon[1]", 30.0, 1.0, 1)?;
    model.connect(first, soma, 0.5)?;
    model.connect(second, first, 1.0)?;
    Ok(())
}
