//! What about a listener's owners counts as drift, and how two owner sets differ.
//!
//! Owns [`Identity`] (process names, executables, users) and the per-aspect [`Change`]s
//! between two listeners. Pure: no I/O, no snapshot parsing, no output formats. PIDs,
//! command lines, units and containers are deliberately not part of an identity.

use super::DiffListener;
use crate::model::Owner;
use std::collections::BTreeSet;

/// The identity of a listener's owners that matters for drift: process names, executables
/// and users. `None` in `exes` or `users` means some owner's value was unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub(super) names: BTreeSet<String>,
    pub(super) exes: Option<BTreeSet<String>>,
    pub(super) users: Option<BTreeSet<String>>,
}

impl Identity {
    pub(super) fn of(owners: &[Owner]) -> Identity {
        let names = owners.iter().map(|o| o.name.clone()).collect();
        let exes = owners.iter().map(|o| o.exe.clone()).collect();
        let users = owners
            .iter()
            .map(|o| match (&o.user, o.uid) {
                (Some(u), _) => Some(u.clone()),
                (None, Some(uid)) => Some(format!("uid {uid}")),
                (None, None) => None,
            })
            .collect();
        Identity { names, exes, users }
    }
}

/// One aspect of a listener that differs between the scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `process`, `exe`, `user` or `dual-stack`.
    pub field: &'static str,
    /// The value in the old scan; several owners' values are joined with `, `.
    pub old: String,
    /// The value in the new scan.
    pub new: String,
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "(none)".to_string()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Differences in exe, user and dual-stack between two listeners whose owners are both
/// seen; process names too when `names` is set.
pub(super) fn owner_changes(
    old: &DiffListener,
    new: &DiffListener,
    a: &Identity,
    b: &Identity,
    names: bool,
) -> Vec<Change> {
    let mut changes = Vec::new();
    if names && a.names != b.names {
        changes.push(Change {
            field: "process",
            old: join(&a.names),
            new: join(&b.names),
        });
    }
    if let (Some(x), Some(y)) = (&a.exes, &b.exes)
        && x != y
    {
        changes.push(Change {
            field: "exe",
            old: join(x),
            new: join(y),
        });
    }
    if let (Some(x), Some(y)) = (&a.users, &b.users)
        && x != y
    {
        changes.push(Change {
            field: "user",
            old: join(x),
            new: join(y),
        });
    }
    if old.dual_stack != new.dual_stack {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        changes.push(Change {
            field: "dual-stack",
            old: yes_no(old.dual_stack),
            new: yes_no(new.dual_stack),
        });
    }
    changes
}
