//! The channel core: a queue, a waiting room per side, handle counts, and the
//! park protocol, written once for every future and every blocking call.
//!
//! Knows no public names: the API modules wrap [`Chan`] in their handles.

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use crate::notify::{Ticket, Waiters};
use crate::queue::{PopError, PushError, Queue};
use crate::sync::{AtomicUsize, Backoff, CachePadded, Ordering};

/// The state every handle of one channel shares (behind an `Arc`).
pub(crate) struct Chan<T, Q, L = AllLines> {
    queue: Q,
    /// Where tasks and threads wait.
    lines: L,
    /// Live `Sender`s; the last one to go closes the channel.
    senders: AtomicUsize,
    /// Live `Receiver`s; the last one to go closes the channel.
    receivers: AtomicUsize,
    /// The queue carries the `T`s (and decides `Send`/`Sync`); `fn() -> T`
    /// keeps `Chan` from asking `T: Sync` on top.
    _marker: PhantomData<fn() -> T>,
}

/// The lines of waiters a channel keeps; `Default` makes them empty.
pub(crate) trait Lines: Default {
    /// The waiters standing in `line`.
    fn line(&self, line: Line) -> &Waiters;
    /// Wakes every waiter in every line: the channel has closed.
    fn notify_all(&self);
}

/// Every line: the channels of `bounded` and `unbounded`.
#[derive(Default)]
pub(crate) struct AllLines {
    /// Senders waiting for room.
    send_ops: CachePadded<Waiters>,
    /// Receivers waiting for a message in a `recv`/`recv_many` future.
    recv_ops: CachePadded<Waiters>,
    /// Receivers waiting for a message as a `Stream`: every push wakes them
    /// all (see [`Line::Stream`]).
    stream_ops: CachePadded<Waiters>,
    /// Tasks waiting for the channel to close; notified only by `close`, so
    /// they never take a wake-up meant for a sender or receiver.
    close_ops: CachePadded<Waiters>,
}

impl Lines for AllLines {
    #[inline(always)]
    fn line(&self, line: Line) -> &Waiters {
        match line {
            Line::Send => &self.send_ops,
            Line::Recv => &self.recv_ops,
            Line::Stream => &self.stream_ops,
            Line::Closed => &self.close_ops,
        }
    }

    fn notify_all(&self) {
        // A waker that panics in one line stops none of the others: the
        // first panic goes on once every line is woken.
        let mut panics = crate::notify::Panics::default();
        for line in [
            &self.send_ops,
            &self.recv_ops,
            &self.stream_ops,
            &self.close_ops,
        ] {
            panics.catch(|| line.notify_all());
        }
        panics.raise();
    }
}

/// Only [`Line::Closed`]: the `mpsc` channels, whose senders wait on their
/// semaphore and whose receiver waits in a slot of its own. Three unused
/// lines were 384 of the 1,664 bytes of such a channel.
#[derive(Default)]
pub(crate) struct CloseLine {
    /// Tasks waiting for the channel to close.
    close_ops: CachePadded<Waiters>,
}

impl Lines for CloseLine {
    #[inline(always)]
    fn line(&self, line: Line) -> &Waiters {
        match line {
            Line::Closed => &self.close_ops,
            other => unreachable!("an mpsc channel has no {other:?} line"),
        }
    }

    fn notify_all(&self) {
        self.close_ops.notify_all();
    }
}

/// Which handle count an operation is about.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Side {
    Send,
    Recv,
}

/// Which line of waiters a ticket stands in.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Line {
    /// Senders waiting for room.
    Send,
    /// Receivers waiting for a message.
    Recv,
    /// Receivers waiting as a `Stream`. A stream keeps its place in line in
    /// the `Receiver` between polls, so a stream that is polled until
    /// `Pending` and then left alone (a `next()` that lost a `select!`)
    /// would keep a wake-up that one-at-a-time notifying gave it, while a
    /// `recv()` waiting beside it slept on with a message queued. So a push
    /// wakes every waiting stream (as async-channel does) and, apart from
    /// them, one `recv` future.
    Stream,
    /// Anyone waiting for the channel to close.
    Closed,
}

/// Backoff steps a blocked thread spins and yields before parking (127 spin
/// hints, then 4 yields of the core; or 64 hints, then 10 yields: see
/// [`Chan::spin`]). None under loom: spinning only multiplies the
/// interleavings to explore.
const THREAD_SPIN_STEPS: u32 = if cfg!(loom) { 0 } else { 11 };

/// Channels of at most this capacity always make a waiting task yield
/// before it joins the waiters (see [`Chan::joins_at_once`]): so few slots
/// fill or empty within one turn of the other side, so no run builds up
/// while a task sleeps, and the yield is the cheaper wait. Measured on a
/// multi-thread runtime, capacity 1, 64-byte messages: 233 ns per message
/// yielding, 398 joining at once.
///
/// Tasks used to spin here for about 3 µs before they yielded, which paid
/// when it was measured; measured again after later changes to the park
/// path, spinning cost more than it saved (SPSC capacity 1 289 -> 216 ns per
/// message for 8 bytes and 328 -> 233 for 64 without it, ping-pong the same
/// or better; 7-9 processes alternated), so tasks no longer spin.
const YIELD_UP_TO: usize = 8;

