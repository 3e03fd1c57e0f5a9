//! What both `mpsc` flavours share: the sending and receiving halves over the
//! channel core, generic over how capacity is accounted for ([`Capacity`]:
//! the permit [`Semaphore`] when bounded, nothing when unbounded), the way
//! tokio's `chan.rs` is generic over its semaphore.
//!
//! tokio's close semantics live here. `Receiver::close` closes the
//! *capacity* (no new sends or reservations) but leaves the *queue* open, so
//! permits already held can still send; `recv` ends once the queue is drained
//! and no permit is outstanding (the semaphore is closed and idle). When
//! nothing is outstanding at `close` -- always, when unbounded -- the queue
//! is closed at once. The last sender closes the queue; the receiver's drop
//! closes both and drops what is buffered.
//!
//! No `unsafe` here.

use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::pin::pin;
use std::task::{ready, Context, Poll};

use tokio::task::coop;

use super::error::TryRecvError;
use crate::chan::{park_one, Chan, CloseLine, Line, Side, Wait};
use crate::notify::{thread_waker, OneWaiter, Ticket};
use crate::queue::{PopError, PushError, Queue};
use crate::semaphore::Semaphore;
use crate::sync::{arc_in_place, Arc, AtomicUsize, Backoff, CachePadded, Ordering};

/// How a flavour accounts for capacity.
pub(crate) trait Capacity {
    /// Gives back the capacity of `n` messages just received.
    fn release(&self, n: usize);
    /// `Receiver::close`: no new sends or reservations from now on; `true`
    /// if this call closed it.
    fn close(&self) -> bool;
    /// Closed by the receiver (`close` or drop).
    fn is_closed(&self) -> bool;
    /// No capacity is taken: no permit held and nothing buffered.
    fn is_idle(&self) -> bool;
}

impl Capacity for Semaphore {
    #[inline]
    fn release(&self, n: usize) {
        Semaphore::release(self, n);
    }
    fn close(&self) -> bool {
        Semaphore::close(self)
    }
    fn is_closed(&self) -> bool {
        Semaphore::is_closed(self)
    }
    fn is_idle(&self) -> bool {
        Semaphore::is_idle(self)
    }
}

/// The unbounded flavour's capacity: there is none to count. Its receiver
/// closes the queue itself (it is always idle), which is what stops sends.
#[derive(Debug)]
pub(crate) struct Unlimited;

impl Capacity for Unlimited {
    #[inline]
    fn release(&self, _: usize) {}
    fn close(&self) -> bool {
        false
    }
    fn is_closed(&self) -> bool {
        false
    }
    fn is_idle(&self) -> bool {
        true
    }
}

/// What every handle of one channel shares.
struct Shared<T, Q, S> {
    chan: Chan<T, Q, CloseLine>,
    sem: S,
    /// Where the one receiver waits for a message or the end: a slot for
    /// one waiter, cheaper than a line of the core (which `CloseLine` does
    /// not even have).
    rx_waiter: CachePadded<OneWaiter>,
    /// Live weak senders (strong senders are counted by `chan`).
    weak_senders: AtomicUsize,
}

// As in tokio (`impl RefUnwindSafe for Chan`): a panic in user code (a
// message's `Drop`, a waker) never leaves the channel's invariants broken --
// every state change is one atomic step or one step under a lock -- so the
// handles are unwind safe whatever `T` is.
impl<T, Q, S> RefUnwindSafe for Shared<T, Q, S> {}
impl<T, Q, S> UnwindSafe for Shared<T, Q, S> {}

impl<T, Q: Queue<T>, S: Capacity> Shared<T, Q, S> {
    /// One receive attempt: `Ready(Some(v))` a message, `Ready(None)` the
    /// end of the channel, `Pending` nothing yet.
    #[inline(always)]
    fn attempt_recv(&self) -> Poll<Option<T>> {
        let popped = self.chan.queue().pop();
        // Released before the message moves on: a move after the
        // semaphore's atomic access is a copy of the whole message.
        if popped.is_ok() {
            self.sem.release(1);
        }
        match popped {
            Ok(value) => Poll::Ready(Some(value)),
            Err(PopError::Closed) => Poll::Ready(None),
            Err(PopError::Empty) if self.drained_after_close() => Poll::Ready(None),
            Err(PopError::Empty) => Poll::Pending,
        }
    }

