//! The bounded flavour: [`channel`], [`Sender`], [`Receiver`], [`WeakSender`]
//! and the permits. Capacity is a [`Semaphore`] of `buffer` permits; the
//! messages go through the ring (or, for large buffers, the block list).
//! A permit is capacity, not a queue position: the queue position is claimed
//! only when the permit sends, so a held permit never blocks anyone.
//!
//! No `unsafe` here.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::task::coop;

use super::chan::{self, assert_may_block, block_on};
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::queue::Flavor;
use crate::semaphore::{self, Acquire, Semaphore, TryAcquireError};

/// The queue behind a bounded channel: the ring, or the block list for large
/// bounds (see [`Flavor::for_limit`]).
type BoundedQueue<T> = Flavor<T>;
/// The shared sending half of a bounded channel.
type Tx<T> = chan::Tx<T, BoundedQueue<T>, Semaphore>;
/// The shared receiving half of a bounded channel.
type Rx<T> = chan::Rx<T, BoundedQueue<T>, Semaphore>;

/// Creates a bounded mpsc channel for communicating between asynchronous
/// tasks with backpressure.
///
/// The channel holds up to `buffer` messages. Once the buffer is full,
/// [`send`](Sender::send) and [`reserve`](Sender::reserve) wait (in the order
/// they were called) until the receiver takes a message, and
/// [`try_send`](Sender::try_send) fails with [`TrySendError::Full`].
///
/// Senders can be cloned to send from many tasks; there is one
/// [`Receiver`]. When every [`Sender`] is gone and the buffer is drained,
/// [`Receiver::recv`] returns `None`.
///
/// Memory: a buffer whose slots (a message and a word each) take at most
/// 256 KiB -- 16 384 messages of 8 bytes -- is one array allocated here, the
/// fast path; a larger one, up to `tokio::sync::Semaphore::MAX_PERMITS`
/// messages, grows and shrinks in blocks with the messages in flight.
///
/// # Panics
///
/// If `buffer` is 0 (`mpsc bounded channel requires buffer > 0`) or above
/// `usize::MAX >> 3` (`a semaphore may not have more than MAX_PERMITS
/// permits (...)`), with the panic located at the caller.
///
/// # Examples
///
/// ```
/// use ringchan::mpsc;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, mut rx) = mpsc::channel(100);
///
/// tokio::spawn(async move {
///     for i in 0..10 {
///         if let Err(_) = tx.send(i).await {
///             println!("receiver dropped");
///             return;
///         }
///     }
/// });
///
/// let mut got = Vec::new();
/// while let Some(i) = rx.recv().await {
///     got.push(i);
/// }
/// assert_eq!(got, (0..10).collect::<Vec<_>>());
/// # });
/// ```
///
/// ```should_panic
/// // Panics with: mpsc bounded channel requires buffer > 0
/// let _ = ringchan::mpsc::channel::<u8>(0);
/// ```
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    // Checked here, not only in the closure below: `#[track_caller]` does
    // not pass through a closure, and the panic should point at the caller.
    Semaphore::check_permits(buffer);
    // Both are built in the channel's allocation.
    let sem = || Semaphore::new(buffer);
    let queue = || Flavor::for_limit(buffer, "ringchan::mpsc::channel");
    let (tx, rx) = chan::channel(sem, queue);
    (Sender { chan: tx }, Receiver { chan: rx })
}

/// Sends values to the associated [`Receiver`].
///
/// Instances are created by the [`channel`] function. Clone it to send from
/// several tasks; the channel stays open while any `Sender` (or
/// [`OwnedPermit`]) is alive.
///
/// # Examples
///
/// ```
/// use ringchan::mpsc;
///
/// let (tx, mut rx) = mpsc::channel(2);
/// let tx2 = tx.clone();
/// tx.try_send("a").unwrap();
/// tx2.try_send("b").unwrap();
/// assert!(tx.try_send("c").is_err()); // full
/// assert_eq!(rx.try_recv(), Ok("a"));
/// assert!(format!("{tx:?}").starts_with("Sender {"));
/// ```
pub struct Sender<T> {
    chan: Tx<T>,
}

