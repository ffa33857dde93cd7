//! SONATA/BMTK configuration files: `simulation_config.json`, `circuit_config.json` and the
//! `config.json` that links both. Owns manifest expansion (`$BASE_DIR`, `${configdir}`, variables
//! that refer to other variables), the merging of a `network` / `simulation` file into the config
//! that names it, and the resolution of relative paths against the folder of the file they were
//! written in. It reads JSON only; it never opens the HDF5 or CSV files it points to.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// A configuration problem, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", file.display())]
pub struct ConfigError {
    pub file: PathBuf,
    pub message: String,
}

fn cerr(file: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// One `networks.nodes[]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFiles {
    pub nodes_file: PathBuf,
    pub node_types_file: PathBuf,
}

/// One `networks.edges[]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeFiles {
    pub edges_file: PathBuf,
    pub edge_types_file: PathBuf,
}

/// The expanded JSON of a config file (manifest variables substituted, `network` and
/// `simulation` links merged, paths resolved), without requiring a network: for single-cell
/// tools that only need `components`.
pub fn expanded_json(path: &Path) -> Result<Value, ConfigError> {
    load_expanded(path, 0)
}

/// A fully expanded configuration: the merged JSON with every path made absolute (or relative to
/// the current directory when the config path was), plus the network file lists.
#[derive(Debug, Clone)]
pub struct SimulationConfig {
    pub path: PathBuf,
    pub json: Value,
    pub nodes: Vec<NodeFiles>,
    pub edges: Vec<EdgeFiles>,
}

/// Keys whose string values are paths relative to the config file that holds them.
fn is_path_key(key: &str) -> bool {
    key.ends_with("_file")
        || key.ends_with("_dir")
        || key.ends_with("_path")
        || matches!(
            key,
            "network" | "simulation" | "electrode_positions" | "node_sets_file"
        )
}

/// Keys under `output` that stay relative to `output_dir`, as BMTK treats them.
fn is_output_relative(key: &str) -> bool {
    key != "output_dir"
}

impl SimulationConfig {
    /// Load and expand `path`, following `network` and `simulation` links.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let json = load_expanded(path, 0)?;
        let nodes = network_entries(&json, path, "nodes", |e, f| {
            Ok(NodeFiles {
                nodes_file: entry_path(e, "nodes_file", f)?,
                node_types_file: entry_path(e, "node_types_file", f)?,
            })
        })?;
        let edges = network_entries(&json, path, "edges", |e, f| {
            Ok(EdgeFiles {
                edges_file: entry_path(e, "edges_file", f)?,
                edge_types_file: entry_path(e, "edge_types_file", f)?,
            })
        })?;
        if nodes.is_empty() {
            return Err(cerr(
                path,
                "no networks.nodes in this config (nor in a 'network' file it names); \
                 pass the simulation or circuit config of a model",
            ));
        }
        Ok(SimulationConfig {
            path: path.to_path_buf(),
            json,
            nodes,
            edges,
        })
    }

    /// A string at a `/`-separated JSON pointer such as `/output/output_dir`.
    pub fn string(&self, pointer: &str) -> Option<&str> {
        self.json.pointer(pointer).and_then(Value::as_str)
    }

    /// A number at a JSON pointer such as `/run/tstop`.
    pub fn number(&self, pointer: &str) -> Option<f64> {
        self.json.pointer(pointer).and_then(Value::as_f64)
    }

    /// The folder holding the config file.
    pub fn dir(&self) -> PathBuf {
        parent_dir(&self.path)
    }

    /// `output.output_dir`, or the config folder when it is not set.
    pub fn output_dir(&self) -> PathBuf {
        self.string("/output/output_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.dir())
    }

    /// A file named under `output` (e.g. `spikes_file`), resolved against `output_dir`.
    pub fn output_file(&self, key: &str) -> Option<PathBuf> {
        let name = self.string(&format!("/output/{key}"))?;
        Some(self.output_dir().join(name))
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `dir` made absolute against the working directory, so expanded paths never depend on it.
fn absolute(dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    }
}

fn network_entries<T>(
    json: &Value,
    file: &Path,
    kind: &str,
    build: impl Fn(&Map<String, Value>, &Path) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    let Some(list) = json.pointer(&format!("/networks/{kind}")) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| cerr(file, format!("networks.{kind} must be a list")))?;
    list.iter()
        .enumerate()
        .map(|(i, e)| {
            let obj = e
                .as_object()
                .ok_or_else(|| cerr(file, format!("networks.{kind}[{i}] must be an object")))?;
            build(obj, file)
        })
        .collect()
}

fn entry_path(entry: &Map<String, Value>, key: &str, file: &Path) -> Result<PathBuf, ConfigError> {
    entry
        .get(key)
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .ok_or_else(|| cerr(file, format!("a networks entry has no '{key}'")))
}

