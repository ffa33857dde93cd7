//! `bmtool util cell ...`: find the HOC files and mechanisms the user named (`--hoc`,
//! `--hoc-folder`, or a config's `components`), pick the template (`--template`, an interactive
//! choice on a terminal, or the only one), load it and print `list` or `info`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::cell::hoc::{load_cell, template_names, HocSource, LoadOptions};
use crate::cell::info::cell_info;
use crate::cell::mechanism::folder::CellMechanisms;
use crate::cell::morphology::CellModel;
use crate::cell::nmodl::CompileOptions;
use crate::cli::cell::{CellArgs, CellCommand, CellFormat, CellSourceArgs};
use crate::report::cell::{info_table, json, template_table, TemplateRow};

use super::AppError;

/// HOC files to run and the folder their mechanisms come from.
#[derive(Debug, Clone, PartialEq)]
struct CellFiles {
    hoc_files: Vec<PathBuf>,
    mod_folder: Option<PathBuf>,
}

/// Run `bmtool util cell ...`.
pub fn run(args: &CellArgs, verbose: bool) -> Result<(), AppError> {
    if let CellCommand::Mechanisms(list) = &args.command {
        // A mod folder needs no cell: answer before looking for HOC files.
        super::print(&mechanism_listing(&args.source, list.format)?);
        return Ok(());
    }
    if let (Some(swc), Some(fit)) = (&args.source.swc, &args.source.fit_json) {
        return allen(args, swc, fit);
    }
    let files = resolve_files(&args.source)?;
    if verbose {
        eprintln!(
            "HOC files: {}; mod folder: {}",
            describe(&files.hoc_files),
            files
                .mod_folder
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none".into())
        );
    }
    let mechanisms = CellMechanisms::load_with(files.mod_folder.as_deref(), compile_options(args))?;
    let source = HocSource {
        files: &files.hoc_files,
        mechanisms: &mechanisms,
    };
    let options = LoadOptions {
        celsius_degc: args.celsius,
        v_init_mv: args.v_init,
    };
    let text = match &args.command {
        CellCommand::List(list) => list_templates(source, options, list.format)?,
        CellCommand::Mechanisms(list) => mechanism_listing(&args.source, list.format)?,
        CellCommand::Info(info) => {
            let cell = selected_cell(source, args, options)?;
            let described = cell_info(&cell.model, &mechanisms.registry, &cell.name)?;
            match info.format {
                CellFormat::Table => info_table(&described),
                CellFormat::Json => json(&described),
            }
        }
        protocol => {
            let cell = selected_cell(source, args, options)?;
            super::protocol::run(protocol, &cell.model, &mechanisms.registry)?;
            return Ok(());
        }
    };
    super::print(&text);
    Ok(())
}

/// The one cell a command works on: what every single-cell subcommand (info and the
/// protocols) starts from.
struct SelectedCell {
    /// Template (or model) name.
    name: String,
    /// The cell.
    model: CellModel,
}

/// Load the cell the options select: the template chosen by [`choose_template`].
fn selected_cell(
    source: HocSource,
    args: &CellArgs,
    options: LoadOptions,
) -> Result<SelectedCell, AppError> {
    let template = choose_template(source, args.template.as_deref())?;
    let cell = load_cell(source, &template, options)?;
    Ok(SelectedCell {
        name: template,
        model: cell.model,
    })
}

/// `bmtool util cell mechanisms`: what a mod folder provides, without loading any cell.
fn mechanism_listing(source: &CellSourceArgs, format: CellFormat) -> Result<String, AppError> {
    let folder = match &source.mod_folder {
        Some(folder) => folder.clone(),
        None if source.swc.is_some() => {
            let swc = source.swc.as_deref().unwrap_or(Path::new("."));
            modfiles_in(swc.parent().unwrap_or(Path::new("."))).ok_or_else(no_mod_folder)?
        }
        None => resolve_files(source)?
            .mod_folder
            .ok_or_else(no_mod_folder)?,
    };
    let rows = crate::cell::nmodl::listing::list_mod_folder(&folder)?;
    Ok(match format {
        CellFormat::Table => crate::cell::nmodl::listing::render_table(&rows),
        CellFormat::Json => crate::cell::nmodl::listing::render_json(&rows),
    })
}

fn no_mod_folder() -> AppError {
    AppError::Usage("no mod folder: pass --mod-folder DIR".into())
}

/// How the mechanisms are compiled (`--libm-exp`, `--no-jit`).
fn compile_options(args: &CellArgs) -> CompileOptions {
    CompileOptions {
        fast_exp: !args.libm_exp,
        native: !args.no_jit,
        fused: !args.no_jit,
    }
}

/// `--swc FILE --fit-json FILE`: an Allen perisomatic cell (mechanisms from --mod-folder or the
/// modfiles/ folder beside the SWC file).
fn allen(args: &CellArgs, swc: &Path, fit: &Path) -> Result<(), AppError> {
    let mod_folder = match &args.source.mod_folder {
        Some(folder) => Some(folder.clone()),
        None => modfiles_in(swc.parent().unwrap_or(Path::new("."))),
    };
    let mechanisms = CellMechanisms::load_with(mod_folder.as_deref(), compile_options(args))?;
    let mut cell = crate::cell::allen::load(swc, fit)?;
    if let Some(celsius) = args.celsius {
        cell.model.celsius_degc = celsius;
    }
    if let Some(v_init) = args.v_init {
        cell.model.v_init_mv = v_init;
    }
    let name = swc
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "allen_cell".into());
    let text = match &args.command {
        CellCommand::List(list) => {
            let rows = vec![TemplateRow {
                template: name,
                sections: Some(cell.model.sections.len()),
                compartments: Some(cell.model.sections.iter().map(|s| s.nseg).sum()),
                error: None,
            }];
            match list.format {
                CellFormat::Table => template_table(&rows),
                CellFormat::Json => json(&rows),
            }
        }
        CellCommand::Info(info) => {
            let described = cell_info(&cell.model, &mechanisms.registry, &name)?;
            match info.format {
                CellFormat::Table => info_table(&described),
                CellFormat::Json => json(&described),
            }
        }
        CellCommand::Mechanisms(list) => mechanism_listing(&args.source, list.format)?,
        protocol => {
            super::protocol::run(protocol, &cell.model, &mechanisms.registry)?;
            return Ok(());
        }
    };
    super::print(&text);
    Ok(())
}