/// A sender that does not keep the channel open.
///
/// Made by [`Sender::downgrade`]; [`upgrade`](WeakSender::upgrade) gives a
/// [`Sender`] back while at least one is still alive. Handy for a task that
/// must not keep the channel open by itself, such as a monitor.
///
/// # Examples
///
/// ```
/// use ringchan::mpsc;
///
/// let (tx, mut rx) = mpsc::channel::<u8>(1);
/// let weak = tx.downgrade();
/// weak.upgrade().unwrap().try_send(1).unwrap();
/// drop(tx);
/// assert!(weak.upgrade().is_none()); // the last Sender is gone
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert!(rx.try_recv().is_err()); // closed
/// assert_eq!(format!("{weak:?}"), "WeakSender");
/// ```
pub struct WeakSender<T> {
    chan: chan::WeakTx<T, BoundedQueue<T>, Semaphore>,
}

/// Permit to send one value into the channel.
///
/// Returned by [`Sender::reserve`] and [`Sender::try_reserve`]: one slot of
/// capacity is held for it until [`send`](Permit::send) uses it or the
/// permit is dropped (which gives it back). It holds capacity, not a place in
/// the queue, so messages sent meanwhile by others are not held up.
///
/// # Examples
///
/// ```
/// use ringchan::mpsc;
///
/// let (tx, mut rx) = mpsc::channel(1);
/// let permit = tx.try_reserve().unwrap();
/// assert!(tx.try_send(0).is_err()); // the only slot is held
/// permit.send(1);
/// assert_eq!(rx.try_recv(), Ok(1));
///
/// let permit = tx.try_reserve().unwrap();
/// drop(permit); // gives the slot back
/// assert_eq!(tx.capacity(), 1);
/// ```
pub struct Permit<'a, T> {
    chan: &'a Tx<T>,
}

/// An [`Iterator`] of [`Permit`]s to send one value each.
///
/// Returned by [`Sender::reserve_many`] and [`Sender::try_reserve_many`].
/// Dropping it gives back the permits not taken from it yet.
///
/// # Examples
///
/// ```
/// use ringchan::mpsc;
///
/// let (tx, mut rx) = mpsc::channel(3);
/// let mut permits = tx.try_reserve_many(2).unwrap();
/// assert_eq!(permits.len(), 2);
/// permits.next().unwrap().send("x");
/// drop(permits); // the second permit goes back
/// assert_eq!(tx.capacity(), 2);
/// assert_eq!(rx.try_recv(), Ok("x"));
/// ```
pub struct PermitIterator<'a, T> {
    chan: &'a Tx<T>,
    n: usize,
}

/// Owned permit to send one value into the channel.
///
/// Like [`Permit`], but it owns the [`Sender`] (so it is `'static` and can
/// move into a task) and gives it back from [`send`](OwnedPermit::send) and
/// [`release`](OwnedPermit::release). While alive it counts as a sender and
/// keeps the channel open.
///
/// # Examples
///
/// ```
/// use ringchan::mpsc;
///
/// let (tx, mut rx) = mpsc::channel(1);
/// let permit = tx.try_reserve_owned().unwrap();
/// let tx = permit.send(7);
/// assert_eq!(rx.try_recv(), Ok(7));
///
/// let permit = tx.try_reserve_owned().unwrap();
/// let tx = permit.release(); // nothing sent, the slot is free again
/// assert_eq!(tx.capacity(), 1);
/// ```
pub struct OwnedPermit<T> {
    /// `None` only after `send`/`release` took it.
    chan: Option<Sender<T>>,
}

