//! The inventory's error: why [`scan`](super::scan) could not enumerate the listeners.
//!
//! Owns the [`Error`] type, its variants (the failures a caller may want to tell apart) and
//! the exact text each one shows. It must not depend on `anyhow` or on any OS crate, read
//! anything or decide what is an error: the scan builds these values, callers only read them.
//! Problems with individual processes are never errors (the scan skips them or warns).
//!
//! [`Display`](fmt::Display) gives one step of the explanation and
//! [`source`](std::error::Error::source) the cause beneath it, so the steps joined by `": "`
//! (as `anyhow`'s `{:#}` prints them) read as one sentence.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a scan failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Another network namespace was asked for (`what` is `--all-netns` or `--netns`)
    /// without `CAP_SYS_ADMIN`, which entering one takes.
    NeedsPrivilege {
        /// The option that asked for it.
        what: String,
    },
    /// Something asked for (`what`, as for [`Error::NeedsPrivilege`]) needs `/proc`, and
    /// `path` in it cannot be read: procfs is not mounted, or hides it.
    NeedsProc {
        /// The option that needs it.
        what: String,
        /// The file that could not be read.
        path: PathBuf,
    },
    /// The network namespace `--netns` names does not exist, is not a network namespace,
    /// or disappeared during the scan.
    NamespaceMissing {
        /// The name or path given.
        name: String,
        /// The whole explanation shown to the user (it names the namespace).
        reason: String,
    },
    /// The kernel refused to let portghost enter network namespace `inode` (`open` or
    /// `setns` failed for a reason other than the namespace being gone).
    NamespaceRefused {
        /// The namespace's inode.
        inode: u64,
        /// The first file that leads to it, if any.
        path: Option<PathBuf>,
        /// The error of `open` or `setns`.
        source: io::Error,
    },
    /// The `NETLINK_SOCK_DIAG` dump of the socket table failed: the netlink socket could
    /// not be opened, the kernel refused or aborted the dump, or an answer was malformed
    /// (then `source` is of kind [`io::ErrorKind::InvalidData`]).
    Netlink {
        /// The network namespace entered for the dump, when it was not portghost's own.
        netns: Option<u64>,
        /// What was being done, outermost step first, e.g.
        /// `dumping IPv4 tcp sockets with NETLINK_SOCK_DIAG: the kernel refused the dump request`.
        doing: String,
        /// What went wrong.
        source: io::Error,
    },
    /// Network namespaces were asked for on an OS that has none (only Linux has them), or
    /// with the portable inventory, which sees only portghost's own namespace.
    Unsupported,
    /// The inventory asked for does not exist on this OS (the Linux one, off Linux).
    InventoryUnavailable(crate::model::InventoryKind),
    /// An I/O error of the scan itself: `/proc` could not be listed, or the thread that
    /// enters namespaces could not start.
    Io {
        /// What was being done.
        context: String,
        /// What went wrong.
        source: io::Error,
    },
    /// Anything else: the OS's socket table could not be read by the portable backend.
    Other {
        /// What was being done.
        context: String,
        /// What went wrong.
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NeedsPrivilege { what } => write!(
                f,
                "{what} needs root: entering another network namespace takes CAP_SYS_ADMIN \
                 (run it as root, e.g. sudo portghost scan {what} ...)"
            ),
            Error::NeedsProc { what, path } => write!(f, "{what} needs /proc: {} cannot be read", path.display()),
            Error::NamespaceMissing { reason, .. } => f.write_str(reason),
            Error::NamespaceRefused { inode, path, .. } => match path {
                Some(path) => write!(f, "entering network namespace {inode} ({})", path.display()),
                None => write!(f, "entering network namespace {inode}"),
            },
            Error::Netlink { netns, doing, .. } => {
                if let Some(inode) = netns {
                    write!(f, "in network namespace {inode}: ")?;
                }
                f.write_str(doing)
            }
            Error::Unsupported if cfg!(target_os = "linux") => f.write_str(
                "--all-netns and --netns need the Linux inventory: the portable one (PORTGHOST_INVENTORY=portable) \
                 sees only portghost's own network namespace",
            ),
            Error::Unsupported => {
                f.write_str("--all-netns and --netns need Linux network namespaces, which this OS does not have")
            }
            Error::InventoryUnavailable(kind) => {
                write!(f, "the {} inventory is not available on this OS", kind.as_str())
            }
            Error::Io { context, .. } | Error::Other { context, .. } => f.write_str(context),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::NamespaceRefused { source, .. } | Error::Netlink { source, .. } | Error::Io { source, .. } => {
                Some(source)
            }
            Error::Other { source, .. } => Some(&**source),
            Error::NeedsPrivilege { .. }
            | Error::NeedsProc { .. }
            | Error::NamespaceMissing { .. }
            | Error::Unsupported
            | Error::InventoryUnavailable(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error and its causes joined by `": "`, as `portghost: {err:#}` prints them.
    fn chain(error: &Error) -> String {
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }

    #[test]
    fn messages_read_as_before() {
        let root = Error::NeedsPrivilege {
            what: "--all-netns".into(),
        };
        assert_eq!(
            chain(&root),
            "--all-netns needs root: entering another network namespace takes CAP_SYS_ADMIN \
             (run it as root, e.g. sudo portghost scan --all-netns ...)"
        );
        let proc = Error::NeedsProc {
            what: "--netns".into(),
            path: "/proc/self/ns/net".into(),
        };
        assert_eq!(chain(&proc), "--netns needs /proc: /proc/self/ns/net cannot be read");
        let dump = Error::Netlink {
            netns: Some(4_026_532_301),
            doing: "dumping IPv4 tcp sockets with NETLINK_SOCK_DIAG: the kernel refused the dump request".into(),
            source: io::Error::other("Operation not permitted"),
        };
        assert_eq!(
            chain(&dump),
            "in network namespace 4026532301: dumping IPv4 tcp sockets with NETLINK_SOCK_DIAG: \
             the kernel refused the dump request: Operation not permitted"
        );
        let refused = Error::NamespaceRefused {
            inode: 7,
            path: Some("/run/netns/x".into()),
            source: io::Error::other("no"),
        };
        assert_eq!(chain(&refused), "entering network namespace 7 (/run/netns/x): no");
        let missing = Error::NamespaceMissing {
            name: "x".into(),
            reason: "network namespace 7 disappeared during the scan".into(),
        };
        assert_eq!(chain(&missing), "network namespace 7 disappeared during the scan");
    }

    #[test]
    fn is_send_sync_and_static() {
        fn check<T: StdError + Send + Sync + 'static>() {}
        check::<Error>();
    }
}
