//! IAM wildcard matching: `*` matches any run of characters (including none), `?` exactly one.
//!
//! Patterns are compiled once into literal runs and wildcards, so matching allocates nothing.
//! Literal `*`/`?` (from the `${*}`/`${?}` policy-variable escapes) are kept as literals.

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Literal(String),
    Star,
    Question,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    tokens: Vec<Token>,
}

impl Wildcard {
    /// Compiles `*` and `?` as wildcards; every other character is literal.
    pub fn new(pattern: &str) -> Wildcard {
        let mut tokens = Vec::new();
        let mut literal = String::new();
        for c in pattern.chars() {
            match c {
                '*' | '?' => {
                    if !literal.is_empty() {
                        tokens.push(Token::Literal(std::mem::take(&mut literal)));
                    }
                    // Consecutive stars are one star.
                    if c == '*' {
                        if tokens.last() != Some(&Token::Star) {
                            tokens.push(Token::Star);
                        }
                    } else {
                        tokens.push(Token::Question);
                    }
                }
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Wildcard { tokens }
    }

    /// Builds a pattern from tokens (used after policy-variable substitution).
    pub fn from_tokens(tokens: Vec<Token>) -> Wildcard {
        let mut merged: Vec<Token> = Vec::with_capacity(tokens.len());
        for token in tokens {
            match (merged.last_mut(), token) {
                (Some(Token::Literal(prev)), Token::Literal(next)) => prev.push_str(&next),
                (Some(Token::Star), Token::Star) => {}
                (_, Token::Literal(next)) if next.is_empty() => {}
                (_, token) => merged.push(token),
            }
        }
        Wildcard { tokens: merged }
    }

    /// True when the pattern is only `*` (matches everything).
    pub fn is_any(&self) -> bool {
        self.tokens == [Token::Star]
    }

    /// True when the pattern has no wildcard.
    pub fn literal(&self) -> Option<&str> {
        match self.tokens.as_slice() {
            [] => Some(""),
            [Token::Literal(text)] => Some(text),
            _ => None,
        }
    }

    /// Splits the pattern at literal colons into at most `max` parts, the last one keeping the
    /// rest: the per-part view of an ARN pattern. Literal `*` from `${*}` stay literal.
    pub fn split_colons(&self, max: usize) -> Vec<Wildcard> {
        let mut parts = Vec::with_capacity(max);
        let mut current: Vec<Token> = Vec::new();
        for token in &self.tokens {
            match token {
                Token::Literal(text) if parts.len() + 1 < max && text.contains(':') => {
                    let mut rest = text.as_str();
                    while let Some((head, tail)) = rest.split_once(':') {
                        if parts.len() + 1 >= max {
                            break;
                        }
                        current.push(Token::Literal(head.to_string()));
                        parts.push(Wildcard::from_tokens(std::mem::take(&mut current)));
                        rest = tail;
                    }
                    current.push(Token::Literal(rest.to_string()));
                }
                other => current.push(other.clone()),
            }
        }
        parts.push(Wildcard::from_tokens(current));
        parts
    }

    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Case-sensitive match of the whole text.
    pub fn matches(&self, text: &str) -> bool {
        matches_tokens(&self.tokens, text.as_bytes(), false)
    }

    /// ASCII-case-insensitive match; the pattern must already be lowercase for speed.
    pub fn matches_lowercase(&self, lowercase_text: &str) -> bool {
        matches_tokens(&self.tokens, lowercase_text.as_bytes(), false)
    }

    /// Case-insensitive match (both sides folded here).
    pub fn matches_ignore_case(&self, text: &str) -> bool {
        matches_tokens(&self.tokens, text.as_bytes(), true)
    }
}

fn literal_at(literal: &[u8], text: &[u8], at: usize, ignore_case: bool) -> bool {
    match text.get(at..at + literal.len()) {
        Some(slice) if ignore_case => slice.eq_ignore_ascii_case(literal),
        Some(slice) => slice == literal,
        None => false,
    }
}

/// Greedy matching with backtracking to the last star: O(len(text) × len(pattern)) at worst.
fn matches_tokens(tokens: &[Token], text: &[u8], ignore_case: bool) -> bool {
    // A closing literal must end the text. Checked first, it rejects most values of a long
    // pattern list (profile ARNs differ at their end) without walking any star.
    if let [_, .., Token::Literal(last)] = tokens
        && !(text.len() >= last.len()
            && literal_at(last.as_bytes(), text, text.len() - last.len(), ignore_case))
    {
        return false;
    }
    let mut t = 0usize; // token index
    let mut pos = 0usize; // byte position in text
    let mut backtrack: Option<(usize, usize)> = None; // (token after the star, text position)
    loop {
        if let Some(token) = tokens.get(t) {
            match token {
                // A closing star takes whatever is left.
                Token::Star if t + 1 == tokens.len() => return true,
                Token::Star => {
                    backtrack = Some((t + 1, pos));
                    t += 1;
                    continue;
                }
                Token::Question => {
                    if let Some(width) = char_width(text, pos) {
                        pos += width;
                        t += 1;
                        continue;
                    }
                }
                Token::Literal(literal) => {
                    if literal_at(literal.as_bytes(), text, pos, ignore_case) {
                        pos += literal.len();
                        t += 1;
                        continue;
                    }
                }
            }
        } else if pos == text.len() {
            return true;
        }
        // Mismatch (or tokens exhausted with text left): let the last star eat one more char,
        // and on to where the literal after it occurs next (the positions between would fail
        // on it at once; a literal starts at a character boundary, so none is skipped wrongly).
        let Some((after_star, star_pos)) = backtrack else {
            return false;
        };
        let Some(width) = char_width(text, star_pos) else {
            return false;
        };
        let mut next = star_pos + width;
        if let Some(Token::Literal(literal)) = tokens.get(after_star) {
            match find_literal(literal.as_bytes(), text, next, ignore_case) {
                Some(found) => next = found,
                None => return false,
            }
        }
        backtrack = Some((after_star, next));
        t = after_star;
        pos = next;
    }
}

/// The first position at or after `from` where `literal` occurs in `text`.
fn find_literal(literal: &[u8], text: &[u8], from: usize, ignore_case: bool) -> Option<usize> {
    let Some(&first) = literal.first() else {
        return Some(from);
    };
    let last_start = text.len().checked_sub(literal.len())?;
    (from..=last_start).find(|&at| {
        text.get(at).is_some_and(|&b| {
            if ignore_case {
                b.eq_ignore_ascii_case(&first)
            } else {
                b == first
            }
        }) && literal_at(literal, text, at, ignore_case)
    })
}

/// Width in bytes of the UTF-8 character starting at `pos`, `None` at the end.
fn char_width(text: &[u8], pos: usize) -> Option<usize> {
    let first = *text.get(pos)?;
    let width = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    Some(width.min(text.len() - pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert!(Wildcard::new("*").matches(""));
        assert!(Wildcard::new("bedrock:invoke*").matches("bedrock:invokemodel"));
        assert!(
            !Wildcard::new("bedrock:invokemodel").matches("bedrock:invokemodelwithresponsestream")
        );
        assert!(Wildcard::new("s3:?et*").matches("s3:getobject"));
        assert!(!Wildcard::new("s3:?et").matches("s3:et"));
        assert!(Wildcard::new("a*b*c").matches("aXbYbZc"));
        assert!(!Wildcard::new("a*b*c").matches("aXbYbZ"));
        assert!(Wildcard::new("é?").matches("éü"));
        assert!(Wildcard::new("ARN*").matches_ignore_case("arn:x"));
    }

    #[test]
    fn escaped_literals_stay_literal() {
        let pattern = Wildcard::from_tokens(vec![Token::Literal("a*".into()), Token::Star]);
        assert!(pattern.matches("a*zz"));
        assert!(!pattern.matches("abzz"));
    }
}
