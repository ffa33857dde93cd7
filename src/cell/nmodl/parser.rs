//! Recursive-descent parser (Pratt for expressions) from tokens to a [`ModFile`].
//!
//! Owns NMODL's grammar as nocmodl accepts it for the constructs real mechanisms use, including
//! the context-sensitive unit annotations: a parenthesised group right after a number or after a
//! closing parenthesis inside an expression is a unit (NMODL has no implicit multiplication), and
//! declarations take `(units)` and `<lo, hi>` after names. Blocks bmtool cannot run are parsed (or
//! skipped brace-balanced) and recorded, never rejected. Recursion is bounded by [`MAX_DEPTH`] so
//! no input can overflow the stack; no token access goes past the final `Eof`.

use super::ast::*;
use super::error::NmodlError;
use super::lexer::{tokenize, Tok, Token};

/// Deepest nesting of expressions / statements accepted.
pub const MAX_DEPTH: usize = 64;

/// Parses one `.mod` file's text; `file` is used in error messages.
pub fn parse(file: &str, src: &str) -> Result<ModFile, NmodlError> {
    let toks = tokenize(file, src)?;
    let mut p = Parser {
        file,
        src,
        toks,
        pos: 0,
        depth: 0,
    };
    p.module()
}

struct Parser<'a> {
    file: &'a str,
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, NmodlError>;

const NEURON_KEYWORDS: &[&str] = &[
    "SUFFIX",
    "POINT_PROCESS",
    "ARTIFICIAL_CELL",
    "USEION",
    "READ",
    "WRITE",
    "VALENCE",
    "REPRESENTS",
    "NONSPECIFIC_CURRENT",
    "ELECTRODE_CURRENT",
    "RANGE",
    "GLOBAL",
    "POINTER",
    "BBCOREPOINTER",
    "EXTERNAL",
    "THREADSAFE",
    "SECTION",
    "RANDOM",
];

impl<'a> Parser<'a> {
    // ----- token helpers -------------------------------------------------------------------