/// Receives values from the associated [`Sender`].
///
/// Instances are created by the [`channel`] function. There is one receiver
/// per channel; it takes `&mut self` to receive.
///
/// It is also a [`Stream`], so code that wrapped tokio's receiver in
/// `tokio_stream::wrappers::ReceiverStream::new(rx)` can use `rx` itself.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use ringchan::mpsc;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = mpsc::channel(4);
/// for i in 1..=3 {
///     tx.send(i).await.unwrap();
/// }
/// drop(tx);
/// // No `ReceiverStream` wrapper needed.
/// let doubled: Vec<i32> = rx.map(|i| i * 2).collect().await;
/// assert_eq!(doubled, [2, 4, 6]);
/// # });
/// ```
pub struct Receiver<T> {
    chan: Rx<T>,
}

/// Acquires permits for a send or reservation, in line behind earlier ones,
/// spending tokio's coop budget as tokio's semaphore does (since tokio
/// 1.54, "preserve FIFO order when coop budget is exhausted"): the permits
/// first, then the budget. A closed channel fails at once, budget or not;
/// a task with no budget left takes its permits and then yields holding
/// them, so nobody overtakes it meanwhile; polled again, it is handed them,
/// unless the channel closed meanwhile, which fails it and gives them back
/// (as tokio's semaphore answers a closed one before looking at a waiter's
/// permits).
struct Reserve<'a, T> {
    chan: &'a Tx<T>,
    acquire: Acquire<'a>,
}

impl<T> Reserve<'_, T> {
    #[inline]
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), semaphore::Closed>> {
        if let Err(closed) = ready!(self.acquire.poll(cx)) {
            // A close can fail a waiter that had been served; its permits
            // went back, which may be what the receiver waits for.
            self.chan.released();
            return Poll::Ready(Err(closed));
        }
        // No budget: `Pending`, holding the permits (the acquire answers
        // `Ok` again next time).
        ready!(coop::poll_proceed(cx)).made_progress();
        self.acquire.take();
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        if self.acquire.cancel() {
            self.chan.released();
        }
    }
}

impl<T> Sender<T> {
    /// Waits for `n` permits in line; the caller owns them on `Ok`.
    async fn reserve_inner(&self, n: usize) -> Result<(), SendError<()>> {
        let mut reserve = Reserve {
            chan: &self.chan,
            acquire: self.chan.sem().acquire(n),
        };
        poll_fn(|cx| reserve.poll(cx))
            .await
            .map_err(|_| SendError(()))
    }

    /// Sends a message holding a permit; on a gone receiver, gives the
    /// permit back and hands the message back.
    #[inline]
    fn send_permitted(&self, value: T) -> Result<(), T> {
        // A `match`, not `inspect_err`: passing the `Result` by value
        // copied it whole, message and all, on every send (`gdb`, one
        // `memcpy` of 32 KiB per send of tokio's large message).
        match self.chan.push(value) {
            Ok(()) => Ok(()),
            Err(value) => {
                self.chan.release(1);
                Err(value)
            }
        }
    }