fn describe(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turn `--config` / `--hoc-folder` / `--hoc` / `--mod-folder` into files and a mod folder.
fn resolve_files(source: &CellSourceArgs) -> Result<CellFiles, AppError> {
    let given = [
        source.config.is_some(),
        source.hoc_folder.is_some(),
        source.hoc.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(AppError::Usage(
            "give only one of --config, --hoc-folder and --hoc".into(),
        ));
    }
    let (hoc_files, default_mod) = if let Some(file) = &source.hoc {
        if !file.is_file() {
            return Err(AppError::Usage(format!(
                "{}: no such HOC file",
                file.display()
            )));
        }
        let folder = file.parent().map(Path::to_path_buf).unwrap_or_default();
        (vec![file.clone()], modfiles_in(&folder))
    } else if let Some(folder) = &source.hoc_folder {
        (hoc_files_in(folder)?, modfiles_in(folder))
    } else if let Some(config) = &source.config {
        from_config(config)?
    } else {
        let folder = PathBuf::from(".");
        eprintln!("note: no --hoc, --hoc-folder or --config given; reading the HOC files in ./");
        (hoc_files_in(&folder)?, modfiles_in(&folder))
    };
    let mod_folder = match &source.mod_folder {
        Some(folder) if !folder.is_dir() => {
            return Err(AppError::Usage(format!(
                "{}: --mod-folder is not a folder",
                folder.display()
            )))
        }
        Some(folder) => Some(folder.clone()),
        None => default_mod,
    };
    Ok(CellFiles {
        hoc_files,
        mod_folder,
    })
}

/// `<folder>/modfiles` when it exists (the layout of BMTK components and of bmtool examples).
fn modfiles_in(folder: &Path) -> Option<PathBuf> {
    let modfiles = folder.join("modfiles");
    modfiles.is_dir().then_some(modfiles)
}

/// The `*.hoc` files of a folder, sorted by name.
fn hoc_files_in(folder: &Path) -> Result<Vec<PathBuf>, AppError> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| AppError::Usage(format!("{}: {e}", folder.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "hoc") && path.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(AppError::Usage(format!(
            "{}: no .hoc files in this folder",
            folder.display()
        )));
    }
    Ok(files)
}

/// `components.templates_dir` and `components.mechanisms_dir` of a BMTK config.
fn from_config(config: &Path) -> Result<(Vec<PathBuf>, Option<PathBuf>), AppError> {
    let json =
        crate::sonata::config::expanded_json(config).map_err(|e| AppError::Usage(e.to_string()))?;
    let component = |key: &str| {
        json.pointer(&format!("/components/{key}"))
            .and_then(|v| v.as_str())
            .map(PathBuf::from)
    };
    let templates = component("templates_dir").ok_or_else(|| {
        AppError::Usage(format!(
            "{}: no components.templates_dir (where the HOC templates are)",
            config.display()
        ))
    })?;
    let mod_folder = component("mechanisms_dir").map(|dir| modfiles_in(&dir).unwrap_or(dir));
    Ok((hoc_files_in(&templates)?, mod_folder))
}

/// `--template`, else the only template, else an interactive choice on a terminal.
fn choose_template(source: HocSource, requested: Option<&str>) -> Result<String, AppError> {
    if let Some(name) = requested {
        return Ok(name.to_string());
    }
    let names = template_names(source)?;
    match names.len() {
        0 => Err(AppError::Usage(format!(
            "no templates (begintemplate) in {}",
            describe(source.files)
        ))),
        1 => Ok(names[0].clone()),
        _ if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            let choice = dialoguer::Select::new()
                .with_prompt("Select a cell")
                .items(&names)
                .default(0)
                .interact_opt()
                .map_err(|e| AppError::Usage(format!("template selection failed: {e}")))?;
            choice
                .map(|index| names[index].clone())
                .ok_or_else(|| AppError::Usage("no template selected".into()))
        }
        n => Err(AppError::Usage(format!(
            "{n} templates found ({}); choose one with --template NAME",
            names.join(", ")
        ))),
    }
}

/// Every template with its sections and compartments (or the reason it does not load).
fn list_templates(
    source: HocSource,
    options: LoadOptions,
    format: CellFormat,
) -> Result<String, AppError> {
    let names = template_names(source)?;
    let rows: Vec<TemplateRow> = names
        .iter()
        .map(|name| match load_cell(source, name, options) {
            Ok(cell) => TemplateRow {
                template: name.clone(),
                sections: Some(cell.model.sections.len()),
                compartments: Some(cell.model.sections.iter().map(|s| s.nseg).sum()),
                error: None,
            },
            Err(e) => TemplateRow {
                template: name.clone(),
                sections: None,
                compartments: None,
                error: Some(e.to_string()),
            },
        })
        .collect();
    if rows.is_empty() {
        return Err(AppError::Usage(format!(
            "no templates (begintemplate) in {}",
            describe(source.files)
        )));
    }
    Ok(match format {
        CellFormat::Table => template_table(&rows),
        CellFormat::Json => json(&rows),
    })
}