    /// One `recv_many` attempt: `Ready(n)` moved `n` (0: the end),
    /// `Pending` nothing yet.
    fn attempt_recv_many(&self, out: &mut Vec<T>, limit: usize) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        match self.chan.queue().pop_many(out, limit) {
            Ok(n) => {
                self.sem.release(n);
                Poll::Ready(n)
            }
            Err(PopError::Closed) => Poll::Ready(0),
            Err(PopError::Empty) if self.drained_after_close() => Poll::Ready(0),
            Err(PopError::Empty) => Poll::Pending,
        }
    }

    /// The queue is empty (the caller just saw it) and stays so: the
    /// receiver closed and no permit is outstanding.
    fn drained_after_close(&self) -> bool {
        self.sem.is_closed() && self.sem.is_idle()
    }

    /// Closed by the receiver, or every sender is gone.
    fn is_closed(&self) -> bool {
        self.sem.is_closed() || self.chan.queue().is_closed()
    }

    /// `Receiver::close`; see the module docs.
    fn close_rx(&self) {
        let newly = self.sem.close();
        let queue_closed = self.sem.is_idle() && self.chan.close();
        if newly && !queue_closed {
            // `chan.close` would have woken them.
            self.chan.notify_all(Line::Closed);
        }
    }

    /// After capacity came back outside a receive (a permit dropped): the
    /// receiver may be waiting for exactly this to end the channel.
    fn wake_rx_if_drained(&self) {
        // Ordering: the release before this was a SeqCst RMW on the
        // semaphore and these are SeqCst loads, as is the flag load in
        // `notify`: the receiver's SeqCst register-then-check cannot miss
        // both (notify.rs).
        if self.sem.is_closed() && self.sem.is_idle() {
            self.rx_waiter.notify();
        }
    }

    /// Receives with the park protocol for the one receiver.
    #[inline(always)]
    fn park_recv<R>(&self, wait: Wait<'_, '_>, attempt: impl FnMut() -> Poll<R>) -> Poll<R> {
        park_one(&self.rx_waiter, wait, attempt)
    }

    /// One poll of a receive as a task. Spends a unit of tokio's coop budget
    /// per `Ready`, as tokio's receivers do.
    ///
    /// A receive that finds the channel empty registers at once and is
    /// woken only by a message or the end, as tokio's, with no yield first
    /// (unlike the core's park protocol). Yielding first, as this receiver
    /// once did, took about 7% less time per message on the current-thread
    /// capacity-1 rows, but left a pending `recv` that had woken itself,
    /// which tokio's own tests of its receiver rule out.
    ///
    /// Compiled into each receive (the futures and the `poll_*` methods),
    /// with the queue's pop and the first try of [`park_one`] (its wait is
    /// out of line), so the message goes from its slot to the future's
    /// output with fewer copies in between. Measured on the Intel machine,
    /// 3 processes of each build alternated: tokio's `send/large_1000`
    /// (32 KiB messages) 18.8-19.7 -> 18.2-18.5 µs; race, `ringchan::mpsc`
    /// column, current-thread 8-byte SPSC 1024 79-85 -> 59-77 ns and
    /// unbounded 38-53 -> 36-37, the 64-byte rows within noise. (On the AMD
    /// machine an earlier version of this cost the current-thread 64-byte
    /// rows 1-8%.)
    #[inline(always)]
    fn poll_rx<R>(&self, cx: &mut Context<'_>, attempt: impl FnMut() -> Poll<R>) -> Poll<R> {
        let coop = ready!(coop::poll_proceed(cx));
        let polled = self.park_recv(Wait::Task(cx), attempt);
        if polled.is_ready() {
            coop.made_progress();
        }
        polled
    }
}

/// The sending half: one counted sender.
pub(crate) struct Tx<T, Q: Queue<T>, S: Capacity> {
    shared: Arc<Shared<T, Q, S>>,
}

/// A weak sender: counted apart, keeps nothing open.
pub(crate) struct WeakTx<T, Q, S> {
    shared: Arc<Shared<T, Q, S>>,
}