/// Whether this thread runs inside a multi-thread Tokio runtime with more
/// than one worker (one of its workers, or a thread in its `block_on`):
/// with a single worker, a task's peer runs on the same thread, and a yield
/// is what lets it run. Asked once per thread, as a worker never changes
/// runtime; a thread that first asks elsewhere keeps `false`, which only
/// means its tasks always yield first.
fn on_multi_thread_runtime() -> bool {
    thread_local! {
        static MT: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
    }
    MT.with(|c| match c.get() {
        Some(mt) => mt,
        None => {
            let mt = tokio::runtime::Handle::try_current().is_ok_and(|h| {
                h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
                    && h.metrics().num_workers() > 1
            });
            c.set(Some(mt));
            mt
        }
    })
}

/// Whether the waiting paths compile a try's fast path into the future's
/// poll for messages of type `T` (see [`Chan::try_recv_for_wait`] and
/// [`Chan::poll_send`]): measured better for 8 bytes and worse for 64; the
/// bound of 16 is a guess for the sizes between, none of them measured.
/// Above it, a waiting send also moves its message straight from its
/// future into the slot (see [`Chan::send_once`]).
const fn inlines_tries<T>() -> bool {
    std::mem::size_of::<T>() <= 16
}

/// What a receive resolves to, built in place by [`Chan::poll_recv`]:
/// `Result<T, RecvError>` for `Recv`, `Option<T>` for the stream.
pub(crate) trait Received<T> {
    fn message(value: T) -> Self;
    fn closed() -> Self;
}

impl<T> Received<T> for Option<T> {
    #[inline(always)]
    fn message(value: T) -> Self {
        Some(value)
    }
    #[inline(always)]
    fn closed() -> Self {
        None
    }
}

impl<T> Received<T> for Result<T, crate::error::RecvError> {
    #[inline(always)]
    fn message(value: T) -> Self {
        Ok(value)
    }
    #[inline(always)]
    fn closed() -> Self {
        Err(crate::error::RecvError)
    }
}

/// How a waiting operation waits: as a task, or by blocking the thread.
pub(crate) enum Wait<'a, 'b> {
    Task(&'a mut Context<'b>),
    Thread,
}

impl<'b> Wait<'_, 'b> {
    /// The same way of waiting, borrowed again: for a caller that parks
    /// more than once in one poll.
    pub(crate) fn reborrow(&mut self) -> Wait<'_, 'b> {
        match self {
            Wait::Task(cx) => Wait::Task(cx),
            Wait::Thread => Wait::Thread,
        }
    }
}

// A panic in user code (a message's `Drop`, a waker) never leaves the
// channel's invariants broken: every state change is one atomic step, or
// one step under a lock whose poisoning is ignored, and the queues drop
// leftovers behind guards. So the handles and futures are unwind safe
// whatever `T` is, as async-channel's and tokio's are.
impl<T, Q, L> std::panic::RefUnwindSafe for Chan<T, Q, L> {}
impl<T, Q, L> std::panic::UnwindSafe for Chan<T, Q, L> {}

impl<T, Q: Queue<T>, L: Lines> Chan<T, Q, L> {
    /// A channel over `queue` with one sender and one receiver.
    #[inline(always)]
    pub(crate) fn new(queue: Q) -> Self {
        Self {
            queue,
            lines: L::default(),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            _marker: PhantomData,
        }
    }

    /// Whether a waiting task skips step 2's yield and joins the waiters
    /// at once: on a multi-thread runtime, on a channel of more than
    /// [`YIELD_UP_TO`] slots (or an unbounded one).
    ///
    /// A task that sleeps at once lets a run build up in the queue and then
    /// takes it in one turn, instead of chasing the other side a message
    /// apart, the two trading the slot's cache lines per message. Measured,
    /// 11 processes alternated, ns per message (2 workers, 2 cores): SPSC
    /// capacity 1024 64B 115 -> 55, MPMC 4x4 8B 135 -> 63, MPSC 64
    /// producers 8B 50 -> 42, MPSC 4 8B 38 -> 35; the one loss was MPSC 4
    /// 64B, 66 -> 70. A single producer of 8-byte messages kept the yield
    /// while joining cost an event listener (it cost that row 8-70%); since
    /// a lone waiter joins through the line's first place (notify.rs), which
    /// allocates nothing, joining at once wins there too: 4 processes of
    /// each policy alternated, medians, SPSC capacity 16 37 -> 28 ns,
    /// capacity 1024 34 -> 18, unbounded 27 -> 15, batch rows 8-48% faster.
    fn joins_at_once(&self) -> bool {
        self.queue.capacity().is_none_or(|cap| cap > YIELD_UP_TO) && on_multi_thread_runtime()
    }

