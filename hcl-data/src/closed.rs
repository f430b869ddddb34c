//! Closed sets of names written as strings in reports: each is an enum whose spellings are
//! listed once, next to its variants, plus a catch-all variant that keeps any other spelling,
//! so a report written by an older or newer probe still reads and writes back byte for byte.

/// Declares a closed set: the enum, `as_str`, `Display`, serde as the plain string, and
/// comparison with `&str`. Declared `pub enum Name or Other`, `From<&str>` puts unknown
/// spellings in the catch-all `Other(String)`; without `or`, the set is `Copy`, `FromStr` refuses them and so does serde
/// (as `#[derive(Deserialize)]` would).
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// The spelling a report carries.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }

            /// Every member, in order.
            pub const ALL: &'static [$name] = &[$( $name::$variant ),*];
            const NAMES: &'static [&'static str] = &[$( $text ),*];
        }

        impl std::str::FromStr for $name {
            type Err = crate::closed::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )*
                    _ => Err(crate::closed::UnknownName),
                }
            }
        }

        $crate::closed::closed_set!(@common $name);
    };
    (@common $name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visit;
                impl serde::de::Visitor<'_> for Visit {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(|_| E::unknown_variant(v, $name::NAMES))
                    }
                }
                d.deserialize_str(Visit)
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident or $other:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// Any other spelling, kept as written.
            $other(String),
        }

        /// By spelling, as the strings these sets replace sorted.
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// The spelling a report carries.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::$other(s) => s.as_str(),
                }
            }

            /// Every named member (not the catch-all).
            pub const ALL: &'static [$name] = &[$( $name::$variant ),*];
            const NAMES: &'static [&'static str] = &[$( $text ),*];
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $text => $name::$variant, )*
                    other => $name::$other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $( $text => $name::$variant, )*
                    _ => $name::$other(s),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        $crate::closed::closed_set!(@common $name);
    };
}

pub(crate) use closed_set;

/// A name outside a closed set that has no catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not one of the known names")]
pub struct UnknownName;
