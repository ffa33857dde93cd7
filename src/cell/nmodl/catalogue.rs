//! A folder of `.mod` files as one namespace of mechanisms.
//!
//! Owns loading (read, parse, analyse every `*.mod` in one directory, not recursive, sorted by
//! file name), the uniqueness of mechanism names within a folder (two files declaring the same
//! SUFFIX / POINT_PROCESS is an error naming both) and folder-level ion checks (an ion used
//! without VALENCE that neither NEURON nor any file of the folder defines). Different folders are
//! different catalogues: the three `leak.mod` of ../shared/cells never meet. Compilation is per
//! mechanism and on demand, so a parse-only file (VERBATIM random streams) does not stop a folder
//! from loading.

use super::error::NmodlError;
use super::ir::Mechanism;
use super::kernel::{CompileOptions, CompiledMechanism};
use super::parser::parse;
use super::sema::analyse;
use std::path::{Path, PathBuf};

/// Ions NEURON defines itself, with their valence (`src/nrnoc/eion.cpp`).
pub const BUILTIN_IONS: &[(&str, f64)] = &[("na", 1.0), ("k", 1.0), ("ca", 2.0)];

/// One loaded file.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub mechanism: Mechanism,
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub entries: Vec<Entry>,
}

impl Catalogue {
    /// Loads every `*.mod` file of `dir`.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, NmodlError> {
        let dir = dir.as_ref();
        let io = |e: std::io::Error| NmodlError::Io {
            path: dir.display().to_string(),
            msg: e.to_string(),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "mod"))
            .collect();
        files.sort();
        let mut cat = Catalogue::default();
        for path in files {
            let src = std::fs::read_to_string(&path).map_err(|e| NmodlError::Io {
                path: path.display().to_string(),
                msg: e.to_string(),
            })?;
            cat.add_source(&path, &src)?;
        }
        cat.check_ions()?;
        Ok(cat)
    }

    /// Adds one file's text (`path` names it in messages); a duplicate name is an error.
    pub fn add_source(&mut self, path: &Path, src: &str) -> Result<(), NmodlError> {
        let file = path.display().to_string();
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        let mechanism = analyse(&parse(&file, src)?)?;
        if let Some(first) = self
            .entries
            .iter()
            .find(|e| e.mechanism.name == mechanism.name)
        {
            return Err(NmodlError::DuplicateMechanism {
                name: mechanism.name.clone(),
                first: first.path.display().to_string(),
                second: file,
            });
        }
        self.entries.push(Entry {
            path: path.to_path_buf(),
            mechanism,
        });
        Ok(())
    }

    /// Every ion has a valence from NEURON or from some USEION ... VALENCE in the folder.
    pub fn check_ions(&self) -> Result<(), NmodlError> {
        for e in &self.entries {
            for ion in &e.mechanism.ions {
                if self.valence(&ion.name).is_none() {
                    return Err(NmodlError::UndefinedIon {
                        file: e.path.display().to_string(),
                        ion: ion.name.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The valence of `ion`: NEURON's, else the first VALENCE declared in the folder.
    pub fn valence(&self, ion: &str) -> Option<f64> {
        if let Some((_, z)) = BUILTIN_IONS.iter().find(|(n, _)| *n == ion) {
            return Some(*z);
        }
        self.entries
            .iter()
            .flat_map(|e| &e.mechanism.ions)
            .find(|i| i.name == ion)
            .and_then(|i| i.valence)
    }

    pub fn get(&self, name: &str) -> Option<&Mechanism> {
        self.entries
            .iter()
            .find(|e| e.mechanism.name == name)
            .map(|e| &e.mechanism)
    }

    pub fn names(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|e| e.mechanism.name.as_str())
            .collect()
    }

    /// Compiles one mechanism by name (default [`CompileOptions`]).
    pub fn compile(&self, name: &str) -> Option<Result<CompiledMechanism, NmodlError>> {
        self.compile_with(name, CompileOptions::default())
    }

    /// Compiles one mechanism by name with explicit options.
    pub fn compile_with(
        &self,
        name: &str,
        options: CompileOptions,
    ) -> Option<Result<CompiledMechanism, NmodlError>> {
        self.get(name)
            .map(|m| CompiledMechanism::compile_with(m, options))
    }
}
