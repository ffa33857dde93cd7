//! The one door to HDF5. Every SONATA file is read through this module, which wraps the pure-Rust
//! `hdf5-pure` crate (pinned, because its 0.x releases break the API): nothing else in the crate
//! names that crate. It opens files in streaming mode (nothing is buffered whole), reads datasets
//! as flat typed columns, reads string and integer attributes, and turns every failure into an
//! [`H5Error`] that names the file and the dataset or group involved. Files the crate cannot read
//! (object headers chained too deep, HDF5 2.x `libver=latest` layouts, v2 B-tree chunk indices)
//! get a message suggesting a re-save with `h5repack`.

use std::path::{Path, PathBuf};

use hdf5_pure as h5;

/// An HDF5 failure, with the file and object it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{}: {object}: {message}", file.display())]
pub struct H5Error {
    pub file: PathBuf,
    /// Dataset, group or attribute path inside the file ("/" for the file itself).
    pub object: String,
    pub message: String,
}

/// A dataset read as one flat column, in the type family it is stored as.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Str(Vec<String>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Int(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `i` as text, formatted the way the types CSV would spell it.
    pub fn text(&self, i: usize) -> String {
        match self {
            Column::Int(v) => v[i].to_string(),
            Column::Float(v) => format_float(v[i]),
            Column::Str(v) => v[i].clone(),
        }
    }

    /// The value at `i` as a number, when it is one.
    pub fn number(&self, i: usize) -> Option<f64> {
        match self {
            Column::Int(v) => Some(v[i] as f64),
            Column::Float(v) => Some(v[i]),
            Column::Str(v) => v[i].trim().parse().ok(),
        }
    }
}

/// Format a float as pandas prints it in a label: integers keep one decimal (`2.0`).
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        "nan".to_string()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// An open HDF5 file.
pub struct H5File {
    path: PathBuf,
    file: h5::File,
}

impl std::fmt::Debug for H5File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "H5File({})", self.path.display())
    }
}

impl H5File {
    /// Open `path` for streaming reads.
    pub fn open(path: &Path) -> Result<Self, H5Error> {
        if !path.exists() {
            return Err(H5Error {
                file: path.to_path_buf(),
                object: "/".into(),
                message: "file not found".into(),
            });
        }
        let file = h5::File::open_streaming(path).map_err(|e| H5Error {
            file: path.to_path_buf(),
            object: "/".into(),
            message: explain(&e, "not a readable HDF5 file"),
        })?;
        let opened = H5File {
            path: path.to_path_buf(),
            file,
        };
        opened.check_not_truncated()?;
        Ok(opened)
    }

