//! The named futures of the native API. Each one is a thin state machine over
//! the park protocol in `chan.rs`; its `Drop` gives back its place in line, so
//! a wake-up it had consumed reaches the next waiter (cancel safety).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::chan::{Chan, Line, Wait};
use crate::error::{RecvError, SendError};
use crate::notify::Ticket;
use crate::queue::{Flavor, Queue};
use crate::sync::Unshared;

/// The channel behind a native-API handle.
pub(crate) type MpmcChan<T> = Chan<T, Flavor<T>>;

/// Runs a poll function to completion on this thread; the function must not
/// return `Pending` when given `Wait::Thread`.
#[inline]
fn block_on<R>(mut poll: impl FnMut(Wait<'_, '_>) -> Poll<R>) -> R {
    match poll(Wait::Thread) {
        Poll::Ready(r) => r,
        Poll::Pending => unreachable!("a blocking wait returned Pending"),
    }
}

/// Future of [`Sender::send`](crate::Sender::send): resolves once the message
/// is in the channel, or hands it back in a [`SendError`] if the channel is
/// closed.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::bounded(1);
/// let send: ringchan::Send<'_, i32> = tx.send(1);
/// send.await.unwrap();
/// assert_eq!(rx.recv().await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Send<'a, T> {
    chan: &'a MpmcChan<T>,
    msg: Unshared<Option<T>>,
    ticket: Option<Ticket>,
}

impl<'a, T> Send<'a, T> {
    pub(crate) fn new(chan: &'a MpmcChan<T>, msg: T) -> Self {
        Self {
            chan,
            msg: Unshared::new(Some(msg)),
            ticket: None,
        }
    }

    #[inline]
    fn poll_with(&mut self, wait: Wait<'_, '_>) -> Poll<Result<(), SendError<T>>> {
        self.chan
            .poll_send(self.msg.get_mut(), &mut self.ticket, wait)
            .map(|r| r.map_err(SendError))
    }

    /// Blocks the current thread until the message is sent; the blocking
    /// counterpart of `.await` (as in async-channel).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(1);
    /// tx.send(5).wait().unwrap();
    /// assert_eq!(rx.recv().wait(), Ok(5));
    /// drop(rx);
    /// assert_eq!(tx.send(6).wait().unwrap_err().into_inner(), 6);
    /// ```
    #[inline]
    pub fn wait(mut self) -> Result<(), SendError<T>> {
        block_on(|w| self.poll_with(w))
    }
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_with(Wait::Task(cx))
    }
}

// The message is never pinned: `Send` moves it only by value.
impl<T> Unpin for Send<'_, T> {}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel(Line::Send, &mut self.ticket);
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("waiting", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}

/// Future of [`Receiver::recv`](crate::Receiver::recv): resolves to the next
/// message, or to [`RecvError`] once the channel is closed and drained.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::bounded(1);
/// tx.send("a").await.unwrap();
/// let recv: ringchan::Recv<'_, &str> = rx.recv();
/// assert_eq!(recv.await, Ok("a"));
/// drop(tx);
/// assert_eq!(rx.recv().await, Err(ringchan::RecvError));
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Recv<'a, T> {
    chan: &'a MpmcChan<T>,
    ticket: Option<Ticket>,
}

impl<'a, T> Recv<'a, T> {
    pub(crate) fn new(chan: &'a MpmcChan<T>) -> Self {
        Self { chan, ticket: None }
    }

    #[inline]
    fn poll_with(&mut self, wait: Wait<'_, '_>) -> Poll<Result<T, RecvError>> {
        self.chan.poll_recv(Line::Recv, &mut self.ticket, wait)
    }

    /// Blocks the current thread until a message arrives or the channel is
    /// closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(1);
    /// std::thread::spawn(move || tx.send_blocking(9).unwrap());
    /// assert_eq!(rx.recv().wait(), Ok(9));
    /// assert!(rx.recv().wait().is_err());
    /// ```
    #[inline]
    pub fn wait(mut self) -> Result<T, RecvError> {
        block_on(|w| self.poll_with(w))
    }
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_with(Wait::Task(cx))
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel(Line::Recv, &mut self.ticket);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("waiting", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}

/// Future of [`Receiver::recv_many`](crate::Receiver::recv_many): waits for at
/// least one message, then moves up to `limit` into the buffer.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::bounded(8);
/// for i in 0..5 {
///     tx.send(i).await.unwrap();
/// }
/// let mut buf = Vec::new();
/// assert_eq!(rx.recv_many(&mut buf, 3).await, Ok(3));
/// assert_eq!(buf, [0, 1, 2]);
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvMany<'a, T> {
    chan: &'a MpmcChan<T>,
    out: &'a mut Vec<T>,
    limit: usize,
    ticket: Option<Ticket>,
}

