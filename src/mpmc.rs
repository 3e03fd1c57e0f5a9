//! The native MPMC API, in the shape of `async-channel` 2: thin handles that
//! delegate to the channel core. No `unsafe` here.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use crate::chan::{Chan, Line, Side, Wait};
use crate::error::{SendError, TryRecvError, TrySendError};
use crate::future::{Closed, MpmcChan, Recv, RecvMany, Send, SendIter, SendMany};
use crate::list::List;
use crate::notify::Ticket;
use crate::queue::{Flavor, PopError, PushError, Queue};
use crate::ring::Ring;
use crate::sync::{arc_in_place, Arc};

/// Creates a channel that holds at most `cap` messages.
///
/// Both handles can be cloned: any number of senders and receivers share the
/// channel, and each message goes to exactly one receiver. Senders wait (or
/// `try_send` fails with [`TrySendError::Full`]) while `cap` messages are
/// buffered.
///
/// # Panics
///
/// If `cap` is 0, or so large that the buffer cannot be allocated.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::bounded(2);
/// tx.send(1).await.unwrap();
/// tx.send(2).await.unwrap();
/// assert!(tx.try_send(3).unwrap_err().is_full());
/// assert_eq!(rx.recv().await, Ok(1));
/// # });
/// ```
///
/// ```should_panic
/// // panics: "ringchan::bounded: capacity must be at least 1, got 0"
/// let _ = ringchan::bounded::<u8>(0);
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    from_queue(|| Flavor::Bounded(Ring::new(cap, "ringchan::bounded")))
}

/// Creates a channel with no bound: `send` never waits and `try_send` fails
/// only when the channel is closed. Messages live in linked blocks of slots,
/// allocated as they fill and freed as they drain, so memory follows the
/// messages in flight.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::unbounded();
/// for i in 0..1000 {
///     tx.send(i).await.unwrap(); // never waits
/// }
/// assert_eq!(tx.capacity(), None);
/// assert!(!tx.is_full());
/// assert_eq!(rx.len(), 1000);
/// drop(rx);
/// assert!(tx.try_send(0).unwrap_err().is_closed());
/// # });
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    from_queue(|| Flavor::Unbounded(List::new()))
}

/// Builds the channel's state straight into its allocation
/// ([`arc_in_place`]): `queue` runs after the allocation.
#[inline(always)]
fn from_queue<T>(queue: impl FnOnce() -> Flavor<T>) -> (Sender<T>, Receiver<T>) {
    let chan = arc_in_place(|| Chan::new(queue()));
    let tx = Sender { chan: chan.clone() };
    let rx = Receiver { chan, ticket: None };
    (tx, rx)
}

/// The sending half of a channel. Clone it for more producers; the channel
/// closes when the last sender is dropped.
///
/// `{:?}` shows the channel's length, capacity and handle counts; `{:#?}`
/// also shows the queue's internals (head and tail positions and the state of
/// each slot), for debugging.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringchan::bounded(4);
/// let tx2 = tx.clone();
/// tx.try_send("a").unwrap();
/// tx2.try_send("b").unwrap();
/// assert_eq!(tx.sender_count(), 2);
/// assert!(format!("{tx:#?}").contains("head"));
/// ```
pub struct Sender<T> {
    chan: Arc<MpmcChan<T>>,
}

