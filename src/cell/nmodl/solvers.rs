//! Integration methods for DERIVATIVE blocks, as IR-to-IR rewrites (nocmodl `deriv.cpp`).
//!
//! Owns the symbolic algebra needed for them (differentiation, substitution, simplification on
//! [`ir::Expr`]) and the rewrites:
//! - `cnexp`: each `x' = f` with f linear in x becomes, in statement order (so later equations
//!   see already-updated states, as nocmodl emits them),
//!   `x = x + (1 - exp(dt*a)) * (-(c/a) - x)` with `a = df/dx` (found symbolically) and
//!   `c = f(x = 0)`, i.e. nocmodl's `x + (1 - exp(dt*a))*(b - x)` with steady state `b = -c/a`;
//!   when `a` simplifies to 0 it is forward Euler `x = x + dt*f`. The exact `exp` is used (not
//!   Arbor's Padé approximation). If some f is not linear in its state (or its slope cannot be
//!   found symbolically), nocmodl falls back to `derivimplicit` for the block, and so do we.
//! - `euler`: all derivatives are evaluated first into temporaries, then `x = x + dt*Dx`
//!   (scopmath `euler_thread`).
//! - `derivimplicit` is not a rewrite: [`implicit_system`] extracts the states, and the kernel runs
//!   backward Euler with Newton on the block's `Dx` values.
//! - KINETIC schemes become their mass-action DERIVATIVE block ([`kinetic_to_derivative`]);
//!   `METHOD sparse` is then backward Euler as above (checked against NEURON on bio_net's NaV).
//!   LINEAR blocks are solved for their STATEs ([`linear_unknowns`]) by the same Newton code.

use super::ir::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Method {
    Cnexp,
    Euler,
    DerivImplicit,
}

impl Method {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "cnexp" => Some(Self::Cnexp),
            "euler" => Some(Self::Euler),
            "derivimplicit" => Some(Self::DerivImplicit),
            _ => None,
        }
    }
}

/// A DERIVATIVE block after the method rewrite.
#[derive(Debug, Clone)]
pub enum StateUpdate {
    /// A straight-line body (cnexp, euler): running it advances the states by dt.
    Explicit(Callable),
    /// Backward Euler: the block computes `x'` for each listed state (in its Derivative stmts).
    Implicit { block: Callable, states: Vec<VarId> },
}

/// Rewrites `d` for `method`. Returns the update and whether cnexp fell back to derivimplicit.
pub fn rewrite(d: &Callable, method: Method, dt: VarId) -> (StateUpdate, bool) {
    match method {
        Method::Cnexp => match cnexp(d, dt) {
            Some(c) => (StateUpdate::Explicit(c), false),
            None => (implicit_system(d), true),
        },
        Method::Euler => (StateUpdate::Explicit(euler(d, dt)), false),
        Method::DerivImplicit => (implicit_system(d), false),
    }
}

/// A KINETIC scheme as the equivalent DERIVATIVE block (mass action): each reaction's flux
/// `kf * prod(lhs^s) - kb * prod(rhs^s)` is subtracted from its reactants' derivatives and added
/// to its products', the other statements (`rates(v)`) run first, in order. nocmodl's `sparse`
/// is backward Euler on these equations, which is what [`implicit_system`] then gives.
pub fn kinetic_to_derivative(k: &Callable) -> Callable {
    let mut sums: Vec<(VarId, Expr, u32)> = Vec::new();
    let mut body = Vec::new();
    for s in &k.body {
        match s {
            Stmt::Reaction {
                lhs,
                rhs,
                kf,
                kb,
                line,
            } => {
                let side = |sp: &[(f64, VarId)], rate: Expr| {
                    sp.iter().fold(rate, |acc, &(st, x)| {
                        let term = if st == 1.0 {
                            Expr::Var(x)
                        } else {
                            Expr::Binary(
                                BinOp::Pow,
                                Box::new(Expr::Var(x)),
                                Box::new(Expr::Const(st)),
                            )
                        };
                        mul(acc, term)
                    })
                };
                let mut flux = side(lhs, kf.clone());
                if let Some(kb) = kb {
                    flux = sub(flux, side(rhs, kb.clone()));
                }
                for (sign, sp) in [(-1.0, lhs), (1.0, rhs)] {
                    for &(st, x) in sp.iter() {
                        let term = mul(Expr::Const(sign * st), flux.clone());
                        match sums.iter_mut().find(|e| e.0 == x) {
                            Some(e) => e.1 = add(e.1.clone(), term),
                            None => sums.push((x, term, *line)),
                        }
                    }
                }
            }
            other => body.push(other.clone()),
        }
    }
    for (state, value, line) in sums {
        body.push(Stmt::Derivative {
            state,
            value: simplify(&value),
            line,
        });
    }
    Callable {
        body,
        kind: CallableKind::Derivative,
        ..k.clone()
    }
}