impl<'a, T> RecvMany<'a, T> {
    pub(crate) fn new(chan: &'a MpmcChan<T>, out: &'a mut Vec<T>, limit: usize) -> Self {
        Self {
            chan,
            out,
            limit,
            ticket: None,
        }
    }

    fn poll_with(&mut self, wait: Wait<'_, '_>) -> Poll<Result<usize, RecvError>> {
        self.chan
            .poll_recv_many(self.out, self.limit, &mut self.ticket, wait)
            .map(|r| r.map_err(|()| RecvError))
    }

    /// Blocks the current thread until at least one message arrives (or the
    /// channel is closed and drained), then returns how many were moved.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(4);
    /// tx.send_blocking(1).unwrap();
    /// let mut buf = vec![];
    /// assert_eq!(rx.recv_many(&mut buf, 10).wait(), Ok(1));
    /// ```
    pub fn wait(mut self) -> Result<usize, RecvError> {
        block_on(|w| self.poll_with(w))
    }
}

impl<T> Future for RecvMany<'_, T> {
    type Output = Result<usize, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_with(Wait::Task(cx))
    }
}

impl<T> Drop for RecvMany<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel(Line::Recv, &mut self.ticket);
    }
}

impl<T> fmt::Debug for RecvMany<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvMany")
            .field("limit", &self.limit)
            .field("waiting", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}

/// Future of [`Sender::closed`](crate::Sender::closed): resolves once the
/// channel is closed.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::bounded::<()>(1);
/// let closed: ringchan::Closed<'_, ()> = tx.closed();
/// drop(rx);
/// closed.await;
/// assert!(tx.is_closed());
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Closed<'a, T> {
    chan: &'a MpmcChan<T>,
    ticket: Option<Ticket>,
}

impl<'a, T> Closed<'a, T> {
    pub(crate) fn new(chan: &'a MpmcChan<T>) -> Self {
        Self { chan, ticket: None }
    }

    /// Blocks the current thread until the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded::<()>(1);
    /// std::thread::spawn(move || drop(rx));
    /// tx.closed().wait();
    /// assert!(tx.is_closed());
    /// ```
    pub fn wait(mut self) {
        block_on(|w| self.chan.poll_closed(&mut self.ticket, w))
    }
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.chan.poll_closed(&mut this.ticket, Wait::Task(cx))
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel(Line::Closed, &mut self.ticket);
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

/// Future of [`Sender::send_many`](crate::Sender::send_many): sends every
/// message of the buffer, oldest first, waiting for room as needed.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::bounded(8);
/// let mut batch = vec![1, 2, 3];
/// tx.send_many(&mut batch).await.unwrap();
/// assert!(batch.is_empty());
/// assert_eq!(rx.len(), 3);
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendMany<'a, T> {
    chan: &'a MpmcChan<T>,
    src: &'a mut Vec<T>,
    ticket: Option<Ticket>,
}

impl<'a, T> SendMany<'a, T> {
    pub(crate) fn new(chan: &'a MpmcChan<T>, src: &'a mut Vec<T>) -> Self {
        Self {
            chan,
            src,
            ticket: None,
        }
    }

    fn poll_with(&mut self, wait: Wait<'_, '_>) -> Poll<Result<(), SendError<()>>> {
        self.chan
            .poll_send_many(self.src, &mut self.ticket, wait)
            .map(|r| r.map_err(|()| SendError(())))
    }

    /// Blocks the current thread until every message is sent or the channel
    /// is closed (the unsent ones stay in the buffer).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(2);
    /// let mut batch = vec![1, 2, 3];
    /// let consumer = std::thread::spawn(move || {
    ///     (0..3).map(|_| rx.recv_blocking().unwrap()).collect::<Vec<_>>()
    /// });
    /// tx.send_many(&mut batch).wait().unwrap(); // waits for room for the third
    /// assert!(batch.is_empty());
    /// assert_eq!(consumer.join().unwrap(), [1, 2, 3]);
    /// ```
    pub fn wait(mut self) -> Result<(), SendError<()>> {
        block_on(|w| self.poll_with(w))
    }
}

impl<T> Future for SendMany<'_, T> {
    type Output = Result<(), SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_with(Wait::Task(cx))
    }
}

impl<T> Drop for SendMany<'_, T> {
    fn drop(&mut self) {
        self.chan.cancel(Line::Send, &mut self.ticket);
    }
}

impl<T> fmt::Debug for SendMany<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendMany")
            .field("unsent", &self.src.len())
            .field("waiting", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}

