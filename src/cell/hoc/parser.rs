//! Tokens to a syntax tree for a whole HOC file: every template (used or not), procedures and
//! top-level statements. Follows HOC's grammar where it differs from C: statements need no
//! separator (`insert na3 sh_na3=nash gbar_na3 = gna` is three statements), an expression does
//! not continue onto the next line outside brackets, and a statement that starts with a name
//! created by `create` in the same scope (template or top level) is section-prefixed
//! (`soma[0] stmt`, bare `soma stmt`). Nothing is evaluated here; names other than section
//! names are resolved by the interpreter when a statement runs.

use std::collections::HashSet;
use std::rc::Rc;

use super::ast::{Expr, ProcDef, ProcKind, SectionRef, Stmt, StmtKind, TemplateDef};
use super::error::HocError;
use super::lexer::{tokenize, Tok, Token};

/// Deepest nesting of blocks and brackets accepted (beyond it: an error, not a stack overflow).
pub const MAX_NESTING: usize = 200;

/// Parse a whole file. `file` names it in error messages.
pub fn parse_file(file: &str, source: &str) -> Result<Vec<Stmt>, HocError> {
    let tokens = tokenize(file, source)?;
    let mut parser = Parser {
        file: Rc::from(file),
        sections: top_level_sections(&tokens),
        tokens,
        pos: 0,
        depth: 0,
        brackets: 0,
        in_template: false,
    };
    let mut statements = Vec::new();
    while !parser.at_eof() {
        statements.push(parser.statement()?);
    }
    Ok(statements)
}

struct Parser {
    file: Rc<str>,
    tokens: Vec<Token>,
    pos: usize,
    /// Names created by `create` in the scope being parsed.
    sections: HashSet<String>,
    depth: usize,
    /// Open `(` / `[` around the current expression (lines may break inside).
    brackets: usize,
    in_template: bool,
}

/// Section names created by `create` outside templates.
fn top_level_sections(tokens: &[Token]) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut in_template = false;
    for (i, token) in tokens.iter().enumerate() {
        match &token.tok {
            Tok::Ident(word) if word == "begintemplate" => in_template = true,
            Tok::Ident(word) if word == "endtemplate" => in_template = false,
            Tok::Ident(word) if word == "create" && !in_template => {
                names.extend(created_names(&tokens[i + 1..]))
            }
            _ => {}
        }
    }
    names
}

/// Names listed after a `create` keyword: `a[n], b` (skipping the size expressions).
fn created_names(tokens: &[Token]) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = 0;
    while let Some(Token {
        tok: Tok::Ident(name),
        ..
    }) = tokens.get(i)
    {
        names.push(name.clone());
        i += 1;
        if tokens.get(i).map(|t| &t.tok) == Some(&Tok::Punct("[")) {
            let mut open = 0;
            while let Some(token) = tokens.get(i) {
                match token.tok {
                    Tok::Punct("[") => open += 1,
                    Tok::Punct("]") => open -= 1,
                    Tok::Eof => return names,
                    _ => {}
                }
                i += 1;
                if open == 0 {
                    break;
                }
            }
        }
        if tokens.get(i).map(|t| &t.tok) != Some(&Tok::Punct(",")) {
            break;
        }
        i += 1;
    }
    names
}

