//! The wire type of `portghost watch`'s events: one JSON object per line.
//!
//! `{"schema_version":1,"event":"listener-added","time":"…","host":"…","listener":{…}}`,
//! with `previous` (the listener as it was) on `verdict-changed` and `owner-changed`, and
//! `message` instead of `listener` on `error`. The listener object is the scan schema's
//! ([`ListenerJson`], or [`PortlessJson`] for a packet or raw socket, told apart by its
//! `socket` field). No I/O here.

use super::SCHEMA_VERSION;
use super::wire::{ListenerJson, PortlessJson};
use crate::model::{Classified, ClassifiedPortless};
use serde::Serialize;

/// A listener of either kind, as the scan schema writes it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AnyListenerJson<'a> {
    /// A port listener (both kinds boxed: they are large and of different sizes).
    Port(Box<ListenerJson<'a>>),
    /// A packet or raw socket.
    Portless(Box<PortlessJson<'a>>),
}

impl<'a> AnyListenerJson<'a> {
    /// A port listener.
    pub fn port(c: &'a Classified) -> AnyListenerJson<'a> {
        AnyListenerJson::Port(Box::new(ListenerJson::new(c, None)))
    }

    /// A portless listener.
    pub fn portless(c: &'a ClassifiedPortless) -> AnyListenerJson<'a> {
        AnyListenerJson::Portless(Box::new(PortlessJson::new(c)))
    }
}

/// One event line of `portghost watch`.
#[derive(Debug, Serialize)]
pub struct EventJson<'a> {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `snapshot`, `listener-added`, `listener-removed`, `verdict-changed`,
    /// `owner-changed`, `policy-reloaded` or `error`.
    pub event: &'a str,
    /// RFC 3339 time of the scan that saw the change (of the failure, for `error`).
    pub time: &'a str,
    /// Host name.
    pub host: &'a str,
    /// The listener now (as last seen, for `listener-removed`); absent on `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener: Option<AnyListenerJson<'a>>,
    /// The listener as it was before, on `verdict-changed` and `owner-changed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<AnyListenerJson<'a>>,
    /// What failed, on `error`; what was done, on `policy-reloaded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    /// The file concerned, on `policy-reloaded` and on an `error` about the policy file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
    /// 1-based line in `file` of the problem, on an `error` when it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column (in characters) in `file` of the problem, on an `error` when it is
    /// known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl<'a> EventJson<'a> {
    /// An event about a listener.
    pub fn listener(
        event: &'a str,
        time: &'a str,
        host: &'a str,
        listener: AnyListenerJson<'a>,
        previous: Option<AnyListenerJson<'a>>,
    ) -> EventJson<'a> {
        EventJson {
            schema_version: SCHEMA_VERSION,
            event,
            time,
            host,
            listener: Some(listener),
            previous,
            message: None,
            file: None,
            line: None,
            column: None,
        }
    }

    /// An `error` event.
    pub fn error(time: &'a str, host: &'a str, message: &'a str) -> EventJson<'a> {
        EventJson {
            schema_version: SCHEMA_VERSION,
            event: "error",
            time,
            host,
            listener: None,
            previous: None,
            message: Some(message),
            file: None,
            line: None,
            column: None,
        }
    }

    /// An `error` about a file: its name and, when known, the line and column of the
    /// problem. `message` is the whole diagnostic (`FILE:LINE:COLUMN: what`).
    pub fn file_error(
        time: &'a str,
        host: &'a str,
        message: &'a str,
        error: &'a crate::diag::FileError,
    ) -> EventJson<'a> {
        EventJson {
            file: Some(&error.file),
            line: error.line,
            column: error.column,
            ..EventJson::error(time, host, message)
        }
    }

    /// A `policy-reloaded` event: the policy `file` was read again and is now in use;
    /// `message` says which mode and how many rules.
    pub fn policy_reloaded(time: &'a str, host: &'a str, file: &'a str, message: &'a str) -> EventJson<'a> {
        EventJson {
            event: "policy-reloaded",
            file: Some(file),
            ..EventJson::error(time, host, message)
        }
    }
}