    /// Compare the end-of-file address the superblock records with the size on disk, as
    /// libhdf5 does: a shorter file was cut off (an interrupted copy or write).
    fn check_not_truncated(&self) -> Result<(), H5Error> {
        let recorded = self.file.superblock().eof_address;
        let actual = std::fs::metadata(&self.path)
            .map(|m| m.len())
            .unwrap_or(u64::MAX);
        if recorded != u64::MAX && actual < recorded {
            return Err(self.err(
                "/",
                format!("file is truncated: {actual} bytes on disk, the file says {recorded}"),
            ));
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, object: &str, message: impl Into<String>) -> H5Error {
        H5Error {
            file: self.path.clone(),
            object: object.to_string(),
            message: message.into(),
        }
    }

    fn group(&self, path: &str) -> Result<h5::Group, H5Error> {
        let g = if path.is_empty() || path == "/" {
            Ok(self.file.root())
        } else {
            self.file.group(path)
        };
        g.map_err(|e| self.err(path, explain(&e, "group not found")))
    }

    fn dataset(&self, path: &str) -> Result<h5::Dataset, H5Error> {
        self.file
            .dataset(path)
            .map_err(|e| self.err(path, explain(&e, "dataset not found")))
    }

    /// The dataset at `path`, once its recorded shape is one the file can hold: deflate packs at
    /// most about 1 032 values into a byte, so a dataset claiming more values than
    /// `MAX_VALUES_PER_BYTE` times the file's size (plus 1 Mi) has a damaged header. Refused here,
    /// before a read would try to allocate it.
    fn readable(&self, path: &str) -> Result<h5::Dataset, H5Error> {
        const MAX_VALUES_PER_BYTE: u64 = 1100;
        let ds = self.dataset(path)?;
        let shape = ds
            .shape()
            .map_err(|e| self.err(path, explain(&e, "cannot read shape")))?;
        let file_len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let limit = file_len.saturating_mul(MAX_VALUES_PER_BYTE) + (1 << 20);
        let values = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        match values {
            Some(n) if n <= limit => Ok(ds),
            _ => Err(self.err(
                path,
                format!(
                    "shape {shape:?} claims more values than a file of {file_len} bytes can                      hold (damaged header)"
                ),
            )),
        }
    }

    /// True when a group exists at `path`.
    pub fn has_group(&self, path: &str) -> bool {
        self.file.group(path).is_ok()
    }

    /// True when a dataset exists at `path`.
    pub fn has_dataset(&self, path: &str) -> bool {
        self.file.dataset(path).is_ok()
    }

    /// Names of the sub-groups of `path`, sorted.
    pub fn groups(&self, path: &str) -> Result<Vec<String>, H5Error> {
        let mut names = self
            .group(path)?
            .groups()
            .map_err(|e| self.err(path, explain(&e, "cannot list sub-groups")))?;
        names.sort();
        Ok(names)
    }

    /// Names of the datasets directly in group `path`, sorted.
    pub fn datasets(&self, path: &str) -> Result<Vec<String>, H5Error> {
        let mut names = self
            .group(path)?
            .datasets()
            .map_err(|e| self.err(path, explain(&e, "cannot list datasets")))?;
        names.sort();
        Ok(names)
    }

    /// The shape of a dataset.
    pub fn shape(&self, path: &str) -> Result<Vec<u64>, H5Error> {
        self.dataset(path)?
            .shape()
            .map_err(|e| self.err(path, explain(&e, "cannot read shape")))
    }

    /// Read an integer dataset as `u64`; negative values are an error.
    pub fn read_u64(&self, path: &str) -> Result<Vec<u64>, H5Error> {
        let ds = self.readable(path)?;
        match self.kind(&ds, path)? {
            Kind::Unsigned => ds.read_u64(),
            Kind::Signed => {
                let v = ds
                    .read_i64()
                    .map_err(|e| self.err(path, explain(&e, "cannot read")))?;
                if let Some(bad) = v.iter().find(|x| **x < 0) {
                    return Err(self.err(path, format!("negative id {bad}")));
                }
                return Ok(v.into_iter().map(|x| x as u64).collect());
            }
            Kind::Float => {
                let v = ds
                    .read_f64()
                    .map_err(|e| self.err(path, explain(&e, "cannot read")))?;
                if let Some(bad) = v.iter().find(|x| **x < 0.0 || x.fract() != 0.0) {
                    return Err(self.err(path, format!("{bad} is not a valid id")));
                }
                return Ok(v.into_iter().map(|x| x as u64).collect());
            }
            other => return Err(self.err(path, format!("expected integers, found {other:?}"))),
        }
        .map_err(|e| self.err(path, explain(&e, "cannot read")))
    }

    /// Read a numeric dataset as `f64`.
    pub fn read_f64(&self, path: &str) -> Result<Vec<f64>, H5Error> {
        let ds = self.readable(path)?;
        match self.kind(&ds, path)? {
            Kind::Float | Kind::Signed | Kind::Unsigned => ds
                .read_f64()
                .map_err(|e| self.err(path, explain(&e, "cannot read"))),
            other => Err(self.err(path, format!("expected numbers, found {other:?}"))),
        }
    }

    /// Read rows `start..start+count` along the first dimension of a numeric dataset as `f64`,
    /// flattened row-major.
    pub fn read_f64_rows(&self, path: &str, start: u64, count: u64) -> Result<Vec<f64>, H5Error> {
        self.readable(path)?
            .read_f64_rows(start, count)
            .map_err(|e| self.err(path, explain(&e, "cannot read rows")))
    }

    /// Read any dataset as a [`Column`], keeping its type family.
    pub fn read_column(&self, path: &str) -> Result<Column, H5Error> {
        let ds = self.readable(path)?;
        let read = match self.kind(&ds, path)? {
            Kind::Float => ds.read_f64().map(Column::Float),
            Kind::Signed => ds.read_i64().map(Column::Int),
            Kind::Unsigned => ds
                .read_u64()
                .map(|v| Column::Int(v.into_iter().map(|x| x as i64).collect())),
            Kind::Str => ds.read_string().map(|v| {
                Column::Str(
                    v.into_iter()
                        .map(|s| s.trim_end_matches('\0').to_string())
                        .collect(),
                )
            }),
            Kind::Other(t) => return Err(self.err(path, format!("unsupported datatype {t}"))),
        };
        read.map_err(|e| self.err(path, explain(&e, "cannot read")))
    }

    fn kind(&self, ds: &h5::Dataset, path: &str) -> Result<Kind, H5Error> {
        let dt = ds
            .dtype()
            .map_err(|e| self.err(path, explain(&e, "cannot read datatype")))?;
        Ok(match dt {
            h5::DType::F32 | h5::DType::F64 => Kind::Float,
            h5::DType::I8 | h5::DType::I16 | h5::DType::I32 | h5::DType::I64 => Kind::Signed,
            h5::DType::U8 | h5::DType::U16 | h5::DType::U32 | h5::DType::U64 => Kind::Unsigned,
            h5::DType::Enum(_) => Kind::Unsigned,
            h5::DType::String | h5::DType::VariableLengthString => Kind::Str,
            other => Kind::Other(other.to_string()),
        })
    }

    /// A string attribute of the group or dataset at `path` (None when absent).
    pub fn attr_string(&self, path: &str, name: &str) -> Result<Option<String>, H5Error> {
        let attrs = self.attrs(path)?;
        Ok(attrs.get(name).and_then(attr_text))
    }

    fn attrs(
        &self,
        path: &str,
    ) -> Result<std::collections::HashMap<String, h5::AttrValue>, H5Error> {
        let read = if let Ok(ds) = self.file.dataset(path) {
            ds.attrs()
        } else {
            self.group(path)?.attrs()
        };
        read.map_err(|e| self.err(path, explain(&e, "cannot read attributes")))
    }
}

#[derive(Debug)]
enum Kind {
    Float,
    Signed,
    Unsigned,
    Str,
    Other(String),
}

fn attr_text(value: &h5::AttrValue) -> Option<String> {
    use h5::AttrValue as A;
    Some(match value {
        A::String(s) | A::AsciiString(s) | A::VarLenString(s) | A::VarLenAsciiString(s) => {
            s.trim_end_matches('\0').to_string()
        }
        A::StringSized { value, .. } | A::AsciiStringSized { value, .. } => value.clone(),
        A::U8(x) => x.to_string(),
        A::U16(x) => x.to_string(),
        A::U32(x) => x.to_string(),
        A::U64(x) => x.to_string(),
        A::I8(x) => x.to_string(),
        A::I16(x) => x.to_string(),
        A::I32(x) => x.to_string(),
        A::I64(x) => x.to_string(),
        _ => return None,
    })
}

/// Turn a crate error into one line, adding advice for the layouts the crate cannot read.
fn explain(e: &h5::Error, fallback: &str) -> String {
    let text = e.to_string();
    let lower = text.to_lowercase();
    let advice = if lower.contains("continuation depth")
        || lower.contains("data layout version")
        || lower.contains("b-tree chunk index")
    {
        " (this HDF5 layout is not supported: re-save the file with `h5repack` or h5py's default libver)"
    } else {
        ""
    };
    if lower.contains("not found") || lower.contains("notfound") {
        format!("{fallback}{advice}")
    } else if text.is_empty() {
        fallback.to_string()
    } else {
        format!("{text}{advice}")
    }
}

/// Data for one dataset to write.
#[derive(Debug, Clone)]
pub enum Data {
    U64(Vec<u64>),
    /// Values row-major with their shape (`[n, k]` index tables).
    U64Shaped(Vec<u64>, Vec<u64>),
    U32(Vec<u32>),
    U16(Vec<u16>),
    I64(Vec<i64>),
    /// Values row-major with their shape (`[n]` or `[n, k]`).
    F64(Vec<f64>, Vec<u64>),
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::U64(v) => v.len(),
            Data::U64Shaped(v, _) => v.len(),
            Data::U32(v) => v.len(),
            Data::U16(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::F64(v, _) => v.len(),
        }
    }
}

