//! Neutralising attacker-controlled text before it reaches a terminal.
//!
//! Process names, command lines and executable paths are chosen by whoever started the
//! process. This module owns turning them into inert text. It does no I/O.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for characters that a terminal may act on or that hide in displayed text: C0 and
/// C1 control characters and DEL; the Unicode bidirectional overrides, isolates and marks
/// that reorder displayed text; invisible format characters (zero-width space and joiners,
/// word joiner and invisible operators, soft hyphen, byte-order mark, tag characters, the
/// Hangul fillers) that make `ss\u{200b}hd` display as `sshd`; the line and paragraph
/// separators U+2028 and U+2029; and the noncharacters U+FFFE and U+FFFF, which XML 1.0
/// forbids.
pub fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{0600}'..='\u{0605}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{FFFE}'..='\u{FFFF}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
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

    #[test]
    fn escapes_invisible_characters_and_xml_noncharacters() {
        assert_eq!(terminal_safe("ss\u{200b}hd"), "ss\\u{200b}hd");
        for c in [
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{feff}',
            '\u{ad}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{202a}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{e0041}',
            '\u{3164}',
        ] {
            let s = format!("a{c}b");
            let safe = terminal_safe(&s);
            assert_eq!(safe, format!("a\\u{{{:x}}}b", c as u32), "{:x}", c as u32);
        }
        // Visible text, accents and emoji stay as they are.
        assert_eq!(terminal_safe("café ñ 日本 😀"), "café ñ 日本 😀");
    }
}
