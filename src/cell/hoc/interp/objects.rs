//! Objects: `new` (templates, SectionList, List, Vector, Random, NetCon, point processes),
//! member access with `public` checks, and methods.

use super::*;

impl Interpreter<'_> {
    // ----- objects --------------------------------------------------------------------------

    pub(super) fn new_object(
        &mut self,
        f: &mut Frame,
        class: &str,
        args: Vec<Value>,
        line: usize,
    ) -> R<Value> {
        if let Some(&t) = self.template_index.get(class) {
            return self.instantiate(f, t, args, line);
        }
        let object = match class {
            "SectionList" => Object::SectionList(Vec::new()),
            "List" => Object::List(Vec::new()),
            "Vector" => {
                let size = match args.first() {
                    Some(v) => self.num(f, v.clone(), line)?.max(0.0) as usize,
                    None => 0,
                };
                Object::Vector(vec![0.0; size.min(1_000_000)])
            }
            "Random" => Object::Random,
            "NetCon" => Object::NetCon(self.netcon(f, &args, line)?),
            _ if self.names.point_process(class).is_some() => {
                let x = match args.first() {
                    Some(v) => self.num(f, v.clone(), line)?,
                    None => 0.5,
                };
                let id = self.current_section(f, line)?;
                let point = self
                    .model
                    .add_point_process(class, id, x)
                    .map_err(|e| self.model_err(f, line, e))?;
                Object::Point(point)
            }
            _ if self.names.density(class).is_some() => {
                return Err(self.err(
                    f,
                    line,
                    format!("{class} is a density mechanism; use insert {class}"),
                ))
            }
            _ => {
                return Err(self.err(
                    f,
                    line,
                    format!(
                    "{class} is not a template or mechanism (templates defined: {}; mechanism: {})",
                    list_or_none(&self.template_names()),
                    self.names.missing(class)
                ),
                ))
            }
        };
        self.objects.push(object);
        Ok(Value::Obj(Some(self.objects.len() - 1)))
    }

    pub(super) fn netcon(&self, f: &Frame, args: &[Value], line: usize) -> R<NetConData> {
        let source = match args.first() {
            Some(Value::Pointer(id, x)) => Some((*id, *x)),
            Some(Value::Obj(Some(id))) => match &self.objects[*id] {
                Object::Point(point) => {
                    let p = &self.model.point_processes[point.0];
                    Some((p.section, p.x))
                }
                _ => {
                    return Err(self.err(f, line, "NetCon source must be &v(x) or a point process"))
                }
            },
            Some(Value::Obj(None)) => None,
            _ => return Err(self.err(f, line, "NetCon needs a source (&v(x)) and a target")),
        };
        let number = |i: usize, default: f64| -> R<f64> {
            match args.get(i) {
                Some(v) => self.num(f, v.clone(), line),
                None => Ok(default),
            }
        };
        Ok(NetConData {
            source,
            threshold: number(2, 10.0)?,
            delay: number(3, 1.0)?,
            weight: number(4, 0.0)?,
        })
    }

    pub(super) fn check_public(&self, f: &Frame, obj: ObjId, member: &str, line: usize) -> R<()> {
        if f.obj == obj {
            return Ok(());
        }
        let t = self.instance(obj).template;
        match t {
            Some(t) if self.templates[t].public.contains(member) => Ok(()),
            Some(t) => Err(self.err(
                f,
                line,
                format!(
                    "{member} is not public in template {}",
                    self.templates[t].name
                ),
            )),
            None => Ok(()),
        }
    }

    pub(super) fn read_member(
        &self,
        f: &Frame,
        obj: ObjId,
        member: &str,
        index: Option<f64>,
        line: usize,
    ) -> R<Value> {
        match &self.objects[obj] {
            Object::Instance(instance) => {
                self.check_public(f, obj, member, line)?;
                match (instance.vars.get(member), index) {
                    (Some(Slot::Scalar(v)), None) => Ok(v.clone()),
                    (Some(Slot::Array(values)), Some(i)) => values
                        .get(i as usize)
                        .filter(|_| i >= 0.0)
                        .cloned()
                        .ok_or_else(|| self.err(f, line, format!("index {i} outside {member}"))),
                    _ => Err(self.err(f, line, format!("cannot read {member} of this object"))),
                }
            }
            Object::Point(point) => {
                let p = &self.model.point_processes[point.0];
                let info = self.names.mechanism(&p.mechanism);
                let default = info
                    .and_then(|info| {
                        info.variable_index(member)
                            .map(|i| info.variables[i].default)
                    })
                    .ok_or_else(|| {
                        self.err(f, line, format!("{} has no variable {member}", p.mechanism))
                    })?;
                let value = p.values.iter().find(|(n, _)| n == member).map(|(_, v)| *v);
                Ok(Value::Num(value.unwrap_or(default)))
            }
            Object::NetCon(netcon) => match member {
                "threshold" => Ok(Value::Num(netcon.threshold)),
                "delay" => Ok(Value::Num(netcon.delay)),
                "weight" => Ok(Value::Num(netcon.weight)),
                _ => Err(self.err(f, line, format!("NetCon has no {member}"))),
            },
            Object::Vector(values) if member == "x" => {
                let i = index.unwrap_or(0.0);
                values
                    .get(i as usize)
                    .filter(|_| i >= 0.0)
                    .map(|v| Value::Num(*v))
                    .ok_or_else(|| self.err(f, line, format!("index {i} outside the Vector")))
            }
            _ => Err(self.err(f, line, format!("this object has no member {member}"))),
        }
    }

    pub(super) fn write_member(
        &mut self,
        f: &Frame,
        obj: ObjId,
        member: &str,
        index: Option<f64>,
        value: Value,
        line: usize,
    ) -> R<()> {
        if matches!(self.objects[obj], Object::Instance(_)) {
            self.check_public(f, obj, member, line)?;
        }
        let number = self.num_of(&value);
        let need_number = || HocError::at(&f.file, line, format!("{member} needs a number"));
        match &mut self.objects[obj] {
            Object::Instance(instance) => match (instance.vars.get_mut(member), index) {
                (Some(Slot::Scalar(slot)), None) => {
                    *slot = value;
                    Ok(())
                }
                (Some(Slot::Array(values)), Some(i)) if i >= 0.0 && (i as usize) < values.len() => {
                    values[i as usize] = value;
                    Ok(())
                }
                _ => Err(HocError::at(
                    &f.file,
                    line,
                    format!("cannot set {member} of this object"),
                )),
            },
            Object::Point(point) => {
                let point = *point;
                let number = number.ok_or_else(need_number)?;
                let mechanism = self.model.point_processes[point.0].mechanism.clone();
                let known = self
                    .names
                    .mechanism(&mechanism)
                    .is_some_and(|info| info.variable_index(member).is_some());
                if !known {
                    return Err(self.err(f, line, format!("{mechanism} has no variable {member}")));
                }
                self.model
                    .set_point_value(point, member, number)
                    .map_err(|e| HocError::at(&f.file, line, e.to_string()))
            }
            Object::NetCon(netcon) => {
                let number = number.ok_or_else(need_number)?;
                match member {
                    "threshold" => netcon.threshold = number,
                    "delay" => netcon.delay = number,
                    "weight" => netcon.weight = number,
                    _ => {
                        return Err(HocError::at(
                            &f.file,
                            line,
                            format!("NetCon has no {member}"),
                        ))
                    }
                }
                Ok(())
            }
            Object::Vector(values) if member == "x" => {
                let number = number.ok_or_else(need_number)?;
                let i = index.unwrap_or(0.0);
                match values.get_mut(i as usize).filter(|_| i >= 0.0) {
                    Some(slot) => {
                        *slot = number;
                        Ok(())
                    }
                    None => Err(HocError::at(
                        &f.file,
                        line,
                        format!("index {i} outside the Vector"),
                    )),
                }
            }
            _ => Err(HocError::at(
                &f.file,
                line,
                format!("this object has no member {member}"),
            )),
        }
    }

    pub(super) fn call_method(
        &mut self,
        f: &mut Frame,
        obj: ObjId,
        method: &str,
        args: Vec<Value>,
        line: usize,
    ) -> R<Value> {
        if let Object::Instance(_) = &self.objects[obj] {
            self.check_public(f, obj, method, line)?;
            let def = self.find_proc(obj, method).ok_or_else(|| {
                self.err(
                    f,
                    line,
                    format!("{method} is not a procedure of this object"),
                )
            })?;
            return self.call_proc(f, obj, &def, args, line);
        }
        let current = self.current_section(f, line);
        let unsupported =
            |kind: &str| HocError::at(&f.file, line, format!("{kind}.{method}() is not supported"));
        match &mut self.objects[obj] {
            Object::SectionList(sections) => match method {
                "append" => {
                    sections.push(current?);
                    Ok(Value::Num(1.0))
                }
                "remove" => {
                    let id = current?;
                    sections.retain(|s| *s != id);
                    Ok(Value::Num(1.0))
                }
                _ => Err(unsupported("SectionList")),
            },
            Object::List(items) => match (method, args.as_slice()) {
                ("append", [Value::Obj(o)]) => {
                    items.push(*o);
                    Ok(Value::Num(items.len() as f64))
                }
                ("count", []) => Ok(Value::Num(items.len() as f64)),
                ("remove_all", []) => {
                    items.clear();
                    Ok(Value::Num(0.0))
                }
                ("o", [Value::Num(i)]) => items
                    .get(*i as usize)
                    .filter(|_| *i >= 0.0)
                    .map(|o| Value::Obj(*o))
                    .ok_or_else(|| {
                        HocError::at(&f.file, line, format!("List.o({i}): no such item"))
                    }),
                _ => Err(unsupported("List")),
            },
            Object::Vector(values) => match (method, args.as_slice()) {
                ("size", []) => Ok(Value::Num(values.len() as f64)),
                ("append", items) => {
                    for item in items {
                        match item {
                            Value::Num(v) => values.push(*v),
                            _ => return Err(unsupported("Vector")),
                        }
                    }
                    Ok(Value::Num(values.len() as f64))
                }
                ("resize", [Value::Num(n)]) if *n >= 0.0 && *n <= 1e6 => {
                    values.resize(*n as usize, 0.0);
                    Ok(Value::Num(*n))
                }
                ("fill", [Value::Num(v)]) => {
                    values.iter_mut().for_each(|x| *x = *v);
                    Ok(Value::Num(0.0))
                }
                _ => Err(unsupported("Vector")),
            },
            Object::Random => match method {
                "Random123"
                | "normal"
                | "uniform"
                | "negexp"
                | "lognormal"
                | "poisson"
                | "discunif"
                | "MCellRan4"
                | "ACG"
                | "seq"
                | "Random123_globalindex" => Ok(Value::Num(0.0)),
                _ => Err(unsupported("Random")),
            },
            Object::Point(point) => {
                let name = self.model.point_processes[point.0].mechanism.clone();
                Err(unsupported(&name))
            }
            Object::NetCon(_) => Err(unsupported("NetCon")),
            Object::Instance(_) => Err(unsupported("object")),
        }
    }
}