    /// Sends a value, waiting until there is capacity.
    ///
    /// A successful send means the value is in the channel; it may still
    /// never be received if the receiver is dropped first. A failed send
    /// means the receiver has closed or dropped, and the value comes back in
    /// the [`SendError`].
    ///
    /// Senders waiting for capacity are served in the order they called
    /// `send` (or `reserve`).
    ///
    /// # Cancel safety
    ///
    /// If `send` is used as the event in a `tokio::select!` and another
    /// branch completes first, the message is not sent, and it is lost with
    /// the future. The place in line is lost too: a slot that had already
    /// been handed to it passes to the next waiter. To keep the message,
    /// use [`reserve`](Self::reserve) in the `select!` and send on the permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tokio::spawn(async move {
    ///     for i in 0..3 {
    ///         tx.send(i).await.unwrap(); // waits while the one slot is taken
    ///     }
    /// });
    /// assert_eq!(rx.recv().await, Some(0));
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, Some(2));
    ///
    /// let (tx, rx) = mpsc::channel(1);
    /// drop(rx);
    /// assert_eq!(tx.send("lost").await.unwrap_err().0, "lost");
    /// # });
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.reserve_inner(1).await.is_err() {
            return Err(SendError(value));
        }
        self.send_permitted(value).map_err(SendError)
    }

    /// Sends a value if there is capacity now, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if every slot is taken (by buffered messages,
    /// held permits, or waiting senders already served), and
    /// [`TrySendError::Closed`] if the receiver has closed or dropped; both
    /// hand the value back. A closed channel says `Closed` even when full.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// rx.close();
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        match self.chan.sem().try_acquire(1) {
            Ok(()) => self.send_permitted(message).map_err(TrySendError::Closed),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(message)),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(message)),
        }
    }

    /// Sends a value, waiting at most `timeout` for capacity.
    ///
    /// Needs a Tokio runtime with the time driver enabled.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] if no slot came free in time (the send
    /// then holds no capacity), [`SendTimeoutError::Closed`] if the receiver
    /// closed or dropped (also while waiting); both hand the value back.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (`there is no reactor running, ...`), or on a
    /// runtime without timers (`... timers are disabled ...`), as tokio's
    /// does.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send): a cancelled call drops its message unsent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringchan::mpsc::{self, error::SendTimeoutError};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.send_timeout(1, Duration::from_millis(10)).await.unwrap();
    /// // Full: the second send gives up.
    /// let err = tx.send_timeout(2, Duration::from_millis(10)).await.unwrap_err();
    /// assert_eq!(err, SendTimeoutError::Timeout(2));
    /// assert_eq!(rx.recv().await, Some(1));
    /// # });
    /// ```
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        match tokio::time::timeout(timeout, self.reserve_inner(1)).await {
            Err(_) => Err(SendTimeoutError::Timeout(value)),
            Ok(Err(_)) => Err(SendTimeoutError::Closed(value)),
            Ok(Ok(())) => self.send_permitted(value).map_err(SendTimeoutError::Closed),
        }
    }

    /// Blocking send to call outside of asynchronous contexts: waits on the
    /// thread until there is capacity.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver has closed or dropped
    /// (also while waiting).
    ///
    /// # Panics
    ///
    /// If called on a thread that drives a Tokio runtime (inside `block_on`,
    /// a worker thread, a task), with tokio's message, before looking at the
    /// channel. It is fine in a plain thread, in `spawn_blocking`, in
    /// `block_in_place` and under a `Runtime::enter` guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let producer = std::thread::spawn(move || {
    ///     tx.blocking_send(10).unwrap();
    ///     tx.blocking_send(20).unwrap(); // waits for the first to be taken
    /// });
    /// assert_eq!(rx.blocking_recv(), Some(10));
    /// assert_eq!(rx.blocking_recv(), Some(20));
    /// producer.join().unwrap();
    ///
    /// let (tx, rx) = mpsc::channel(1);
    /// drop(rx);
    /// assert_eq!(tx.blocking_send(30).unwrap_err().0, 30);
    /// ```
    ///
    /// ```should_panic
    /// // Panics with: Cannot block the current thread from within a runtime
    /// let (tx, _rx) = ringchan::mpsc::channel(1);
    /// tokio::runtime::Runtime::new().unwrap().block_on(async {
    ///     let _ = tx.blocking_send(1); // panics: this thread drives the runtime
    /// });
    /// ```
    #[track_caller]
    #[doc(alias = "send_blocking")]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        assert_may_block();
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(value)) => Err(SendError(value)),
            Err(TrySendError::Full(value)) => block_on(self.send(value)),
        }
    }

    /// Waits for one slot of capacity and returns a [`Permit`] holding it.
    ///
    /// Sending on the permit cannot fail and does not wait, which makes it
    /// the way to send from a `select!` without losing the message, or to
    /// build a message only once there is room for it. Waiters are served in
    /// the order they called.
    ///
    /// # Errors
    ///
    /// `SendError(())` if the receiver has closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// This channel uses a queue to ensure that calls to `send` and `reserve`
    /// complete in the order they were requested. Cancelling a call to
    /// `reserve` makes you lose your place in the queue (and a slot already
    /// handed to it passes on).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// assert!(tx.try_send(123).is_err()); // the only slot is reserved
    /// permit.send(456);
    /// assert_eq!(rx.recv().await, Some(456));
    ///
    /// rx.close();
    /// assert!(tx.reserve().await.is_err());
    /// # });
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        self.reserve_inner(1).await?;
        Ok(Permit { chan: &self.chan })
    }

    /// Waits for `n` slots of capacity and returns an iterator of `n`
    /// [`Permit`]s. Slots freed meanwhile are handed to this call one by one
    /// (nobody behind it takes them) until it has all `n`.
    ///
    /// # Errors
    ///
    /// `SendError(())` if the receiver has closed or dropped, or at once if
    /// `n` is more than [`max_capacity`](Self::max_capacity). `n == 0` gives
    /// an empty iterator.
    ///
    /// # Cancel safety
    ///
    /// As [`reserve`](Self::reserve): a cancelled call loses its place, and
    /// the slots already handed to it pass on.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel(4);
    /// let permits = tx.reserve_many(2).await.unwrap();
    /// assert_eq!(tx.capacity(), 2);
    /// for (permit, value) in permits.zip(["a", "b"]) {
    ///     permit.send(value);
    /// }
    /// assert_eq!(rx.recv().await, Some("a"));
    /// assert_eq!(rx.recv().await, Some("b"));
    ///
    /// assert!(tx.reserve_many(5).await.is_err()); // more than the bound
    /// # });
    /// ```
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        if n > self.max_capacity() {
            return Err(SendError(()));
        }
        self.reserve_inner(n).await?;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// Waits for one slot of capacity and returns an [`OwnedPermit`] that
    /// owns this `Sender` (and gives it back when used).
    ///
    /// Unlike [`reserve`](Self::reserve), the permit is `'static`: it can be
    /// moved into a task. Waiters are served in the order they called.
    ///
    /// # Errors
    ///
    /// `SendError(())` if the receiver has closed or dropped; the `Sender`
    /// is dropped with the error (clone it first to keep one).
    ///
    /// # Cancel safety
    ///
    /// As [`reserve`](Self::reserve); the `Sender` is dropped with the
    /// future.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// let task = tokio::spawn(async move {
    ///     let tx = permit.send(1); // the sender comes back
    ///     tx.send(2).await.unwrap();
    /// });
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, Some(2));
    /// task.await.unwrap();
    ///
    /// let (tx, rx) = mpsc::channel::<u8>(1);
    /// drop(rx);
    /// assert!(tx.reserve_owned().await.is_err());
    /// # });
    /// ```
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        self.reserve_inner(1).await?;
        Ok(OwnedPermit { chan: Some(self) })
    }

    /// Takes one slot of capacity if one is free now, without waiting.
    ///
    /// # Errors
    ///
    /// `TrySendError::Full(())` if no slot is free, `TrySendError::Closed(())`
    /// if the receiver has closed or dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
    /// permit.send(1);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// rx.close();
    /// assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.try_reserve_inner(1)?;
        Ok(Permit { chan: &self.chan })
    }

    fn try_reserve_inner(&self, n: usize) -> Result<(), TrySendError<()>> {
        match self.chan.sem().try_acquire(n) {
            Ok(()) => Ok(()),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
        }
    }

    /// Takes `n` slots of capacity if that many are free now, without
    /// waiting, and returns an iterator of `n` [`Permit`]s.
    ///
    /// # Errors
    ///
    /// `TrySendError::Full(())` if fewer than `n` slots are free -- always
    /// when `n` is more than [`max_capacity`](Self::max_capacity), even on a
    /// closed channel -- and `TrySendError::Closed(())` if the receiver has
    /// closed or dropped (for `n == 0` too).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(2);
    /// let mut permits = tx.try_reserve_many(2).unwrap();
    /// assert!(matches!(tx.try_reserve_many(1), Err(TrySendError::Full(()))));
    /// permits.next().unwrap().send(1);
    /// permits.next().unwrap().send(2);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(matches!(tx.try_reserve_many(3), Err(TrySendError::Full(()))));
    /// ```
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        if n > self.max_capacity() {
            return Err(TrySendError::Full(()));
        }
        self.try_reserve_inner(n)?;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// Takes one slot of capacity if one is free now, without waiting, and
    /// returns an [`OwnedPermit`] that owns this `Sender`.
    ///
    /// # Errors
    ///
    /// `TrySendError::Full(sender)` if no slot is free,
    /// `TrySendError::Closed(sender)` if the receiver has closed or dropped:
    /// the `Sender` comes back in the error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.clone().try_reserve_owned().unwrap();
    /// let tx = match tx.try_reserve_owned() {
    ///     Err(TrySendError::Full(tx)) => tx, // the sender comes back
    ///     _ => unreachable!(),
    /// };
    /// permit.send(5);
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// assert!(tx.try_reserve_owned().is_ok());
    /// ```
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.chan.sem().try_acquire(1) {
            Ok(()) => Ok(OwnedPermit { chan: Some(self) }),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
        }
    }

    /// Returns the current capacity of the channel: the number of free
    /// slots, which [`max_capacity`](Self::max_capacity) less the buffered
    /// messages, the held permits and the slots already handed to waiting
    /// senders.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel::<()>(5);
    /// assert_eq!(tx.capacity(), 5);
    /// let permit = tx.reserve().await.unwrap();
    /// assert_eq!(tx.capacity(), 4); // a permit takes a slot
    /// permit.send(());
    /// assert_eq!(tx.capacity(), 4); // so does the message it sent
    /// rx.recv().await.unwrap();
    /// assert_eq!(tx.capacity(), 5);
    /// # });
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.sem().available()
    }

    /// Returns the maximum buffer capacity of the channel: the `buffer`
    /// given to [`channel`]. It never changes.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::mpsc::channel::<()>(5);
    /// tx.try_send(()).unwrap();
    /// assert_eq!((tx.capacity(), tx.max_capacity()), (4, 5));
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.sem().bound()
    }
}

