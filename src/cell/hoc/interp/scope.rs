//! Name resolution: sections in scope, the current section, and what a name means (local,
//! object variable, built-in global, mechanism GLOBAL, section property, range or ion variable),
//! read and written.

use super::*;

impl Interpreter<'_> {
    // ----- sections -------------------------------------------------------------------------

    pub(super) fn instance(&self, obj: ObjId) -> &Instance {
        match &self.objects[obj] {
            Object::Instance(instance) => instance,
            // Frames and section scopes only ever refer to instances (or the top object).
            _ => unreachable!("frame object {obj} is not a template instance"),
        }
    }

    pub(super) fn instance_mut(&mut self, obj: ObjId) -> &mut Instance {
        match &mut self.objects[obj] {
            Object::Instance(instance) => instance,
            _ => unreachable!("frame object {obj} is not a template instance"),
        }
    }

    pub(super) fn resolve_section(
        &mut self,
        f: &mut Frame,
        section: &SectionRef,
        line: usize,
    ) -> R<SectionId> {
        let index = match &section.index {
            Some(e) => Some(self.eval_num(f, e, line)?),
            None => None,
        };
        let Some(array) = self.instance(f.obj).sections.get(&section.name) else {
            return Err(self.err(f, line, format!("no section named {}", section.name)));
        };
        let position = match index {
            Some(i) if !array.is_array => {
                return Err(self.err(
                    f,
                    line,
                    format!(
                        "{} is not an array; {}[{i}] does not exist",
                        section.name, section.name
                    ),
                ))
            }
            Some(i) => i,
            None => 0.0,
        };
        if position < 0.0 || position as usize >= array.ids.len() {
            return Err(self.err(
                f,
                line,
                format!(
                    "{}[{position}] does not exist ({} has {} sections)",
                    section.name,
                    section.name,
                    array.ids.len()
                ),
            ));
        }
        Ok(array.ids[position as usize])
    }

    pub(super) fn current_section(&self, f: &Frame, line: usize) -> R<SectionId> {
        self.stack.last().copied().or(self.accessed).ok_or_else(|| {
            self.err(
                f,
                line,
                "no section is selected here (use soma { ... }, soma stmt or access soma)",
            )
        })
    }

    // ----- names ----------------------------------------------------------------------------

    pub(super) fn range_name(&self, name: &str) -> Option<RangeName> {
        Some(match name {
            "L" => RangeName::Length,
            "diam" => RangeName::Diam,
            "nseg" => RangeName::Nseg,
            "Ra" => RangeName::Ra,
            "cm" => RangeName::Cm,
            "v" => RangeName::V,
            _ => {
                if let Some((mechanism, variable)) = self.names.range(name) {
                    RangeName::Mechanism(mechanism, variable)
                } else {
                    let (ion, field) = self.names.ion_variable(name)?;
                    RangeName::Ion(ion, field)
                }
            }
        })
    }

    pub(super) fn read_name(&self, f: &Frame, name: &str, line: usize) -> R<Value> {
        if let Some(value) = f.locals.get(name) {
            return Ok(value.clone());
        }
        let instance = self.instance(f.obj);
        match instance.vars.get(name) {
            Some(Slot::Scalar(value)) => return Ok(value.clone()),
            Some(Slot::Array(_)) => {
                return Err(self.err(f, line, format!("{name} is an array; use {name}[i]")))
            }
            None => {}
        }
        if instance.sections.contains_key(name) {
            return Err(self.err(f, line, format!("section {name} used as a value")));
        }
        if let Some(value) = self.builtins.get(name) {
            return Ok(Value::Num(*value));
        }
        if let Some(default) = self.names.global_default(name) {
            let value = self.mechanism_globals.get(name).copied().unwrap_or(default);
            return Ok(Value::Num(value));
        }
        if let Some(range) = self.range_name(name) {
            return self.read_range(f, &range, None, line).map(Value::Num);
        }
        Err(self.err(f, line, format!("undefined variable {name}")))
    }

    pub(super) fn assign_name(
        &mut self,
        f: &mut Frame,
        name: &str,
        value: Value,
        line: usize,
    ) -> R<()> {
        if let Some(slot) = f.locals.get_mut(name) {
            *slot = value;
            return Ok(());
        }
        if let Some(slot) = self.instance_mut(f.obj).vars.get_mut(name) {
            return match slot {
                Slot::Scalar(old) => {
                    *old = value;
                    Ok(())
                }
                Slot::Array(_) => Err(HocError::at(
                    &f.file,
                    line,
                    format!("{name} is an array; use {name}[i]"),
                )),
            };
        }
        if self.builtins.contains_key(name) {
            let number = self.num(f, value, line)?;
            if let Some(old) = self.builtins.get_mut(name) {
                *old = number;
            }
            return Ok(());
        }
        if self.names.global_default(name).is_some() {
            let number = self.num(f, value, line)?;
            self.mechanism_globals.insert(name.to_string(), number);
            return Ok(());
        }
        if let Some(range) = self.range_name(name) {
            let number = self.num(f, value, line)?;
            return self.write_range(f, &range, name, None, number, line);
        }
        if self.instance(f.obj).sections.contains_key(name) {
            return Err(self.err(f, line, format!("cannot assign to section {name}")));
        }
        self.instance_mut(f.obj)
            .vars
            .insert(name.to_string(), Slot::Scalar(value));
        Ok(())
    }

    pub(super) fn read_range(
        &self,
        f: &Frame,
        range: &RangeName,
        x: Option<f64>,
        line: usize,
    ) -> R<f64> {
        let id = self.current_section(f, line)?;
        let section = &self.model.sections[id.0];
        let x = x.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(f, line, format!("position {x} is outside 0..1")));
        }
        let segment = segment_index(x, section.nseg);
        Ok(match range {
            RangeName::Length => section.length(),
            RangeName::Diam if section.has_pt3d_geometry() => {
                let disc =
                    Discretization::new(&self.model).map_err(|e| self.model_err(f, line, e))?;
                disc.segments[id.0][segment].diam_um
            }
            RangeName::Diam => section.diam_um,
            RangeName::Nseg => section.nseg as f64,
            RangeName::Ra => section.ra_ohm_cm,
            RangeName::Cm => section.cm_uf_cm2.at(segment),
            RangeName::V => self.builtin("v_init"),
            RangeName::Mechanism(mechanism, variable) => {
                let Some(inserted) = section.mechanism(mechanism) else {
                    return Err(self.not_inserted(f, variable, mechanism, &section.name, line));
                };
                match inserted.value(variable) {
                    Some(value) => value.at(segment),
                    None => self.mechanism_default(mechanism, variable),
                }
            }
            RangeName::Ion(ion, field) => {
                let hoc = ion_hoc_name(ion, *field);
                match section.ion_values.iter().find(|(n, _)| *n == hoc) {
                    Some((_, value)) => value.at(segment),
                    None => self.names.ion_default(ion, *field),
                }
            }
        })
    }

    pub(super) fn mechanism_default(&self, mechanism: &str, variable: &str) -> f64 {
        self.names
            .mechanism(mechanism)
            .and_then(|info| {
                info.variable_index(variable)
                    .map(|i| info.variables[i].default)
            })
            .unwrap_or(0.0)
    }

    pub(super) fn not_inserted(
        &self,
        f: &Frame,
        variable: &str,
        mechanism: &str,
        section: &str,
        line: usize,
    ) -> HocError {
        self.err(
            f,
            line,
            format!("{variable}: mechanism {mechanism} is not inserted in section {section}"),
        )
    }

    pub(super) fn write_range(
        &mut self,
        f: &Frame,
        range: &RangeName,
        hoc_name: &str,
        x: Option<f64>,
        value: f64,
        line: usize,
    ) -> R<()> {
        let id = self.current_section(f, line)?;
        let section_name = self.model.sections[id.0].name.clone();
        let whole_section_only = |what: &str| {
            HocError::at(
                &f.file,
                line,
                format!("{what}(x) = ... is not supported; {what} belongs to the whole section"),
            )
        };
        let result = match range {
            RangeName::Length => {
                if x.is_some() {
                    return Err(whole_section_only("L"));
                }
                if !self.model.sections[id.0].pt3d.is_empty() {
                    return Err(self.err(
                        f,
                        line,
                        format!("section {section_name}: setting L of a section with 3-D points is not supported"),
                    ));
                }
                self.model.set_length(id, value)
            }
            RangeName::Diam => {
                if x.is_some() {
                    return Err(whole_section_only("diam"));
                }
                self.set_diam(id, value)
            }
            RangeName::Nseg => {
                if x.is_some() {
                    return Err(whole_section_only("nseg"));
                }
                if !(1.0..=MAX_NSEG).contains(&value) {
                    return Err(self.err(
                        f,
                        line,
                        format!("section {section_name}: nseg must be 1..32767, got {value}"),
                    ));
                }
                self.model.set_nseg(id, value as usize)
            }
            RangeName::Ra => {
                if x.is_some() {
                    return Err(whole_section_only("Ra"));
                }
                self.model.set_ra(id, value)
            }
            RangeName::V => Ok(()),
            RangeName::Mechanism(mechanism, _) => {
                if self.model.sections[id.0].mechanism(mechanism).is_none() {
                    return Err(self.not_inserted(f, hoc_name, mechanism, &section_name, line));
                }
                self.set_value(id, hoc_name, x, value)
            }
            RangeName::Cm | RangeName::Ion(..) => self.set_value(id, hoc_name, x, value),
        };
        result.map_err(|e| self.model_err(f, line, e))
    }

    pub(super) fn set_value(
        &mut self,
        id: SectionId,
        hoc_name: &str,
        x: Option<f64>,
        value: f64,
    ) -> Result<(), crate::cell::morphology::ModelError> {
        match x {
            Some(x) => self.model.set_range_at(id, x, hoc_name, value),
            None => self.model.set_range(id, hoc_name, value),
        }
    }

    /// `diam = d`: the cylinder diameter, or every 3-D point's diameter when points exist.
    pub(super) fn set_diam(
        &mut self,
        id: SectionId,
        diam_um: f64,
    ) -> Result<(), crate::cell::morphology::ModelError> {
        if self.model.sections[id.0].pt3d.is_empty() {
            return self.model.set_diam(id, diam_um);
        }
        if !(diam_um > 0.0 && diam_um.is_finite()) {
            return Err(crate::cell::morphology::ModelError::InvalidDiameter {
                section: self.model.sections[id.0].name.clone(),
                diam_um,
            });
        }
        for point in &mut self.model.sections[id.0].pt3d {
            *point = Pt3d::new(point.x_um, point.y_um, point.z_um, diam_um);
        }
        Ok(())
    }
}