    fn tok(&self) -> &Tok {
        // `toks` always ends with Eof and `pos` never passes it (see `advance`).
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }
    fn tok_at(&self, k: usize) -> &Tok {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)].tok
    }
    fn span(&self) -> Span {
        self.toks[self.pos.min(self.toks.len() - 1)].span
    }
    fn advance(&mut self) -> Token {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn is_ident(&self, word: &str) -> bool {
        matches!(self.tok(), Tok::Ident(w) if w == word)
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.tok() == t {
            self.advance();
            true
        } else {
            false
        }
    }
    fn eat_ident(&mut self, word: &str) -> bool {
        if self.is_ident(word) {
            self.advance();
            true
        } else {
            false
        }
    }
    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(NmodlError::syntax(self.file, self.span(), msg))
    }
    fn describe(&self) -> String {
        match self.tok() {
            Tok::Ident(w) => format!("'{w}'"),
            Tok::Number(x) => format!("number {x}"),
            Tok::Eof => "end of file".into(),
            Tok::Verbatim(_) => "VERBATIM".into(),
            Tok::Title(_) => "TITLE".into(),
            Tok::Str(s) => format!("\"{s}\""),
            t => format!("'{}'", tok_text(t)),
        }
    }
    fn expect(&mut self, t: &Tok) -> PResult<()> {
        if self.eat(t) {
            Ok(())
        } else {
            self.err(format!(
                "expected '{}', found {}",
                tok_text(t),
                self.describe()
            ))
        }
    }
    fn ident(&mut self) -> PResult<(String, Span)> {
        let span = self.span();
        match self.tok().clone() {
            Tok::Ident(w) => {
                self.advance();
                Ok((w, span))
            }
            _ => self.err(format!("expected a name, found {}", self.describe())),
        }
    }
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `(` ... `)` as raw text (units); the current token must be `(`.
    fn unit_group(&mut self) -> PResult<String> {
        let open = self.advance();
        let mut depth = 1usize;
        let start = open.end;
        loop {
            match self.tok() {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        let end = self.toks[self.pos].start;
                        self.advance();
                        let text = self.src.get(start..end).unwrap_or("").trim();
                        return Ok(text.split_whitespace().collect::<Vec<_>>().join(" "));
                    }
                }
                Tok::Eof => {
                    return Err(NmodlError::syntax(
                        self.file,
                        open.span,
                        "unclosed '(' in units",
                    ));
                }
                _ => {}
            }
            self.advance();
        }
    }

    fn opt_units(&mut self) -> PResult<Option<String>> {
        if *self.tok() == Tok::LParen {
            Ok(Some(self.unit_group()?))
        } else {
            Ok(None)
        }
    }

    /// Skips a brace-balanced block; the current token must be `{`.
    fn skip_braced(&mut self) -> PResult<()> {
        let open = self.span();
        self.expect(&Tok::LBrace)?;
        let mut depth = 1usize;
        loop {
            match self.advance().tok {
                Tok::LBrace => depth += 1,
                Tok::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Tok::Eof => return Err(NmodlError::syntax(self.file, open, "unclosed '{'")),
                _ => {}
            }
        }
    }

    fn signed_number(&mut self) -> PResult<f64> {
        let neg = if self.eat(&Tok::Minus) {
            true
        } else {
            self.eat(&Tok::Plus);
            false
        };
        match *self.tok() {
            Tok::Number(x) => {
                self.advance();
                Ok(if neg { -x } else { x })
            }
            _ => self.err(format!("expected a number, found {}", self.describe())),
        }
    }

    // ----- top level -----------------------------------------------------------------------

    fn module(&mut self) -> PResult<ModFile> {
        let mut m = ModFile {
            file: self.file.to_string(),
            ..ModFile::default()
        };
        loop {
            let span = self.span();
            match self.tok().clone() {
                Tok::Eof => return Ok(m),
                Tok::Title(t) => {
                    self.advance();
                    m.title = Some(t);
                }
                Tok::Verbatim(_) => {
                    self.advance();
                    m.other_blocks.push(("VERBATIM".into(), span));
                }
                Tok::Ident(w) => {
                    self.advance();
                    self.top_block(&mut m, &w, span)?;
                }
                _ => {
                    return self.err(format!(
                        "expected a block keyword, found {}",
                        self.describe()
                    ))
                }
            }
        }
    }

    fn top_block(&mut self, m: &mut ModFile, word: &str, span: Span) -> PResult<()> {
        match word {
            "NEURON" => m.neuron = self.neuron_block()?,
            "UNITS" => m.units.extend(self.units_block()?),
            "PARAMETER" => m.parameters.extend(self.decl_block(true)?),
            "CONSTANT" => m.constants.extend(self.decl_block(true)?),
            "ASSIGNED" => m.assigned.extend(self.decl_block(false)?),
            "STATE" => m.states.extend(self.decl_block(false)?),
            "INDEPENDENT" => m.independent.extend(self.independent_block()?),
            "INITIAL" => m.initial = Some(self.named_body("INITIAL".into(), vec![], span)?),
            "BREAKPOINT" => {
                m.breakpoint = Some(self.named_body("BREAKPOINT".into(), vec![], span)?)
            }
            "DERIVATIVE" => {
                let (name, _) = self.ident()?;
                m.derivatives.push(self.named_body(name, vec![], span)?);
            }
            "KINETIC" => {
                let (name, _) = self.ident()?;
                m.kinetics.push(self.named_body(name, vec![], span)?);
            }
            "LINEAR" | "NONLINEAR" => {
                let (name, _) = self.ident()?;
                m.linears.push(self.named_body(name, vec![], span)?);
            }
            "PROCEDURE" => {
                let (name, _) = self.ident()?;
                let args = self.arg_list()?;
                m.procedures.push(self.named_body(name, args, span)?);
            }
            "FUNCTION" => {
                let (name, _) = self.ident()?;
                let args = self.arg_list()?;
                self.opt_units()?;
                m.functions.push(self.named_body(name, args, span)?);
            }
            "NET_RECEIVE" => {
                let args = self.arg_list()?;
                m.net_receive = Some(self.named_body("NET_RECEIVE".into(), args, span)?);
            }
            "FUNCTION_TABLE" => {
                let (name, _) = self.ident()?;
                self.arg_list()?;
                self.opt_units()?;
                m.other_blocks
                    .push((format!("FUNCTION_TABLE {name}"), span));
            }
            "LOCAL" => {
                let names = self.name_list()?;
                m.file_locals.extend(names);
            }
            "BEFORE" | "AFTER" => {
                let (when, _) = self.ident()?;
                self.skip_braced()?;
                m.other_blocks.push((format!("{word} {when}"), span));
            }
            "INCLUDE" => {
                if let Tok::Str(_) = self.tok() {
                    self.advance();
                }
                m.other_blocks.push(("INCLUDE".into(), span));
            }
            "DEFINE" => {
                self.ident()?;
                self.signed_number()?;
                m.other_blocks.push(("DEFINE".into(), span));
            }
            "CONSTRUCTOR" | "DESTRUCTOR" | "DISCRETE" | "PARTIAL" | "TERMINAL" | "CONSTANTS"
            | "STEPPED" | "PLOT" | "UNITSBLOCK" => {
                while *self.tok() != Tok::LBrace && *self.tok() != Tok::Eof {
                    self.advance();
                }
                self.skip_braced()?;
                m.other_blocks.push((word.to_string(), span));
            }
            _ => {
                return Err(NmodlError::syntax(
                    self.file,
                    span,
                    format!("unknown block '{word}'"),
                ));
            }
        }
        Ok(())
    }

    fn name_list(&mut self) -> PResult<Vec<String>> {
        let mut names = vec![self.ident()?.0];
        self.skip_array_dim()?;
        while self.eat(&Tok::Comma) {
            names.push(self.ident()?.0);
            self.skip_array_dim()?;
        }
        Ok(names)
    }

    fn skip_array_dim(&mut self) -> PResult<Option<usize>> {
        if self.eat(&Tok::Other('[')) {
            let n = self.signed_number()?;
            self.expect(&Tok::Other(']'))?;
            return Ok(Some(n.max(0.0) as usize));
        }
        Ok(None)
    }

    /// `( a [units], b [units] )`, or nothing.
    fn arg_list(&mut self) -> PResult<Vec<String>> {
        let mut args = Vec::new();
        if !self.eat(&Tok::LParen) {
            return Ok(args);
        }
        if self.eat(&Tok::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.ident()?.0);
            self.opt_units()?;
            if self.eat(&Tok::RParen) {
                return Ok(args);
            }
            self.expect(&Tok::Comma)?;
        }
    }

    fn named_body(&mut self, name: String, args: Vec<String>, span: Span) -> PResult<Callable> {
        let body = self.block()?;
        Ok(Callable {
            name,
            args,
            body,
            span,
        })
    }

    // ----- declaration blocks --------------------------------------------------------------

    fn neuron_block(&mut self) -> PResult<NeuronBlock> {
        let mut nb = NeuronBlock::default();
        self.expect(&Tok::LBrace)?;
        loop {
            if self.eat(&Tok::RBrace) {
                return Ok(nb);
            }
            let span = self.span();
            let (w, _) = match self.tok() {
                Tok::Verbatim(_) => {
                    self.advance();
                    continue;
                }
                _ => self.ident()?,
            };
            match w.as_str() {
                "SUFFIX" | "POINT_PROCESS" | "ARTIFICIAL_CELL" => {
                    let kind = match w.as_str() {
                        "SUFFIX" => MechKind::Density,
                        "POINT_PROCESS" => MechKind::PointProcess,
                        _ => MechKind::ArtificialCell,
                    };
                    let (name, _) = self.ident()?;
                    if let Some((first, _, _)) = &nb.name {
                        let msg = format!(
                            "{w} {name}: the NEURON block already named the mechanism {first}"
                        );
                        return Err(NmodlError::syntax(self.file, span, msg));
                    }
                    nb.name = Some((name, kind, span));
                }
                "USEION" => nb.ions.push(self.useion(span)?),
                "NONSPECIFIC_CURRENT" => nb.nonspecific.extend(self.neuron_names()?),
                "ELECTRODE_CURRENT" => nb.electrode.extend(self.neuron_names()?),
                "RANGE" => nb.range.extend(self.neuron_names()?),
                "GLOBAL" => nb.global.extend(self.neuron_names()?),
                "POINTER" | "BBCOREPOINTER" | "RANDOM" => nb.pointer.extend(self.neuron_names()?),
                "EXTERNAL" | "SECTION" => {
                    self.neuron_names()?;
                }
                "THREADSAFE" => nb.threadsafe = true,
                _ => {
                    return Err(NmodlError::syntax(
                        self.file,
                        span,
                        format!("unknown NEURON block statement '{w}'"),
                    ));
                }
            }
        }
    }

    /// Names after RANGE / GLOBAL / ...: commas optional, stops at the next keyword.
    fn neuron_names(&mut self) -> PResult<Vec<(String, Span)>> {
        let mut out = Vec::new();
        loop {
            match self.tok() {
                Tok::Ident(w) if !NEURON_KEYWORDS.contains(&w.as_str()) => {
                    let span = self.span();
                    let w = w.clone();
                    self.advance();
                    out.push((w, span));
                    self.eat(&Tok::Comma);
                }
                _ => break,
            }
        }
        if out.is_empty() {
            return self.err(format!("expected a name, found {}", self.describe()));
        }
        Ok(out)
    }

    fn useion(&mut self, span: Span) -> PResult<UseIon> {
        let (ion, _) = self.ident()?;
        let mut u = UseIon {
            ion,
            read: vec![],
            write: vec![],
            valence: None,
            span,
        };
        loop {
            if self.eat_ident("READ") {
                u.read
                    .extend(self.neuron_names()?.into_iter().map(|(n, _)| n));
            } else if self.eat_ident("WRITE") {
                u.write
                    .extend(self.neuron_names()?.into_iter().map(|(n, _)| n));
            } else if self.eat_ident("VALENCE") {
                u.valence = Some(self.signed_number()?);
            } else if self.eat_ident("REPRESENTS") {
                // An ontology id such as CHEBI:29101: skip the name and its suffix.
                self.ident()?;
                if self.eat(&Tok::Colon) {
                    self.advance();
                }
            } else {
                return Ok(u);
            }
        }
    }

    fn units_block(&mut self) -> PResult<Vec<UnitDef>> {
        let mut out = Vec::new();
        self.expect(&Tok::LBrace)?;
        loop {
            let span = self.span();
            match self.tok().clone() {
                Tok::RBrace => {
                    self.advance();
                    return Ok(out);
                }
                Tok::LParen => {
                    let name = self.unit_group()?;
                    self.expect(&Tok::Assign)?;
                    if *self.tok() != Tok::LParen {
                        return self.err("expected '(' after '=' in a unit definition");
                    }
                    let unit = self.unit_group()?;
                    out.push(UnitDef::Alias { name, unit });
                }
                Tok::Ident(name) => {
                    self.advance();
                    self.expect(&Tok::Assign)?;
                    if *self.tok() == Tok::LParen {
                        let from = self.unit_group()?;
                        if *self.tok() != Tok::LParen {
                            return self.err("expected '(units)' after the unit factor");
                        }
                        let to = self.unit_group()?;
                        out.push(UnitDef::Factor {
                            name,
                            from,
                            to,
                            span,
                        });
                    } else {
                        let value = self.signed_number()?;
                        let units = self.opt_units()?;
                        out.push(UnitDef::Constant {
                            name,
                            value,
                            units,
                            span,
                        });
                    }
                }
                _ => return self.err(format!("unexpected {} in UNITS", self.describe())),
            }
        }
    }

    /// PARAMETER / CONSTANT (`with_values`), ASSIGNED and STATE declarations.
    fn decl_block(&mut self, with_values: bool) -> PResult<Vec<VarDecl>> {
        let mut out = Vec::new();
        self.expect(&Tok::LBrace)?;
        loop {
            if self.eat(&Tok::RBrace) {
                return Ok(out);
            }
            let (name, span) = self.ident()?;
            let array = self.skip_array_dim()?;
            let mut d = VarDecl {
                name,
                default: None,
                units: None,
                limits: None,
                array,
                span,
            };
            if self.eat(&Tok::Assign) {
                d.default = Some(self.signed_number()?);
            } else if with_values && matches!(self.tok(), Tok::Number(_)) {
                // nocmodl accepts `name number` in PARAMETER? No: but tolerate it.
                d.default = Some(self.signed_number()?);
            }
            d.units = self.opt_units()?;
            if *self.tok() == Tok::Lt {
                self.advance();
                let lo = self.signed_number()?;
                self.expect(&Tok::Comma)?;
                let hi = self.signed_number()?;
                self.expect(&Tok::Gt)?;
                d.limits = Some((lo, hi));
            }
            if self.eat_ident("FROM") {
                let lo = self.signed_number()?;
                if !self.eat_ident("TO") {
                    return self.err("expected TO");
                }
                let hi = self.signed_number()?;
                d.limits = Some((lo, hi));
            }
            if self.eat_ident("START") {
                self.signed_number()?;
            }
            out.push(d);
        }
    }

    fn independent_block(&mut self) -> PResult<Vec<String>> {
        let mut names = Vec::new();
        self.expect(&Tok::LBrace)?;
        loop {
            match self.tok().clone() {
                Tok::RBrace => {
                    self.advance();
                    return Ok(names);
                }
                Tok::Eof => return self.err("unclosed INDEPENDENT block"),
                Tok::Ident(w)
                    if names.is_empty() && !matches!(w.as_str(), "FROM" | "TO" | "WITH") =>
                {
                    names.push(w);
                    self.advance();
                }
                _ => {
                    self.advance();
                }
            }
        }
    }

    // ----- statements ----------------------------------------------------------------------

    fn block(&mut self) -> PResult<Vec<Stmt>> {
        self.enter()?;
        self.expect(&Tok::LBrace)?;
        let mut out = Vec::new();
        while !self.eat(&Tok::RBrace) {
            if *self.tok() == Tok::Eof {
                return self.err("unexpected end of file inside a block (missing '}')");
            }
            out.push(self.statement()?);
        }
        self.leave();
        Ok(out)
    }

    fn statement(&mut self) -> PResult<Stmt> {
        let span = self.span();
        match self.tok().clone() {
            Tok::Verbatim(_) => {
                self.advance();
                Ok(Stmt::Unsupported {
                    what: "VERBATIM".into(),
                    span,
                })
            }
            Tok::LBrace => {
                let body = self.block()?;
                Ok(Stmt::If {
                    cond: Expr::Num(1.0),
                    then: body,
                    otherwise: vec![],
                    span,
                })
            }
            Tok::Tilde => {
                self.advance();
                self.reaction(span)
            }
            Tok::Ident(w) => self.word_statement(w, span),
            _ => self.err(format!("expected a statement, found {}", self.describe())),
        }
    }

    fn word_statement(&mut self, w: String, span: Span) -> PResult<Stmt> {
        match w.as_str() {
            "LOCAL" => {
                self.advance();
                Ok(Stmt::Local {
                    names: self.name_list()?,
                    span,
                })
            }
            "if" => {
                self.advance();
                self.if_statement(span)
            }
            "SOLVE" => {
                self.advance();
                self.solve_statement(span)
            }
            "TABLE" => {
                self.advance();
                self.table_statement(span)
            }
            "CONSERVE" => {
                self.advance();
                self.expr()?;
                self.expect(&Tok::Assign)?;
                self.expr()?;
                Ok(Stmt::Conserve { span })
            }
            "COMPARTMENT" | "LONGITUDINAL_DIFFUSION" => {
                self.advance();
                // COMPARTMENT [i,] volume { states }
                while *self.tok() != Tok::LBrace && *self.tok() != Tok::Eof {
                    self.advance();
                }
                self.skip_braced()?;
                Ok(Stmt::Unsupported { what: w, span })
            }
            "WATCH" => {
                self.advance();
                loop {
                    self.expect(&Tok::LParen)?;
                    self.expr()?;
                    self.expect(&Tok::RParen)?;
                    self.expr()?;
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                Ok(Stmt::Unsupported {
                    what: "WATCH".into(),
                    span,
                })
            }
            "FROM" => {
                self.advance();
                self.ident()?;
                self.expect(&Tok::Assign)?;
                self.expr()?;
                if !self.eat_ident("TO") {
                    return self.err("expected TO");
                }
                self.expr()?;
                if self.eat_ident("BY") {
                    self.expr()?;
                }
                self.block()?;
                Ok(Stmt::Unsupported {
                    what: "FROM loop".into(),
                    span,
                })
            }
            "WHILE" | "while" => {
                self.advance();
                self.expect(&Tok::LParen)?;
                self.expr()?;
                self.expect(&Tok::RParen)?;
                self.block()?;
                Ok(Stmt::Unsupported {
                    what: "WHILE loop".into(),
                    span,
                })
            }
            "INITIAL" | "FOR_NETCONS" => {
                self.advance();
                self.arg_list()?;
                self.block()?;
                Ok(Stmt::Unsupported {
                    what: format!("{w} inside NET_RECEIVE"),
                    span,
                })
            }
            "MUTEXLOCK" | "MUTEXUNLOCK" => {
                self.advance();
                Ok(Stmt::Unsupported { what: w, span })
            }
            _ => self.assignment_or_call(w, span),
        }
    }

    fn assignment_or_call(&mut self, w: String, span: Span) -> PResult<Stmt> {
        match self.tok_at(1) {
            Tok::Prime => {
                self.advance();
                self.advance();
                self.expect(&Tok::Assign)?;
                Ok(Stmt::Derivative {
                    state: w,
                    value: self.expr()?,
                    span,
                })
            }
            Tok::Assign => {
                self.advance();
                self.advance();
                Ok(Stmt::Assign {
                    name: w,
                    value: self.expr()?,
                    span,
                })
            }
            Tok::LParen => {
                let call = self.expr()?;
                if self.eat(&Tok::Assign) {
                    // Array element assignment `a[i] = e` is not NMODL we support; `f(x) = e` is
                    // not NMODL at all.
                    return Err(NmodlError::syntax(
                        self.file,
                        span,
                        "cannot assign to a call",
                    ));
                }
                Ok(Stmt::Call { call, span })
            }
            Tok::Other('[') => {
                self.advance();
                self.skip_array_dim_expr()?;
                self.expect(&Tok::Assign)?;
                self.expr()?;
                Ok(Stmt::Unsupported {
                    what: "array element assignment".into(),
                    span,
                })
            }
            _ => {
                self.advance();
                self.err(format!(
                    "expected '=', '(' or ''' after '{w}', found {}",
                    self.describe()
                ))
            }
        }
    }

    fn skip_array_dim_expr(&mut self) -> PResult<()> {
        self.expect(&Tok::Other('['))?;
        self.expr()?;
        self.expect(&Tok::Other(']'))
    }

    fn if_statement(&mut self, span: Span) -> PResult<Stmt> {
        self.expect(&Tok::LParen)?;
        let cond = self.expr()?;
        self.expect(&Tok::RParen)?;
        let then = self.block()?;
        let mut otherwise = Vec::new();
        if self.eat_ident("else") {
            if self.is_ident("if") {
                let s = self.span();
                self.advance();
                self.enter()?;
                otherwise.push(self.if_statement(s)?);
                self.leave();
            } else {
                otherwise = self.block()?;
            }
        }
        Ok(Stmt::If {
            cond,
            then,
            otherwise,
            span,
        })
    }

    fn solve_statement(&mut self, span: Span) -> PResult<Stmt> {
        let (block, _) = self.ident()?;
        let mut method = None;
        loop {
            if self.eat_ident("METHOD") {
                method = Some(self.ident()?.0);
            } else if self.eat_ident("STEADYSTATE") {
                self.ident()?;
            } else if self.eat_ident("IFERROR") {
                self.block()?;
            } else {
                break;
            }
        }
        Ok(Stmt::Solve {
            block,
            method,
            span,
        })
    }

    fn table_statement(&mut self, span: Span) -> PResult<Stmt> {
        let mut names = Vec::new();
        if !self.is_ident("DEPEND") && !self.is_ident("FROM") {
            names = self.name_list()?;
        }
        let mut depend = Vec::new();
        if self.eat_ident("DEPEND") {
            depend = self.name_list()?;
        }
        if !self.eat_ident("FROM") {
            return self.err("expected FROM in TABLE");
        }
        let from = self.expr()?;
        if !self.eat_ident("TO") {
            return self.err("expected TO in TABLE");
        }
        let to = self.expr()?;
        if !self.eat_ident("WITH") {
            return self.err("expected WITH in TABLE");
        }
        let with = self.signed_number()?;
        Ok(Stmt::Table {
            names,
            depend,
            from,
            to,
            with,
            span,
        })
    }

    /// `~ A + B <-> C (kf, kb)`, `~ A -> B (k)`, `~ e = e` (LINEAR), `~ A << (flux)`.
    fn reaction(&mut self, span: Span) -> PResult<Stmt> {
        let lhs = self.expr()?;
        match self.tok() {
            Tok::Reversible | Tok::Arrow => {
                let reversible = *self.tok() == Tok::Reversible;
                self.advance();
                let rhs = self.expr_no_units()?;
                self.expect(&Tok::LParen)?;
                let kf = self.expr()?;
                let kb = if reversible {
                    self.expect(&Tok::Comma)?;
                    Some(self.expr()?)
                } else {
                    None
                };
                self.expect(&Tok::RParen)?;
                let (lhs, rhs) = (self.species(&lhs, span)?, self.species(&rhs, span)?);
                Ok(Stmt::Reaction {
                    lhs,
                    rhs,
                    kf,
                    kb,
                    span,
                })
            }
            Tok::Assign => {
                self.advance();
                let rhs = self.expr()?;
                Ok(Stmt::Equation { lhs, rhs, span })
            }
            Tok::Lt if *self.tok_at(1) == Tok::Lt => {
                self.advance();
                self.advance();
                self.expect(&Tok::LParen)?;
                self.expr()?;
                self.expect(&Tok::RParen)?;
                Ok(Stmt::Unsupported {
                    what: "flux reaction '<<'".into(),
                    span,
                })
            }
            _ => self.err(format!(
                "expected '<->', '->', '<<' or '=' in a reaction, found {}",
                self.describe()
            )),
        }
    }

    /// A reaction side `A + 2B` as (stoichiometry, species) pairs.
    fn species(&self, e: &Expr, span: Span) -> PResult<Vec<(u32, String)>> {
        let mut out = Vec::new();
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Binary(BinOp::Add, a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Expr::Name(n, _) => out.push((1, n.clone())),
                Expr::Binary(BinOp::Mul, a, b) => match (a.as_ref(), b.as_ref()) {
                    (Expr::Num(k), Expr::Name(n, _))
                        if *k >= 1.0 && k.fract() == 0.0 && *k < 1e6 =>
                    {
                        out.push((*k as u32, n.clone()))
                    }
                    _ => return Err(NmodlError::syntax(self.file, span, "bad reaction species")),
                },
                _ => return Err(NmodlError::syntax(self.file, span, "bad reaction species")),
            }
        }
        Ok(out)
    }

    // ----- expressions (Pratt) -------------------------------------------------------------

    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.expr_bp(0, true)
    }

    /// Reaction products are followed by `(rates)`, which must not be read as units or calls.
    fn expr_no_units(&mut self) -> PResult<Expr> {
        self.expr_bp(0, false)
    }

    fn expr_bp(&mut self, min_bp: u8, units_ok: bool) -> PResult<Expr> {
        self.enter()?;
        let mut lhs = self.prefix(units_ok)?;
        while let Some((op, lbp, rbp)) = infix(self.tok()) {
            if lbp < min_bp {
                break;
            }
            self.advance();
            let rhs = self.expr_bp(rbp, units_ok)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        self.leave();
        Ok(lhs)
    }

    fn prefix(&mut self, units_ok: bool) -> PResult<Expr> {
        let span = self.span();
        match self.tok().clone() {
            Tok::Minus => {
                self.advance();
                let e = self.expr_bp(UNARY_BP, units_ok)?;
                Ok(Expr::Unary(UnOp::Neg, Box::new(e)))
            }
            Tok::Plus => {
                self.advance();
                self.expr_bp(UNARY_BP, units_ok)
            }
            Tok::Not => {
                self.advance();
                let e = self.expr_bp(UNARY_BP, units_ok)?;
                Ok(Expr::Unary(UnOp::Not, Box::new(e)))
            }
            Tok::Number(x) => {
                self.advance();
                if units_ok && *self.tok() == Tok::LParen {
                    self.unit_group()?;
                }
                Ok(Expr::Num(x))
            }
            Tok::LParen => {
                self.advance();
                let e = self.expr()?;
                self.expect(&Tok::RParen)?;
                if units_ok && *self.tok() == Tok::LParen {
                    self.unit_group()?;
                }
                Ok(e)
            }
            Tok::Ident(name) => {
                self.advance();
                // In reaction mode (`units_ok == false`) a name before '(' is a species followed
                // by its rate list, not a call.
                if units_ok && *self.tok() == Tok::LParen {
                    self.advance();
                    let mut args = Vec::new();
                    if !self.eat(&Tok::RParen) {
                        loop {
                            args.push(self.expr()?);
                            if self.eat(&Tok::RParen) {
                                break;
                            }
                            self.expect(&Tok::Comma)?;
                        }
                    }
                    Ok(Expr::Call { name, args, span })
                } else {
                    if *self.tok() == Tok::Other('[') {
                        self.skip_array_dim_expr()?;
                    }
                    Ok(Expr::Name(name, span))
                }
            }
            _ => self.err(format!("expected an expression, found {}", self.describe())),
        }
    }
}

