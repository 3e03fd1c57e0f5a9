//! The unbounded flavour: [`unbounded_channel`], [`UnboundedSender`],
//! [`UnboundedReceiver`], [`WeakUnboundedSender`]. The messages go through
//! the lock-free block list; there is no capacity to account for, so a send
//! is one push and never waits.
//!
//! No `unsafe` here.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::chan::{self, assert_may_block, Unlimited};
use super::error::{SendError, TryRecvError};
use crate::list::List;

/// The shared sending half of an unbounded channel.
type Tx<T> = chan::Tx<T, List<T>, Unlimited>;
/// The shared receiving half of an unbounded channel.
type Rx<T> = chan::Rx<T, List<T>, Unlimited>;

/// Creates an unbounded mpsc channel for communicating between asynchronous
/// tasks without backpressure.
///
/// A `send` on this channel always succeeds as long as the receive half has
/// not been closed; it never waits and needs no runtime. Memory grows with
/// the messages in flight (in blocks) and is given back as they are
/// received. With no bound, a producer faster than its consumer grows the
/// buffer without limit: prefer [`channel`](super::channel) unless that
/// cannot happen.
///
/// # Examples
///
/// ```
/// use ringchan::mpsc;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, mut rx) = mpsc::unbounded_channel();
/// for i in 0..3 {
///     tx.send(i).unwrap(); // never waits
/// }
/// drop(tx);
/// let mut got = Vec::new();
/// while let Some(i) = rx.recv().await {
///     got.push(i);
/// }
/// assert_eq!(got, [0, 1, 2]);
/// # });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = chan::channel(|| Unlimited, List::new);
    (UnboundedSender { chan: tx }, UnboundedReceiver { chan: rx })
}

/// Sends values to the associated [`UnboundedReceiver`].
///
/// Instances are created by the [`unbounded_channel`] function. Clone it to
/// send from several tasks or threads.
///
/// # Examples
///
/// ```
/// let (tx, mut rx) = ringchan::mpsc::unbounded_channel();
/// let tx2 = tx.clone();
/// std::thread::spawn(move || tx2.send(1).unwrap()).join().unwrap();
/// tx.send(2).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Ok(2));
/// assert!(format!("{tx:?}").starts_with("UnboundedSender {"));
/// ```
pub struct UnboundedSender<T> {
    chan: Tx<T>,
}

/// An unbounded sender that does not keep the channel open.
///
/// Made by [`UnboundedSender::downgrade`];
/// [`upgrade`](WeakUnboundedSender::upgrade) gives an [`UnboundedSender`]
/// back while at least one is still alive.
///
/// # Examples
///
/// ```
/// let (tx, mut rx) = ringchan::mpsc::unbounded_channel::<u8>();
/// let weak = tx.downgrade();
/// weak.upgrade().unwrap().send(1).unwrap();
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(format!("{weak:?}"), "WeakUnboundedSender");
/// ```
pub struct WeakUnboundedSender<T> {
    chan: chan::WeakTx<T, List<T>, Unlimited>,
}

/// Receives values from the associated [`UnboundedSender`].
///
/// Instances are created by the [`unbounded_channel`] function. It is also a
/// [`Stream`], so code that wrapped tokio's receiver in
/// `tokio_stream::wrappers::UnboundedReceiverStream::new(rx)` can use `rx`
/// itself.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::mpsc::unbounded_channel();
/// tx.send("a").unwrap();
/// tx.send("b").unwrap();
/// drop(tx);
/// let all: Vec<&str> = rx.collect().await;
/// assert_eq!(all, ["a", "b"]);
/// # });
/// ```
pub struct UnboundedReceiver<T> {
    chan: Rx<T>,
}

impl<T> UnboundedSender<T> {
    /// Sends a value without waiting.
    ///
    /// Succeeds as long as the receiver has not closed or dropped; a
    /// successful send may still never be received if the receiver drops
    /// before taking it. Works from any thread, with or without a runtime.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver has closed or dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = ringchan::mpsc::unbounded_channel();
    /// tx.send("hello").unwrap();
    /// assert_eq!(rx.try_recv(), Ok("hello"));
    /// rx.close();
    /// assert_eq!(tx.send("late").unwrap_err().0, "late");
    /// ```
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.chan.push(message).map_err(SendError)
    }
}

sender_api!(
    UnboundedSender,
    WeakUnboundedSender,
    UnboundedReceiver,
    new = "ringchan::mpsc::unbounded_channel()",
    send = "send"
);

impl<T> UnboundedReceiver<T> {
    /// Closes the receiving half of a channel without dropping it.
    ///
    /// Sends fail from now on and [`UnboundedSender::closed`] completes;
    /// everything buffered can still be received, then
    /// [`recv`](Self::recv) returns `None`. Closing twice does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut rx) = ringchan::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, None);
    /// # });
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }
}

receiver_api!(
    UnboundedReceiver,
    UnboundedSender,
    WeakUnboundedSender,
    new = "ringchan::mpsc::unbounded_channel()",
    send = "send"
);
