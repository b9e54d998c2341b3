//! Text that came from a peer, made safe to print. A server's refusal message, an error it reports, or a
//! host fact it sends (the CPU governor, an interface name) reaches the client's terminal and logs; a
//! client's hello reaches the server's log through a decoding error. Control characters in such text
//! could move the cursor, clear the screen or start a new line that forges a message ("report written
//! (complete)"), so every one of them is written as a visible escape (`\n`, `\u{1b}`) instead. So are
//! the invisible format characters that reorder or hide text on terminals that honour them (bidi
//! embeddings, overrides and isolates, zero-width characters) and the Unicode line and paragraph
//! separators.

use std::borrow::Cow;

/// Whether `c` could change how the text around it is shown: a control character (C0, DEL, C1), a
/// bidirectional or zero-width format character, or a line or paragraph separator.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `text` with every character that could change how it is shown escaped ([`is_unsafe`]); unchanged (and
/// not copied) when it has none.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` escaped as [`escape_control`] does and cut to at most `max_chars` characters (an ellipsis marks
/// the cut), for one log line.
pub fn one_line(text: &str, max_chars: usize) -> String {
    let escaped = escape_control(text);
    match escaped.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &escaped[..cut]),
        None => escaped.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert!(matches!(escape_control("plain text"), Cow::Borrowed(_)));
        assert_eq!(
            escape_control("busy\nlinkbench-client: report written (complete)"),
            "busy\\nlinkbench-client: report written (complete)"
        );
        assert_eq!(
            escape_control("\u{1b}[2J\r\u{7f}\u{9b}"),
            "\\u{1b}[2J\\r\\u{7f}\\u{9b}"
        );
        assert_eq!(escape_control("tab\there é"), "tab\\there é");
        assert_eq!(
            escape_control("a\u{202e}b\u{2066}c\u{2028}d\u{200b}"),
            "a\\u{202e}b\\u{2066}c\\u{2028}d\\u{200b}"
        );
    }

    #[test]
    fn one_line_cuts_long_text() {
        assert_eq!(one_line("abcdef", 3), "abc...");
        assert_eq!(one_line("a\nb", 10), "a\\nb");
    }
}
