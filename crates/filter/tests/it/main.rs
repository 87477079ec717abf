//! The crate's one integration test binary: reported cases, rendered
//! errors, properties, and the fuzz corpus replayed.

mod cases;
mod corpus;
mod props;
mod snapshots;