/// The receiving half. It waits in the channel's [`OneWaiter`], whose slot
/// holds the waker of the latest poll only (as tokio's `AtomicWaker`).
pub(crate) struct Rx<T, Q: Queue<T>, S: Capacity> {
    shared: Arc<Shared<T, Q, S>>,
}

/// A new channel over the queue `queue` makes, with one sender and one
/// receiver. `sem` and then `queue` run after the allocation, so that their
/// values are built in place ([`arc_in_place`]).
#[inline(always)]
pub(crate) fn channel<T, Q: Queue<T>, S: Capacity>(
    sem: impl FnOnce() -> S,
    queue: impl FnOnce() -> Q,
) -> (Tx<T, Q, S>, Rx<T, Q, S>) {
    let shared = arc_in_place(|| Shared {
        sem: sem(),
        chan: Chan::new(queue()),
        rx_waiter: CachePadded(OneWaiter::new()),
        weak_senders: AtomicUsize::new(0),
    });
    let tx = Tx {
        shared: shared.clone(),
    };
    (tx, Rx { shared })
}

impl<T, Q: Queue<T>, S: Capacity> Tx<T, Q, S> {
    /// The capacity accounting (the semaphore, when bounded).
    #[inline]
    pub(crate) fn sem(&self) -> &S {
        &self.shared.sem
    }

    /// Pushes a message whose capacity is already accounted for (a permit,
    /// or none needed) and wakes the receiver if it waits. Hands the message
    /// back only if the receiver is gone (the queue is closed).
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        match self.shared.chan.queue().push(value) {
            Ok(()) => {
                self.shared.rx_waiter.notify();
                Ok(())
            }
            Err(PushError::Closed(value)) => Err(value),
            Err(PushError::Full(value)) => self.push_full(value),
        }
    }

    /// A permit guarantees a free slot, but the ring decides "full" from a
    /// relaxed view of its tail and the permit only orders us after the
    /// release of the receive that freed *our* slot; a push can read "full"
    /// for a moment while another receive's head move is not yet visible.
    /// Spin until it is: the slot is free, and nobody else can take it.
    #[cold]
    fn push_full(&self, mut value: T) -> Result<(), T> {
        let mut backoff = Backoff::default();
        loop {
            backoff.snooze();
            match self.shared.chan.queue().push(value) {
                Ok(()) => {
                    self.shared.rx_waiter.notify();
                    return Ok(());
                }
                Err(PushError::Closed(v)) => return Err(v),
                Err(PushError::Full(v)) => value = v,
            }
        }
    }

    /// Gives back `n` permits held outside any message (a permit dropped or
    /// released, a send that found the receiver gone).
    pub(crate) fn release(&self, n: usize) {
        self.shared.sem.release(n);
        self.shared.wake_rx_if_drained();
    }

    /// After an acquire gave permits back on its own (cancelled, or failed
    /// by a close after it had been served).
    pub(crate) fn released(&self) {
        self.shared.wake_rx_if_drained();
    }

    /// Closed by the receiver (`close` or drop).
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Waits until [`is_closed`](Self::is_closed).
    pub(crate) async fn closed(&self) {
        let chan = &self.shared.chan;
        let mut guard = TicketGuard {
            chan,
            line: Line::Closed,
            ticket: None,
        };
        poll_fn(|cx| {
            chan.park_on(Line::Closed, &mut guard.ticket, Wait::Task(cx), || {
                self.is_closed().then_some(())
            })
        })
        .await;
    }

    pub(crate) fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    pub(crate) fn strong_count(&self) -> usize {
        self.shared.chan.handles(Side::Send)
    }

    pub(crate) fn weak_count(&self) -> usize {
        self.shared.weak_senders.load(Ordering::SeqCst)
    }

    pub(crate) fn downgrade(&self) -> WeakTx<T, Q, S> {
        // Ordering: Relaxed: a count for reporting only.
        self.shared.weak_senders.fetch_add(1, Ordering::Relaxed);
        WeakTx {
            shared: self.shared.clone(),
        }
    }
}