impl<T> Sender<T> {
    /// Sends `msg` without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the channel holds `capacity` messages,
    /// [`TrySendError::Closed`] when it is closed; both hand `msg` back.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::TrySendError;
    ///
    /// let (tx, rx) = ringchan::bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    #[inline]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(msg).map_err(|e| match e {
            PushError::Full(v) => TrySendError::Full(v),
            PushError::Closed(v) => TrySendError::Closed(v),
        })
    }

    /// Sends `msg`, waiting for room while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `msg` inside when the channel is closed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops `msg` unsent (it is
    /// only in the channel once the future returns `Ok`); any wake-up it had
    /// taken passes on to the next waiting sender.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringchan::bounded(1);
    /// tx.send(1).await.unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).await.unwrap_err().into_inner(), 2);
    /// # });
    /// ```
    pub fn send(&self, msg: T) -> Send<'_, T> {
        Send::new(&self.chan, msg)
    }

    /// Moves as many messages as fit from the front of `msgs` into the
    /// channel without waiting, in order, and returns how many were sent
    /// (they leave `msgs`; the rest stay). On a bounded channel the whole run
    /// is claimed with one atomic operation.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when `msgs` is non-empty and nothing fits,
    /// [`TrySendError::Closed`] when `msgs` is non-empty and the channel is
    /// closed; `msgs` is then untouched. An empty `msgs` returns `Ok(0)`
    /// whatever the channel's state: there is nothing to send (as an empty
    /// iterator in [`try_send_iter`](Self::try_send_iter)).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(3);
    /// let mut batch = vec![1, 2, 3, 4, 5];
    /// assert_eq!(tx.try_send_many(&mut batch), Ok(3));
    /// assert_eq!(batch, [4, 5]);
    /// assert!(tx.try_send_many(&mut batch).unwrap_err().is_full());
    /// drop(rx);
    /// assert!(tx.try_send_many(&mut batch).unwrap_err().is_closed());
    /// assert_eq!(batch, [4, 5]);
    /// ```
    pub fn try_send_many(&self, msgs: &mut Vec<T>) -> Result<usize, TrySendError<()>> {
        self.chan.try_send_many(msgs).map_err(|e| match e {
            PushError::Full(()) => TrySendError::Full(()),
            PushError::Closed(()) => TrySendError::Closed(()),
        })
    }

    /// Sends every message of `msgs`, oldest first, waiting for room as
    /// needed; `msgs` is empty when it returns `Ok`. Runs of messages that
    /// fit are claimed with one atomic operation each.
    ///
    /// # Errors
    ///
    /// [`SendError`] when the channel closes before all are sent: what was
    /// sent stays sent, and the unsent messages stay in `msgs`, in order. An
    /// empty `msgs` is sent at once (`Ok`), even on a closed channel.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in the same sense: dropping the future leaves exactly the
    /// unsent messages in `msgs`.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringchan::bounded(4);
    /// let mut batch: Vec<u32> = (0..4).collect();
    /// tx.send_many(&mut batch).await.unwrap();
    /// let mut out = Vec::new();
    /// rx.recv_many(&mut out, 10).await.unwrap();
    /// assert_eq!(out, [0, 1, 2, 3]);
    /// rx.close();
    /// let mut more = vec![9];
    /// assert!(tx.send_many(&mut more).await.is_err());
    /// assert_eq!(more, [9]);
    /// # });
    /// ```
    pub fn send_many<'a>(&'a self, msgs: &'a mut Vec<T>) -> SendMany<'a, T> {
        SendMany::new(&self.chan, msgs)
    }

    /// Sends every message `msgs` yields, in order, waiting for room as
    /// needed. Takes them from the iterator a run at a time (at most the
    /// channel's capacity, at most 256), each run sent as by
    /// [`send_many`](Sender::send_many): claimed with one atomic operation
    /// when it all fits.
    ///
    /// The run in hand lives in a buffer the future allocates once (the
    /// first time the iterator yields); [`send_many`](Sender::send_many)
    /// with a `Vec` of your own allocates nothing.
    ///
    /// # Errors
    ///
    /// [`SendError`] when the channel closes first. What was sent stays
    /// sent; the error holds the messages taken from the iterator and not
    /// sent, in order, and the iterator keeps the ones it has not yielded
    /// (pass `iter.by_ref()` to keep it).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future drops the run it had taken from
    /// the iterator and not yet sent (use [`send_many`](Sender::send_many)
    /// to keep unsent messages across a `select!`).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringchan::bounded(4);
    /// tx.send_iter((0..4).map(|i| i * 10)).await.unwrap();
    /// let mut out = Vec::new();
    /// rx.recv_many(&mut out, 10).await.unwrap();
    /// assert_eq!(out, [0, 10, 20, 30]);
    ///
    /// rx.close();
    /// let mut rest = 7..10;
    /// let unsent = tx.send_iter(rest.by_ref()).await.unwrap_err().into_inner();
    /// assert_eq!(unsent, [7, 8, 9]); // the first run (up to the capacity, 4)
    /// assert_eq!(rest.next(), None);
    /// # });
    /// ```
    pub fn send_iter<I>(&self, msgs: I) -> SendIter<'_, T, I::IntoIter>
    where
        I: IntoIterator<Item = T>,
    {
        SendIter::new(&self.chan, msgs.into_iter())
    }

    /// Sends messages `msgs` yields, in order, without waiting, until the
    /// iterator ends or a message does not fit. Takes them a run at a time,
    /// no more than there is room for (at least one), each run claimed with
    /// one atomic operation when it all fits. Allocates a buffer for the run
    /// when the iterator yields anything. An iterator that yields nothing
    /// sends nothing and returns `Ok`, even on a closed channel.
    ///
    /// # Errors
    ///
    /// What was sent stays sent either way.
    /// [`TrySendError::Full`] holds the messages taken from the iterator that
    /// did not fit (at least one), in order; [`TrySendError::Closed`] the
    /// ones taken and not sent. The iterator keeps the ones it has not
    /// yielded (pass `iter.by_ref()` to keep it).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(3);
    /// let mut msgs = 1..=5;
    /// let full = tx.try_send_iter(msgs.by_ref()).unwrap_err();
    /// assert!(full.is_full());
    /// assert_eq!(full.into_inner(), [4]); // 1, 2, 3 sent; 4 did not fit
    /// assert_eq!(msgs.next(), Some(5));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(tx.try_send_iter([6]), Ok(()));
    /// drop(rx);
    /// assert!(tx.try_send_iter([7]).unwrap_err().is_closed());
    /// assert_eq!(tx.try_send_iter(std::iter::empty()), Ok(()));
    /// ```
    pub fn try_send_iter<I>(&self, msgs: I) -> Result<(), TrySendError<Vec<T>>>
    where
        I: IntoIterator<Item = T>,
    {
        let chunk = crate::future::iter_chunk(&self.chan);
        let mut msgs = Some(msgs.into_iter());
        let mut run = Vec::new();
        loop {
            // No more than fits now (at least one, to find out if none
            // does), so what does not fit is little and rarely any.
            let room = self.capacity().map_or(chunk, |cap| {
                cap.saturating_sub(self.chan.queue().len()).clamp(1, chunk)
            });
            if !crate::future::take_run(&mut msgs, &mut run, room) {
                return Ok(());
            }
            match self.chan.try_send_many(&mut run) {
                Ok(_) if run.is_empty() => {}
                Ok(_) | Err(PushError::Full(())) => return Err(TrySendError::Full(run)),
                Err(PushError::Closed(())) => return Err(TrySendError::Closed(run)),
            }
        }
    }

    /// Sends `msg`, blocking the thread while the channel is full. Do not
    /// call it from async code: it blocks the executor's thread.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `msg` inside when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(1);
    /// let t = std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// let got: Vec<i32> = (0..3).map(|_| rx.recv_blocking().unwrap()).collect();
    /// t.join().unwrap();
    /// assert_eq!(got, [0, 1, 2]);
    /// ```
    #[inline]
    pub fn send_blocking(&self, msg: T) -> Result<(), SendError<T>> {
        // The park protocol's first try, inlined here: the message goes
        // straight from the caller into its slot, without a stop in a
        // future first (measured, 64-byte messages: see the README).
        match self.chan.try_send(msg) {
            Ok(()) => Ok(()),
            Err(PushError::Closed(v)) => Err(SendError(v)),
            Err(PushError::Full(v)) => self.send(v).wait(),
        }
    }

    /// Sends `msg` without waiting; when the channel is full, replaces the
    /// oldest buffered message and returns it.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `msg` inside when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(2);
    /// assert_eq!(tx.force_send(1), Ok(None));
    /// assert_eq!(tx.force_send(2), Ok(None));
    /// assert_eq!(tx.force_send(3), Ok(Some(1)));
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// rx.close();
    /// assert_eq!(tx.force_send(4).unwrap_err().into_inner(), 4);
    /// ```
    pub fn force_send(&self, msg: T) -> Result<Option<T>, SendError<T>> {
        self.chan.force_send(msg).map_err(SendError)
    }

    /// Waits until the channel is closed (by [`close`](Self::close) on any
    /// handle, or when every receiver is gone).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future has no effect on the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringchan::bounded::<u8>(1);
    /// tokio::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed::new(&self.chan)
    }

    /// Closes the channel: sends fail from now on, receivers drain what is
    /// buffered and then see it closed, and every waiting task wakes.
    /// Returns `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(2);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!tx.close());
    /// assert!(tx.try_send(2).unwrap_err().is_closed());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().unwrap_err().is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// `true` once the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded::<()>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.queue().is_closed()
    }

    /// `true` when no message is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::bounded(1);
    /// assert!(tx.is_empty());
    /// tx.try_send(()).unwrap();
    /// assert!(!tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` when the channel holds `capacity` messages (never for an
    /// unbounded channel).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::bounded(1);
    /// assert!(!tx.is_full());
    /// tx.try_send(()).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.capacity() == Some(self.len())
    }

    /// Number of messages buffered (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::bounded(3);
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.queue().len()
    }

    /// The most messages the channel holds; `None` when unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::bounded::<u8>(5);
    /// assert_eq!(tx.capacity(), Some(5));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.queue().capacity()
    }

    /// Number of live receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded::<u8>(1);
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.handles(Side::Recv)
    }

    /// Number of live senders.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::bounded::<u8>(1);
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.handles(Side::Send)
    }

    /// A handle that does not keep the channel open; [`WeakSender::upgrade`]
    /// gives a sender back while any sender lives.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::bounded::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            chan: self.chan.clone(),
        }
    }

    /// `true` if both senders belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::bounded::<u8>(1);
    /// let (other, _rx2) = ringchan::bounded::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.acquire(Side::Send);
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.release(Side::Send);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sender ")?;
        fmt::Debug::fmt(&*self.chan, f)
    }
}