const UNARY_BP: u8 = 11;

/// (operator, left binding power, right binding power). `^` is right-associative and binds
/// tighter than unary minus (`-x^2` is `-(x^2)`), as in nocmodl's yacc grammar.
fn infix(t: &Tok) -> Option<(BinOp, u8, u8)> {
    Some(match t {
        Tok::OrOr => (BinOp::Or, 1, 2),
        Tok::AndAnd => (BinOp::And, 3, 4),
        Tok::Lt => (BinOp::Lt, 5, 6),
        Tok::Le => (BinOp::Le, 5, 6),
        Tok::Gt => (BinOp::Gt, 5, 6),
        Tok::Ge => (BinOp::Ge, 5, 6),
        Tok::Eq => (BinOp::Eq, 5, 6),
        Tok::Ne => (BinOp::Ne, 5, 6),
        Tok::Plus => (BinOp::Add, 7, 8),
        Tok::Minus => (BinOp::Sub, 7, 8),
        Tok::Star => (BinOp::Mul, 9, 10),
        Tok::Slash => (BinOp::Div, 9, 10),
        Tok::Caret => (BinOp::Pow, 14, 13),
        _ => return None,
    })
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::LBrace => "{".into(),
        Tok::RBrace => "}".into(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::Comma => ",".into(),
        Tok::Assign => "=".into(),
        Tok::Eq => "==".into(),
        Tok::Ne => "!=".into(),
        Tok::Lt => "<".into(),
        Tok::Le => "<=".into(),
        Tok::Gt => ">".into(),
        Tok::Ge => ">=".into(),
        Tok::Plus => "+".into(),
        Tok::Minus => "-".into(),
        Tok::Star => "*".into(),
        Tok::Slash => "/".into(),
        Tok::Caret => "^".into(),
        Tok::Prime => "'".into(),
        Tok::Tilde => "~".into(),
        Tok::Reversible => "<->".into(),
        Tok::Arrow => "->".into(),
        Tok::AndAnd => "&&".into(),
        Tok::OrOr => "||".into(),
        Tok::Not => "!".into(),
        Tok::Colon => ":".into(),
        Tok::Other(c) => c.to_string(),
        Tok::Ident(w) => w.clone(),
        Tok::Number(x) => x.to_string(),
        Tok::Str(s) => s.clone(),
        Tok::Verbatim(_) => "VERBATIM".into(),
        Tok::Title(_) => "TITLE".into(),
        Tok::Eof => "end of file".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(src: &str) -> Vec<Stmt> {
        let m = parse("t.mod", src).unwrap();
        m.initial.unwrap().body
    }

    fn assigned(src: &str) -> Expr {
        match body_of(&format!("INITIAL {{ {src} }}")).remove(0) {
            Stmt::Assign { value, .. } => value,
            other => panic!("not an assignment: {other:?}"),
        }
    }

    fn num(x: f64) -> Box<Expr> {
        Box::new(Expr::Num(x))
    }

    #[test]
    fn power_is_right_associative_and_binds_tighter_than_unary_minus() {
        assert_eq!(
            assigned("a = 2^3^2"),
            Expr::Binary(
                BinOp::Pow,
                num(2.0),
                Box::new(Expr::Binary(BinOp::Pow, num(3.0), num(2.0)))
            )
        );
        assert_eq!(
            assigned("a = -2^2"),
            Expr::Unary(
                UnOp::Neg,
                Box::new(Expr::Binary(BinOp::Pow, num(2.0), num(2.0)))
            )
        );
    }

    #[test]
    fn units_after_numbers_and_parentheses_are_annotations() {
        // nocmodl: `real units` and a parenthesised group followed by units.
        assert_eq!(
            assigned("a = 1 (mV) + (2) (1/ms)"),
            Expr::Binary(BinOp::Add, num(1.0), num(2.0))
        );
    }

    #[test]
    fn statements_are_newline_insensitive() {
        // `a = b` then `-c` on the next line continues the expression, as in yacc nocmodl.
        let b = body_of("INITIAL {\n a = 1\n -2\n b = 3 }");
        assert_eq!(b.len(), 2);
        assert!(matches!(
            &b[0],
            Stmt::Assign {
                value: Expr::Binary(BinOp::Sub, _, _),
                ..
            }
        ));
    }

    #[test]
    fn comments_title_limits_and_from_to() {
        let src = "TITLE a test\nCOMMENT\n anything { here\nENDCOMMENT\n? a comment\n\
                   NEURON { SUFFIX x RANGE g }\n\
                   PARAMETER { g = .5 (S/cm2) <0, 1e9> : comment\n e = -70 (mV) }\n\
                   STATE { z FROM 0 TO 1 }\nINDEPENDENT { t FROM 0 TO 1 WITH 1 (ms) }\n";
        let m = parse("t.mod", src).unwrap();
        assert_eq!(m.title.as_deref(), Some("a test"));
        assert_eq!(m.parameters[0].default, Some(0.5));
        assert_eq!(m.parameters[0].units.as_deref(), Some("S/cm2"));
        assert_eq!(m.parameters[0].limits, Some((0.0, 1e9)));
        assert_eq!(m.parameters[1].default, Some(-70.0));
        assert_eq!(m.states[0].limits, Some((0.0, 1.0)));
        assert_eq!(m.independent, vec!["t"]);
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let e = parse("f.mod", "NEURON { SUFFIX x }\nINITIAL {\n  a = * 2\n}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.mod:3:7: syntax error: expected an expression, found '*'"
        );
    }
}