    pub(crate) fn queue(&self) -> &Q {
        &self.queue
    }

    /// Closes the queue and wakes every waiter in the channel's lines (for
    /// `mpsc`, only `closed()` futures: its receiver and senders wait
    /// elsewhere and are woken by its own layer); `true` if this call closed
    /// it.
    ///
    /// A load first: most channels are closed twice or three times (by the
    /// receiver, then by the last handle of each side), and a load that
    /// sees the mark spares the later calls a read-modify-write. Nothing
    /// orders after a call that returns `false`: the one that closed has
    /// woken the waiters.
    pub(crate) fn close(&self) -> bool {
        if self.queue.is_closed() {
            return false;
        }
        if self.queue.close() {
            self.lines.notify_all();
            true
        } else {
            false
        }
    }
}

// The operations of `bounded` and `unbounded`, whose waiters stand in every
// line.
impl<T, Q: Queue<T>> Chan<T, Q, AllLines> {
    /// Pushes without waiting; wakes a receiver if one waits.
    #[inline]
    pub(crate) fn try_send(&self, value: T) -> Result<(), PushError<T>> {
        self.queue.push(value)?;
        self.notify_receivers(1);
        Ok(())
    }

    /// After `n` pushes: wakes `n` waiting `recv` futures and every waiting
    /// stream ([`Line::Stream`]); a load per line when nobody waits.
    #[inline]
    fn notify_receivers(&self, n: usize) {
        let lines = &self.lines;
        if n != 0 && (lines.recv_ops.anyone_waits() || lines.stream_ops.anyone_waits()) {
            self.notify_receivers_slow(n);
        }
    }

    /// [`Chan::notify_receivers`] when someone waits. A waker that panics
    /// in one line stops neither line: the first panic goes on once both
    /// are woken.
    #[cold]
    fn notify_receivers_slow(&self, n: usize) {
        let mut panics = crate::notify::Panics::default();
        panics.catch(|| self.lines.recv_ops.notify_many(n));
        panics.catch(|| self.lines.stream_ops.notify_many(usize::MAX));
        panics.raise();
    }

    /// Pushes, replacing the oldest message when full; `Err` when closed.
    pub(crate) fn force_send(&self, value: T) -> Result<Option<T>, T> {
        let replaced = self.queue.force_push(value)?;
        self.notify_receivers(1);
        Ok(replaced)
    }

    /// Pops without waiting; wakes a sender if one waits.
    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, PopError> {
        let value = self.queue.pop()?;
        self.lines.send_ops.notify_one();
        Ok(value)
    }

    /// [`Chan::try_recv`] with the queue's fast path compiled in
    /// ([`Queue::pop_inline`]): for the public `try_recv`, and for waits on
    /// small messages ([`Chan::try_recv_for_wait`]).
    #[inline(always)]
    pub(crate) fn try_recv_inline(&self) -> Result<T, PopError> {
        let value = self.queue.pop_inline()?;
        self.lines.send_ops.notify_one();
        Ok(value)
    }

    /// The pop of a `recv` future or a stream: the queue's fast path
    /// compiled in for messages of up to 16 bytes, out of line for larger
    /// ones. Inline, a small message comes back in registers, with no call
    /// and no stack frame; a large one is copied through the stack once
    /// more than when the out-of-line pop writes it straight into its
    /// caller's place. Measured with callgrind on `examples/race`
    /// (ringchan alone, one round of 200,000 messages, whole process):
    /// current-thread SPSC capacity 1024, 8 bytes, 62.8 M -> 58.4 M
    /// instructions; MPSC 64 producers 79.6 M -> 75.2 M; the same SPSC row
    /// with 64-byte messages went from 90.8 M to 93.6 M inline, so it stays
    /// out of line.
    #[inline(always)]
    fn try_recv_for_wait(&self) -> Result<T, PopError> {
        if inlines_tries::<T>() {
            self.try_recv_inline()
        } else {
            self.try_recv()
        }
    }

    /// Pops up to `limit` messages into `out`; wakes as many senders.
    pub(crate) fn try_recv_many(&self, out: &mut Vec<T>, limit: usize) -> Result<usize, PopError> {
        let n = self.queue.pop_many(out, limit)?;
        self.lines.send_ops.notify_many(n);
        Ok(n)
    }

    /// Pushes as many messages from the front of `src` as fit; wakes as
    /// many receivers.
    pub(crate) fn try_send_many(&self, src: &mut Vec<T>) -> Result<usize, PushError<()>> {
        let n = self.queue.push_many(src)?;
        self.notify_receivers(n);
        Ok(n)
    }