impl<T, Q: Queue<T>, S: Capacity> Clone for Tx<T, Q, S> {
    fn clone(&self) -> Self {
        self.shared.chan.acquire(Side::Send);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T, Q: Queue<T>, S: Capacity> Drop for Tx<T, Q, S> {
    fn drop(&mut self) {
        // The last sender closes the queue; the receiver, if it waits,
        // must see that (a load when it does not). Any other sender's drop
        // is no news to it, so it is not woken (as with tokio).
        if self.shared.chan.release(Side::Send) {
            self.shared.rx_waiter.notify();
        }
    }
}

impl<T, Q: Queue<T>, S: Capacity> WeakTx<T, Q, S> {
    pub(crate) fn upgrade(&self) -> Option<Tx<T, Q, S>> {
        self.shared.chan.try_acquire(Side::Send).then(|| Tx {
            shared: self.shared.clone(),
        })
    }

    pub(crate) fn strong_count(&self) -> usize {
        self.shared.chan.handles(Side::Send)
    }

    pub(crate) fn weak_count(&self) -> usize {
        self.shared.weak_senders.load(Ordering::SeqCst)
    }
}

impl<T, Q, S> Clone for WeakTx<T, Q, S> {
    fn clone(&self) -> Self {
        // Ordering: Relaxed: a count for reporting only.
        self.shared.weak_senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T, Q, S> Drop for WeakTx<T, Q, S> {
    fn drop(&mut self) {
        // Ordering: Relaxed: a count for reporting only.
        self.shared.weak_senders.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T, Q: Queue<T>, S: Capacity> Rx<T, Q, S> {
    /// The capacity accounting (the semaphore, when bounded).
    pub(crate) fn sem(&self) -> &S {
        &self.shared.sem
    }

    /// Receives without waiting. Never `Empty` while a completed send's
    /// message is unreceived: the queue's pop waits out a send that claimed
    /// an earlier position and is still writing.
    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.shared.attempt_recv() {
            Poll::Ready(Some(value)) => Ok(value),
            Poll::Ready(None) => Err(TryRecvError::Disconnected),
            Poll::Pending => Err(TryRecvError::Empty),
        }
    }

    /// Receives, waiting as a task. Only the waker of the latest call is
    /// woken.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let shared = &*self.shared;
        shared.poll_rx(cx, || shared.attempt_recv())
    }

    /// Receives up to `limit` messages into `out`, waiting for the first;
    /// `0` at the end of the channel, or at once for `limit == 0`.
    pub(crate) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        let shared = &*self.shared;
        shared.poll_rx(cx, || shared.attempt_recv_many(out, limit))
    }

    /// A plain future, not an `async fn`: the public `recv` awaits it
    /// directly, so the message passes through one future's output, not
    /// two (each layer's output was a copy of the message, `gdb`).
    pub(crate) fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        let shared = &*self.shared;
        poll_fn(move |cx| shared.poll_rx(cx, || shared.attempt_recv()))
    }

    pub(crate) fn recv_many<'a>(
        &'a mut self,
        out: &'a mut Vec<T>,
        limit: usize,
    ) -> impl Future<Output = usize> + 'a {
        let shared = &*self.shared;
        poll_fn(move |cx| shared.poll_rx(cx, || shared.attempt_recv_many(out, limit)))
    }

    /// Receives, blocking the thread; the caller has checked that it may.
    pub(crate) fn recv_blocking(&mut self) -> Option<T> {
        let shared = &*self.shared;
        match shared.park_recv(Wait::Thread, || shared.attempt_recv()) {
            Poll::Ready(r) => r,
            Poll::Pending => unreachable!("a blocking wait returned Pending"),
        }
    }

    /// [`recv_many`](Self::recv_many), blocking the thread; the caller has
    /// checked that it may.
    pub(crate) fn recv_many_blocking(&mut self, out: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        let shared = &*self.shared;
        match shared.park_recv(Wait::Thread, || shared.attempt_recv_many(out, limit)) {
            Poll::Ready(n) => n,
            Poll::Pending => unreachable!("a blocking wait returned Pending"),
        }
    }

    pub(crate) fn close(&mut self) {
        self.shared.close_rx();
    }

    /// Closed by [`close`](Self::close), or every sender is gone (messages
    /// may still be buffered).
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    pub(crate) fn len(&self) -> usize {
        self.shared.chan.queue().len()
    }

