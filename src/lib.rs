//! Async MPMC channels for Tokio-style runtimes whose fast path is a
//! lock-free ring buffer.
//!
//! A [`bounded`] channel is a fixed array of slots run by Dmitry Vyukov's MPMC
//! algorithm (one sequence number per slot, a CAS on the head or tail per
//! message). Tasks park on an [`event_listener`] notifier only when a send
//! finds the ring full or a receive finds it empty, and nobody pays for a
//! notification while nobody waits.
//!
//! - Native MPMC API in the shape of `async-channel`: [`bounded`], [`unbounded`],
//!   [`Sender`], [`Receiver`] (also a [`Stream`](futures_core::Stream)),
//!   weak handles, and blocking variants for threads.
//! - [`mpsc`]: a drop-in for `tokio::sync::mpsc`, item for item (change the
//!   `use` line, nothing else), on the same core.
//!
//! # Quick start
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap().block_on(async {
//! let (tx, rx) = ringchan::bounded(64);
//!
//! let producers: Vec<_> = (0..4)
//!     .map(|p| {
//!         let tx = tx.clone();
//!         tokio::spawn(async move {
//!             for i in 0..100 {
//!                 tx.send(p * 1000 + i).await.unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! drop(tx); // the channel closes when the last sender is gone
//!
//! let mut total = 0;
//! while let Ok(_msg) = rx.recv().await {
//!     total += 1;
//! }
//! for p in producers {
//!     p.await.unwrap();
//! }
//! assert_eq!(total, 400);
//! # });
//! ```
//!
//! # Semantics
//!
//! - Every message is delivered exactly once; messages from one sender
//!   arrive in the order sent. Capacity is exact for any `cap >= 1`.
//! - Closing (by `close` on any handle, or when the last sender or the last
//!   receiver is dropped) wakes every waiter. Receivers drain what is
//!   buffered, then see the channel closed; a send into a closed channel
//!   hands its message back in the error.
//! - Dropping a pending `recv` future loses no message; dropping a pending
//!   `send` future drops only its own message. A wake-up a dropped future had
//!   taken passes on to the next waiter.
//! - Every message still buffered when the channel goes away is dropped
//!   exactly once.
//! - Waiting senders and receivers are woken in the order they joined
//!   their line of waiters. A future that has to wait first yields to its executor once (it
//!   wakes its own waker and returns `Pending`, as `tokio::task::yield_now`
//!   does), then joins the line of waiters, unless it waits on a
//!   multi-thread runtime on a channel of more than 8 slots, or an
//!   unbounded one, where it joins at once (the README's Performance
//!   section says why, under "How a task waits"); a future polled by hand
//!   sees that one extra wake-up.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs, missing_debug_implementations)]

mod chan;
mod error;
mod future;
mod list;
mod mpmc;
pub mod mpsc;
mod notify;
mod queue;
mod ring;
mod semaphore;
mod sync;

#[cfg(all(test, loom))]
mod tests;

/// The README's examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use error::{RecvError, SendError, TryRecvError, TrySendError};
pub use future::{Closed, Recv, RecvMany, Send, SendIter, SendMany};
pub use mpmc::{bounded, unbounded, Receiver, Sender, WeakReceiver, WeakSender};
