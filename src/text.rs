//! Text that came from a peer, made safe to print. A server's refusal message, an error it reports, or a
//! host fact it sends (the CPU governor, an interface name) reaches the client's terminal and logs; a
//! client's hello reaches the server's log through a decoding error. Control characters in such text
//! could move the cursor, clear the screen or start a new line that forges a message ("report written
//! (complete)"), so every one of them is written as a visible escape (`\n`, `\u{1b}`) instead.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1) escaped; unchanged (and not copied) when it has none.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
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
    }

    #[test]
    fn one_line_cuts_long_text() {
        assert_eq!(one_line("abcdef", 3), "abc...");
        assert_eq!(one_line("a\nb", 10), "a\\nb");
    }
}