/// An attribute value to write.
#[derive(Debug, Clone)]
pub enum Attr {
    U32(u32),
    U32Array(Vec<u32>),
    /// Written as a variable-length UTF-8 string, as h5py and BMTK write them.
    Str(String),
}

impl Attr {
    fn value(&self) -> h5::AttrValue {
        match self {
            Attr::U32(x) => h5::AttrValue::U32(*x),
            Attr::U32Array(x) => h5::AttrValue::U32Array(x.clone()),
            Attr::Str(s) => h5::AttrValue::VarLenString(s.clone()),
        }
    }
}

/// A file to write, built as a tree of groups and datasets by path, then written in one go
/// (gzip-chunked with chunks under 65,536 elements per dimension, which every HDF5 reader
/// accepts) through a temporary file.
#[derive(Debug, Default)]
pub struct H5Tree {
    root: TreeGroup,
}

/// A dataset to write: name, data and attributes.
type TreeDataset = (String, Data, Vec<(String, Attr)>);

#[derive(Debug, Default)]
struct TreeGroup {
    groups: std::collections::BTreeMap<String, TreeGroup>,
    datasets: Vec<TreeDataset>,
    attrs: Vec<(String, Attr)>,
}

impl TreeGroup {
    fn at(&mut self, path: &str) -> &mut TreeGroup {
        let mut g = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            g = g.groups.entry(part.to_string()).or_default();
        }
        g
    }
}