const KEYWORDS: [&str; 28] = [
    "print",
    "begintemplate",
    "endtemplate",
    "public",
    "external",
    "create",
    "connect",
    "access",
    "insert",
    "uninsert",
    "forall",
    "forsec",
    "for",
    "if",
    "else",
    "while",
    "return",
    "break",
    "continue",
    "proc",
    "func",
    "obfunc",
    "objref",
    "objectvar",
    "strdef",
    "localobj",
    "local",
    "new",
];

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }

    fn peek_at(&self, offset: usize) -> &Tok {
        let index = (self.pos + offset).min(self.tokens.len() - 1);
        &self.tokens[index].tok
    }

    fn line(&self) -> usize {
        self.tokens[self.pos].line
    }

    fn prev_line(&self) -> usize {
        self.tokens[self.pos.saturating_sub(1)].line
    }

    fn at_eof(&self) -> bool {
        matches!(self.peek(), Tok::Eof)
    }

    fn advance(&mut self) -> Tok {
        let tok = self.tokens[self.pos].tok.clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        tok
    }

    fn error(&self, message: impl Into<String>) -> HocError {
        HocError::at(&self.file, self.line(), message)
    }

    fn is_punct(&self, punct: &str) -> bool {
        matches!(self.peek(), Tok::Punct(p) if *p == punct)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn eat_punct(&mut self, punct: &str) -> bool {
        if self.is_punct(punct) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, punct: &str) -> Result<(), HocError> {
        if self.eat_punct(punct) {
            Ok(())
        } else {
            Err(self.error(format!(
                "expected '{punct}', found {}",
                describe(self.peek())
            )))
        }
    }

    fn name(&mut self, what: &str) -> Result<String, HocError> {
        match self.peek().clone() {
            Tok::Ident(name) if !KEYWORDS.contains(&name.as_str()) => {
                self.advance();
                Ok(name)
            }
            other => Err(self.error(format!("expected {what}, found {}", describe(&other)))),
        }
    }

    fn enter(&mut self) -> Result<(), HocError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error(format!("nesting deeper than {MAX_NESTING} levels")));
        }
        Ok(())
    }

    // ----- statements ---------------------------------------------------------------------

    fn statement(&mut self) -> Result<Stmt, HocError> {
        self.enter()?;
        let line = self.line();
        let kind = self.statement_kind();
        self.depth -= 1;
        Ok(Stmt { line, kind: kind? })
    }

    fn statement_kind(&mut self) -> Result<StmtKind, HocError> {
        if self.eat_punct(";") {
            return Ok(StmtKind::Empty);
        }
        if self.eat_punct("{") {
            return Ok(StmtKind::Block(self.block_rest()?));
        }
        let word = match self.peek() {
            Tok::Ident(word) => word.clone(),
            _ => return Ok(StmtKind::Expr(self.expression()?)),
        };
        match word.as_str() {
            "begintemplate" => self.template(),
            "endtemplate" => Err(self.error("endtemplate without begintemplate")),
            "proc" | "func" | "obfunc" => self.procedure(),
            "if" => self.if_statement(),
            "while" => {
                self.advance();
                let cond = self.condition()?;
                Ok(StmtKind::While(cond, Box::new(self.statement()?)))
            }
            "for" => self.for_statement(),
            "forall" => {
                self.advance();
                Ok(StmtKind::Forall(Box::new(self.statement()?)))
            }
            "forsec" => {
                self.advance();
                let list = self.expression()?;
                Ok(StmtKind::Forsec(list, Box::new(self.statement()?)))
            }
            "create" => {
                self.advance();
                Ok(StmtKind::Create(self.declared_list()?))
            }
            "objref" | "objectvar" => {
                self.advance();
                Ok(StmtKind::Objref(self.declared_list()?))
            }
            "strdef" => {
                self.advance();
                Ok(StmtKind::Strdef(self.name_list()?))
            }
            "public" => {
                self.advance();
                Ok(StmtKind::Public(self.name_list()?))
            }
            "external" => {
                self.advance();
                Ok(StmtKind::External(self.name_list()?))
            }
            "localobj" => {
                self.advance();
                Ok(StmtKind::LocalObj(self.name_list()?))
            }
            "local" => {
                self.advance();
                Ok(StmtKind::Local(self.name_list()?))
            }
            "print" => {
                self.advance();
                let mut items = vec![self.expression()?];
                while self.eat_punct(",") {
                    items.push(self.expression()?);
                }
                Ok(StmtKind::Print(items))
            }
            "connect" => self.connect(),
            "access" => {
                self.advance();
                Ok(StmtKind::Access(self.section_ref()?))
            }
            "insert" | "uninsert" => {
                self.advance();
                let name = self.name("a mechanism name")?;
                Ok(if word == "insert" {
                    StmtKind::Insert(name)
                } else {
                    StmtKind::Uninsert(name)
                })
            }
            "return" => {
                self.advance();
                let same_line = self.line() == self.prev_line();
                let ends = self.is_punct("}") || self.is_punct(";") || self.at_eof();
                if same_line && !ends {
                    Ok(StmtKind::Return(Some(self.expression()?)))
                } else {
                    Ok(StmtKind::Return(None))
                }
            }
            "break" => {
                self.advance();
                Ok(StmtKind::Break)
            }
            "continue" => {
                self.advance();
                Ok(StmtKind::Continue)
            }
            "else" => Err(self.error("else without if")),
            _ if self.sections.contains(&word) && !self.section_used_as_value() => {
                let section = self.section_ref()?;
                Ok(StmtKind::InSection(section, Box::new(self.statement()?)))
            }
            _ => Ok(StmtKind::Expr(self.expression()?)),
        }
    }

    /// `soma.L = 5` or `soma(0.5)` would use a section name as a value; those forms are not part
    /// of the subset, so a section name always starts a section-prefixed statement unless it is
    /// followed by `=` (an error the interpreter reports).
    fn section_used_as_value(&self) -> bool {
        matches!(self.peek_at(1), Tok::Punct("=") | Tok::Punct("."))
    }

    /// Statements up to the matching `}` (the `{` is consumed).
    fn block_rest(&mut self) -> Result<Vec<Stmt>, HocError> {
        let mut statements = Vec::new();
        loop {
            if self.eat_punct("}") {
                return Ok(statements);
            }
            if self.at_eof() {
                return Err(self.error("missing '}' before the end of the file"));
            }
            statements.push(self.statement()?);
        }
    }

    fn condition(&mut self) -> Result<Expr, HocError> {
        self.expect_punct("(")?;
        self.brackets += 1;
        let cond = self.expression();
        self.brackets -= 1;
        let cond = cond?;
        self.expect_punct(")")?;
        Ok(cond)
    }

    fn if_statement(&mut self) -> Result<StmtKind, HocError> {
        self.advance();
        let cond = self.condition()?;
        let then = Box::new(self.statement()?);
        let otherwise = if self.is_word("else") {
            self.advance();
            Some(Box::new(self.statement()?))
        } else {
            None
        };
        Ok(StmtKind::If(cond, then, otherwise))
    }

    fn for_statement(&mut self) -> Result<StmtKind, HocError> {
        self.advance();
        if !self.is_punct("(") {
            let var = self.name("a loop variable")?;
            self.expect_punct("=")?;
            let from = self.expression()?;
            self.expect_punct(",")?;
            let to = self.expression()?;
            return Ok(StmtKind::ForRange(
                var,
                from,
                to,
                Box::new(self.statement()?),
            ));
        }
        // `for (x)`, `for (x, 0)` or C-style `for (init; cond; step)`.
        if matches!(self.peek_at(1), Tok::Ident(_))
            && matches!(self.peek_at(2), Tok::Punct(")") | Tok::Punct(","))
        {
            self.advance();
            let var = self.name("a position variable")?;
            let mut ends = true;
            if self.eat_punct(",") {
                match self.advance() {
                    Tok::Num(0.0) => ends = false,
                    _ => return Err(self.error("only for (x) and for (x, 0) are supported")),
                }
            }
            self.expect_punct(")")?;
            return Ok(StmtKind::ForSegments(
                var,
                ends,
                Box::new(self.statement()?),
            ));
        }
        self.advance();
        self.brackets += 1;
        let parts = self.c_for_parts();
        self.brackets -= 1;
        let (init, cond, step) = parts?;
        self.expect_punct(")")?;
        Ok(StmtKind::ForC(
            Box::new(init),
            cond,
            Box::new(step),
            Box::new(self.statement()?),
        ))
    }

    fn c_for_parts(&mut self) -> Result<(Stmt, Expr, Stmt), HocError> {
        let line = self.line();
        let init = StmtKind::Expr(self.expression()?);
        self.expect_punct(";")?;
        let cond = self.expression()?;
        self.expect_punct(";")?;
        let step = StmtKind::Expr(self.expression()?);
        Ok((Stmt { line, kind: init }, cond, Stmt { line, kind: step }))
    }

    fn connect(&mut self) -> Result<StmtKind, HocError> {
        self.advance();
        let child = self.section_ref()?;
        let child_x = if self.is_punct("(") {
            Some(self.parenthesised()?)
        } else {
            None
        };
        self.expect_punct(",")?;
        let parent = self.section_ref()?;
        let parent_x = self.parenthesised()?;
        Ok(StmtKind::Connect {
            child,
            child_x,
            parent,
            parent_x,
        })
    }

    fn parenthesised(&mut self) -> Result<Expr, HocError> {
        self.condition()
    }

    fn section_ref(&mut self) -> Result<SectionRef, HocError> {
        let name = self.name("a section name")?;
        let index = if self.is_punct("[") {
            self.advance();
            self.brackets += 1;
            let index = self.expression();
            self.brackets -= 1;
            let index = index?;
            self.expect_punct("]")?;
            Some(index)
        } else {
            None
        };
        Ok(SectionRef { name, index })
    }

    /// `a, b[n], c` for create/objref.
    fn declared_list(&mut self) -> Result<Vec<(String, Option<Expr>)>, HocError> {
        let mut items = Vec::new();
        loop {
            let name = self.name("a name")?;
            let size = if self.is_punct("[") {
                self.advance();
                self.brackets += 1;
                let size = self.expression();
                self.brackets -= 1;
                let size = size?;
                self.expect_punct("]")?;
                Some(size)
            } else {
                None
            };
            items.push((name, size));
            if !self.eat_punct(",") {
                return Ok(items);
            }
        }
    }

    fn name_list(&mut self) -> Result<Vec<String>, HocError> {
        let mut names = vec![self.name("a name")?];
        while self.eat_punct(",") {
            names.push(self.name("a name")?);
        }
        Ok(names)
    }

    fn procedure(&mut self) -> Result<StmtKind, HocError> {
        let kind = match self.advance() {
            Tok::Ident(word) if word == "func" => ProcKind::Func,
            Tok::Ident(word) if word == "obfunc" => ProcKind::Obfunc,
            _ => ProcKind::Proc,
        };
        let name = self.name("a procedure name")?;
        self.expect_punct("(")?;
        self.expect_punct(")")?;
        self.expect_punct("{")?;
        let body = self.block_rest()?;
        Ok(StmtKind::Proc(Rc::new(ProcDef {
            name,
            kind,
            body,
            file: self.file.clone(),
        })))
    }

    fn template(&mut self) -> Result<StmtKind, HocError> {
        let line = self.line();
        self.advance();
        if self.in_template {
            return Err(self.error("begintemplate inside a template"));
        }
        let name = self.name("a template name")?;
        let inner = self.template_sections();
        let outer = std::mem::replace(&mut self.sections, inner);
        self.in_template = true;
        let mut body = Vec::new();
        while !self.is_word("endtemplate") {
            if self.at_eof() {
                return Err(HocError::at(
                    &self.file,
                    line,
                    format!("begintemplate {name} has no endtemplate"),
                ));
            }
            body.push(self.statement()?);
        }
        self.advance();
        let end_name = self.name("the template name after endtemplate")?;
        if end_name != name {
            return Err(self.error(format!(
                "endtemplate {end_name} does not match begintemplate {name}"
            )));
        }
        self.in_template = false;
        self.sections = outer;
        Ok(StmtKind::Template(Rc::new(TemplateDef {
            name,
            body,
            line,
            file: self.file.clone(),
        })))
    }

    /// Section names created inside the template that starts at the current position.
    fn template_sections(&self) -> HashSet<String> {
        let mut names = HashSet::new();
        for (i, token) in self.tokens[self.pos..].iter().enumerate() {
            match &token.tok {
                Tok::Ident(word) if word == "endtemplate" => break,
                Tok::Ident(word) if word == "create" => {
                    names.extend(created_names(&self.tokens[self.pos + i + 1..]))
                }
                _ => {}
            }
        }
        names
    }

    // ----- expressions ----------------------------------------------------------------------

    fn expression(&mut self) -> Result<Expr, HocError> {
        self.enter()?;
        let result = self.assignment();
        self.depth -= 1;
        result
    }

    /// True when the next token may continue the expression: on the same line, or anywhere
    /// inside brackets.
    fn continues(&self) -> bool {
        self.brackets > 0 || self.line() == self.prev_line()
    }

    fn assignment(&mut self) -> Result<Expr, HocError> {
        let target = self.binary(0)?;
        let op = match self.peek() {
            Tok::Punct(op @ ("=" | "+=" | "-=" | "*=" | "/=")) if self.continues() => *op,
            _ => return Ok(target),
        };
        if !is_assignable(&target) {
            return Err(self.error(format!("cannot assign to this expression with '{op}'")));
        }
        self.advance();
        let value = self.expression()?;
        Ok(Expr::Assign(op, Box::new(target), Box::new(value)))
    }

    fn binary(&mut self, level: usize) -> Result<Expr, HocError> {
        const LEVELS: [&[&str]; 5] = [
            &["||"],
            &["&&"],
            &["==", "!=", "<", "<=", ">", ">="],
            &["+", "-"],
            &["*", "/", "%"],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let op = match self.peek() {
                Tok::Punct(op) if LEVELS[level].contains(op) && self.continues() => *op,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.binary(level + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, HocError> {
        if self.is_punct("-") || self.is_punct("!") {
            let op = if self.is_punct("-") { "-" } else { "!" };
            self.advance();
            self.enter()?;
            let operand = self.unary();
            self.depth -= 1;
            return Ok(Expr::Unary(op, Box::new(operand?)));
        }
        if self.eat_punct("+") {
            return self.unary();
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, HocError> {
        let base = self.postfix()?;
        if self.is_punct("^") && self.continues() {
            self.advance();
            self.enter()?;
            let exponent = self.unary();
            self.depth -= 1;
            return Ok(Expr::Binary("^", Box::new(base), Box::new(exponent?)));
        }
        Ok(base)
    }

    fn postfix(&mut self) -> Result<Expr, HocError> {
        let mut expr = self.primary()?;
        while self.is_punct(".") && self.continues() {
            self.advance();
            let member = self.name("a member name")?;
            expr = if self.is_punct("(") {
                Expr::Method(Box::new(expr), member, self.arguments()?)
            } else if self.is_punct("[") {
                Expr::MemberIndex(Box::new(expr), member, Box::new(self.index()?))
            } else {
                Expr::Member(Box::new(expr), member)
            };
        }
        Ok(expr)
    }

    fn index(&mut self) -> Result<Expr, HocError> {
        self.expect_punct("[")?;
        self.brackets += 1;
        let index = self.expression();
        self.brackets -= 1;
        let index = index?;
        self.expect_punct("]")?;
        Ok(index)
    }

    fn arguments(&mut self) -> Result<Vec<Expr>, HocError> {
        self.expect_punct("(")?;
        self.brackets += 1;
        let args = self.argument_list();
        self.brackets -= 1;
        let args = args?;
        self.expect_punct(")")?;
        Ok(args)
    }

    fn argument_list(&mut self) -> Result<Vec<Expr>, HocError> {
        let mut args = Vec::new();
        if self.is_punct(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expression()?);
            if !self.eat_punct(",") {
                return Ok(args);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, HocError> {
        match self.peek().clone() {
            Tok::Num(value) => {
                self.advance();
                Ok(Expr::Num(value))
            }
            Tok::Str(text) => {
                self.advance();
                Ok(Expr::Str(text))
            }
            Tok::Arg(kind, index) => {
                self.advance();
                Ok(Expr::Arg(kind, index))
            }
            Tok::Punct("(") => {
                self.advance();
                self.brackets += 1;
                let inner = self.expression();
                self.brackets -= 1;
                let inner = inner?;
                self.expect_punct(")")?;
                Ok(inner)
            }
            Tok::Punct("&") => {
                self.advance();
                let target = self.postfix()?;
                Ok(Expr::Pointer(Box::new(target)))
            }
            Tok::Ident(word) if word == "new" => {
                self.advance();
                let class = self.name("a class name after new")?;
                let args = if self.is_punct("(") {
                    self.arguments()?
                } else {
                    Vec::new()
                };
                Ok(Expr::New(class, args))
            }
            Tok::Ident(word) if !KEYWORDS.contains(&word.as_str()) => {
                self.advance();
                if self.is_punct("(") && self.continues() {
                    Ok(Expr::Call(word, self.arguments()?))
                } else if self.is_punct("[") && self.continues() {
                    Ok(Expr::Index(word, Box::new(self.index()?)))
                } else {
                    Ok(Expr::Name(word))
                }
            }
            other => Err(self.error(format!("unexpected {}", describe(&other)))),
        }
    }
}

fn is_assignable(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Name(_)
            | Expr::Index(..)
            | Expr::Call(..)
            | Expr::Member(..)
            | Expr::MemberIndex(..)
            | Expr::Arg(..)
    )
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Num(value) => format!("number {value}"),
        Tok::Str(text) => format!("string \"{text}\""),
        Tok::Ident(name) => format!("'{name}'"),
        Tok::Arg(kind, index) => format!("'${}{index}'", kind.to_string().trim()),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Eof => "the end of the file".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<StmtKind> {
        parse_file("t.hoc", source)
            .unwrap()
            .into_iter()
            .map(|s| s.kind)
            .collect()
    }

    #[test]
    fn statements_without_separators() {
        let statements = kinds("insert na3 sh_na3=nash ar_na3=1\tgbar_na3 = gna");
        assert_eq!(statements.len(), 4);
        assert_eq!(statements[0], StmtKind::Insert("na3".into()));
    }

    #[test]
    fn print_takes_a_list() {
        let statements = kinds("print a, \"text\" b = 1");
        assert!(matches!(&statements[0], StmtKind::Print(items) if items.len() == 2));
        assert_eq!(statements.len(), 2);
    }

    #[test]
    fn expressions_end_at_the_line_end() {
        let statements = kinds("a = 1\n-2");
        assert_eq!(statements.len(), 2);
    }

    #[test]
    fn section_prefixes_in_templates() {
        let statements =
            kinds("begintemplate T\ncreate soma[1]\nproc init() { soma nc = 1 soma[0] { L = 2 } }\nendtemplate T");
        let StmtKind::Template(template) = &statements[0] else {
            panic!("template expected")
        };
        let StmtKind::Proc(init) = &template.body[1].kind else {
            panic!("proc expected")
        };
        assert!(matches!(init.body[0].kind, StmtKind::InSection(..)));
        assert!(matches!(init.body[1].kind, StmtKind::InSection(..)));
    }

    #[test]
    fn power_binds_tighter_than_unary_minus() {
        let statements = kinds("a = -2^2");
        let StmtKind::Expr(Expr::Assign(_, _, value)) = &statements[0] else {
            panic!("assignment expected")
        };
        assert!(matches!(**value, Expr::Unary("-", _)));
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let error = parse_file("bad.hoc", "a = 1\nb = (2 +\n").unwrap_err();
        assert!(error.to_string().starts_with("bad.hoc:3:"), "{error}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let source = format!("a = {}1{}", "(".repeat(5000), ")".repeat(5000));
        let error = parse_file("deep.hoc", &source).unwrap_err();
        assert!(error.to_string().contains("nesting"), "{error}");
    }
}
