//! Tokens of NMODL source text, each with its line and column.
//!
//! Owns the character-level rules: `:` and `?` line comments, `COMMENT ... ENDCOMMENT` and
//! `VERBATIM ... ENDVERBATIM` raw regions, `TITLE` lines, number syntax, `UNITSON`/`UNITSOFF`
//! (dropped: they only switch nocmodl's unit checking) and multi-character operators. It does not
//! know what a block or a unit is: parentheses after numbers are the parser's business.
//! Newlines are not tokens (NMODL statements are newline-insensitive).

use super::ast::Span;
use super::error::NmodlError;

/// One lexical token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Number(f64),
    /// The raw C text between `VERBATIM` and `ENDVERBATIM`.
    Verbatim(String),
    /// The rest of a `TITLE` line.
    Title(String),
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Assign,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Prime,
    Tilde,
    /// `<->` in KINETIC reactions.
    Reversible,
    /// `->` (one-way reaction).
    Arrow,
    AndAnd,
    OrOr,
    Not,
    Colon,
    /// A double-quoted string (INCLUDE "file").
    Str(String),
    Other(char),
    Eof,
}

/// A token with its position (1-based line and column) and byte range in the source.
#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
    pub start: usize,
    pub end: usize,
}

/// Splits `src` into tokens; the last one is always [`Tok::Eof`].
pub fn tokenize(file: &str, src: &str) -> Result<Vec<Token>, NmodlError> {
    Lexer {
        file,
        src: src.as_bytes(),
        pos: 0,
        line: 1,
        col: 1,
    }
    .run()
}

struct Lexer<'a> {
    file: &'a str,
    src: &'a [u8],
    pos: usize,
    line: u32,
    col: u32,
}

impl Lexer<'_> {
    fn run(mut self) -> Result<Vec<Token>, NmodlError> {
        let mut out = Vec::new();
        loop {
            self.skip_space_and_comments();
            let span = Span {
                line: self.line,
                col: self.col,
            };
            let start = self.pos;
            let Some(c) = self.peek(0) else {
                out.push(Token {
                    tok: Tok::Eof,
                    span,
                    start,
                    end: start,
                });
                return Ok(out);
            };
            let tok = if c.is_ascii_alphabetic() || c == b'_' {
                let word = self.word();
                match word.as_str() {
                    "COMMENT" => {
                        self.skip_until_word("ENDCOMMENT", span, "COMMENT")?;
                        continue;
                    }
                    "VERBATIM" => {
                        Tok::Verbatim(self.skip_until_word("ENDVERBATIM", span, "VERBATIM")?)
                    }
                    "TITLE" => Tok::Title(self.rest_of_line()),
                    "UNITSON" | "UNITSOFF" => continue,
                    _ => Tok::Ident(word),
                }
            } else if c.is_ascii_digit()
                || (c == b'.' && self.peek(1).is_some_and(|d| d.is_ascii_digit()))
            {
                self.number(span)?
            } else {
                self.punct(span)?
            };
            out.push(Token {
                tok,
                span,
                start,
                end: self.pos,
            });
        }
    }

    fn peek(&self, k: usize) -> Option<u8> {
        self.src.get(self.pos + k).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if c & 0xC0 != 0x80 {
            // Count characters, not UTF-8 continuation bytes.
            self.col += 1;
        }
        Some(c)
    }

    fn skip_space_and_comments(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == b':' || c == b'?' {
                while self.peek(0).is_some_and(|c| c != b'\n') {
                    self.bump();
                }
            } else if c.is_ascii_whitespace() || c == b';' {
                // nocmodl tolerates stray semicolons between statements.
                self.bump();
            } else {
                break;
            }
        }
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.bump();
        }
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    fn rest_of_line(&mut self) -> String {
        let start = self.pos;
        while self.peek(0).is_some_and(|c| c != b'\n') {
            self.bump();
        }
        String::from_utf8_lossy(&self.src[start..self.pos])
            .trim()
            .to_string()
    }

    /// Skips to the end word (which must stand as a whole word) and returns the text before it.
    fn skip_until_word(&mut self, end: &str, open: Span, what: &str) -> Result<String, NmodlError> {
        let start = self.pos;
        loop {
            let Some(c) = self.peek(0) else {
                return Err(NmodlError::syntax(
                    self.file,
                    open,
                    format!("{what} without {end}"),
                ));
            };
            let at_word_start = self.pos == 0 || !is_word_byte(self.src[self.pos - 1]);
            if c == end.as_bytes()[0]
                && at_word_start
                && self.src[self.pos..].starts_with(end.as_bytes())
            {
                let after = self.src.get(self.pos + end.len()).copied();
                if !after.is_some_and(is_word_byte) {
                    let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
                    for _ in 0..end.len() {
                        self.bump();
                    }
                    return Ok(text);
                }
            }
            self.bump();
        }
    }

    fn number(&mut self, span: Span) -> Result<Tok, NmodlError> {
        let start = self.pos;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek(0) == Some(b'.') {
            self.bump();
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(0), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek(1), Some(b'+' | b'-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                for _ in 0..=sign {
                    self.bump();
                }
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
        }
        let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        text.parse::<f64>()
            .map(Tok::Number)
            .map_err(|_| NmodlError::syntax(self.file, span, format!("bad number '{text}'")))
    }

    fn punct(&mut self, span: Span) -> Result<Tok, NmodlError> {
        let c = self.bump().unwrap_or(b' ');
        let next = self.peek(0);
        let two = |lx: &mut Self, t: Tok| {
            lx.bump();
            t
        };
        Ok(match (c, next) {
            (b'=', Some(b'=')) => two(self, Tok::Eq),
            (b'!', Some(b'=')) => two(self, Tok::Ne),
            (b'<', Some(b'=')) => two(self, Tok::Le),
            (b'>', Some(b'=')) => two(self, Tok::Ge),
            (b'<', Some(b'-')) if self.peek(1) == Some(b'>') => {
                self.bump();
                self.bump();
                Tok::Reversible
            }
            (b'-', Some(b'>')) => two(self, Tok::Arrow),
            (b'&', Some(b'&')) => two(self, Tok::AndAnd),
            (b'|', Some(b'|')) => two(self, Tok::OrOr),
            (b'{', _) => Tok::LBrace,
            (b'}', _) => Tok::RBrace,
            (b'(', _) => Tok::LParen,
            (b')', _) => Tok::RParen,
            (b',', _) => Tok::Comma,
            (b'=', _) => Tok::Assign,
            (b'<', _) => Tok::Lt,
            (b'>', _) => Tok::Gt,
            (b'+', _) => Tok::Plus,
            (b'-', _) => Tok::Minus,
            (b'*', _) => Tok::Star,
            (b'/', _) => Tok::Slash,
            (b'^', _) => Tok::Caret,
            (b'\'', _) => Tok::Prime,
            (b'~', _) => Tok::Tilde,
            (b'!', _) => Tok::Not,
            (b':', _) => Tok::Colon,
            (b'"', _) => {
                let start = self.pos;
                while self.peek(0).is_some_and(|c| c != b'"' && c != b'\n') {
                    self.bump();
                }
                let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
                if self.bump() != Some(b'"') {
                    return Err(NmodlError::syntax(self.file, span, "unterminated string"));
                }
                Tok::Str(text)
            }
            (c, _) if c.is_ascii_graphic() => Tok::Other(c as char),
            (c, _) => {
                return Err(NmodlError::syntax(
                    self.file,
                    span,
                    format!("unexpected byte 0x{c:02x}"),
                ));
            }
        })
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}