fn split_last(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    match path.rsplit_once('/') {
        Some((dir, name)) => (dir, name),
        None => ("", path),
    }
}

const CHUNK: u64 = 10_000;

impl H5Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a dataset at `path` (parent groups are created).
    pub fn dataset(&mut self, path: &str, data: Data) -> &mut Self {
        let (dir, name) = split_last(path);
        self.root
            .at(dir)
            .datasets
            .push((name.to_string(), data, Vec::new()));
        self
    }

    /// Attach an attribute to the dataset at `path` (added earlier).
    pub fn dataset_attr(&mut self, path: &str, name: &str, value: Attr) -> &mut Self {
        let (dir, ds) = split_last(path);
        if let Some(entry) = self.root.at(dir).datasets.iter_mut().find(|d| d.0 == ds) {
            entry.2.push((name.to_string(), value));
        }
        self
    }

    /// Attach an attribute to the group at `path` ("/" for the root); creates the group.
    pub fn group_attr(&mut self, path: &str, name: &str, value: Attr) -> &mut Self {
        self.root.at(path).attrs.push((name.to_string(), value));
        self
    }

    /// Make sure an (possibly empty) group exists.
    pub fn group(&mut self, path: &str) -> &mut Self {
        self.root.at(path);
        self
    }

    /// Write the file to `dest` through a temporary file.
    pub fn write(&self, dest: &Path, force: bool) -> Result<(), H5Error> {
        let fail = |message: String| H5Error {
            file: dest.to_path_buf(),
            object: "/".into(),
            message,
        };
        let mut builder = h5::FileBuilder::new();
        for (name, value) in &self.root.attrs {
            builder.set_attr(name, value.value());
        }
        for (name, data, attrs) in &self.root.datasets {
            let ds = builder.create_dataset(name);
            fill_dataset(ds, data, attrs);
        }
        for (name, group) in &self.root.groups {
            let mut gb = builder.create_group(name);
            fill_group(&mut gb, group);
            builder.add_group(gb.finish());
        }
        let bytes = builder.finish().map_err(|e| fail(e.to_string()))?;
        crate::output::write_atomic(dest, &bytes, force).map_err(|e| fail(e.message))
    }
}

