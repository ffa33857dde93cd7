//! The small regular-expression language of HOC's `issection("...")` and `forsec "..."`:
//! literals, `.`, `*`, `+`, `?`, bracket classes (`[0-9]`, `[^a]`), `^`/`$` anchors and `\`
//! escapes, searched anywhere in a section name unless anchored. No allocation per match beyond
//! the parsed pattern; backtracking is bounded by the name length squared.

#[derive(Debug, Clone, PartialEq)]
enum Atom {
    Any,
    Char(char),
    Class(Vec<(char, char)>, bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Repeat {
    One,
    ZeroOrMore,
    OneOrMore,
    ZeroOrOne,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    items: Vec<(Atom, Repeat)>,
    anchored_start: bool,
    anchored_end: bool,
}

impl Pattern {
    /// Compile `pattern`; `None` for an unclosed `[` or a dangling `\`.
    pub fn new(pattern: &str) -> Option<Self> {
        let mut chars: Vec<char> = pattern.chars().collect();
        let anchored_start = chars.first() == Some(&'^');
        if anchored_start {
            chars.remove(0);
        }
        let anchored_end = chars.last() == Some(&'$') && !ends_escaped(&chars);
        if anchored_end {
            chars.pop();
        }
        let mut items = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let atom = match chars[i] {
                '.' => Atom::Any,
                '\\' => {
                    i += 1;
                    Atom::Char(*chars.get(i)?)
                }
                '[' => {
                    let (atom, next) = class(&chars, i + 1)?;
                    i = next - 1;
                    atom
                }
                c => Atom::Char(c),
            };
            i += 1;
            let repeat = match chars.get(i) {
                Some('*') => Repeat::ZeroOrMore,
                Some('+') => Repeat::OneOrMore,
                Some('?') => Repeat::ZeroOrOne,
                _ => Repeat::One,
            };
            if repeat != Repeat::One {
                i += 1;
            }
            items.push((atom, repeat));
        }
        Some(Self {
            items,
            anchored_start,
            anchored_end,
        })
    }

    /// True when the pattern occurs in `text` (respecting anchors).
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let starts = if self.anchored_start {
            0..1
        } else {
            0..chars.len() + 1
        };
        starts
            .into_iter()
            .any(|start| self.match_here(0, &chars, start))
    }

    fn match_here(&self, item: usize, text: &[char], pos: usize) -> bool {
        let Some((atom, repeat)) = self.items.get(item) else {
            return !self.anchored_end || pos == text.len();
        };
        let fits = |p: usize| text.get(p).is_some_and(|c| atom_matches(atom, *c));
        match repeat {
            Repeat::One => fits(pos) && self.match_here(item + 1, text, pos + 1),
            Repeat::ZeroOrOne => {
                (fits(pos) && self.match_here(item + 1, text, pos + 1))
                    || self.match_here(item + 1, text, pos)
            }
            Repeat::ZeroOrMore | Repeat::OneOrMore => {
                let mut end = pos;
                while fits(end) {
                    end += 1;
                }
                let min = if *repeat == Repeat::OneOrMore {
                    pos + 1
                } else {
                    pos
                };
                (min..=end)
                    .rev()
                    .any(|p| self.match_here(item + 1, text, p))
            }
        }
    }
}

fn ends_escaped(chars: &[char]) -> bool {
    chars.len() >= 2 && chars[chars.len() - 2] == '\\'
}

/// A bracket class starting after `[`; returns it and the index after `]`.
fn class(chars: &[char], start: usize) -> Option<(Atom, usize)> {
    let mut i = start;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    while *chars.get(i)? != ']' || i == start + usize::from(negated) {
        let low = chars[i];
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|c| *c != ']') {
            ranges.push((low, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((low, low));
            i += 1;
        }
    }
    Some((Atom::Class(ranges, negated), i + 1))
}

fn atom_matches(atom: &Atom, c: char) -> bool {
    match atom {
        Atom::Any => true,
        Atom::Char(expected) => *expected == c,
        Atom::Class(ranges, negated) => {
            ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_section_names() {
        let axon = Pattern::new(".*axon.*").unwrap();
        assert!(axon.is_match("CP_Cell[0].axon[0]"));
        assert!(!axon.is_match("CP_Cell[0].soma[0]"));
        assert!(Pattern::new("dend").unwrap().is_match("T[0].dend[3]"));
        assert!(!Pattern::new("^dend").unwrap().is_match("T[0].dend[3]"));
        assert!(Pattern::new("dend\\[[0-9]+\\]$")
            .unwrap()
            .is_match("T[0].dend[12]"));
    }
}