/// How many messages [`SendIter`] and [`Sender::try_send_iter`] take from
/// their iterator at a time, at most (and at most the channel's capacity):
/// one run of slots, claimed with one atomic operation when it all fits.
///
/// [`Sender::try_send_iter`]: crate::Sender::try_send_iter
pub(crate) const ITER_CHUNK: usize = 256;

/// Future of [`Sender::send_iter`](crate::Sender::send_iter): sends every
/// message an iterator yields, in order, waiting for room as needed. It
/// takes them from the iterator a run at a time (at most the channel's
/// capacity, at most 256) and sends each run as [`SendMany`] does.
///
/// If the channel closes, it resolves to a [`SendError`] holding the
/// messages it had taken from the iterator and not sent, in order; the
/// iterator keeps the ones it never yielded (pass `iter.by_ref()` to keep
/// the iterator). Dropping the future drops that taken, unsent run with it:
/// unlike [`SendMany`], it is not cancel safe.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringchan::bounded(8);
/// let send: ringchan::SendIter<'_, u32, _> = tx.send_iter(1..=3);
/// send.await.unwrap();
/// assert_eq!(rx.len(), 3);
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendIter<'a, T, I> {
    chan: &'a MpmcChan<T>,
    state: Unshared<IterState<T, I>>,
    ticket: Option<Ticket>,
}

/// What [`SendIter`] owns: the iterator (`None` once it has ended) and the
/// run taken from it and not yet sent.
struct IterState<T, I> {
    msgs: Option<I>,
    run: Vec<T>,
}

// The iterator is never pinned: `SendIter` moves it freely.
impl<T, I> Unpin for SendIter<'_, T, I> {}

impl<'a, T, I: Iterator<Item = T>> SendIter<'a, T, I> {
    pub(crate) fn new(chan: &'a MpmcChan<T>, msgs: I) -> Self {
        Self {
            chan,
            state: Unshared::new(IterState {
                msgs: Some(msgs),
                run: Vec::new(),
            }),
            ticket: None,
        }
    }

    fn poll_with(&mut self, mut wait: Wait<'_, '_>) -> Poll<Result<(), SendError<Vec<T>>>> {
        let chunk = iter_chunk(self.chan);
        let state = self.state.get_mut();
        loop {
            if state.run.is_empty() && !take_run(&mut state.msgs, &mut state.run, chunk) {
                return Poll::Ready(Ok(()));
            }
            match self
                .chan
                .poll_send_many(&mut state.run, &mut self.ticket, wait.reborrow())
            {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(())) => {
                    state.msgs = None;
                    return Poll::Ready(Err(SendError(std::mem::take(&mut state.run))));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Blocks the current thread until the iterator has ended and every
    /// message is sent, or the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::bounded(2);
    /// let consumer = std::thread::spawn(move || {
    ///     (0..5).map(|_| rx.recv_blocking().unwrap()).sum::<i32>()
    /// });
    /// tx.send_iter(1..=5).wait().unwrap(); // waits for room as it goes
    /// assert_eq!(consumer.join().unwrap(), 15);
    /// ```
    pub fn wait(mut self) -> Result<(), SendError<Vec<T>>> {
        block_on(|w| self.poll_with(w))
    }
}

/// At most how many messages to take from an iterator at a time for `chan`.
pub(crate) fn iter_chunk<T>(chan: &MpmcChan<T>) -> usize {
    chan.queue()
        .capacity()
        .map_or(ITER_CHUNK, |cap| cap.min(ITER_CHUNK))
}

/// Moves up to `chunk` messages from `msgs` into the empty `run`; `false`
/// (and `msgs` set to `None`) when the iterator has ended. The first run
/// reserves room for what the iterator says it has, up to `chunk`.
pub(crate) fn take_run<T, I: Iterator<Item = T>>(
    msgs: &mut Option<I>,
    run: &mut Vec<T>,
    chunk: usize,
) -> bool {
    let Some(iter) = msgs else {
        return false;
    };
    if run.capacity() == 0 {
        run.reserve(iter.size_hint().0.clamp(1, chunk));
    }
    run.extend(iter.by_ref().take(chunk));
    if run.is_empty() {
        *msgs = None;
        return false;
    }
    true
}

impl<T, I: Iterator<Item = T>> Future for SendIter<'_, T, I> {
    type Output = Result<(), SendError<Vec<T>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_with(Wait::Task(cx))
    }
}

impl<T, I> Drop for SendIter<'_, T, I> {
    fn drop(&mut self) {
        self.chan.cancel(Line::Send, &mut self.ticket);
    }
}

impl<T, I> fmt::Debug for SendIter<'_, T, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendIter")
            .field("waiting", &self.ticket.is_some())
            .finish_non_exhaustive()
    }
}