    pub(crate) fn sender_strong_count(&self) -> usize {
        self.shared.chan.handles(Side::Send)
    }

    pub(crate) fn sender_weak_count(&self) -> usize {
        self.shared.weak_senders.load(Ordering::SeqCst)
    }
}

impl<T, Q: Queue<T>, S: Capacity> Drop for Rx<T, Q, S> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        // Nothing will poll this receiver again: let go of its task's waker
        // now, not when the last sender goes (as tokio does).
        shared.rx_waiter.clear();
        shared.close_rx();
        // Closes the queue (if `close_rx` did not): every push fails from
        // here on, so the drain below leaves nothing behind.
        shared.chan.release(Side::Recv);
        // Drop what is buffered now, not when the last sender goes, and give
        // its capacity back (`capacity()` is the bound again).
        Drain {
            shared,
            drained: 0,
            emptied: false,
        }
        .run();
    }
}

/// The receiver's drop of what is buffered. If a message's `Drop` panics,
/// the guard's own drop goes on with the rest during the unwind (as tokio's
/// receiver does); either way the capacity of every message taken out goes
/// back.
struct Drain<'a, T, Q: Queue<T>, S: Capacity> {
    shared: &'a Shared<T, Q, S>,
    drained: usize,
    /// `run` found the queue empty (the queue is closed: it stays so).
    emptied: bool,
}

impl<T, Q: Queue<T>, S: Capacity> Drain<'_, T, Q, S> {
    fn run(&mut self) {
        while let Ok(value) = self.shared.chan.queue().pop() {
            // Counted before its drop, which may panic: it has left the
            // queue either way.
            self.drained += 1;
            drop(value);
        }
        self.emptied = true;
    }
}

impl<T, Q: Queue<T>, S: Capacity> Drop for Drain<'_, T, Q, S> {
    fn drop(&mut self) {
        // During an unwind out of `run`, drop the messages after the one
        // that panicked.
        if !self.emptied {
            self.run();
        }
        self.shared.sem.release(std::mem::take(&mut self.drained));
    }
}

/// Gives a ticket back when the future holding it is dropped.
struct TicketGuard<'a, T, Q: Queue<T>> {
    chan: &'a Chan<T, Q, CloseLine>,
    line: Line,
    ticket: Option<Ticket>,
}

impl<T, Q: Queue<T>> Drop for TicketGuard<'_, T, Q> {
    fn drop(&mut self) {
        self.chan.cancel(self.line, &mut self.ticket);
    }
}

impl<T, Q: Queue<T>, S: fmt::Debug> fmt::Debug for Shared<T, Q, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("len", &self.chan.queue().len())
            .field("semaphore", &self.sem)
            .field("queue_closed", &self.chan.queue().is_closed())
            .field("senders", &self.chan.handles(Side::Send))
            .field("weak_senders", &self.weak_senders.load(Ordering::SeqCst))
            .finish()
    }
}

impl<T, Q: Queue<T>, S: Capacity + fmt::Debug> fmt::Debug for Tx<T, Q, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl<T, Q: Queue<T>, S: Capacity + fmt::Debug> fmt::Debug for Rx<T, Q, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

/// Panics, with tokio's message and at the caller's location, if this
/// thread is driving a Tokio runtime (inside `block_on`, on a worker, in a
/// task); returns if blocking is allowed (no runtime, `spawn_blocking`,
/// `block_in_place`, under an `enter()` guard).
///
/// tokio's check (`context::try_enter_blocking_region`) is private, so this
/// asks a tokio blocking call to make it: `blocking_acquire` on a semaphore
/// that always has a permit runs that check and nothing else of note. A
/// thread with no runtime handle at all cannot be inside one: it skips even
/// that.
#[track_caller]
pub(crate) fn assert_may_block() {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    thread_local! {
        // Per thread, so threads never contend on it.
        static GATE: std::sync::Arc<tokio::sync::Semaphore> =
            std::sync::Arc::new(tokio::sync::Semaphore::new(1));
    }
    let gate = GATE.with(std::sync::Arc::clone);
    drop(gate.blocking_acquire());
}

/// Runs `fut` to completion on this thread, parking it between polls.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        crate::notify::one_waiter::thread::park();
    }
}
