//! Expressions: arithmetic with HOC's epsilon comparisons, assignment targets, `$` arguments,
//! pointers, and calls of procedures.

use super::*;

impl Interpreter<'_> {
    // ----- expressions ----------------------------------------------------------------------

    pub(super) fn num_of(&self, value: &Value) -> Option<f64> {
        match value {
            Value::Num(v) => Some(*v),
            _ => None,
        }
    }

    pub(super) fn num(&self, f: &Frame, value: Value, line: usize) -> R<f64> {
        match value {
            Value::Num(v) => Ok(v),
            Value::Str(_) => Err(self.err(f, line, "a string where a number is needed")),
            Value::Obj(_) => Err(self.err(f, line, "an object where a number is needed")),
            Value::Pointer(..) => Err(self.err(f, line, "a pointer where a number is needed")),
        }
    }

    pub(super) fn eval_num(&mut self, f: &mut Frame, e: &Expr, line: usize) -> R<f64> {
        let value = self.eval(f, e, line)?;
        self.num(f, value, line)
    }

    pub(super) fn eval_args(&mut self, f: &mut Frame, args: &[Expr], line: usize) -> R<Vec<Value>> {
        args.iter().map(|a| self.eval(f, a, line)).collect()
    }

    pub(super) fn eval(&mut self, f: &mut Frame, e: &Expr, line: usize) -> R<Value> {
        match e {
            Expr::Num(v) => Ok(Value::Num(*v)),
            Expr::Str(s) => Ok(Value::Str(Rc::from(s.as_str()))),
            Expr::Arg(kind, n) => self.argument(f, *kind, *n, line),
            Expr::Name(name) => self.read_name(f, name, line),
            Expr::Index(name, index) => {
                let i = self.eval_num(f, index, line)?;
                self.read_element(f, name, i, line)
            }
            Expr::Call(name, args) => self.call_name(f, name, args, line),
            Expr::Member(obj, member) => {
                let obj = self.eval_object(f, obj, line)?;
                self.read_member(f, obj, member, None, line)
            }
            Expr::MemberIndex(obj, member, index) => {
                let obj = self.eval_object(f, obj, line)?;
                let i = self.eval_num(f, index, line)?;
                self.read_member(f, obj, member, Some(i), line)
            }
            Expr::Method(obj, method, args) => {
                let obj = self.eval_object(f, obj, line)?;
                let args = self.eval_args(f, args, line)?;
                self.call_method(f, obj, method, args, line)
            }
            Expr::New(class, args) => {
                let args = self.eval_args(f, args, line)?;
                self.new_object(f, class, args, line)
            }
            Expr::Pointer(target) => self.pointer(f, target, line),
            Expr::Unary(op, operand) => {
                let value = self.eval_num(f, operand, line)?;
                Ok(Value::Num(if *op == "-" {
                    -value
                } else {
                    f64::from(u8::from(!truthy(value)))
                }))
            }
            Expr::Binary(op, left, right) => self.binary(f, op, left, right, line),
            Expr::Assign(op, target, value) => {
                let mut value = self.eval(f, value, line)?;
                if *op != "=" {
                    let old = self.eval_num(f, target, line)?;
                    let operand = self.num(f, value, line)?;
                    value = Value::Num(match *op {
                        "+=" => old + operand,
                        "-=" => old - operand,
                        "*=" => old * operand,
                        _ => self.divide(f, old, operand, line)?,
                    });
                }
                self.assign(f, target, value.clone(), line)?;
                Ok(value)
            }
        }
    }

    pub(super) fn divide(&self, f: &Frame, a: f64, b: f64, line: usize) -> R<f64> {
        if b == 0.0 {
            return Err(self.err(f, line, "division by zero"));
        }
        Ok(a / b)
    }

    pub(super) fn binary(
        &mut self,
        f: &mut Frame,
        op: &str,
        left: &Expr,
        right: &Expr,
        line: usize,
    ) -> R<Value> {
        if op == "&&" || op == "||" {
            let a = truthy(self.eval_num(f, left, line)?);
            let result = match op {
                "&&" => a && truthy(self.eval_num(f, right, line)?),
                _ => a || truthy(self.eval_num(f, right, line)?),
            };
            return Ok(Value::Num(f64::from(u8::from(result))));
        }
        let a = self.eval(f, left, line)?;
        let b = self.eval(f, right, line)?;
        if let (Value::Obj(x), Value::Obj(y)) = (&a, &b) {
            return match op {
                "==" => Ok(Value::Num(f64::from(u8::from(x == y)))),
                "!=" => Ok(Value::Num(f64::from(u8::from(x != y)))),
                _ => Err(self.err(f, line, format!("'{op}' between objects"))),
            };
        }
        let a = self.num(f, a, line)?;
        let b = self.num(f, b, line)?;
        let flag = |c: bool| Value::Num(f64::from(u8::from(c)));
        Ok(match op {
            "+" => Value::Num(a + b),
            "-" => Value::Num(a - b),
            "*" => Value::Num(a * b),
            "/" => Value::Num(self.divide(f, a, b, line)?),
            "%" => Value::Num(a % b),
            "^" => Value::Num(a.powf(b)),
            "==" => flag((a - b).abs() <= EPSILON),
            "!=" => flag((a - b).abs() > EPSILON),
            "<" => flag(a < b - EPSILON),
            "<=" => flag(a <= b + EPSILON),
            ">" => flag(a > b + EPSILON),
            ">=" => flag(a >= b - EPSILON),
            _ => return Err(self.err(f, line, format!("unknown operator {op}"))),
        })
    }

    pub(super) fn argument(&self, f: &Frame, kind: char, n: usize, line: usize) -> R<Value> {
        let shown = format!("${}{n}", kind.to_string().trim());
        let value = f.args.get(n - 1).cloned().ok_or_else(|| {
            self.err(
                f,
                line,
                format!(
                    "{shown} used but only {} arguments were given",
                    f.args.len()
                ),
            )
        })?;
        let matches = matches!(
            (kind, &value),
            (' ', Value::Num(_))
                | ('o', Value::Obj(_))
                | ('s', Value::Str(_))
                | ('o', Value::Pointer(..))
        );
        if !matches {
            return Err(self.err(f, line, format!("argument {shown} has the wrong type")));
        }
        Ok(value)
    }

    pub(super) fn eval_object(&mut self, f: &mut Frame, e: &Expr, line: usize) -> R<ObjId> {
        match self.eval(f, e, line)? {
            Value::Obj(Some(id)) => Ok(id),
            Value::Obj(None) => Err(self.err(f, line, "object reference is not set (nil)")),
            _ => Err(self.err(f, line, "not an object")),
        }
    }

    pub(super) fn read_element(&self, f: &Frame, name: &str, i: f64, line: usize) -> R<Value> {
        match self.instance(f.obj).vars.get(name) {
            Some(Slot::Array(values)) => values
                .get(i as usize)
                .filter(|_| i >= 0.0)
                .cloned()
                .ok_or_else(|| {
                    self.err(
                        f,
                        line,
                        format!("index {i} outside {name}[{}]", values.len()),
                    )
                }),
            _ => Err(self.err(f, line, format!("{name} is not an array"))),
        }
    }

    pub(super) fn assign(
        &mut self,
        f: &mut Frame,
        target: &Expr,
        value: Value,
        line: usize,
    ) -> R<()> {
        match target {
            Expr::Name(name) => self.assign_name(f, name, value, line),
            Expr::Index(name, index) => {
                let i = self.eval_num(f, index, line)?;
                let file = f.file.clone();
                match self.instance_mut(f.obj).vars.get_mut(name) {
                    Some(Slot::Array(values)) if i >= 0.0 && (i as usize) < values.len() => {
                        values[i as usize] = value;
                        Ok(())
                    }
                    Some(Slot::Array(values)) => Err(HocError::at(
                        &file,
                        line,
                        format!("index {i} outside {name}[{}]", values.len()),
                    )),
                    _ => Err(HocError::at(&file, line, format!("{name} is not an array"))),
                }
            }
            Expr::Call(name, args) => {
                if args.len() != 1 || self.find_proc(f.obj, name).is_some() {
                    return Err(self.err(f, line, format!("cannot assign to {name}(...)")));
                }
                let x = self.eval_num(f, &args[0], line)?;
                let range = self
                    .range_name(name)
                    .ok_or_else(|| self.err(f, line, format!("{name} is not a range variable")))?;
                let number = self.num(f, value, line)?;
                self.write_range(f, &range, name, Some(x), number, line)
            }
            Expr::Member(obj, member) => {
                let obj = self.eval_object(f, obj, line)?;
                self.write_member(f, obj, member, None, value, line)
            }
            Expr::MemberIndex(obj, member, index) => {
                let obj = self.eval_object(f, obj, line)?;
                let i = self.eval_num(f, index, line)?;
                self.write_member(f, obj, member, Some(i), value, line)
            }
            Expr::Arg(_, n) => match f.args.get_mut(n - 1) {
                Some(slot) => {
                    *slot = value;
                    Ok(())
                }
                None => Err(self.err(f, line, format!("argument {n} was not given"))),
            },
            _ => Err(self.err(f, line, "cannot assign to this expression")),
        }
    }

    pub(super) fn pointer(&mut self, f: &mut Frame, target: &Expr, line: usize) -> R<Value> {
        let (name, x) = match target {
            Expr::Call(name, args) if args.len() == 1 => (name, self.eval_num(f, &args[0], line)?),
            Expr::Name(name) => (name, 0.5),
            _ => return Err(self.err(f, line, "& needs a range variable such as &v(0.5)")),
        };
        if self.range_name(name).is_none() {
            return Err(self.err(f, line, format!("&{name}: not a range variable")));
        }
        let id = self.current_section(f, line)?;
        Ok(Value::Pointer(id, x))
    }

    // ----- calls ----------------------------------------------------------------------------

    pub(super) fn find_proc(&self, obj: ObjId, name: &str) -> Option<Rc<ProcDef>> {
        match self.instance(obj).template {
            Some(t) => self.templates[t].procs.get(name).cloned(),
            None => self.top_procs.get(name).cloned(),
        }
    }

    pub(super) fn call_name(
        &mut self,
        f: &mut Frame,
        name: &str,
        args: &[Expr],
        line: usize,
    ) -> R<Value> {
        if let Some(def) = self.find_proc(f.obj, name) {
            let args = self.eval_args(f, args, line)?;
            return self.call_proc(f, f.obj, &def, args, line);
        }
        let values = self.eval_args(f, args, line)?;
        if let Some(result) = self.call_builtin(f, name, &values, line) {
            return result;
        }
        if let (Some(range), [x]) = (self.range_name(name), values.as_slice()) {
            let x = self.num(f, x.clone(), line)?;
            return self.read_range(f, &range, Some(x), line).map(Value::Num);
        }
        Err(self.err(f, line, format!("undefined function {name}()")))
    }

    pub(super) fn call_proc(
        &mut self,
        caller: &Frame,
        obj: ObjId,
        def: &Rc<ProcDef>,
        args: Vec<Value>,
        line: usize,
    ) -> R<Value> {
        self.depth += 1;
        if self.depth > MAX_CALL_DEPTH {
            self.depth -= 1;
            return Err(self.err(
                caller,
                line,
                format!(
                    "calls nested deeper than {MAX_CALL_DEPTH} (endless recursion in {}?)",
                    def.name
                ),
            ));
        }
        let mut frame = Frame {
            obj,
            args,
            locals: HashMap::new(),
            file: def.file.clone(),
            defining: None,
        };
        let flow = self.exec_block(&mut frame, &def.body);
        self.depth -= 1;
        let default = match def.kind {
            ProcKind::Obfunc => Value::Obj(None),
            _ => Value::Num(0.0),
        };
        Ok(match flow? {
            Flow::Return(value) => value,
            _ => default,
        })
    }
}
