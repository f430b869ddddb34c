//! Kernel profiles: the data model ([`model`]), its compact on-disk form ([`codec`]) and the
//! alias index lookups walk ([`index`]).

pub mod codec;
pub(crate) mod index;
pub mod model;

pub use codec::decode_meta;
pub use model::{Alias, AliasKind, FirmwareList, ModuleEntry, ProfileData, RhelRule};