sender_api!(
    Sender,
    WeakSender,
    Receiver,
    new = "ringchan::mpsc::channel(8)",
    send = "try_send"
);

impl<T> Permit<'_, T> {
    /// Sends a value using the reserved capacity. Never waits, never fails:
    /// if the receiver has dropped meanwhile, the value is dropped.
    ///
    /// The capacity stays taken by the message until it is received.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut rx) = ringchan::mpsc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// rx.close(); // a permit held before the close may still send
    /// permit.send(1);
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, None);
    /// # });
    /// ```
    pub fn send(self, value: T) {
        let chan = self.chan;
        // The capacity moves into the message: no `Drop` to give it back.
        std::mem::forget(self);
        if let Err(value) = chan.push(value) {
            // The receiver is gone: nobody will ever read it.
            chan.release(1);
            drop(value);
        }
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        // Gives the slot back; wakes a waiting sender, or the receiver if
        // this was the last thing it waited for after `close`.
        self.chan.release(1);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("chan", &self.chan).finish()
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}
impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.chan.release(self.n);
        }
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitIterator")
            .field("chan", &self.chan)
            .field("capacity", &self.n)
            .finish()
    }
}

impl<T> OwnedPermit<T> {
    fn sender(&self) -> &Sender<T> {
        self.chan
            .as_ref()
            .expect("an OwnedPermit holds its sender until it is consumed")
    }

