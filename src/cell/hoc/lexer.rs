//! HOC source text to tokens, each with its 1-based line. Owns comments (`//`, `/* */`),
//! numbers (`.1e-3`), strings, `$1`/`$o1`/`$s1` arguments and operators; knows nothing of
//! statements. Newlines are not tokens: the parser uses the line numbers where HOC's grammar
//! depends on line ends.

use super::error::HocError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A number literal.
    Num(f64),
    /// A string literal (escapes resolved).
    Str(String),
    /// A name or keyword.
    Ident(String),
    /// `$1` (`kind` ' '), `$o1` ('o') or `$s1` ('s').
    Arg(char, usize),
    /// An operator or punctuation mark (`(`, `==`, `&&`, ...).
    Punct(&'static str),
    /// End of the file.
    Eof,
}

/// A token and its line.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// 1-based line.
    pub line: usize,
}

const PUNCTS: [&str; 27] = [
    "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "(", ")", "{", "}", "[", "]", ",",
    ".", "=", "+", "-", "*", "/", "^", "<", ">", "!",
];

/// Split `source` (from `file`, for error messages) into tokens ending with [`Tok::Eof`].
pub fn tokenize(file: &str, source: &str) -> Result<Vec<Token>, HocError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let error = |line: usize, message: String| HocError::at(file, line, message);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let start = line;
            i += 2;
            loop {
                match chars.get(i) {
                    None => return Err(error(start, "comment /* is never closed".into())),
                    Some('*') if chars.get(i + 1) == Some(&'/') => {
                        i += 2;
                        break;
                    }
                    Some('\n') => line += 1,
                    _ => {}
                }
                i += 1;
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let (value, next) =
                number(&chars, i).ok_or_else(|| error(line, "malformed number".into()))?;
            tokens.push(Token {
                tok: Tok::Num(value),
                line,
            });
            i = next;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                line,
            });
        } else if c == '"' {
            let (text, next, lines) =
                string(&chars, i).ok_or_else(|| error(line, "string is never closed".into()))?;
            tokens.push(Token {
                tok: Tok::Str(text),
                line,
            });
            line += lines;
            i = next;
        } else if c == '$' {
            let (tok, next) = argument(&chars, i)
                .ok_or_else(|| error(line, "expected $1, $o1 or $s1 after $".into()))?;
            tokens.push(Token { tok, line });
            i = next;
        } else if c == '&' && chars.get(i + 1) != Some(&'&') {
            tokens.push(Token {
                tok: Tok::Punct("&"),
                line,
            });
            i += 1;
        } else if c == '%' {
            tokens.push(Token {
                tok: Tok::Punct("%"),
                line,
            });
            i += 1;
        } else if c == ';' {
            tokens.push(Token {
                tok: Tok::Punct(";"),
                line,
            });
            i += 1;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let punct = PUNCTS
                .iter()
                .find(|p| rest.starts_with(**p))
                .ok_or_else(|| error(line, format!("unexpected character '{c}'")))?;
            tokens.push(Token {
                tok: Tok::Punct(punct),
                line,
            });
            i += punct.len();
        }
    }
    tokens.push(Token {
        tok: Tok::Eof,
        line,
    });
    Ok(tokens)
}

/// A number starting at `start`: digits, optional fraction, optional exponent.
fn number(chars: &[char], start: usize) -> Option<(f64, usize)> {
    let mut i = start;
    let digits = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
    };
    digits(&mut i);
    if chars.get(i) == Some(&'.') {
        i += 1;
        digits(&mut i);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(|d| d.is_ascii_digit()) {
            i = j;
            digits(&mut i);
        }
    }
    let text: String = chars[start..i].iter().collect();
    text.parse().ok().map(|value| (value, i))
}

/// A string literal starting at the opening quote: its text, the index after the closing
/// quote, and the newlines it spans.
fn string(chars: &[char], start: usize) -> Option<(String, usize, usize)> {
    let mut text = String::new();
    let mut i = start + 1;
    let mut lines = 0;
    loop {
        match *chars.get(i)? {
            '"' => return Some((text, i + 1, lines)),
            '\\' => {
                let escaped = *chars.get(i + 1)?;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                i += 2;
            }
            '\n' => return None,
            other => {
                if other == '\n' {
                    lines += 1;
                }
                text.push(other);
                i += 1;
            }
        }
    }
}

/// `$1`, `$o2`, `$s1` starting at the `$`.
fn argument(chars: &[char], start: usize) -> Option<(Tok, usize)> {
    let mut i = start + 1;
    let kind = match chars.get(i)? {
        'o' => 'o',
        's' => 's',
        d if d.is_ascii_digit() => ' ',
        _ => return None,
    };
    if kind != ' ' {
        i += 1;
    }
    let digits_start = i;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    let text: String = chars[digits_start..i].iter().collect();
    let index: usize = text.parse().ok()?;
    (index >= 1).then_some((Tok::Arg(kind, index), i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(source: &str) -> Vec<Tok> {
        tokenize("t.hoc", source)
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn numbers_names_and_arguments() {
        assert_eq!(
            toks("gbar_leak = .1e-3 // note\n$o2 &v(0.5)"),
            vec![
                Tok::Ident("gbar_leak".into()),
                Tok::Punct("="),
                Tok::Num(1e-4),
                Tok::Arg('o', 2),
                Tok::Punct("&"),
                Tok::Ident("v".into()),
                Tok::Punct("("),
                Tok::Num(0.5),
                Tok::Punct(")"),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn block_comments_count_lines() {
        let tokens = tokenize("t.hoc", "/* a\nb */ x").unwrap();
        assert_eq!(tokens[0].line, 2);
    }

    #[test]
    fn unclosed_string_names_the_line() {
        let error = tokenize("t.hoc", "\n\"abc").unwrap_err();
        assert_eq!(error.to_string(), "t.hoc:2: string is never closed");
    }
}
