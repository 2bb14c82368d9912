//! Neutralising attacker-controlled text before it reaches a terminal.
//!
//! Process names, command lines and executable paths are chosen by whoever started the
//! process. This module owns turning them into inert text. It does no I/O.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for characters that a terminal may act on: C0 and C1 control characters, DEL, and
/// the Unicode bidirectional overrides and isolates that reorder displayed text.
pub fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Replaces every dangerous character with a visible escape: `\x1b` for ASCII controls and
/// `\u{202e}` for the rest. Text without such characters is returned unchanged, borrowed.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_dangerous(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(terminal_safe("nginx"), "nginx");
        assert_eq!(terminal_safe("evil\x1b[31mred"), "evil\\x1b[31mred");
        assert_eq!(terminal_safe("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
        assert_eq!(terminal_safe("x\u{9b}y"), "x\\u{9b}y");
        assert_eq!(terminal_safe("abc\u{202e}gpj.exe"), "abc\\u{202e}gpj.exe");
        assert!(matches!(terminal_safe("plain"), Cow::Borrowed(_)));
    }
}