/// The receiving half of a channel. Clone it for more consumers (each
/// message goes to one of them); the channel closes when the last receiver
/// is dropped. It is a [`Stream`] of messages that ends when the channel is
/// closed and drained.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::bounded(4);
/// tx.send(1).await.unwrap();
/// tx.send(2).await.unwrap();
/// drop(tx);
/// assert_eq!(rx.collect::<Vec<_>>().await, [1, 2]);
/// # });
/// ```
pub struct Receiver<T> {
    chan: Arc<MpmcChan<T>>,
    /// The `Stream` impl's place in line between polls.
    ticket: Option<Ticket>,
}

impl<T> Receiver<T> {
    /// Receives a message without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered, and
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::TryRecvError;
    ///
    /// let (tx, rx) = ringchan::bounded(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv_inline()
    }

    /// Receives a message, waiting while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`](crate::RecvError) once the channel is closed and
    /// drained.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message is taken from the channel only in the poll that
    /// returns it, so dropping the future loses nothing; a wake-up it had
    /// taken passes on to the next waiting receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringchan::bounded(1);
    /// tokio::spawn(async move { tx.send(7).await.unwrap() });
    /// assert_eq!(rx.recv().await, Ok(7));
    /// assert_eq!(rx.recv().await, Err(ringchan::RecvError));
    /// # });
    /// ```
    pub fn recv(&self) -> Recv<'_, T> {
        Recv::new(&self.chan)
    }

    /// Receives a message, blocking the thread while the channel is empty.
    /// Do not call it from async code.
    ///
    /// # Errors
    ///
    /// [`RecvError`](crate::RecvError) once the channel is closed and
    /// drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(1);
    /// std::thread::spawn(move || tx.send_blocking("hi").unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok("hi"));
    /// assert!(rx.recv_blocking().is_err());
    /// ```
    #[inline]
    pub fn recv_blocking(&self) -> Result<T, crate::RecvError> {
        // The park protocol's first try, inlined as in `send_blocking`.
        match self.chan.try_recv() {
            Ok(v) => Ok(v),
            Err(PopError::Closed) => Err(crate::RecvError),
            Err(PopError::Empty) => self.recv().wait(),
        }
    }

    /// Waits for at least one message, then moves up to `limit` buffered
    /// messages into `buf` (appending, oldest first) and returns how many.
    /// Returns `Ok(0)` at once when `limit` is 0.
    ///
    /// # Errors
    ///
    /// [`RecvError`](crate::RecvError) once the channel is closed and
    /// drained.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: messages move into `buf` only in the poll that returns.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringchan::bounded(8);
    /// for i in 0..4 {
    ///     tx.send(i).await.unwrap();
    /// }
    /// drop(tx);
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buf, 10).await, Ok(4));
    /// assert_eq!(buf, [0, 1, 2, 3]);
    /// assert!(rx.recv_many(&mut buf, 10).await.is_err());
    /// # });
    /// ```
    pub fn recv_many<'a>(&'a self, buf: &'a mut Vec<T>, limit: usize) -> RecvMany<'a, T> {
        RecvMany::new(&self.chan, buf, limit)
    }

    /// Moves up to `limit` buffered messages into `buf` without waiting and
    /// returns how many: at least one, or `Ok(0)` for a `limit` of 0.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered and `limit > 0`;
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(8);
    /// let mut buf = Vec::new();
    /// assert!(rx.try_recv_many(&mut buf, 4).unwrap_err().is_empty());
    /// for i in 0..3 {
    ///     tx.try_send(i).unwrap();
    /// }
    /// assert_eq!(rx.try_recv_many(&mut buf, 2), Ok(2));
    /// assert_eq!(buf, [0, 1]);
    /// ```
    pub fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, TryRecvError> {
        if limit == 0 {
            return Ok(0);
        }
        self.chan.try_recv_many(buf, limit)
    }

    /// Closes the channel; see [`Sender::close`]. Returns `true` if this call
    /// closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(1);
    /// tx.try_send(1).unwrap();
    /// assert!(rx.close());
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// `true` once the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded::<()>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.queue().is_closed()
    }

    /// `true` when no message is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(1);
    /// assert!(rx.is_empty());
    /// tx.try_send(()).unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` when the channel holds `capacity` messages.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(1);
    /// tx.try_send(()).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.capacity() == Some(self.len())
    }

    /// Number of messages buffered (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(2);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.queue().len()
    }

    /// The most messages the channel holds; `None` when unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringchan::bounded::<u8>(3);
    /// assert_eq!(rx.capacity(), Some(3));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.queue().capacity()
    }

    /// Number of live receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringchan::bounded::<u8>(1);
    /// assert_eq!(rx.receiver_count(), 1);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.handles(Side::Recv)
    }

    /// Number of live senders.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded::<u8>(1);
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.handles(Side::Send)
    }

    /// A handle that does not keep the channel open; [`WeakReceiver::upgrade`]
    /// gives a receiver back while any receiver lives.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringchan::bounded::<u8>(1);
    /// let weak = rx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(rx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakReceiver<T> {
        WeakReceiver {
            chan: self.chan.clone(),
        }
    }

    /// `true` if both receivers belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringchan::bounded::<u8>(1);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.acquire(Side::Recv);
        Self {
            chan: self.chan.clone(),
            ticket: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.cancel(Line::Stream, &mut self.ticket);
        self.chan.release(Side::Recv);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receiver ")?;
        fmt::Debug::fmt(&*self.chan, f)
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.chan
            .poll_recv(Line::Stream, &mut this.ticket, Wait::Task(cx))
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        let queue = self.chan.queue();
        queue.is_closed() && queue.len() == 0
    }
}