impl H5Tree {
    /// Write the file like [`H5Tree::write`], releasing each dataset's values as soon as the
    /// HDF5 builder has copied them, so a large file needs one copy of its data, not two.
    pub fn write_owned(self, dest: &Path, force: bool) -> Result<(), H5Error> {
        let fail = |message: String| H5Error {
            file: dest.to_path_buf(),
            object: "/".into(),
            message,
        };
        let mut builder = h5::FileBuilder::new();
        let root = self.root;
        for (name, value) in &root.attrs {
            builder.set_attr(name, value.value());
        }
        for (name, data, attrs) in root.datasets {
            let ds = builder.create_dataset(&name);
            fill_dataset(ds, &data, &attrs);
        }
        for (name, group) in root.groups {
            let mut gb = builder.create_group(&name);
            fill_group_owned(&mut gb, group);
            builder.add_group(gb.finish());
        }
        let bytes = builder.finish().map_err(|e| fail(e.to_string()))?;
        crate::output::write_atomic(dest, &bytes, force).map_err(|e| fail(e.message))
    }
}

fn fill_group_owned(gb: &mut h5::GroupBuilder, group: TreeGroup) {
    for (name, value) in &group.attrs {
        gb.set_attr(name, value.value());
    }
    for (name, data, attrs) in group.datasets {
        let ds = gb.create_dataset(&name);
        fill_dataset(ds, &data, &attrs);
    }
    for (name, child) in group.groups {
        let mut sub = gb.create_group(&name);
        fill_group_owned(&mut sub, child);
        gb.add_group(sub.finish());
    }
}

fn fill_group(gb: &mut h5::GroupBuilder, group: &TreeGroup) {
    for (name, value) in &group.attrs {
        gb.set_attr(name, value.value());
    }
    for (name, data, attrs) in &group.datasets {
        let ds = gb.create_dataset(name);
        fill_dataset(ds, data, attrs);
    }
    for (name, child) in &group.groups {
        let mut sub = gb.create_group(name);
        fill_group(&mut sub, child);
        gb.add_group(sub.finish());
    }
}

fn fill_dataset(ds: &mut h5::DatasetBuilder, data: &Data, attrs: &[(String, Attr)]) {
    let shape = match data {
        Data::U64(v) => {
            ds.with_u64_data(v);
            vec![v.len() as u64]
        }
        Data::U64Shaped(v, shape) => {
            ds.with_u64_data(v).with_shape(shape);
            shape.clone()
        }
        Data::U32(v) => {
            ds.with_u32_data(v);
            vec![v.len() as u64]
        }
        Data::U16(v) => {
            ds.with_u16_data(v);
            vec![v.len() as u64]
        }
        Data::I64(v) => {
            ds.with_i64_data(v);
            vec![v.len() as u64]
        }
        Data::F64(v, shape) => {
            ds.with_f64_data(v).with_shape(shape);
            shape.clone()
        }
    };
    if data.len() > 0 {
        let rows = shape[0].clamp(1, CHUNK);
        let mut chunk = vec![rows];
        chunk.extend(shape.iter().skip(1).map(|d| (*d).clamp(1, 65_535)));
        ds.with_chunks(&chunk).with_deflate(4);
    }
    for (name, value) in attrs {
        ds.set_attr(name, value.value());
    }
}
