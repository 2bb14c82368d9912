//! Settings resolved once from the command line, the environment and the terminal.
//!
//! Owns the only reads of `NO_COLOR` and of whether stdout is a terminal. Everything
//! downstream receives plain values from [`Settings`].

use crate::cli::ColorWhen;
use std::io::IsTerminal;

/// What the renderers need to know about where the output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Emit ANSI colours.
    pub color: bool,
    /// Terminal width in columns when stdout is a terminal; `None` means do not wrap.
    pub width: Option<u16>,
    /// Whether stdout is a terminal: JSON is then indented for a person to read.
    pub tty: bool,
}

impl Settings {
    /// Resolves `--color` against the environment: `auto` colours only when stdout is a
    /// terminal and `NO_COLOR` is unset or empty.
    pub fn resolve(color: ColorWhen) -> Settings {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty && !no_color,
        };
        let width = if tty {
            terminal_size::terminal_size().map(|(w, _)| w.0)
        } else {
            None
        };
        Settings { color, width, tty }
    }

    /// Settings for output that is neither coloured nor wrapped (tests, pipes).
    pub fn plain() -> Settings {
        Settings {
            color: false,
            width: None,
            tty: false,
        }
    }
}
