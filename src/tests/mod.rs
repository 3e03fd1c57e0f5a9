//! loom models of the crate's private pieces; run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --lib`.

mod chan;
mod list;
mod mpsc;
mod notify;
mod ring;
