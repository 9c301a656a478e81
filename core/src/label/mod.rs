//! The two label models.
//!
//! - [`typed`]: label sets whose values come from closed enums. Their cardinality is a
//!   compile-time constant and a label set's slot is a mixed-radix index: no hashing, no
//!   probing, no string work on the hot path.
//! - [`dynamic`]: string label values in a fixed-capacity, open-addressed table, insert-only,
//!   with the values stored inside each series' cache-padded slot.
//!
//! Both render identically and both hand back a handle the caller can keep.

pub(crate) mod bytes;
pub(crate) mod dynamic;
pub(crate) mod remembered;
pub(crate) mod typed;
