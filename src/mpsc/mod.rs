//! A drop-in for `tokio::sync::mpsc`: multi-producer, single-consumer
//! channels with tokio's items, signatures and documented behaviour, on
//! ringchan's lock-free core.
//!
//! Replace `use tokio::sync::mpsc;` with `use ringchan::mpsc;` and nothing
//! else changes: the same functions and types, the same errors and messages,
//! the same close and permit semantics, the same cooperative scheduling on a
//! Tokio runtime. It runs on any executor (only
//! [`send_timeout`](Sender::send_timeout) needs Tokio's timer).
//!
//! - [`channel`] makes a bounded channel: a [`Sender`] (clone it for more
//!   producers) and a [`Receiver`]. Capacity is held by permits, handed out
//!   in the order senders ask; a held [`Permit`] reserves capacity, not a
//!   place in the queue, so it never delays other messages.
//! - [`unbounded_channel`] makes an [`UnboundedSender`], whose `send` never
//!   waits, and an [`UnboundedReceiver`].
//! - Closing: the channel closes when every sender is gone, or when the
//!   receiver calls `close` (permits taken before still send) or is dropped
//!   (buffered messages are dropped with it). The receiver first gets every
//!   buffered message, then `None`.
//!
//! One addition: [`Receiver`] and [`UnboundedReceiver`] implement
//! [`Stream`](futures_core::Stream), so `ReceiverStream::new(rx)` becomes
//! `rx`.
//!
//! One difference, after the receiver is dropped: a [`Permit`] (or
//! [`OwnedPermit`]) that sends then drops the message at once and gives its
//! slot back, as the receiver's drop does for what is buffered; tokio keeps
//! such a message until the channel's last handle goes, and the slot stays
//! taken. Nobody can receive the message either way; only when it is
//! dropped, and [`Sender::capacity`] meanwhile, tell the two apart.
//!
//! # Examples
//!
//! ```
//! use ringchan::mpsc; // was: use tokio::sync::mpsc;
//!
//! # tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(async {
//! let (tx, mut rx) = mpsc::channel(32);
//! for id in 0..4 {
//!     let tx = tx.clone();
//!     tokio::spawn(async move {
//!         for i in 0..10 {
//!             tx.send((id, i)).await.unwrap();
//!         }
//!     });
//! }
//! drop(tx);
//!
//! let mut total = 0;
//! while let Some((_id, _i)) = rx.recv().await {
//!     total += 1;
//! }
//! assert_eq!(total, 40);
//!
//! // The failure edge: a send after the receiver is gone hands the value back.
//! let (tx, rx) = mpsc::channel::<&str>(1);
//! drop(rx);
//! assert_eq!(tx.send("lost").await.unwrap_err().0, "lost");
//! # });
//! ```

#[macro_use]
mod api;
mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, PermitIterator, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};
