//! The closed vocabularies of the JSON schema: every enumerated value it writes or reads.
//!
//! Owns one enum per vocabulary (`"tcp"`/`"udp"`, `"known"`/`"permission"`/…), each spelling
//! its own names and converting to and from the model's enum with an exhaustive match, so a
//! renamed or added model variant fails to compile here instead of changing the output. It
//! must not hold structs, read files or decide anything.

use crate::model::{
    Confidence, EvidenceKind, Exposure, Family, FilterStatus, FindingKind, GhostStatus, InventoryKind, Mode,
    OwnerStatus, Protocol, Severity, SocketKind, Strength, UseKind, Verdict, View,
};
use serde::{Deserialize, Serialize};

/// Declares a wire vocabulary: the enum, its names, and (with `<=> Model`) the conversions
/// to and from the model's enum of the same variants.
macro_rules! names {
    ($(#[$doc:meta])* $name:ident <=> $model:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        names! { $(#[$doc])* $name { $($variant = $text),+ } }

        impl From<$model> for $name {
            fn from(v: $model) -> $name {
                match v {
                    $($model::$variant => $name::$variant,)+
                }
            }
        }

        impl From<$name> for $model {
            fn from(v: $name) -> $model {
                match v {
                    $($name::$variant => $model::$variant,)+
                }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum $name {
            $(
                #[doc = concat!("`\"", $text, "\"`")]
                #[serde(rename = $text)]
                $variant,
            )+
        }

        // Read as a string, so a value of another type is "expected a string" and an
        // unknown one names the known ones.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                match s.as_str() {
                    $($text => Ok($name::$variant),)+
                    other => Err(serde::de::Error::unknown_variant(other, &[$($text),+])),
                }
            }
        }

        impl $name {
            /// Every name of the vocabulary, in declaration order: the `enum` of the JSON
            /// Schema ([`super::json_schema`]) is made from it.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name written in the JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }
    };
}

names! {
    /// `protocol`, and the `transports` of an unofficial use.
    ProtocolName <=> Protocol { Tcp = "tcp", Udp = "udp" }
}

names! {
    /// A listener's `family`.
    FamilyName <=> Family { Ipv4 = "ipv4", Ipv6 = "ipv6" }
}

names! {
    /// A listener's `exposure`.
    ExposureName <=> Exposure {
        Loopback = "loopback",
        Wildcard = "wildcard",
        LinkLocal = "link-local",
        Private = "private",
        Public = "public",
    }
}

names! {
    /// The scan's `view`.
    ViewName <=> View { Host = "host", Container = "container" }
}

names! {
    /// The scan's `inventory`: which socket and process enumerator made it.
    InventoryName <=> InventoryKind { Linux = "linux", Portable = "portable" }
}

names! {
    /// A listener's `owner_status`.
    OwnerStatusName <=> OwnerStatus {
        Known = "known",
        Permission = "permission",
        NoProcess = "no-process",
        Kernel = "kernel",
        Unavailable = "unavailable",
        NotLooked = "not-looked",
    }
}

names! {
    /// A portless listener's `socket`.
    SocketKindName <=> SocketKind { Packet = "packet", Raw = "raw" }
}

names! {
    /// A portless listener's `filter_status`.
    FilterStatusName <=> FilterStatus { Attached = "attached", None = "none", Hidden = "hidden", Unavailable = "unavailable" }
}

names! {
    /// A listener's `verdict`.
    VerdictName <=> Verdict { Unexpected = "unexpected", Unreviewed = "unreviewed", Expected = "expected" }
}

names! {
    /// A finding's `severity`.
    SeverityName <=> Severity { High = "high", Medium = "medium", Low = "low", Info = "info" }
}

names! {
    /// A finding's `kind`.
    FindingKindName <=> FindingKind {
        GhostPort = "ghost-port",
        HistoricProtocol = "historic-protocol",
        AliveRestricted = "alive-restricted",
        CommonSquatter = "common-squatter",
        UnofficialUse = "unofficial-use",
        UnregisteredPort = "unregistered-port",
        OwnerHidden = "owner-hidden",
        SuspiciousExecutable = "suspicious-executable",
        NoOwner = "no-owner",
        Allowed = "allowed",
        NotAllowed = "not-allowed",
        Denied = "denied",
        KnownPortless = "known-portless",
        UnknownPortless = "unknown-portless",
        Masquerade = "masquerade",
        PayloadFilter = "payload-filter",
    }
}

names! {
    /// The `kind` of a finding's evidence.
    EvidenceKindName <=> EvidenceKind {
        Registry = "registry",
        Package = "package",
        RootOwnedPath = "root-owned-path",
        UserWritablePath = "user-writable-path",
        ProcessName = "process-name",
        Rpc = "rpc",
        EphemeralRange = "ephemeral-range",
        Exposure = "exposure",
        SuspiciousExecutable = "suspicious-executable",
        OwnerUnseen = "owner-unseen",
        Filter = "filter",
        Masquerade = "masquerade",
    }
}

names! {
    /// The `strength` of a finding's evidence.
    StrengthName <=> Strength { Strong = "strong", Medium = "medium", Weak = "weak" }
}

names! {
    /// The policy's `mode`.
    ModeName <=> Mode { Allowlist = "allowlist", Ghosts = "ghosts" }
}

names! {
    /// A ghost entry's `status`.
    GhostStatusName <=> GhostStatus {
        WithdrawnStandard = "withdrawn-standard",
        DefunctVendor = "defunct-vendor",
        NeverDocumented = "never-documented",
        HistoricProtocol = "historic-protocol",
        AliveRestricted = "alive-restricted",
        CommonSquatter = "common-squatter",
        MalwareAssociated = "malware-associated",
    }
}

names! {
    /// A ghost entry's `confidence`.
    ConfidenceName <=> Confidence { Confirmed = "confirmed", Reported = "reported" }
}

names! {
    /// An unofficial use's `kind`.
    UseKindName <=> UseKind { Software = "software", Malware = "malware" }
}

names! {
    /// An address change's `exposure_change` in the diff output.
    ExposureChangeName { Widened = "widened", Narrowed = "narrowed", Same = "same" }
}
