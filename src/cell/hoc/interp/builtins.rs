//! Built-in functions: math, `numarg`, `load_file`, `pt3dadd`, `distance`, `issection`,
//! `ismembrane`, `area`/`ri`, and the simulation-control names that are refused.

use super::*;

impl Interpreter<'_> {
    pub(super) fn call_builtin(
        &mut self,
        f: &mut Frame,
        name: &str,
        args: &[Value],
        line: usize,
    ) -> Option<R<Value>> {
        let math: Option<fn(f64) -> f64> = match name {
            "exp" => Some(f64::exp),
            "log" => Some(f64::ln),
            "log10" => Some(f64::log10),
            "sqrt" => Some(f64::sqrt),
            "sin" => Some(f64::sin),
            "cos" => Some(f64::cos),
            "tan" => Some(f64::tan),
            "atan" => Some(f64::atan),
            "tanh" => Some(f64::tanh),
            "fabs" | "abs" => Some(f64::abs),
            "int" => Some(f64::trunc),
            "floor" => Some(f64::floor),
            "ceil" => Some(f64::ceil),
            _ => None,
        };
        if let Some(function) = math {
            return Some(
                self.numbers(f, name, args, 1, line)
                    .map(|v| Value::Num(function(v[0]))),
            );
        }
        Some(match name {
            "pow" => self.numbers(f, name, args, 2, line).map(|v| Value::Num(v[0].powf(v[1]))),
            "atan2" => self.numbers(f, name, args, 2, line).map(|v| Value::Num(v[0].atan2(v[1]))),
            "numarg" => Ok(Value::Num(f.args.len() as f64)),
            "printf" => self.printf(f, args, line),
            "load_file" => self.load_file(f, args, line),
            "define_shape" => Ok(Value::Num(0.0)),
            "pt3dadd" => self.pt3dadd(f, args, line),
            "pt3dclear" => self.current_section(f, line).map(|id| {
                self.model.sections[id.0].pt3d.clear();
                Value::Num(0.0)
            }),
            "n3d" => self
                .current_section(f, line)
                .map(|id| Value::Num(self.model.sections[id.0].pt3d.len() as f64)),
            "distance" => self.distance(f, args, line),
            "issection" => self.issection(f, args, line),
            "ismembrane" => self.ismembrane(f, args, line),
            "secname" => self
                .current_section(f, line)
                .map(|id| Value::Str(Rc::from(self.model.sections[id.0].name.as_str()))),
            "area" | "ri" => self.segment_geometry(f, name, args, line),
            "strcmp" => match args {
                [Value::Str(a), Value::Str(b)] => Ok(Value::Num(match a.cmp(b) {
                    std::cmp::Ordering::Less => -1.0,
                    std::cmp::Ordering::Equal => 0.0,
                    std::cmp::Ordering::Greater => 1.0,
                })),
                _ => Err(self.err(f, line, "strcmp needs two strings")),
            },
            "finitialize" | "run" | "continuerun" | "fadvance" | "init" | "stdinit" => Err(self.err(
                f,
                line,
                format!("{name}(): running simulations from HOC is not supported; use bmtool's protocols"),
            )),
            "execute" | "execute1" | "xopen" | "nrn_load_dll" | "sprintf" => Err(self.err(
                f,
                line,
                format!("{name}() is not supported by the built-in HOC loader"),
            )),
            _ => return None,
        })
    }

    pub(super) fn numbers(
        &self,
        f: &Frame,
        name: &str,
        args: &[Value],
        count: usize,
        line: usize,
    ) -> R<Vec<f64>> {
        if args.len() != count {
            return Err(self.err(
                f,
                line,
                format!("{name}() takes {count} arguments, got {}", args.len()),
            ));
        }
        args.iter().map(|a| self.num(f, a.clone(), line)).collect()
    }

    pub(super) fn string_arg<'v>(
        &self,
        f: &Frame,
        name: &str,
        args: &'v [Value],
        line: usize,
    ) -> R<&'v str> {
        match args.last() {
            Some(Value::Str(s)) => Ok(s),
            _ => Err(self.err(f, line, format!("{name}() needs a string argument"))),
        }
    }

    pub(super) fn load_file(&mut self, f: &mut Frame, args: &[Value], line: usize) -> R<Value> {
        let name = self.string_arg(f, "load_file", args, line)?.to_string();
        let base = Path::new(&*f.file).parent().unwrap_or(Path::new("."));
        let path = base.join(&name);
        let is_library = LIBRARY_FILES.contains(&name.as_str());
        if !path.exists() {
            if is_library {
                return Ok(Value::Num(1.0));
            }
            return Err(self.err(
                f,
                line,
                format!("load_file: {name} not found in {}", base.display()),
            ));
        }
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if is_library || self.loaded.contains(&canonical) {
            return Ok(Value::Num(1.0));
        }
        self.depth += 1;
        if self.depth > MAX_CALL_DEPTH {
            self.depth -= 1;
            return Err(self.err(f, line, "load_file nested too deeply"));
        }
        let stack = std::mem::take(&mut self.stack);
        let result = self.run_file(&path);
        self.stack = stack;
        self.depth -= 1;
        result.map(|_| Value::Num(1.0))
    }

    pub(super) fn pt3dadd(&mut self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let v = self.numbers(f, "pt3dadd", args, 4, line)?;
        let id = self.current_section(f, line)?;
        self.model
            .add_pt3d(id, Pt3d::new(v[0], v[1], v[2], v[3]))
            .map_err(|e| self.model_err(f, line, e))?;
        Ok(Value::Num(1.0))
    }

    /// `distance()` / `distance(0, x)` set the origin; `distance(x)` / `distance(1, x)` measure
    /// the path length (um) from it to the current section at x.
    pub(super) fn distance(&mut self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let v: Vec<f64> = args
            .iter()
            .map(|a| self.num(f, a.clone(), line))
            .collect::<R<_>>()?;
        let id = self.current_section(f, line)?;
        let (set_origin, x) = match v.as_slice() {
            [] => (true, 0.0),
            [x] => (false, *x),
            [mode, x] => (*mode == 0.0, *x),
            _ => return Err(self.err(f, line, "distance() takes at most 2 arguments")),
        };
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(f, line, format!("distance: position {x} is outside 0..1")));
        }
        if set_origin {
            self.distance_origin = Some((id, x));
            return Ok(Value::Num(0.0));
        }
        let origin = self
            .distance_origin
            .ok_or_else(|| self.err(f, line, "distance(x) before distance(0, x) set an origin"))?;
        self.path_distance(origin, (id, x))
            .map(Value::Num)
            .ok_or_else(|| self.err(f, line, "distance: the sections are not in the same tree"))
    }

    /// The positions passed walking from (section, x) to the root: the point itself, then each
    /// parent connection point.
    pub(super) fn chain(&self, start: (SectionId, f64)) -> Vec<(SectionId, f64)> {
        let mut chain = vec![start];
        let mut current = start.0;
        while let Some(connection) = self.model.sections[current.0].parent {
            if chain.len() > self.model.sections.len() {
                break;
            }
            chain.push((connection.parent, connection.parent_x));
            current = connection.parent;
        }
        chain
    }

    pub(super) fn path_distance(&self, a: (SectionId, f64), b: (SectionId, f64)) -> Option<f64> {
        let chain_a = self.chain(a);
        let chain_b = self.chain(b);
        let length = |id: SectionId| self.model.sections[id.0].length();
        for (i, &(section, xa)) in chain_a.iter().enumerate() {
            if let Some(j) = chain_b.iter().position(|(s, _)| *s == section) {
                let up = |chain: &[(SectionId, f64)], k: usize| -> f64 {
                    chain[..k].iter().map(|(s, x)| x * length(*s)).sum()
                };
                let xb = chain_b[j].1;
                return Some(up(&chain_a, i) + up(&chain_b, j) + (xa - xb).abs() * length(section));
            }
        }
        None
    }

    pub(super) fn issection(&self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let pattern_text = self.string_arg(f, "issection", args, line)?;
        let pattern = Pattern::new(pattern_text)
            .ok_or_else(|| self.err(f, line, format!("bad pattern \"{pattern_text}\"")))?;
        let id = self.current_section(f, line)?;
        Ok(Value::Num(f64::from(u8::from(
            pattern.is_match(&self.model.sections[id.0].name),
        ))))
    }

    pub(super) fn ismembrane(&self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let name = self.string_arg(f, "ismembrane", args, line)?;
        let id = self.current_section(f, line)?;
        let section = &self.model.sections[id.0];
        let present = section.mechanism(name).is_some()
            || name.strip_suffix("_ion").is_some_and(|ion| {
                section.mechanisms.iter().any(|m| {
                    self.names
                        .mechanism(&m.name)
                        .is_some_and(|info| info.ions.iter().any(|u| u.ion == ion))
                })
            });
        Ok(Value::Num(f64::from(u8::from(present))))
    }

    pub(super) fn segment_geometry(
        &self,
        f: &Frame,
        name: &str,
        args: &[Value],
        line: usize,
    ) -> R<Value> {
        let x = self.numbers(f, name, args, 1, line)?[0];
        let id = self.current_section(f, line)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(f, line, format!("{name}: position {x} is outside 0..1")));
        }
        let disc = Discretization::new(&self.model).map_err(|e| self.model_err(f, line, e))?;
        let segment = segment_index(x, self.model.sections[id.0].nseg);
        let geometry = disc.segments[id.0][segment];
        Ok(Value::Num(if name == "area" {
            geometry.area_um2
        } else {
            geometry.ri_mohm
        }))
    }

    /// `printf(format, ...)` with `%g %f %e %d %s %%` (flags and widths ignored), to stderr.
    pub(super) fn printf(&self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let Some(Value::Str(format)) = args.first() else {
            return Err(self.err(f, line, "printf needs a format string"));
        };
        let mut out = String::new();
        let mut rest = args[1..].iter();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || ".-+ ".contains(*c))
            {
                chars.next();
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some(_) => {
                    let value = rest
                        .next()
                        .ok_or_else(|| self.err(f, line, "printf: too few arguments"))?;
                    out.push_str(&self.display(value));
                }
                None => out.push('%'),
            }
        }
        eprint!("{out}");
        Ok(Value::Num(out.len() as f64))
    }

    /// A value as `print` shows it.
    pub(super) fn display(&self, value: &Value) -> String {
        match value {
            Value::Num(v) => format!("{v}"),
            Value::Str(s) => s.to_string(),
            Value::Obj(Some(id)) => format!("object {id}"),
            Value::Obj(None) => "NULLobject".to_string(),
            Value::Pointer(id, x) => format!("&{}({x})", self.model.sections[id.0].name),
        }
    }
}