/// A sender that does not keep the channel open. Made by
/// [`Sender::downgrade`].
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringchan::bounded(1);
/// let weak = tx.downgrade();
/// weak.upgrade().unwrap().try_send(1).unwrap();
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub struct WeakSender<T> {
    chan: Arc<MpmcChan<T>>,
}

impl<T> WeakSender<T> {
    /// A sender, unless the channel is closed or every sender is already
    /// gone (then `None`, for good).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::bounded::<u8>(1);
    /// let weak = tx.downgrade();
    /// let tx2 = weak.upgrade().unwrap();
    /// drop((tx, tx2));
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let open = !self.chan.queue().is_closed();
        (open && self.chan.try_acquire(Side::Send)).then(|| Sender {
            chan: self.chan.clone(),
        })
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSender ")?;
        fmt::Debug::fmt(&*self.chan, f)
    }
}

/// A receiver that does not keep the channel open. Made by
/// [`Receiver::downgrade`].
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringchan::bounded(1);
/// let weak = rx.downgrade();
/// tx.try_send(1).unwrap();
/// assert_eq!(weak.upgrade().unwrap().try_recv(), Ok(1));
/// drop(rx);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakReceiver<T> {
    chan: Arc<MpmcChan<T>>,
}

impl<T> WeakReceiver<T> {
    /// A receiver, unless the channel is closed or every receiver is already
    /// gone (then `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringchan::bounded::<u8>(1);
    /// let weak = rx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// ```
    pub fn upgrade(&self) -> Option<Receiver<T>> {
        let open = !self.chan.queue().is_closed();
        (open && self.chan.try_acquire(Side::Recv)).then(|| Receiver {
            chan: self.chan.clone(),
            ticket: None,
        })
    }
}

impl<T> Clone for WeakReceiver<T> {
    fn clone(&self) -> Self {
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakReceiver ")?;
        fmt::Debug::fmt(&*self.chan, f)
    }
}