const MAX_LINK_DEPTH: usize = 8;

/// Read one config file, expand its manifest, resolve its paths and merge the files it links.
fn load_expanded(path: &Path, depth: usize) -> Result<Value, ConfigError> {
    if depth > MAX_LINK_DEPTH {
        return Err(cerr(path, "configs link to each other in a loop"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        let what = if e.kind() == std::io::ErrorKind::NotFound {
            "config file not found".to_string()
        } else {
            e.to_string()
        };
        cerr(path, what)
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut json: Value = serde_json::from_str(text).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        message: format!(
            "line {} column {}: not valid JSON: {e}",
            e.line(),
            e.column()
        ),
    })?;
    let Some(root) = json.as_object_mut() else {
        return Err(cerr(path, "the config must be a JSON object"));
    };
    let dir = absolute(&parent_dir(path));
    let vars = manifest(root, path, &dir)?;
    root.remove("manifest");
    for (key, value) in root.iter_mut() {
        expand_value(value, key, &vars, path, &dir, false)?;
    }
    for link in ["network", "simulation"] {
        let Some(target) = root.get(link).and_then(Value::as_str).map(PathBuf::from) else {
            continue;
        };
        if same_file(&target, path) {
            continue;
        }
        if !target.exists() {
            return Err(cerr(
                path,
                format!(
                    "'{link}' points to {}, which does not exist",
                    target.display()
                ),
            ));
        }
        let linked = load_expanded(&target, depth + 1)?;
        merge_missing(root, linked);
    }
    Ok(json)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Add keys of `other` that `into` lacks; objects present in both merge recursively.
fn merge_missing(into: &mut Map<String, Value>, other: Value) {
    let Value::Object(other) = other else { return };
    for (key, value) in other {
        match (into.get_mut(&key), value) {
            (Some(Value::Object(mine)), Value::Object(theirs)) => {
                merge_missing(mine, Value::Object(theirs))
            }
            (Some(_), _) => {}
            (None, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// The manifest variables of one file, fully expanded. Keys are stored without `$`.
fn manifest(
    root: &Map<String, Value>,
    file: &Path,
    dir: &Path,
) -> Result<HashMap<String, String>, ConfigError> {
    let mut raw: HashMap<String, String> = HashMap::new();
    if let Some(m) = root.get("manifest") {
        let m = m
            .as_object()
            .ok_or_else(|| cerr(file, "'manifest' must be an object"))?;
        for (k, v) in m {
            let v = v
                .as_str()
                .ok_or_else(|| cerr(file, format!("manifest entry {k} must be a string")))?;
            raw.insert(k.trim_start_matches('$').to_string(), v.to_string());
        }
    }
    let mut builtins = HashMap::new();
    builtins.insert("configdir".to_string(), dir.display().to_string());
    builtins.insert(
        "configfname".to_string(),
        file.file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default(),
    );
    builtins.insert(
        "workingdir".to_string(),
        std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| ".".into()),
    );
    let mut done: HashMap<String, String> = builtins;
    let names: Vec<String> = raw.keys().cloned().collect();
    for name in names {
        let mut stack = HashSet::new();
        resolve_var(&name, &raw, &mut done, &mut stack, file)?;
    }
    // A manifest directory given relative ("." or "./x") is relative to the config's folder.
    for (name, value) in done.iter_mut() {
        if raw.contains_key(name) && looks_relative_path(value) {
            *value = dir.join(value.as_str()).display().to_string();
        }
    }
    Ok(done)
}

fn looks_relative_path(value: &str) -> bool {
    value == "." || value == ".." || value.starts_with("./") || value.starts_with("../")
}

/// Longest value a manifest variable or a string using them may expand to (bytes): far beyond
/// any path, and small enough that variables doubling each other (`$A = "$B$B"`, `$B = "$C$C"`,
/// ...) end in an error instead of exhausting memory.
const MAX_EXPANDED_LEN: usize = 1 << 16;

fn resolve_var(
    name: &str,
    raw: &HashMap<String, String>,
    done: &mut HashMap<String, String>,
    stack: &mut HashSet<String>,
    file: &Path,
) -> Result<String, ConfigError> {
    if let Some(v) = done.get(name) {
        return Ok(v.clone());
    }
    let Some(template) = raw.get(name) else {
        return Err(cerr(
            file,
            format!("manifest variable ${name} is used but never defined"),
        ));
    };
    if !stack.insert(name.to_string()) {
        return Err(cerr(
            file,
            format!("manifest variable ${name} refers to itself through a cycle"),
        ));
    }
    let mut out = String::new();
    for piece in split_vars(template) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => out.push_str(&resolve_var(v, raw, done, stack, file)?),
        }
        if out.len() > MAX_EXPANDED_LEN {
            return Err(cerr(
                file,
                format!(
                    "manifest variable ${name} expands to more than {MAX_EXPANDED_LEN} \
                     characters (variables that repeat each other?)"
                ),
            ));
        }
    }
    stack.remove(name);
    done.insert(name.to_string(), out.clone());
    Ok(out)
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Split `a/$X/${y}z` into text and variable pieces.
fn split_vars(s: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let (name_start, name_end, next) = if bytes.get(i + 1) == Some(&b'{') {
                match s[i + 2..].find('}') {
                    Some(close) => (i + 2, i + 2 + close, i + 3 + close),
                    None => {
                        i += 1;
                        continue;
                    }
                }
            } else {
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                (i + 1, j, j)
            };
            if name_end > name_start {
                if i > start {
                    pieces.push(Piece::Text(&s[start..i]));
                }
                pieces.push(Piece::Var(&s[name_start..name_end]));
                start = next;
                i = next;
                continue;
            }
        }
        i += 1;
    }
    if start < s.len() {
        pieces.push(Piece::Text(&s[start..]));
    }
    pieces
}

fn expand_string(
    s: &str,
    vars: &HashMap<String, String>,
    file: &Path,
    key: &str,
) -> Result<String, ConfigError> {
    let mut out = String::new();
    for piece in split_vars(s) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => match vars.get(v) {
                Some(value) => out.push_str(value),
                None => {
                    return Err(cerr(
                        file,
                        format!("'{key}' uses ${v}, which the manifest does not define"),
                    ))
                }
            },
        }
        if out.len() > MAX_EXPANDED_LEN.max(s.len()) {
            return Err(cerr(
                file,
                format!("'{key}' expands to more than {MAX_EXPANDED_LEN} characters"),
            ));
        }
    }
    Ok(out)
}

