//! Owners and listeners for unit tests across the crate (compiled only for tests). Plain
//! data, no I/O.

use crate::model::{Listener, Owner, OwnerStatus, Protocol};
use std::sync::Arc;

/// An owner `name` with PID `pid`, running `/usr/bin/NAME` as root.
pub(crate) fn owner(pid: u32, name: &str) -> Arc<Owner> {
    Arc::new(Owner {
        pid,
        name: name.to_owned(),
        exe: Some(format!("/usr/bin/{name}")),
        cmdline: None,
        uid: Some(0),
        user: Some("root".to_owned()),
        unit: None,
        user_unit_uid: None,
        exe_deleted: false,
        container: None,
    })
}

/// A TCP listener on 127.0.0.1:`port` with socket inode `inode`, held by `owners`.
pub(crate) fn listener(port: u16, inode: u64, owners: Vec<Arc<Owner>>) -> Listener {
    Listener {
        protocol: Protocol::Tcp,
        local_address: "127.0.0.1".parse().expect("address"),
        port,
        inode: Some(inode),
        uid: Some(0),
        owners,
        owner_status: OwnerStatus::Known,
        v6only: None,
        netns: None,
    }
}