    /// Sends a value using the reserved capacity and returns the [`Sender`].
    /// Never waits, never fails: if the receiver has dropped meanwhile, the
    /// value is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = ringchan::mpsc::channel(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.send("hi");
    /// assert_eq!(rx.try_recv(), Ok("hi"));
    /// assert!(tx.try_send("again").is_ok());
    /// ```
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self
            .chan
            .take()
            .expect("an OwnedPermit holds its sender until it is consumed");
        if let Err(value) = sender.chan.push(value) {
            sender.chan.release(1);
            drop(value);
        }
        sender
    }

    /// Gives the reserved capacity back without sending, and returns the
    /// [`Sender`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::mpsc::channel::<u8>(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.release();
    /// assert_eq!(tx.capacity(), 1);
    /// ```
    pub fn release(mut self) -> Sender<T> {
        let sender = self
            .chan
            .take()
            .expect("an OwnedPermit holds its sender until it is consumed");
        sender.chan.release(1);
        sender
    }

    /// Returns `true` if permits belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::mpsc::channel::<()>(2);
    /// let p1 = tx.clone().try_reserve_owned().unwrap();
    /// let p2 = tx.clone().try_reserve_owned().unwrap();
    /// assert!(p1.same_channel(&p2));
    /// let (other, _orx) = ringchan::mpsc::channel::<()>(1);
    /// assert!(!p1.same_channel(&other.try_reserve_owned().unwrap()));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        self.sender().same_channel(other.sender())
    }

    /// Returns `true` if this permit belongs to the same channel as the
    /// given [`Sender`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringchan::mpsc::channel::<()>(1);
    /// let permit = tx.clone().try_reserve_owned().unwrap();
    /// assert!(permit.same_channel_as_sender(&tx));
    /// let (other, _orx) = ringchan::mpsc::channel::<()>(1);
    /// assert!(!permit.same_channel_as_sender(&other));
    /// ```
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.sender().same_channel(sender)
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        // Gives the slot back first, then the sender goes (if it was the
        // last, the channel closes).
        if let Some(sender) = self.chan.take() {
            sender.chan.release(1);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("chan", &self.chan.as_ref().map(|s| &s.chan))
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Closes the receiving half of a channel without dropping it.
    ///
    /// Senders' `send`, `try_send` and `reserve*` fail from now on (waiting
    /// ones are woken with the error) and [`Sender::closed`] completes.
    /// Permits taken before the close can still send; everything buffered
    /// can still be received, and [`recv`](Self::recv) returns `None` only
    /// once it is drained and every such permit is used or dropped. Closing
    /// twice does nothing.
    ///
    /// This is the way to shut down without losing messages: close, then
    /// drain with `recv` until `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel(20);
    /// tx.send(1).await.unwrap();
    /// let permit = tx.reserve().await.unwrap();
    /// rx.close();
    /// assert!(tx.send(2).await.is_err()); // new sends fail
    /// permit.send(3); // a permit from before the close still sends
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, Some(3));
    /// assert_eq!(rx.recv().await, None);
    /// # });
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Returns the current capacity of the channel: free slots, the same
    /// number as [`Sender::capacity`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = ringchan::mpsc::channel(3);
    /// tx.try_send(0).unwrap();
    /// assert_eq!(rx.capacity(), 2);
    /// rx.try_recv().unwrap();
    /// assert_eq!(rx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.sem().available()
    }

    /// Returns the maximum buffer capacity of the channel: the `buffer`
    /// given to [`channel`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringchan::mpsc::channel::<()>(3);
    /// tx.try_send(()).unwrap();
    /// assert_eq!((rx.capacity(), rx.max_capacity()), (2, 3));
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.sem().bound()
    }
}

receiver_api!(
    Receiver,
    Sender,
    WeakSender,
    new = "ringchan::mpsc::channel(8)",
    send = "try_send"
);