fn expand_value(
    value: &mut Value,
    key: &str,
    vars: &HashMap<String, String>,
    file: &Path,
    dir: &Path,
    in_output: bool,
) -> Result<(), ConfigError> {
    match value {
        Value::String(s) => {
            let expanded = expand_string(s, vars, file, key)?;
            let relative_to_output = in_output && is_output_relative(key);
            *s = if is_path_key(key) && !relative_to_output && !expanded.is_empty() {
                let p = Path::new(&expanded);
                if p.is_absolute() {
                    expanded
                } else {
                    dir.join(p).display().to_string()
                }
            } else {
                expanded
            };
        }
        Value::Array(items) => {
            for item in items {
                expand_value(item, key, vars, file, dir, in_output)?;
            }
        }
        Value::Object(map) => {
            let inner_output = in_output || key == "output";
            for (k, v) in map.iter_mut() {
                expand_value(v, k, vars, file, dir, inner_output)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn variables_refer_to_variables_and_paths_resolve_against_the_config() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = write(
            tmp.path(),
            "circuit_config.json",
            r#"{"manifest": {"$BASE_DIR": "${configdir}", "$NET": "$BASE_DIR/network"},
                "networks": {"nodes": [{"nodes_file": "$NET/a_nodes.h5",
                                         "node_types_file": "./network/a_types.csv"}]}}"#,
        );
        let c = SimulationConfig::load(&cfg).unwrap();
        assert_eq!(c.nodes[0].nodes_file, tmp.path().join("network/a_nodes.h5"));
        assert_eq!(
            c.nodes[0].node_types_file,
            tmp.path().join("./network/a_types.csv")
        );
    }

    #[test]
    fn cycles_and_undefined_variables_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = write(
            tmp.path(),
            "c.json",
            r#"{"manifest": {"$A": "$B/x", "$B": "$A/y"}, "networks": {"nodes": []}}"#,
        );
        let e = SimulationConfig::load(&cfg).unwrap_err().to_string();
        assert!(e.contains("cycle"), "{e}");
        let cfg = write(
            tmp.path(),
            "d.json",
            r#"{"networks": {"nodes": [{"nodes_file": "$NOPE/a.h5", "node_types_file": "t.csv"}]}}"#,
        );
        let e = SimulationConfig::load(&cfg).unwrap_err().to_string();
        assert!(e.contains("$NOPE"), "{e}");
    }

    #[test]
    fn network_link_is_merged_and_output_files_stay_under_output_dir() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "circuit.json",
            r#"{"networks": {"nodes": [{"nodes_file": "n.h5", "node_types_file": "t.csv"}]}}"#,
        );
        let sim = write(
            tmp.path(),
            "sim.json",
            r#"{"manifest": {"$BASE_DIR": "."}, "network": "$BASE_DIR/circuit.json",
                "output": {"output_dir": "$BASE_DIR/output", "spikes_file": "spikes.h5"}}"#,
        );
        let c = SimulationConfig::load(&sim).unwrap();
        assert_eq!(c.nodes.len(), 1);
        assert_eq!(
            c.output_file("spikes_file").unwrap(),
            tmp.path().join("./output").join("spikes.h5")
        );
    }
}