    /// Sends, waiting for room: the park protocol for senders.
    /// `value` is `None` once sent (or handed back).
    ///
    /// For messages of up to 16 bytes the try is compiled into the caller
    /// (`#[inline(always)]` on the closure); a larger one would be copied
    /// more often on the way into the slot. Measured as for
    /// [`Chan::try_recv_for_wait`]: current-thread SPSC capacity 1024,
    /// 8 bytes, 58.4 M -> 56.8 M instructions, MPSC 64 75.2 M -> 73.3 M;
    /// with 64-byte messages inlining cost 90.8 M -> 101.6 M.
    pub(crate) fn poll_send(
        &self,
        value: &mut Option<T>,
        ticket: &mut Option<Ticket>,
        wait: Wait<'_, '_>,
    ) -> Poll<Result<(), T>> {
        if inlines_tries::<T>() {
            self.park(
                Line::Send,
                ticket,
                wait,
                #[inline(always)]
                || self.send_once(value),
            )
        } else {
            self.park(Line::Send, ticket, wait, || self.send_once(value))
        }
    }

    /// One try of [`Chan::poll_send`]: `None` when full (`value` is put
    /// back), else the outcome.
    ///
    /// A message of more than 16 bytes stays in the future until the queue
    /// has claimed its slot ([`Queue::push_from`]), and moves from there
    /// into the slot once. Taken out first, it was read back right after
    /// the future was built, through a stack copy staged before the claim's
    /// locked instruction: on the AMD EPYC development machine, 64-byte
    /// messages, race, 3 processes of each build alternated, medians:
    /// current-thread SPSC capacity 1024 34.9 -> 28.9 ns, MPSC 4 34.9 ->
    /// 29.1, capacity 16 41.6 -> 35.1, unbounded 37.0 -> 31.1, ping-pong
    /// 148.7 -> 128.9, multi-thread SPSC capacity 1024 40.5 -> 35.0
    /// (callgrind: 1-2% fewer instructions). Small messages keep the
    /// take-and-push, which holds them in registers: through `push_from`
    /// they cost 5-8% more instructions.
    #[inline(always)]
    fn send_once(&self, value: &mut Option<T>) -> Option<Result<(), T>> {
        if inlines_tries::<T>() {
            let v = value.take().expect("send polled after completion");
            return match self.try_send(v) {
                Ok(()) => Some(Ok(())),
                Err(PushError::Closed(v)) => Some(Err(v)),
                Err(PushError::Full(v)) => {
                    *value = Some(v);
                    None
                }
            };
        }
        match self.queue.push_from(value) {
            Ok(()) => {
                self.notify_receivers(1);
                Some(Ok(()))
            }
            Err(PushError::Closed(())) => Some(Err(value.take().expect("handed back"))),
            Err(PushError::Full(())) => None,
        }
    }

    /// Sends every message of `src`, oldest first, waiting for room as
    /// needed; `Err(())` when the channel closes first (the unsent messages
    /// stay in `src`).
    pub(crate) fn poll_send_many(
        &self,
        src: &mut Vec<T>,
        ticket: &mut Option<Ticket>,
        wait: Wait<'_, '_>,
    ) -> Poll<Result<(), ()>> {
        self.park(Line::Send, ticket, wait, || {
            loop {
                match self.try_send_many(src) {
                    Ok(_) if src.is_empty() => return Some(Ok(())),
                    Ok(_) => continue, // room may have opened meanwhile
                    Err(PushError::Closed(())) => return Some(Err(())),
                    Err(PushError::Full(())) => return None,
                }
            }
        })
    }

    /// Receives, waiting for a message: the park protocol for receivers.
    /// Resolves to `R::closed()` once the channel is closed and drained.
    ///
    /// Building the caller's own output type here, instead of mapping a
    /// `Result<T, ()>` afterwards, saves the message a copy per layer: with
    /// the map, a 64-byte message was copied eight times between the slot
    /// and `Recv::poll`'s return value (six now, read off the disassembly).
    #[inline]
    pub(crate) fn poll_recv<R: Received<T>>(
        &self,
        line: Line,
        ticket: &mut Option<Ticket>,
        wait: Wait<'_, '_>,
    ) -> Poll<R> {
        self.park(line, ticket, wait, || match self.try_recv_for_wait() {
            Ok(v) => Some(R::message(v)),
            Err(PopError::Closed) => Some(R::closed()),
            Err(PopError::Empty) => None,
        })
    }

    /// Receives at least one and up to `limit` messages, waiting for the
    /// first; `Err(())` once closed and drained.
    pub(crate) fn poll_recv_many(
        &self,
        out: &mut Vec<T>,
        limit: usize,
        ticket: &mut Option<Ticket>,
        wait: Wait<'_, '_>,
    ) -> Poll<Result<usize, ()>> {
        if limit == 0 {
            return Poll::Ready(Ok(0));
        }
        self.park(Line::Recv, ticket, wait, || {
            match self.try_recv_many(out, limit) {
                Ok(n) => Some(Ok(n)),
                Err(PopError::Closed) => Some(Err(())),
                Err(PopError::Empty) => None,
            }
        })
    }

