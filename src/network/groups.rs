//! Node groups: the rows and columns of every connection matrix. A population is split by one of
//! its attributes (`pop_name`, `model_name`, `node_type_id`, ...); each distinct value, in order of
//! first appearance, is one group labelled `<population>_<value>` (or `<value>` without the
//! population prefix), as bmtool labels them.

use crate::sonata::{NodePopulation, SonataError};

/// Which attribute splits which population.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub population: String,
    pub attribute: String,
}

/// The groups of one population.
#[derive(Debug, Clone)]
pub struct PopulationGroups {
    pub population: String,
    pub attribute: String,
    /// Group values in order of first appearance.
    pub values: Vec<String>,
    /// Group index per node id (dense by id; `NONE` for ids the population does not have).
    pub group_of_id: Vec<u32>,
    /// Number of nodes per group.
    pub sizes: Vec<usize>,
}

impl PopulationGroups {
    pub const NONE: u32 = u32::MAX;

    /// Split `pop` by `attribute`. A missing value becomes the group `nan`, as pandas shows it.
    pub fn build(pop: &NodePopulation, attribute: &str) -> Result<Self, SonataError> {
        let Some(values) = pop.attribute_text(attribute)? else {
            return Err(SonataError::data(
                pop.file_path(),
                &format!("/nodes/{}", pop.name),
                format!(
                    "population '{}' has no attribute '{attribute}' (it has: {})",
                    pop.name,
                    pop.attribute_names()?.join(", ")
                ),
            ));
        };
        let mut labels: Vec<String> = Vec::new();
        let mut sizes = Vec::new();
        let mut group_of_id = vec![Self::NONE; pop.id_span()];
        for (row, value) in values.into_iter().enumerate() {
            let value = value.unwrap_or_else(|| "nan".to_string());
            let g = match labels.iter().position(|l| *l == value) {
                Some(g) => g,
                None => {
                    labels.push(value);
                    sizes.push(0);
                    labels.len() - 1
                }
            };
            sizes[g] += 1;
            group_of_id[pop.node_ids[row] as usize] = g as u32;
        }
        Ok(PopulationGroups {
            population: pop.name.clone(),
            attribute: attribute.to_string(),
            values: labels,
            group_of_id,
            sizes,
        })
    }

    /// Group index of a node id.
    pub fn group_of(&self, node_id: u64) -> u32 {
        self.group_of_id
            .get(node_id as usize)
            .copied()
            .unwrap_or(Self::NONE)
    }

    /// Display labels, with or without the population prefix.
    pub fn labels(&self, prepend_pop: bool) -> Vec<String> {
        self.values
            .iter()
            .map(|v| {
                if prepend_pop {
                    format!("{}_{v}", self.population)
                } else {
                    v.clone()
                }
            })
            .collect()
    }
}
