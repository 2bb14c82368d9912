//! Listeners that moved address, and whether the move widened their reach.
//!
//! Owns [`ExposureChange`] and the pairing of removed with added listeners
//! ([`pair_moves`]). Pure: no I/O, no snapshot parsing, no output formats.

use super::DiffListener;
use crate::model::Exposure;

/// How the reach of an address changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExposureChange {
    /// It now reaches further (loopback → wildcard, private → public…).
    Widened,
    /// It now reaches less far.
    Narrowed,
    /// Same exposure class (e.g. one loopback address to another).
    Same,
}

/// How far an exposure reaches, for ordering: loopback < link-local < private < public <
/// wildcard (every interface, public ones included).
fn reach(e: Exposure) -> u8 {
    match e {
        Exposure::Loopback => 0,
        Exposure::LinkLocal => 1,
        Exposure::Private => 2,
        Exposure::Public => 3,
        Exposure::Wildcard => 4,
    }
}

impl ExposureChange {
    /// Compares the reach of two exposures.
    pub fn between(old: Exposure, new: Exposure) -> ExposureChange {
        match reach(new).cmp(&reach(old)) {
            std::cmp::Ordering::Greater => ExposureChange::Widened,
            std::cmp::Ordering::Less => ExposureChange::Narrowed,
            std::cmp::Ordering::Equal => ExposureChange::Same,
        }
    }
}

/// Pairs removed and added listeners that moved address: same namespace, protocol, port
/// and (seen, non-empty) process names; the same address family is preferred. Returns the
/// pairs as (removed index, added index).
pub(super) fn pair_moves(removed: &[DiffListener], added: &[DiffListener]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut used_r = vec![false; removed.len()];
    let mut used_a = vec![false; added.len()];
    for same_family_only in [true, false] {
        for (i, r) in removed.iter().enumerate() {
            if used_r[i] {
                continue;
            }
            let Some(ri) = r.identity().filter(|id| !id.names.is_empty()) else {
                continue;
            };
            let found = added.iter().enumerate().find(|(j, a)| {
                !used_a[*j]
                    && a.netns == r.netns
                    && a.protocol == r.protocol
                    && a.port == r.port
                    && (!same_family_only || a.local_address.is_ipv4() == r.local_address.is_ipv4())
                    && a.identity().is_some_and(|ai| ai.names == ri.names)
            });
            if let Some((j, _)) = found {
                used_r[i] = true;
                used_a[j] = true;
                pairs.push((i, j));
            }
        }
    }
    pairs.sort_unstable();
    pairs
}
