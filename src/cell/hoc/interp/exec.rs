//! Statements: control flow, declarations, template definition and instantiation,
//! `create`, `connect`, `insert`.

use super::*;

impl Interpreter<'_> {
    // ----- statements -----------------------------------------------------------------------

    pub(super) fn exec_block(&mut self, f: &mut Frame, statements: &[Stmt]) -> R<Flow> {
        for statement in statements {
            match self.exec(f, statement)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    pub(super) fn exec(&mut self, f: &mut Frame, s: &Stmt) -> R<Flow> {
        self.steps += 1;
        let line = s.line;
        if self.steps > MAX_STEPS {
            return Err(self.err(
                f,
                line,
                format!("stopped after {MAX_STEPS} statements: endless loop?"),
            ));
        }
        match &s.kind {
            StmtKind::Expr(e) => {
                self.eval(f, e, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Block(body) => self.exec_block(f, body),
            StmtKind::If(cond, then, otherwise) => {
                if truthy(self.eval_num(f, cond, line)?) {
                    self.exec(f, then)
                } else if let Some(otherwise) = otherwise {
                    self.exec(f, otherwise)
                } else {
                    Ok(Flow::Normal)
                }
            }
            StmtKind::While(cond, body) => {
                while truthy(self.eval_num(f, cond, line)?) {
                    match self.exec(f, body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => self.count_step(f, line)?,
                    }
                }
                Ok(Flow::Normal)
            }
            StmtKind::ForRange(var, from, to, body) => self.for_range(f, var, from, to, body, line),
            StmtKind::ForC(init, cond, step, body) => {
                self.exec(f, init)?;
                while truthy(self.eval_num(f, cond, line)?) {
                    match self.exec(f, body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                    self.exec(f, step)?;
                }
                Ok(Flow::Normal)
            }
            StmtKind::ForSegments(var, ends, body) => self.for_segments(f, var, *ends, body, line),
            StmtKind::Forall(body) => {
                let sections = self.sections_in_scope(f.obj);
                self.over_sections(f, &sections, body)
            }
            StmtKind::Forsec(list, body) => {
                let sections = self.forsec_sections(f, list, line)?;
                self.over_sections(f, &sections, body)
            }
            StmtKind::InSection(section, body) => {
                let id = self.resolve_section(f, section, line)?;
                self.stack.push(id);
                let flow = self.exec(f, body);
                self.stack.pop();
                flow
            }
            StmtKind::Create(items) => {
                self.create(f, items, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Objref(items) => {
                self.declare_objrefs(f, items, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Strdef(names) => {
                for name in names {
                    if let Some(t) = f.defining {
                        self.templates[t].strdefs.push(name.clone());
                    }
                    self.instance_mut(f.obj)
                        .vars
                        .insert(name.clone(), Slot::Scalar(Value::Str(Rc::from(""))));
                }
                Ok(Flow::Normal)
            }
            StmtKind::Public(names) => {
                let Some(t) = f.defining else {
                    return Err(self.err(f, line, "public outside a template"));
                };
                self.templates[t].public.extend(names.iter().cloned());
                Ok(Flow::Normal)
            }
            StmtKind::External(_) => {
                if f.defining.is_none() {
                    return Err(self.err(f, line, "external outside a template"));
                }
                Ok(Flow::Normal)
            }
            StmtKind::LocalObj(names) => {
                for name in names {
                    f.locals.insert(name.clone(), Value::Obj(None));
                }
                Ok(Flow::Normal)
            }
            StmtKind::Local(names) => {
                for name in names {
                    f.locals.insert(name.clone(), Value::Num(0.0));
                }
                Ok(Flow::Normal)
            }
            StmtKind::Print(items) => {
                let mut shown = Vec::with_capacity(items.len());
                for item in items {
                    let value = self.eval(f, item, line)?;
                    shown.push(self.display(&value));
                }
                eprintln!("{}", shown.join(" "));
                Ok(Flow::Normal)
            }
            StmtKind::Connect {
                child,
                child_x,
                parent,
                parent_x,
            } => {
                self.connect(f, child, child_x.as_ref(), parent, parent_x, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Access(section) => {
                self.accessed = Some(self.resolve_section(f, section, line)?);
                Ok(Flow::Normal)
            }
            StmtKind::Insert(name) => {
                self.insert(f, name, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Uninsert(name) => {
                let id = self.current_section(f, line)?;
                self.model.sections[id.0]
                    .mechanisms
                    .retain(|m| &m.name != name);
                Ok(Flow::Normal)
            }
            StmtKind::Return(value) => {
                let value = match value {
                    Some(e) => self.eval(f, e, line)?,
                    None => Value::Num(0.0),
                };
                Ok(Flow::Return(value))
            }
            StmtKind::Break => Ok(Flow::Break),
            StmtKind::Continue => Ok(Flow::Continue),
            StmtKind::Proc(def) => {
                self.define_proc(f, def, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Template(def) => {
                if f.obj != TOP || f.defining.is_some() {
                    return Err(self.err(f, line, "begintemplate inside a procedure"));
                }
                self.define_template(def)?;
                Ok(Flow::Normal)
            }
            StmtKind::Empty => Ok(Flow::Normal),
        }
    }

    pub(super) fn count_step(&mut self, f: &Frame, line: usize) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.err(
                f,
                line,
                format!("stopped after {MAX_STEPS} statements: endless loop?"),
            ));
        }
        Ok(())
    }

    pub(super) fn for_range(
        &mut self,
        f: &mut Frame,
        var: &str,
        from: &Expr,
        to: &Expr,
        body: &Stmt,
        line: usize,
    ) -> R<Flow> {
        let mut i = self.eval_num(f, from, line)?;
        let end = self.eval_num(f, to, line)?;
        while i <= end + EPSILON {
            self.assign_name(f, var, Value::Num(i), line)?;
            match self.exec(f, body)? {
                Flow::Break => break,
                Flow::Return(v) => return Ok(Flow::Return(v)),
                _ => self.count_step(f, line)?,
            }
            i = self.num(f, self.read_name(f, var, line)?, line)? + 1.0;
        }
        Ok(Flow::Normal)
    }

    pub(super) fn for_segments(
        &mut self,
        f: &mut Frame,
        var: &str,
        ends: bool,
        body: &Stmt,
        line: usize,
    ) -> R<Flow> {
        let id = self.current_section(f, line)?;
        let nseg = self.model.sections[id.0].nseg;
        let mut positions: Vec<f64> = (0..nseg).map(|i| (i as f64 + 0.5) / nseg as f64).collect();
        if ends {
            positions.insert(0, 0.0);
            positions.push(1.0);
        }
        for x in positions {
            self.assign_name(f, var, Value::Num(x), line)?;
            match self.exec(f, body)? {
                Flow::Break => break,
                Flow::Return(v) => return Ok(Flow::Return(v)),
                _ => {}
            }
        }
        Ok(Flow::Normal)
    }

    pub(super) fn over_sections(
        &mut self,
        f: &mut Frame,
        sections: &[SectionId],
        body: &Stmt,
    ) -> R<Flow> {
        for &id in sections {
            self.stack.push(id);
            let flow = self.exec(f, body);
            self.stack.pop();
            match flow? {
                Flow::Break => break,
                Flow::Return(v) => return Ok(Flow::Return(v)),
                _ => {}
            }
        }
        Ok(Flow::Normal)
    }

    /// `forall` scope: every section at top level, the object's own inside a template.
    pub(super) fn sections_in_scope(&self, obj: ObjId) -> Vec<SectionId> {
        if obj == TOP {
            (0..self.model.sections.len()).map(SectionId).collect()
        } else {
            self.sections_of(obj)
        }
    }

    pub(super) fn forsec_sections(
        &mut self,
        f: &mut Frame,
        list: &Expr,
        line: usize,
    ) -> R<Vec<SectionId>> {
        match self.eval(f, list, line)? {
            Value::Str(pattern) => {
                let pattern = Pattern::new(&pattern)
                    .ok_or_else(|| self.err(f, line, format!("bad pattern \"{pattern}\"")))?;
                Ok(self
                    .sections_in_scope(f.obj)
                    .into_iter()
                    .filter(|id| pattern.is_match(&self.model.sections[id.0].name))
                    .collect())
            }
            Value::Obj(Some(id)) => match &self.objects[id] {
                Object::SectionList(sections) => Ok(sections.clone()),
                _ => Err(self.err(f, line, "forsec needs a SectionList or a pattern string")),
            },
            _ => Err(self.err(f, line, "forsec needs a SectionList or a pattern string")),
        }
    }

    pub(super) fn define_proc(&mut self, f: &Frame, def: &Rc<ProcDef>, line: usize) -> R<()> {
        if let Some(t) = f.defining {
            self.templates[t]
                .procs
                .insert(def.name.clone(), def.clone());
        } else if f.obj == TOP && f.locals.is_empty() && f.args.is_empty() {
            self.top_procs.insert(def.name.clone(), def.clone());
        } else {
            return Err(self.err(f, line, "proc, func or obfunc inside a procedure"));
        }
        Ok(())
    }

    /// Run a template's body once (NEURON semantics 1): record sections, objrefs, strdefs,
    /// public names and procedures; scalars set here exist in every instance, starting at 0.
    pub(super) fn define_template(&mut self, def: &Rc<TemplateDef>) -> R<()> {
        if self.template_index.contains_key(&def.name) || self.top_procs.contains_key(&def.name) {
            return Err(HocError::at(
                &def.file,
                def.line,
                format!("template {} is already defined", def.name),
            ));
        }
        let index = self.templates.len();
        self.templates.push(Template {
            name: def.name.clone(),
            ..Template::default()
        });
        self.template_index.insert(def.name.clone(), index);
        let prototype = self.objects.len();
        self.objects.push(Object::Instance(Instance {
            template: Some(index),
            index: usize::MAX,
            vars: HashMap::new(),
            sections: HashMap::new(),
        }));
        let mut frame = Frame {
            obj: prototype,
            args: Vec::new(),
            locals: HashMap::new(),
            file: def.file.clone(),
            defining: Some(index),
        };
        for statement in &def.body {
            if !matches!(self.exec(&mut frame, statement)?, Flow::Normal) {
                return Err(self.err(&frame, statement.line, "return outside a procedure"));
            }
        }
        let declared: HashSet<&String> = {
            let t = &self.templates[index];
            t.objrefs.iter().map(|(n, _)| n).chain(&t.strdefs).collect()
        };
        let scalars: Vec<String> = self
            .instance(prototype)
            .vars
            .keys()
            .filter(|name| !declared.contains(name))
            .cloned()
            .collect();
        self.templates[index].scalars = scalars;
        Ok(())
    }

    pub(super) fn instantiate(
        &mut self,
        f: &mut Frame,
        t: usize,
        args: Vec<Value>,
        line: usize,
    ) -> R<Value> {
        let index = self.templates[t].count;
        self.templates[t].count += 1;
        let mut vars = HashMap::new();
        let template = &self.templates[t];
        for name in &template.scalars {
            vars.insert(name.clone(), Slot::Scalar(Value::Num(0.0)));
        }
        for name in &template.strdefs {
            vars.insert(name.clone(), Slot::Scalar(Value::Str(Rc::from(""))));
        }
        for (name, size) in &template.objrefs {
            let slot = match size {
                Some(n) => Slot::Array(vec![Value::Obj(None); *n]),
                None => Slot::Scalar(Value::Obj(None)),
            };
            vars.insert(name.clone(), slot);
        }
        let sections = template.sections.clone();
        let init = template.procs.get("init").cloned();
        let obj = self.objects.len();
        self.objects.push(Object::Instance(Instance {
            template: Some(t),
            index,
            vars,
            sections: HashMap::new(),
        }));
        for (name, size) in sections {
            self.create_sections(obj, &name, size);
        }
        if let Some(init) = init {
            self.call_proc(f, obj, &init, args, line)?;
        }
        Ok(Value::Obj(Some(obj)))
    }

    pub(super) fn create(
        &mut self,
        f: &mut Frame,
        items: &[(String, Option<Expr>)],
        line: usize,
    ) -> R<()> {
        for (name, size) in items {
            let size = match size {
                Some(e) => Some(self.count_arg(f, e, line, "section array size", MAX_SECTIONS)?),
                None => None,
            };
            if let Some(t) = f.defining {
                self.templates[t].sections.push((name.clone(), size));
            } else if self.instance(f.obj).sections.contains_key(name) {
                return Err(self.err(
                    f,
                    line,
                    format!("sections {name} already exist; re-creating them is not supported"),
                ));
            } else {
                self.create_sections(f.obj, name, size);
            }
        }
        Ok(())
    }

    /// A non-negative integer argument (array sizes), at most `max`.
    pub(super) fn count_arg(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        line: usize,
        what: &str,
        max: f64,
    ) -> R<usize> {
        let value = self.eval_num(f, e, line)?;
        if !(0.0..=max).contains(&value) {
            return Err(self.err(f, line, format!("{what} must be 0..{max}, got {value}")));
        }
        Ok(value as usize)
    }

    pub(super) fn create_sections(&mut self, obj: ObjId, name: &str, size: Option<usize>) {
        let prefix = match &self.objects[obj] {
            Object::Instance(Instance {
                template: Some(t),
                index,
                ..
            }) => format!("{}[{index}].", self.templates[*t].name),
            _ => String::new(),
        };
        let mut array = SectionArray {
            is_array: size.is_some(),
            ids: Vec::new(),
        };
        match size {
            Some(n) => {
                for i in 0..n {
                    array
                        .ids
                        .push(self.model.add_section(&format!("{prefix}{name}[{i}]")));
                    self.owner.push(obj);
                }
            }
            None => {
                array
                    .ids
                    .push(self.model.add_section(&format!("{prefix}{name}")));
                self.owner.push(obj);
            }
        }
        self.instance_mut(obj)
            .sections
            .insert(name.to_string(), array);
    }

    pub(super) fn declare_objrefs(
        &mut self,
        f: &mut Frame,
        items: &[(String, Option<Expr>)],
        line: usize,
    ) -> R<()> {
        for (name, size) in items {
            let size = match size {
                Some(e) => Some(self.count_arg(f, e, line, "objref array size", MAX_SECTIONS)?),
                None => None,
            };
            if let Some(t) = f.defining {
                self.templates[t].objrefs.push((name.clone(), size));
            }
            let slot = match size {
                Some(n) => Slot::Array(vec![Value::Obj(None); n]),
                None => Slot::Scalar(Value::Obj(None)),
            };
            self.instance_mut(f.obj).vars.insert(name.clone(), slot);
        }
        Ok(())
    }

    pub(super) fn connect(
        &mut self,
        f: &mut Frame,
        child: &SectionRef,
        child_x: Option<&Expr>,
        parent: &SectionRef,
        parent_x: &Expr,
        line: usize,
    ) -> R<()> {
        let child_id = self.resolve_section(f, child, line)?;
        let parent_id = self.resolve_section(f, parent, line)?;
        if let Some(x) = child_x {
            let x = self.eval_num(f, x, line)?;
            if x != 0.0 {
                return Err(self.err(
                    f,
                    line,
                    format!("connect: only the 0 end of a child section may attach, got ({x})"),
                ));
            }
        }
        let x = self.eval_num(f, parent_x, line)?;
        self.model
            .connect(child_id, parent_id, x)
            .map_err(|e| self.model_err(f, line, e))
    }

    pub(super) fn insert(&mut self, f: &Frame, name: &str, line: usize) -> R<()> {
        let id = self.current_section(f, line)?;
        if self.names.density(name).is_some() {
            return self
                .model
                .insert(id, name)
                .map_err(|e| self.model_err(f, line, e));
        }
        if self.names.is_ion_mechanism(name) {
            return Ok(());
        }
        if self.names.point_process(name).is_some() {
            return Err(self.err(
                f,
                line,
                format!("{name} is a point process; place it with new {name}(x)"),
            ));
        }
        Err(self.err(
            f,
            line,
            format!("unknown mechanism {name}: {}", self.names.missing(name)),
        ))
    }
}
