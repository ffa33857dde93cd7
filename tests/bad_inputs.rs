//! The bad-input corpus: every folder under `tests/bad_inputs/` is one case (its input files plus
//! a `case.toml` naming the command line and what must happen). Each case is copied into a fresh
//! temporary folder and the built binary runs there with `{dir}` replaced by that folder and
//! `{examples}` by the repository's examples/ folder (read-only inputs several cases share, such
//! as the example cell).
//!
//! An `"error"` case must exit with code 2 (never 1, an internal error, nor 101, a panic), print a
//! one-line `error:` naming every `names` substring, and leave the folder exactly as it was (no
//! new, changed or removed file). An `"ok"` case must exit 0 and leave every input unchanged. A run
//! longer than the timeout is killed and fails. An `"ok"` case may list `outputs`: files the
//! command must leave behind (and may replace, with `--force`). All failing cases are reported
//! together. Folders
//! whose names start with `fuzz-` come from the fuzzing work and follow the same format.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shipped examples, which cases may read (never write) as `{examples}`.
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
use serde::Deserialize;

/// A run longer than this is a hang.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How many cases run at once (the machine is small and shared).
const WORKERS: usize = 2;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    args: Vec<String>,
    expect: Expect,
    #[serde(default)]
    names: Vec<String>,
    /// Files (relative to the case folder) an "ok" run must write; they may replace inputs.
    #[serde(default)]
    outputs: Vec<PathBuf>,
}

#[derive(Debug, Deserialize, PartialEq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Error,
    Ok,
}

/// What one run produced.
struct Outcome {
    /// `None` when the run was killed after the timeout.
    status: Option<ExitStatus>,
    stderr: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/bad_inputs exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Copy a folder tree (files and subfolders).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// Every file and folder under `root` with its bytes (folders map to `None`).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if path.is_dir() {
                all.insert(rel, None);
                stack.push(path);
            } else {
                all.insert(rel, std::fs::read(&path).ok());
            }
        }
    }
    all
}

/// Run the binary, killing it after `TIMEOUT`.
fn run(args: &[String], cwd: &Path, logs: &Path) -> std::io::Result<Outcome> {
    let out_path = logs.join("stdout");
    let err_path = logs.join("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path)?)
        .stderr(File::create(&err_path)?)
        .spawn()?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = String::from_utf8_lossy(&std::fs::read(&err_path)?).to_string();
    Ok(Outcome { status, stderr })
}

/// Differences between two snapshots, as short descriptions.
fn changes(
    before: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    after: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    new_allowed: bool,
    outputs: &[PathBuf],
) -> Vec<String> {
    let mut found = Vec::new();
    for (path, bytes) in before.iter().filter(|(p, _)| !outputs.contains(p)) {
        match after.get(path) {
            None => found.push(format!("{} was removed", path.display())),
            Some(now) if now != bytes => found.push(format!("{} was modified", path.display())),
            _ => {}
        }
    }
    if !new_allowed {
        for path in after.keys().filter(|p| !before.contains_key(*p)) {
            found.push(format!("{} was created", path.display()));
        }
    }
    found
}

/// The problems with one case (empty when it passes).
fn check_case(dir: &Path) -> Vec<String> {
    let text = match std::fs::read_to_string(dir.join("case.toml")) {
        Ok(t) => t,
        Err(e) => return vec![format!("cannot read case.toml: {e}")],
    };
    let spec: CaseSpec = match toml::from_str(&text) {
        Ok(s) => s,
        Err(e) => return vec![format!("case.toml: {e}")],
    };
    let work = tempfile::tempdir().expect("a temporary folder");
    let logs = tempfile::tempdir().expect("a temporary folder");
    let root = work.path().join("case");
    if let Err(e) = copy_tree(dir, &root) {
        return vec![format!("cannot copy the case: {e}")];
    }
    let root_text = root.to_string_lossy().to_string();
    let args: Vec<String> = spec
        .args
        .iter()
        .map(|a| {
            a.replace("{dir}", &root_text)
                .replace("{examples}", EXAMPLES)
        })
        .collect();
    let before = snapshot(&root);
    let outcome = match run(&args, &root, logs.path()) {
        Ok(o) => o,
        Err(e) => return vec![format!("cannot run bmtool: {e}")],
    };
    let after = snapshot(&root);
    let is_ok = spec.expect == Expect::Ok;
    let outputs: &[PathBuf] = if is_ok { &spec.outputs } else { &[] };
    let mut problems = changes(&before, &after, is_ok, outputs);
    for missing in outputs.iter().filter(|p| !after.contains_key(*p)) {
        problems.push(format!("{} was not written", missing.display()));
    }
    problems.extend(judge(&spec, &outcome));
    problems
}

/// Compare one run with what its case expects.
fn judge(spec: &CaseSpec, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let stderr = outcome.stderr.trim_end();
    let Some(status) = outcome.status else {
        problems.push(format!("hung: killed after {} s", TIMEOUT.as_secs()));
        return problems;
    };
    let want = match spec.expect {
        Expect::Error => 2,
        Expect::Ok => 0,
    };
    if status.code() != Some(want) {
        problems.push(format!(
            "exit code {:?}, expected {want}; stderr: {stderr}",
            status.code()
        ));
    }
    if spec.expect == Expect::Error {
        match error_message(stderr) {
            None => problems.push(format!("no `error:` line on stderr: {stderr}")),
            Some(message) => {
                for name in spec.names.iter().filter(|n| !message.contains(n.as_str())) {
                    problems.push(format!("the error does not name {name:?}: {message}"));
                }
            }
        }
    }
    problems
}

/// The `error:` line of stderr. bmtool's own errors are one line; clap's end that line with a
/// colon and list the arguments below it, so those keep the rest of stderr.
fn error_message(stderr: &str) -> Option<&str> {
    let start = stderr.find("error:")?;
    let rest = &stderr[start..];
    let line = rest.lines().next().unwrap_or(rest);
    Some(if line.trim_end().ends_with(':') {
        rest
    } else {
        line
    })
}

#[test]
fn every_case_in_the_corpus() {
    let dirs = case_dirs();
    assert!(dirs.len() >= 60, "only {} cases", dirs.len());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(dir) = dirs.get(k) else { break };
                let problems = check_case(dir);
                if !problems.is_empty() {
                    let name = dir.file_name().unwrap_or_default().to_string_lossy();
                    let text = format!("{name}:\n    {}", problems.join("\n    "));
                    failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(text);
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
