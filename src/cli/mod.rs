//! The command line: its syntax ([`args`]) and its resolution, once, into what the program
//! uses ([`resolve`]).
//!
//! Owns the only reads of the environment (`NO_COLOR`, `SUDO_UID`, `PORTGHOST_IANA`, `PORTGHOST_INVENTORY`, `GITHUB_STEP_SUMMARY`), of whether stdout is a terminal
//! and its width, and of the current directory (policy discovery). Crate-private: nothing
//! below `app` imports it, and it neither scans, classifies nor renders.

mod args;
mod resolve;

pub(crate) use args::{Cli, DiffFormat, Format, ListFormat, PortSel, SortKey};
pub(crate) use resolve::{
    Action, BaselineConfig, Config, DiffConfig, ExplainConfig, OwnerFilter, RegistrySources, ScanConfig, WatchConfig,
    resolve,
};