/// The unknowns of a LINEAR block: STATEs appearing in its equations, in order of appearance.
pub fn linear_unknowns(l: &Callable, is_state: impl Fn(VarId) -> bool) -> Vec<VarId> {
    fn walk(e: &Expr, out: &mut Vec<VarId>, is_state: &dyn Fn(VarId) -> bool) {
        match e {
            Expr::Var(v) if is_state(*v) && !out.contains(v) => out.push(*v),
            Expr::Call { args, .. } => args.iter().for_each(|a| walk(a, out, is_state)),
            Expr::Unary(_, a) => walk(a, out, is_state),
            Expr::Binary(_, a, b) => {
                walk(a, out, is_state);
                walk(b, out, is_state);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for s in &l.body {
        if let Stmt::Equation { residual, .. } = s {
            walk(residual, &mut out, &is_state);
        }
    }
    out
}

/// The states of a block for backward Euler, in order of their first `x'` statement.
pub fn implicit_system(d: &Callable) -> StateUpdate {
    let mut states = Vec::new();
    visit_derivatives(&d.body, &mut |s| {
        if !states.contains(&s) {
            states.push(s);
        }
    });
    StateUpdate::Implicit {
        block: d.clone(),
        states,
    }
}

fn visit_derivatives(body: &[Stmt], f: &mut impl FnMut(VarId)) {
    for s in body {
        match s {
            Stmt::Derivative { state, .. } => f(*state),
            Stmt::If {
                then, otherwise, ..
            } => {
                visit_derivatives(then, f);
                visit_derivatives(otherwise, f);
            }
            _ => {}
        }
    }
}

/// cnexp rewrite; None when some equation is not linear in its state.
pub fn cnexp(d: &Callable, dt: VarId) -> Option<Callable> {
    let body = cnexp_body(&d.body, dt)?;
    Some(Callable { body, ..d.clone() })
}

fn cnexp_body(body: &[Stmt], dt: VarId) -> Option<Vec<Stmt>> {
    body.iter()
        .map(|s| {
            Some(match s {
                Stmt::Derivative { state, value, line } => Stmt::Assign {
                    target: Target::Var(*state),
                    value: cnexp_update(*state, value, dt)?,
                    line: *line,
                },
                Stmt::If {
                    cond,
                    then,
                    otherwise,
                } => Stmt::If {
                    cond: cond.clone(),
                    then: cnexp_body(then, dt)?,
                    otherwise: cnexp_body(otherwise, dt)?,
                },
                other => other.clone(),
            })
        })
        .collect()
}

/// `x + (1 - exp(dt*a)) * (-(c/a) - x)`, or `x + dt*f` when a = 0.
pub fn cnexp_update(x: VarId, f: &Expr, dt: VarId) -> Option<Expr> {
    let a = simplify(&diff(f, x)?);
    if depends_on(&a, x) {
        return None;
    }
    let xv = Expr::Var(x);
    if a == Expr::Const(0.0) {
        return Some(add(xv, mul(Expr::Var(dt), f.clone())));
    }
    let c = simplify(&substitute(f, x, &Expr::Const(0.0)));
    let decay = sub(
        Expr::Const(1.0),
        call1(Builtin::Exp, mul(Expr::Var(dt), a.clone())),
    );
    let steady = Expr::Unary(UnOp::Neg, Box::new(div(c, a)));
    Some(add(xv.clone(), mul(decay, sub(steady, xv))))
}

fn euler(d: &Callable, dt: VarId) -> Callable {
    let mut c = d.clone();
    let mut updates = Vec::new();
    c.body = euler_body(&d.body, &mut c.locals, &mut updates);
    for (state, local, line) in updates {
        let value = add(Expr::Var(state), mul(Expr::Var(dt), Expr::Local(local)));
        c.body.push(Stmt::Assign {
            target: Target::Var(state),
            value,
            line,
        });
    }
    c
}

fn euler_body(
    body: &[Stmt],
    locals: &mut Vec<String>,
    updates: &mut Vec<(VarId, LocalId, u32)>,
) -> Vec<Stmt> {
    body.iter()
        .map(|s| match s {
            Stmt::Derivative { state, value, line } => {
                let local = match updates.iter().find(|u| u.0 == *state) {
                    Some(u) => u.1,
                    None => {
                        locals.push(format!("D{state}"));
                        updates.push((*state, locals.len() - 1, *line));
                        locals.len() - 1
                    }
                };
                Stmt::Assign {
                    target: Target::Local(local),
                    value: value.clone(),
                    line: *line,
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => Stmt::If {
                cond: cond.clone(),
                then: euler_body(then, locals, updates),
                otherwise: euler_body(otherwise, locals, updates),
            },
            other => other.clone(),
        })
        .collect()
}

// ----- symbolic algebra ------------------------------------------------------------------------

fn add(a: Expr, b: Expr) -> Expr {
    Expr::Binary(BinOp::Add, Box::new(a), Box::new(b))
}
fn sub(a: Expr, b: Expr) -> Expr {
    Expr::Binary(BinOp::Sub, Box::new(a), Box::new(b))
}
fn mul(a: Expr, b: Expr) -> Expr {
    Expr::Binary(BinOp::Mul, Box::new(a), Box::new(b))
}
fn div(a: Expr, b: Expr) -> Expr {
    Expr::Binary(BinOp::Div, Box::new(a), Box::new(b))
}
fn call1(b: Builtin, a: Expr) -> Expr {
    Expr::Call {
        callee: Callee::Builtin(b),
        args: vec![a],
        line: 0,
    }
}

/// Whether `e` mentions variable `x`.
pub fn depends_on(e: &Expr, x: VarId) -> bool {
    match e {
        Expr::Const(_) | Expr::Local(_) => false,
        Expr::Var(v) => *v == x,
        Expr::Call { args, .. } => args.iter().any(|a| depends_on(a, x)),
        Expr::Unary(_, a) => depends_on(a, x),
        Expr::Binary(_, a, b) => depends_on(a, x) || depends_on(b, x),
    }
}

/// `e` with every `x` replaced by `by`.
pub fn substitute(e: &Expr, x: VarId, by: &Expr) -> Expr {
    match e {
        Expr::Var(v) if *v == x => by.clone(),
        Expr::Const(_) | Expr::Var(_) | Expr::Local(_) => e.clone(),
        Expr::Call { callee, args, line } => Expr::Call {
            callee: callee.clone(),
            args: args.iter().map(|a| substitute(a, x, by)).collect(),
            line: *line,
        },
        Expr::Unary(op, a) => Expr::Unary(*op, Box::new(substitute(a, x, by))),
        Expr::Binary(op, a, b) => Expr::Binary(
            *op,
            Box::new(substitute(a, x, by)),
            Box::new(substitute(b, x, by)),
        ),
    }
}

/// d e / d x, or None where the derivative is not defined symbolically (user FUNCTIONs of x,
/// comparisons involving x...).
pub fn diff(e: &Expr, x: VarId) -> Option<Expr> {
    if !depends_on(e, x) {
        return Some(Expr::Const(0.0));
    }
    Some(match e {
        Expr::Var(_) => Expr::Const(1.0),
        Expr::Const(_) | Expr::Local(_) => Expr::Const(0.0),
        Expr::Unary(UnOp::Neg, a) => Expr::Unary(UnOp::Neg, Box::new(diff(a, x)?)),
        Expr::Unary(UnOp::Not, _) => return None,
        Expr::Binary(op, a, b) => {
            let (a, b) = (a.as_ref(), b.as_ref());
            match op {
                BinOp::Add => add(diff(a, x)?, diff(b, x)?),
                BinOp::Sub => sub(diff(a, x)?, diff(b, x)?),
                BinOp::Mul => add(mul(diff(a, x)?, b.clone()), mul(a.clone(), diff(b, x)?)),
                // A denominator free of x (the usual `(inf - x)/tau`) differentiates as nocmodl
                // does, `a'/b`, keeping `-1/tau` exact rather than `-tau/tau^2`.
                BinOp::Div if !depends_on(b, x) => div(diff(a, x)?, b.clone()),
                BinOp::Div => {
                    // (a'b - ab') / b^2
                    let num = sub(mul(diff(a, x)?, b.clone()), mul(a.clone(), diff(b, x)?));
                    div(num, mul(b.clone(), b.clone()))
                }
                BinOp::Pow if !depends_on(b, x) => {
                    // b * a^(b-1) * a'
                    let p = Expr::Binary(
                        BinOp::Pow,
                        Box::new(a.clone()),
                        Box::new(sub(b.clone(), Expr::Const(1.0))),
                    );
                    mul(mul(b.clone(), p), diff(a, x)?)
                }
                _ => return None,
            }
        }
        Expr::Call {
            callee: Callee::Builtin(bi),
            args,
            ..
        } if args.len() == 1 => {
            let a = &args[0];
            let da = diff(a, x)?;
            let outer = match bi {
                Builtin::Exp => e.clone(),
                Builtin::Log => div(Expr::Const(1.0), a.clone()),
                Builtin::Sqrt => div(Expr::Const(0.5), e.clone()),
                Builtin::Sin => call1(Builtin::Cos, a.clone()),
                Builtin::Cos => Expr::Unary(UnOp::Neg, Box::new(call1(Builtin::Sin, a.clone()))),
                _ => return None,
            };
            mul(outer, da)
        }
        Expr::Call { .. } => return None,
    })
}

/// Algebraic clean-up so that linearity is visible: constant folding, `0*e = 0`, `1*e = e`,
/// `e+0 = e`, `0/e = 0`, `e^1 = e`, `e^0 = 1`, `--e = e`.
pub fn simplify(e: &Expr) -> Expr {
    match e {
        Expr::Unary(UnOp::Neg, a) => match simplify(a) {
            Expr::Const(c) => Expr::Const(-c),
            Expr::Unary(UnOp::Neg, inner) => *inner,
            s => Expr::Unary(UnOp::Neg, Box::new(s)),
        },
        Expr::Unary(op, a) => Expr::Unary(*op, Box::new(simplify(a))),
        Expr::Binary(op, a, b) => simplify_binary(*op, simplify(a), simplify(b)),
        Expr::Call { callee, args, line } => Expr::Call {
            callee: callee.clone(),
            args: args.iter().map(simplify).collect(),
            line: *line,
        },
        _ => e.clone(),
    }
}

fn simplify_binary(op: BinOp, a: Expr, b: Expr) -> Expr {
    use Expr::Const as C;
    let zero = |e: &Expr| *e == C(0.0);
    let one = |e: &Expr| *e == C(1.0);
    match (op, &a, &b) {
        (BinOp::Add, C(x), C(y)) => C(x + y),
        (BinOp::Sub, C(x), C(y)) => C(x - y),
        (BinOp::Mul, C(x), C(y)) => C(x * y),
        (BinOp::Div, C(x), C(y)) if *y != 0.0 => C(x / y),
        (BinOp::Add, _, _) if zero(&a) => b,
        (BinOp::Add | BinOp::Sub, _, _) if zero(&b) => a,
        (BinOp::Sub, _, _) if zero(&a) => simplify(&Expr::Unary(UnOp::Neg, Box::new(b))),
        (BinOp::Mul, _, _) if zero(&a) || zero(&b) => C(0.0),
        (BinOp::Mul, _, _) if one(&a) => b,
        (BinOp::Mul, C(m), _) if *m == -1.0 => simplify(&Expr::Unary(UnOp::Neg, Box::new(b))),
        (BinOp::Mul | BinOp::Div, _, _) if one(&b) => a,
        (BinOp::Div, _, _) if zero(&a) => C(0.0),
        (BinOp::Pow, _, _) if one(&b) => a,
        (BinOp::Pow, _, _) if zero(&b) => C(1.0),
        _ => Expr::Binary(op, Box::new(a), Box::new(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: VarId = 7;
    const Y: VarId = 8;

    fn v(id: VarId) -> Expr {
        Expr::Var(id)
    }

    #[test]
    fn slope_of_hh_gate_is_minus_one_over_tau() {
        // (minf - x)/tau: slope -1/tau, linear.
        let f = div(sub(v(Y), v(X)), Expr::Const(4.0));
        let a = simplify(&diff(&f, X).unwrap());
        assert_eq!(a, Expr::Const(-0.25));
        let c = simplify(&substitute(&f, X, &Expr::Const(0.0)));
        assert_eq!(c, div(v(Y), Expr::Const(4.0)));
    }

    #[test]
    fn slope_with_symbolic_tau_is_minus_one_over_tau() {
        // (minf - x)/tau with tau a variable: a = -1/tau exactly (no tau/tau^2 rounding).
        let f = div(sub(v(Y), v(X)), v(9));
        let a = simplify(&diff(&f, X).unwrap());
        assert_eq!(a, div(Expr::Const(-1.0), v(9)));
    }

    #[test]
    fn nonlinear_slope_is_detected() {
        let f = mul(v(X), v(X));
        let a = simplify(&diff(&f, X).unwrap());
        assert!(depends_on(&a, X));
        assert!(cnexp_update(X, &f, 0).is_none());
    }

    #[test]
    fn constant_rate_is_forward_euler() {
        let f = v(Y);
        let u = cnexp_update(X, &f, 0).unwrap();
        assert_eq!(u, add(v(X), mul(v(0), v(Y))));
    }
}