    /// Waits until the channel is closed.
    pub(crate) fn poll_closed(&self, ticket: &mut Option<Ticket>, wait: Wait<'_, '_>) -> Poll<()> {
        self.park(Line::Closed, ticket, wait, || {
            self.queue.is_closed().then_some(())
        })
    }
}

impl<T, Q: Queue<T>, L: Lines> Chan<T, Q, L> {
    /// The park protocol, the one place anything in the crate waits:
    ///
    /// 1. try the operation;
    /// 2. on the first failure, give the other side a moment before paying
    ///    for a listener: a task yields once to its executor (on a
    ///    current-thread runtime the peer task runs meanwhile; measured, this
    ///    beats spinning, which only burns the thread the peer needs, and on
    ///    a multi-thread runtime too (see [`YIELD_UP_TO`]), except where
    ///    [`Chan::joins_at_once`] holds: then the task goes on to 3 at
    ///    once), and a thread spins, retrying, then yields its core a few
    ///    times; a wait for the close goes on to 3 at once
    ///    ([`Chan::awaits_close`]);
    /// 3. on the next failure, join the waiters (register a listener, count
    ///    it);
    /// 4. try again: a push or pop that happened between 1 and 3 did not see
    ///    us in the count and sent no wake-up, but this try sees its effect
    ///    (see notify.rs for why one of the two must see the other);
    /// 5. only then wait; when woken, go back to 1. A task in line looks at
    ///    its place before it tries, so the wake-up that prompts a try is
    ///    used up by it (see the loop in [`Chan::park_loop`]).
    ///
    /// A ticket survives across polls in `ticket`; the owner of `ticket` must
    /// give it back with [`Chan::cancel`] if it stops waiting early.
    #[inline(always)]
    fn park<R>(
        &self,
        line: Line,
        ticket: &mut Option<Ticket>,
        wait: Wait<'_, '_>,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Poll<R> {
        // Step 1 inlined into the caller, the rest out of line: most
        // operations end here (measured, A/B in one race run: 3-6% less
        // time per 8-byte message on a current-thread runtime, no change
        // with 64-byte ones). So is the try after step 2's yield, which
        // holds no place in line to give back: the common end of a wait on
        // a small channel.
        let tried = ticket.as_ref().is_none_or(Ticket::is_spun);
        if tried {
            if let Some(done) = attempt() {
                *ticket = None;
                return Poll::Ready(done);
            }
        }
        self.park_slow(line, ticket, wait, tried, attempt)
    }

    /// The rest of [`Chan::park`], out of line: a task's yield at step 2,
    /// the common end of a wait on a small channel, is answered here, and
    /// everything else goes to [`Chan::park_loop`], whose frame (six saved
    /// registers and 200 bytes of stack) cost more than the yield itself.
    /// callgrind, race, ringchan alone, one round of 200,000 messages,
    /// current-thread: SPSC capacity 1 505.0 M -> 479.0 M instructions,
    /// ping-pong 55.0 M -> 52.1 M (64 bytes 62.9 M -> 60.1 M), the rows
    /// that never yield unchanged. `park` is `#[inline(always)]` since:
    /// with this split the compiler stopped inlining it into the `recv`
    /// future's poll, which cost the capacity-1024 rows 11%.
    #[inline(never)]
    fn park_slow<R>(
        &self,
        line: Line,
        ticket: &mut Option<Ticket>,
        wait: Wait<'_, '_>,
        tried: bool,
        attempt: impl FnMut() -> Option<R>,
    ) -> Poll<R> {
        if let Wait::Task(cx) = &wait {
            // No ticket: step 1 has just failed (`tried` is set).
            if ticket.is_none() && !Self::awaits_close(line) && !self.joins_at_once() {
                *ticket = Some(Ticket::spun());
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        self.park_loop(line, ticket, wait, tried, attempt)
    }

    /// Steps 1 to 5 of [`Chan::park`], the whole protocol, past a task's
    /// yield ([`Chan::park_slow`]); `tried`: step 1 (or the try after
    /// step 2) has just failed, so the loop starts at step 2 (or 3).
    #[inline(never)]
    fn park_loop<R>(
        &self,
        line: Line,
        ticket: &mut Option<Ticket>,
        mut wait: Wait<'_, '_>,
        mut tried: bool,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Poll<R> {
        let waiters = self.lines.line(line);
        // Set when the waker is in place already: right after joining
        // through the first place (see `Ticket::has_waker`).
        let mut joined_with_waker = false;
        loop {
            // A task in line looks at its place before it tries: a wake-up
            // that has come is then used up by the try it prompts (the
            // ticket is spent), and if none has, the poll leaves the task's
            // waker for one. A wake-up that comes only after a successful
            // try was not what the try answered, so `leave` passes it on:
            // the free slot or the message it announces may be another's.
            // Right after a join that stored the waker, the look is skipped:
            // a wake-up that came meanwhile is seen by `leave` after a
            // successful try, or by the next poll after a failed one (the
            // waker was in place for it).
            if let Wait::Task(cx) = &mut wait {
                if !std::mem::take(&mut joined_with_waker)
                    && ticket.as_ref().is_some_and(|t| !t.is_spun())
                {
                    let _ = waiters.poll(ticket, cx);
                }
            }
            if !std::mem::take(&mut tried) {
                if let Some(done) = attempt() {
                    if let Some(t) = ticket.take() {
                        waiters.leave(t);
                    }
                    return Poll::Ready(done);
                }
            }
            match (ticket.take(), &mut wait) {
                // Step 2.
                (None, Wait::Task(cx)) => {
                    if self.joins_at_once() || Self::awaits_close(line) {
                        let t = waiters.join(cx.waker());
                        joined_with_waker = t.has_waker();
                        *ticket = Some(t);
                        continue;
                    }
                    *ticket = Some(Ticket::spun());
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                (None, Wait::Thread) => {
                    if !Self::awaits_close(line) {
                        let long = self.spins_long(line);
                        if let Some(done) = Self::spin(&mut attempt, long) {
                            return Poll::Ready(done);
                        }
                    }
                    *ticket = Some(Ticket::spun());
                }
                // Step 3; the loop makes step 4.
                (Some(t), Wait::Task(cx)) if t.is_spun() => {
                    let t = waiters.join(cx.waker());
                    joined_with_waker = t.has_waker();
                    *ticket = Some(t);
                }
                (Some(t), Wait::Thread) if t.is_spun() => {
                    *ticket = Some(waiters.join(&crate::notify::thread_waker()));
                }
                // Step 5.
                (Some(t), Wait::Thread) => waiters.wait(t),
                (Some(t), Wait::Task(_)) => {
                    // Polled at the top of this turn, not woken: still in
                    // line, its waker registered.
                    *ticket = Some(t);
                    return Poll::Pending;
                }
            }
        }
    }

    /// Whether `line` is the line of `closed()` futures, which skip
    /// step 2: a close is not the other side's next move, so neither a
    /// yield nor a spin is likely to see it, and a pending `closed()` that
    /// had woken itself would make every `select!` round that races it
    /// poll twice (tokio's `Sender::closed` never wakes itself either).
    fn awaits_close(line: Line) -> bool {
        matches!(line, Line::Closed)
    }

    /// Whether a blocked thread waiting in `line` starts its spin long
    /// (see [`Chan::spin`]): a sender on a channel of more than
    /// [`YIELD_UP_TO`] slots. Such a sender waits for room in a full ring,
    /// so the receivers have a ring's worth of messages queued: checking
    /// back sooner cannot serve them, and each early try takes the cache
    /// lines they are working on (the head, the slot at the tail). Starting
    /// long lets them free a stretch of slots that the sender then fills
    /// alone. Receivers, and senders on small channels, start short: a
    /// message or a slot they wait for may be the only one, and its wait
    /// is the latency.
    ///
    /// Measured (race, blocking rows, capacity 1024, beside crossbeam in
    /// each process, 3 processes per choice): starting short for all, the
    /// 8-byte rows took 17-43 ns per message (crossbeam 30-44); long for
    /// such senders, 15-17 (crossbeam 26-42), the 64-byte rows 28-55
    /// against 30-72. Long for every waiter was as fast but made a 1-slot
    /// ping-pong between two threads 1,700-1,900 ns per round trip against
    /// 280-550 (crossbeam 260-530), which this choice keeps.
    fn spins_long(&self, line: Line) -> bool {
        matches!(line, Line::Send) && self.queue.capacity().is_some_and(|cap| cap > YIELD_UP_TO)
    }

    /// Retries `attempt` for a blocked thread: an exponential spin from one
    /// spin hint up, then yields of the core; or, when `long`, one spin of
    /// the backoff's longest, then yields (see [`Chan::spins_long`]).
    #[cold]
    fn spin<R>(attempt: &mut impl FnMut() -> Option<R>, long: bool) -> Option<R> {
        let mut backoff = if long {
            Backoff::longest_spin()
        } else {
            Backoff::default()
        };
        #[allow(clippy::reversed_empty_ranges)] // empty under loom, on purpose
        for _ in 0..THREAD_SPIN_STEPS {
            backoff.snooze();
            if let Some(done) = attempt() {
                return Some(done);
            }
        }
        None
    }

    /// Gives back the ticket of a wait that stops early (a dropped future);
    /// a notification it had consumed passes on to the next waiter in line.
    ///
    /// Inlined, with the leave out of line and cold: the drop of a future
    /// that never waited (the common case) only tests its ticket here.
    #[inline]
    pub(crate) fn cancel(&self, line: Line, ticket: &mut Option<Ticket>) {
        if ticket.is_some() {
            self.cancel_slow(line, ticket);
        }
    }

    #[cold]
    fn cancel_slow(&self, line: Line, ticket: &mut Option<Ticket>) {
        if let Some(t) = ticket.take() {
            self.lines.line(line).leave(t);
        }
    }

    fn count(&self, side: Side) -> &AtomicUsize {
        match side {
            Side::Send => &self.senders,
            Side::Recv => &self.receivers,
        }
    }

    /// Live handles on `side`.
    pub(crate) fn handles(&self, side: Side) -> usize {
        self.count(side).load(Ordering::SeqCst)
    }

    /// Counts a new handle made from a live one (`Clone`).
    pub(crate) fn acquire(&self, side: Side) {
        // Ordering: Relaxed, as for `Arc::clone`: the caller holds a live
        // handle, so the count cannot reach zero meanwhile.
        let old = self.count(side).fetch_add(1, Ordering::Relaxed);
        // A count near usize::MAX means handles are leaked in a loop; stop
        // before it wraps to zero and closes a channel with live handles.
        assert!(old < usize::MAX / 2, "ringchan: too many handles");
    }

    /// Counts a new handle made from a weak one, unless the side already
    /// reached zero (then the channel is closed for good).
    pub(crate) fn try_acquire(&self, side: Side) -> bool {
        let count = self.count(side);
        // Ordering: Relaxed load, then an RMW that only succeeds from a
        // non-zero count; the channel state it protects is behind the Arc.
        let mut n = count.load(Ordering::Relaxed);
        loop {
            if n == 0 {
                return false;
            }
            assert!(n < usize::MAX / 2, "ringchan: too many handles");
            match count.compare_exchange_weak(n, n + 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(current) => n = current,
            }
        }
    }

    /// Uncounts a handle; the last one on a side closes the channel.
    /// `true` if this was that side's last handle.
    pub(crate) fn release(&self, side: Side) -> bool {
        // Ordering: AcqRel so the last handle's close comes after every
        // other handle's operations (as in `Arc::drop`).
        let last = self.count(side).fetch_sub(1, Ordering::AcqRel) == 1;
        if last {
            self.close();
        }
        last
    }
}

impl<T, Q: Queue<T> + DebugQueue> fmt::Debug for Chan<T, Q, AllLines> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alternate = f.alternate();
        let mut s = f.debug_struct("Chan");
        s.field("len", &self.queue.len())
            .field("capacity", &self.queue.capacity())
            .field("closed", &self.queue.is_closed())
            .field("senders", &self.handles(Side::Send))
            .field("receivers", &self.handles(Side::Recv))
            // Waiters no wake-up is on its way to (see `Waiters::count`).
            .field("waiting_senders", &self.lines.send_ops.count())
            .field("waiting_receivers", &self.lines.recv_ops.count())
            .field("waiting_streams", &self.lines.stream_ops.count());
        if alternate {
            s.field("queue", &self.queue.debug_state());
        }
        s.finish()
    }
}

/// A queue that can show its internal state for debugging.
pub(crate) trait DebugQueue {
    fn debug_state(&self) -> Box<dyn fmt::Debug + '_>;
}

// Appended for `mpsc` (issue 7). tokio's module decides some things outside
// the queue -- `closed()` completes when the receiver closes, `recv` also ends
// once the channel is closed and no permit is outstanding -- so that layer
// runs the same park protocol with its own attempt and wakes a line itself;
// and its single receiver waits with `park_one` below.
impl<T, Q: Queue<T>, L: Lines> Chan<T, Q, L> {
    /// [`Chan::park`] on `line` with the caller's `attempt`. Whatever
    /// `attempt` checks must be made true by an operation that then wakes
    /// `line` ([`Chan::notify_all`]), with the orderings notify.rs describes.
    pub(crate) fn park_on<R>(
        &self,
        line: Line,
        ticket: &mut Option<Ticket>,
        wait: Wait<'_, '_>,
        attempt: impl FnMut() -> Option<R>,
    ) -> Poll<R> {
        self.park(line, ticket, wait, attempt)
    }

    /// Wakes every waiter in `line`.
    pub(crate) fn notify_all(&self, line: Line) {
        self.lines.line(line).notify_all();
    }
}

/// The park protocol of [`Chan::park`] for a side with a single waiter
/// ([`OneWaiter`](crate::notify::OneWaiter), the `mpsc` receiver): try;
/// register; try again (a push between the first try and the registration
/// sent no wake-up, but this try sees it); only then wait, and when woken,
/// start over. Whenever it is done it lowers the flag, so senders stop paying
/// for a waiter that left.
#[inline(always)]
pub(crate) fn park_one<R>(
    waiter: &crate::notify::OneWaiter,
    wait: Wait<'_, '_>,
    mut attempt: impl FnMut() -> Poll<R>,
) -> Poll<R> {
    // The attempt answers in the caller's own type: converting its answer
    // here was a copy of the whole message (`gdb`).
    let first = attempt();
    if first.is_ready() {
        waiter.unregister();
        return first;
    }
    park_one_slow(waiter, wait, attempt)
}

/// [`park_one`] after its first try failed, out of line.
#[inline(never)]
fn park_one_slow<R>(
    waiter: &crate::notify::OneWaiter,
    wait: Wait<'_, '_>,
    mut attempt: impl FnMut() -> Poll<R>,
) -> Poll<R> {
    match wait {
        Wait::Task(cx) => {
            waiter.register(cx.waker());
            let polled = attempt();
            if polled.is_ready() {
                waiter.unregister();
            }
            polled
        }
        Wait::Thread => {
            let waker = crate::notify::thread_waker();
            loop {
                waiter.register(&waker);
                let polled = attempt();
                if polled.is_ready() {
                    waiter.unregister();
                    return polled;
                }
                crate::notify::one_waiter::thread::park();
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::list::List;
    use crate::ring::Ring;

    /// Runs `f` on a fresh thread, so that the per-thread answer of
    /// `on_multi_thread_runtime` is asked anew.
    fn on_fresh_thread<R: std::marker::Send + 'static>(
        f: impl FnOnce() -> R + std::marker::Send + 'static,
    ) -> R {
        std::thread::spawn(f).join().unwrap()
    }

    /// `on_multi_thread_runtime` as a task on a fresh multi-thread runtime
    /// with `workers` workers sees it.
    fn on_a_worker_of(workers: usize) -> bool {
        on_fresh_thread(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .unwrap();
            rt.block_on(async {
                tokio::spawn(async { on_multi_thread_runtime() })
                    .await
                    .unwrap()
            })
        })
    }

    #[test]
    fn only_a_multi_thread_runtime_counts() {
        assert!(!on_fresh_thread(on_multi_thread_runtime));
        assert!(!on_fresh_thread(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async { on_multi_thread_runtime() })
        }));
        assert!(
            !on_a_worker_of(1),
            "one worker: the peer runs on this thread, so the task must yield"
        );
        assert!(on_a_worker_of(2));
    }

    #[test]
    fn tasks_join_at_once_only_on_channels_of_more_than_yield_up_to_slots_on_a_multi_thread_runtime(
    ) {
        fn joins<T: Send + 'static>(chan: Chan<T, crate::queue::Flavor<T>>) -> (bool, bool) {
            on_fresh_thread(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .build()
                    .unwrap();
                let chan = std::sync::Arc::new(chan);
                let on_worker = {
                    let chan = chan.clone();
                    rt.block_on(
                        async move { tokio::spawn(async move { chan.joins_at_once() }).await },
                    )
                };
                (on_worker.unwrap(), chan.joins_at_once())
            })
        }
        fn bounded<T>(cap: usize) -> Chan<T, crate::queue::Flavor<T>> {
            Chan::new(crate::queue::Flavor::Bounded(Ring::new(cap, "test")))
        }
        fn unbounded<T>() -> Chan<T, crate::queue::Flavor<T>> {
            Chan::new(crate::queue::Flavor::Unbounded(List::new()))
        }
        // Above YIELD_UP_TO slots or unbounded: join at once on a worker,
        // whatever the message size or handle count; yield first elsewhere.
        assert_eq!(joins(bounded::<u8>(YIELD_UP_TO + 1)), (true, false));
        assert_eq!(joins(bounded::<[u8; 64]>(1024)), (true, false));
        assert_eq!(joins(unbounded::<u8>()), (true, false));
        assert_eq!(joins(bounded::<u8>(YIELD_UP_TO)), (false, false));
        assert_eq!(joins(bounded::<[u8; 64]>(1)), (false, false));
        // Several handles on a side change nothing.
        for side in [Side::Send, Side::Recv] {
            let chan = bounded::<u8>(YIELD_UP_TO);
            chan.acquire(side);
            assert_eq!(joins(chan), (false, false), "{side:?}");
            let chan = unbounded::<u8>();
            chan.acquire(side);
            assert_eq!(joins(chan), (true, false), "{side:?}");
        }
    }

    #[test]
    fn only_blocked_senders_on_channels_of_more_than_yield_up_to_slots_spin_long() {
        fn spins<T>(chan: &Chan<T, crate::queue::Flavor<T>>) -> (bool, bool, bool) {
            (
                chan.spins_long(Line::Send),
                chan.spins_long(Line::Recv),
                chan.spins_long(Line::Closed),
            )
        }
        let bounded =
            |cap| Chan::<u8, _>::new(crate::queue::Flavor::Bounded(Ring::new(cap, "test")));
        assert_eq!(spins(&bounded(YIELD_UP_TO + 1)), (true, false, false));
        assert_eq!(spins(&bounded(1024)), (true, false, false));
        assert_eq!(spins(&bounded(YIELD_UP_TO)), (false, false, false));
        assert_eq!(spins(&bounded(1)), (false, false, false));
        // An unbounded channel's senders never wait for room.
        let unbounded = Chan::<u8, _>::new(crate::queue::Flavor::Unbounded(List::new()));
        assert_eq!(spins(&unbounded), (false, false, false));
    }
}
