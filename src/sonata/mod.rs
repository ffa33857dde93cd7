//! SONATA model directories as BMTK writes them: the configuration (manifest expansion and
//! linked files), node and edge populations joined with their types CSVs, and the errors that
//! name the file and dataset or line at fault; `writer` writes files in the same layout. This
//! module computes nothing about connectivity (that is `network`) and draws nothing (that is
//! `plot`).

pub mod config;
pub mod edges;
pub mod h5;
pub mod nodes;
pub mod reports;
pub mod spikes;
pub mod types_csv;
pub mod writer;

use std::path::{Path, PathBuf};

pub use config::SimulationConfig;
pub use edges::{EdgeIds, EdgePopulation};
pub use h5::H5File;
pub use nodes::{NodePopulation, Positions};
pub use reports::ElementReport;
pub use spikes::{read_spikes, SpikeTrains};
pub use types_csv::TypesTable;

/// Anything that can go wrong reading a model directory.
#[derive(Debug, thiserror::Error)]
pub enum SonataError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    H5(#[from] h5::H5Error),
    #[error(transparent)]
    Types(#[from] types_csv::TypesError),
    #[error("{}: {object}: {message}", file.display())]
    Data {
        file: PathBuf,
        object: String,
        message: String,
    },
    /// A problem on one line of a text file (1-based).
    #[error("{}:{line}: {message}", file.display())]
    Line {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("unknown population '{name}' (the model has: {known})")]
    UnknownPopulation { name: String, known: String },
}

impl SonataError {
    pub fn data(file: &Path, object: &str, message: impl Into<String>) -> Self {
        SonataError::Data {
            file: file.to_path_buf(),
            object: object.to_string(),
            message: message.into(),
        }
    }

    /// A problem on `line` (1-based) of the text file `file`.
    pub fn line(file: &Path, line: usize, message: impl Into<String>) -> Self {
        SonataError::Line {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

/// A loaded circuit: every node population and every edge population named by the config.
#[derive(Debug)]
pub struct Circuit {
    pub config: SimulationConfig,
    pub nodes: Vec<NodePopulation>,
    pub edges: Vec<EdgePopulation>,
}

impl Circuit {
    /// Load the config at `path` and every network file it lists.
    pub fn load(path: &Path) -> Result<Self, SonataError> {
        let config = SimulationConfig::load(path)?;
        let mut nodes = Vec::new();
        for entry in &config.nodes {
            let types = TypesTable::read(&entry.node_types_file, "node_type_id")?;
            let file = H5File::open(&entry.nodes_file)?;
            let names = file.groups("/nodes")?;
            if names.is_empty() {
                return Err(SonataError::data(
                    &entry.nodes_file,
                    "/nodes",
                    "has no node population",
                ));
            }
            for name in names {
                let file = H5File::open(&entry.nodes_file)?;
                nodes.push(NodePopulation::load(file, &name, types.clone())?);
            }
        }
        let mut edges = Vec::new();
        for entry in &config.edges {
            let types = TypesTable::read(&entry.edge_types_file, "edge_type_id")?;
            let file = H5File::open(&entry.edges_file)?;
            for name in file.groups("/edges")? {
                let file = H5File::open(&entry.edges_file)?;
                edges.push(EdgePopulation::open(file, &name, types.clone())?);
            }
        }
        Ok(Circuit {
            config,
            nodes,
            edges,
        })
    }

    /// The node population called `name`.
    pub fn node_population(&self, name: &str) -> Result<&NodePopulation, SonataError> {
        self.nodes
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| SonataError::UnknownPopulation {
                name: name.to_string(),
                known: self.population_names().join(", "),
            })
    }

    /// Node population names in config order.
    pub fn population_names(&self) -> Vec<String> {
        self.nodes.iter().map(|p| p.name.clone()).collect()
    }
}
