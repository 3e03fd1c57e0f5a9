//! Permits for the bounded `mpsc` channel: a counting semaphore whose fast
//! path is one CAS on an atomic word, and whose slow path is a FIFO line of
//! waiters behind a mutex, with freed permits handed straight to the first
//! waiter.
//!
//! The shape is tokio's `batch_semaphore` (the semaphore behind
//! `tokio::sync::mpsc::channel`): permits are capacity, not queue positions,
//! so a held permit never blocks messages sent by others; waiters are served
//! in the order they asked, a waiter for `n` permits is handed freed permits
//! one by one until it has all `n` (nobody behind it, and no `try_acquire`,
//! can take them first), and closing fails every waiter. Two things differ:
//! the waiter line is a `VecDeque` of plain records under a `std` mutex
//! instead of an intrusive list (no `unsafe` here), and a release that finds
//! nobody waiting never takes the mutex (tokio's `release` always does).
//!
//! No channel, no queue, no `Arc`: this file only counts.

use std::collections::VecDeque;
use std::fmt;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicUsize, CachePadded, Ordering};

// The mutex guards only the slow path; loom must see it to explore the
// interleavings of waiters and releases.
#[cfg(loom)]
use loom::sync::{atomic::AtomicU64, Mutex, MutexGuard};
#[cfg(not(loom))]
use std::sync::{atomic::AtomicU64, Mutex, MutexGuard};

/// `state` bit: closed; acquires fail from now on, releases still count.
const CLOSED: usize = 1;
/// `state` bit: the waiter line is not empty (and then `permits` is 0).
const WAITERS: usize = 2;
/// Permits live above the two flag bits.
const SHIFT: usize = 2;

/// A counting semaphore with a FIFO line of waiters.
///
/// ```text
/// state:   | permits ..................... | WAITERS | CLOSED |
///            free permits (<= MAX_PERMITS)    bit 1     bit 0
///
/// invariant (I1): WAITERS is set  <=>  the line is not empty,
///                 and while it is set, permits == 0.
/// invariant (I2): permits + permits held by callers + permits assigned to
///                 the head of the line + permits a close left with the head
///                 it failed == bound (while nothing is in flight).
///
/// who changes what:
///   try_acquire   CAS permits -= n            fails on CLOSED, or if permits < n
///   release       CAS permits += n            only while WAITERS is clear;
///                                             else, under the lock, hands the
///                                             permits to the line (slow path)
///   enqueue       under the lock: CAS takes all free permits for the new head
///                 and sets WAITERS, or (WAITERS already set) joins the back
///   close         nobody waiting: CAS sets CLOSED (no lock); else
///                 under the lock: fetch_or CLOSED, fail the whole line, leave
///                 the head's partial permits with it (given back when it is
///                 polled or dropped), clear WAITERS
/// ```
///
/// WAITERS changes only under the lock, and every CAS that adds permits
/// checks it in the same atomic step, so a release can never add permits
/// "behind the back" of a waiter that just joined: whichever comes first in
/// `state`'s modification order, the other sees it (I1 holds at every step).
/// That is what makes the hand-off exact: while anyone waits, `permits` reads
/// 0, `try_acquire` fails, and `capacity()` is 0, as in tokio.
pub(crate) struct Semaphore {
    /// See the diagram above. On its own cache line: senders CAS it on every
    /// send and the receiver on every receive.
    state: CachePadded<AtomicUsize>,
    /// The permit count the semaphore was made with.
    bound: usize,
    /// Every waiter id below this has left the line (served in full,
    /// cancelled, or -- ids from `Line::failed_from` up -- failed by a
    /// close): the id of the head of the line, or `Line::next_id` when it is
    /// empty. Written under the lock; read without it by a woken waiter, so
    /// that telling it "served" takes no lock (tokio's waiter node state does
    /// the same). `close` does not move it, but an `assign` after a close
    /// can (a release that saw WAITERS before the close and took the lock
    /// after it finds the line emptied, and marks every id below
    /// `next_id` served). A failed waiter that reads such a value also sees
    /// CLOSED: the close happened before that store, which its Acquire load
    /// reads, so `poll_waiter`'s check of CLOSED, after that load, fails it.
    served_below: AtomicU64,
    /// The waiter line (slow path only).
    line: Mutex<Line>,
}

/// The waiters, oldest first. Ids are handed out in increasing order, so the
/// line is sorted by id and a waiter finds its record by binary search.
struct Line {
    waiters: VecDeque<Waiter>,
    /// Permits already handed to `waiters[0]` (partial assignment).
    head_assigned: usize,
    /// The id the next waiter gets.
    next_id: u64,
    /// Set by `close`: the id of the first waiter it failed. Every id below
    /// it that is no longer in the line was served in full before the close.
    failed_from: u64,
    /// Permits the close found handed to the head of the line (waiter
    /// `failed_from`): still that waiter's until it is polled or dropped,
    /// as in tokio, so the semaphore is not idle before then.
    failed_partial: usize,
}

/// One waiter's record in the line.
struct Waiter {
    id: u64,
    /// Permits it asked for, `1..=bound`.
    needed: usize,
    waker: Waker,
}

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Fewer free permits than asked for (or others wait in line).
    NoPermits,
}

/// The semaphore was closed before the permits could be acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

/// Wakers collected under the lock and woken after it is released, so a
/// waker that runs code synchronously cannot deadlock on the line.
struct WakeList {
    wakers: [Option<Waker>; WakeList::CAP],
    len: usize,
}

impl WakeList {
    const CAP: usize = 16;

    #[inline(always)]
    fn new() -> Self {
        Self {
            wakers: Default::default(),
            len: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.len == Self::CAP
    }

    fn push(&mut self, waker: Waker) {
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    fn wake_all(&mut self) {
        for waker in self.wakers[..self.len].iter_mut() {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }
}

impl Semaphore {
    /// The most permits a semaphore can have: tokio's
    /// `Semaphore::MAX_PERMITS`, which leaves room for the flag bits.
    pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

    /// Panics, with tokio's message, if `permits > MAX_PERMITS`.
    #[track_caller]
    #[inline(always)]
    pub(crate) fn check_permits(permits: usize) {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({})",
            Self::MAX_PERMITS
        );
    }

    /// A semaphore with `permits` free permits.
    ///
    /// # Panics
    /// If `permits > MAX_PERMITS` ([`Self::check_permits`]).
    #[track_caller]
    #[inline(always)]
    pub(crate) fn new(permits: usize) -> Self {
        Self::check_permits(permits);
        Self {
            state: CachePadded(AtomicUsize::new(permits << SHIFT)),
            bound: permits,
            served_below: AtomicU64::new(0),
            line: Mutex::new(Line {
                waiters: VecDeque::new(),
                head_assigned: 0,
                next_id: 0,
                failed_from: u64::MAX,
                failed_partial: 0,
            }),
        }
    }

    /// The permit count the semaphore was made with.
    pub(crate) fn bound(&self) -> usize {
        self.bound
    }

    /// Free permits right now (a snapshot): 0 while anyone waits.
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::SeqCst) >> SHIFT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// Every permit is back: none held, none assigned to a waiter.
    ///
    /// Ordering: SeqCst load; the channel's receiver reads it after raising
    /// its waiting flag, and pairs it with the SeqCst RMW of [`release`]
    /// (store-buffering pattern, see notify.rs).
    ///
    /// [`release`]: Self::release
    pub(crate) fn is_idle(&self) -> bool {
        self.available() == self.bound
    }

    /// Takes `n` permits if that many are free, without waiting.
    ///
    /// Never jumps the line: while anyone waits, no permit is free (I1), so
    /// this fails for any `n >= 1`.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        debug_assert!(n <= self.bound);
        let need = n << SHIFT;
        // Ordering: Relaxed first guess; the CAS below checks it.
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if cur >> SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            if n == 0 {
                return Ok(());
            }
            // Ordering: Acquire on success pairs with the Release part of
            // the RMW in `release` (and every RMW after it continues that
            // release sequence): whatever the releaser did before giving the
            // permit back -- the receiver's pop freeing a slot -- happens
            // before what we do with the permit. Relaxed on failure: retry.
            match self.state.compare_exchange_weak(
                cur,
                cur - need,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Gives back `n` permits: to the waiters first, oldest first, and the
    /// rest to the free count. Works on a closed semaphore too.
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let add = n << SHIFT;
        // Ordering: Relaxed first guess; the CAS below checks it.
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & WAITERS != 0 {
                return self.release_slow(n);
            }
            // Ordering: SeqCst on success. Release is what acquirers need
            // (see `try_acquire`); SeqCst because the channel also uses this
            // RMW as one half of a store-buffering pair: a permit dropped
            // after `Receiver::close` releases, then SeqCst-loads the
            // receiver's waiting flag, while the receiver SeqCst-RMWs that
            // flag, then SeqCst-loads `state` (`is_idle`). Relaxed on
            // failure: retry.
            match self.state.compare_exchange_weak(
                cur,
                cur + add,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    #[cold]
    fn release_slow(&self, n: usize) {
        let line = self.lock();
        self.assign(line, n);
    }

    /// Hands `n` permits to the head of the line, then to the next waiter,
    /// and so on; wakes every waiter served in full (after unlocking); adds
    /// what is left to the free count and clears WAITERS once the line is
    /// empty. Called with the lock held; releases it.
    fn assign<'a>(&'a self, mut line: MutexGuard<'a, Line>, mut n: usize) {
        let mut wakers = WakeList::new();
        loop {
            while n > 0 && !wakers.is_full() {
                let Some(needed) = line.waiters.front().map(|w| w.needed) else {
                    break;
                };
                let give = (needed - line.head_assigned).min(n);
                line.head_assigned += give;
                n -= give;
                if line.head_assigned == needed {
                    line.head_assigned = 0;
                    if let Some(served) = line.waiters.pop_front() {
                        wakers.push(served.waker);
                    }
                }
            }
            let done = n == 0 || line.waiters.is_empty();
            self.mark_served(&line);
            if line.waiters.is_empty() {
                // The line emptied: the leftover permits become free and
                // WAITERS goes, in one step (I1). Only releases, closes and
                // failing acquires touch `state` now: the CAS loop absorbs
                // a concurrent close.
                // Ordering: SeqCst, as for the fast path of `release`.
                let _ = self
                    .state
                    .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |cur| {
                        Some((cur & !WAITERS) + (n << SHIFT))
                    });
                n = 0;
            }
            drop(line);
            wakers.wake_all();
            if done {
                return;
            }
            // More waiters to serve than one wake list holds: go on after
            // waking these. WAITERS is still set, so nobody else takes the
            // `n` permits we carry meanwhile.
            line = self.lock();
        }
    }

    /// Closes the semaphore: acquires fail from now on, and every waiter is
    /// woken to fail. Permits handed to the head of the line so far stay
    /// its own until it is polled or dropped (see [`Line::failed_partial`]),
    /// as in tokio: a receiver waiting for every permit to come back is not
    /// told the channel is drained while a waiter still holds some. `true`
    /// if this call closed it.
    pub(crate) fn close(&self) -> bool {
        // Nobody waits (WAITERS clear): the line is empty (I1), and it
        // stays so once CLOSED is set in the same atomic step, since a
        // waiter joins only through an `enqueue` CAS, which then sees
        // CLOSED. Closing is that one RMW: no lock, no line to fail. Every
        // reader of CLOSED gets the same answer from a close without the
        // lock as from one with it: `failed_from` stays at `u64::MAX`, so
        // every id not in line counts as served in full, as it was.
        // Ordering: Relaxed first guess; SeqCst on success, like every RMW
        // on `state`.
        let mut cur = self.state.load(Ordering::Relaxed);
        while cur & (CLOSED | WAITERS) == 0 {
            match self.state.compare_exchange_weak(
                cur,
                cur | CLOSED,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
        if cur & CLOSED != 0 {
            return false;
        }
        self.close_waiting()
    }

    /// [`Semaphore::close`] with waiters in line: under the lock.
    #[cold]
    fn close_waiting(&self) -> bool {
        let mut line = self.lock();
        // Ordering: SeqCst, like every RMW on `state` (single total order
        // with the releases and the receiver's checks).
        let before = self.state.fetch_or(CLOSED, Ordering::SeqCst);
        if before & CLOSED != 0 {
            return false;
        }
        line.failed_from = line.waiters.front().map_or(line.next_id, |w| w.id);
        line.failed_partial = std::mem::take(&mut line.head_assigned);
        let failed = std::mem::take(&mut line.waiters);
        debug_assert!(
            before & WAITERS != 0 || failed.is_empty(),
            "I1 broken: WAITERS clear with waiters in line"
        );
        if before & WAITERS != 0 {
            // Ordering: SeqCst, as above. The line is empty now: clear
            // WAITERS (I1; I2 counts the failed head's permits as held).
            // When it was clear (the line emptied since `close` looked), the
            // line was empty (I1) and stays so: only a holder of the lock
            // sets WAITERS. Then there is nothing to do.
            let _ = self
                .state
                .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |cur| {
                    Some(cur & !WAITERS)
                });
        }
        drop(line);
        for waiter in failed {
            waiter.waker.wake();
        }
        true
    }

    /// Starts acquiring `n` permits (`n <= bound`): poll the [`Acquire`].
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        debug_assert!(n <= self.bound);
        Acquire {
            sem: self,
            n,
            step: Step::Start,
        }
    }

    /// Publishes the head of the line (see `served_below`); under the lock.
    fn mark_served(&self, line: &Line) {
        let head = line.waiters.front().map_or(line.next_id, |w| w.id);
        // Ordering: Release pairs with the Acquire load in `poll_waiter`.
        self.served_below.store(head, Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, Line> {
        // Poisoning is ignored: no user code runs under the lock (wakers
        // are cloned before it is taken, and woken and dropped after it is
        // let go), so nothing outside this file can panic while it is held.
        self.line.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Slow path of an acquire that found too few permits: under the lock,
    /// tries once more, else joins the line. `Ok(None)`: acquired now;
    /// `Ok(Some(id))`: waiting as `id`.
    #[cold]
    fn enqueue(&self, n: usize, waker: &Waker) -> Result<Option<u64>, Closed> {
        // Cloned before anything changes: a clone runs the waker's own code,
        // and one that panicked below would leave permits assigned to a
        // head of the line that never joined. Declared before the lock's
        // guard, so a clone not needed is dropped after the lock is let go.
        let waker = waker.clone();
        let mut line = self.lock();
        // Ordering: Relaxed first guess; the CAS below checks it.
        let mut cur = self.state.load(Ordering::Relaxed);
        let taken = loop {
            if cur & CLOSED != 0 {
                return Err(Closed);
            }
            if cur & WAITERS != 0 {
                // Others wait: no permit is free (I1); join the back.
                break 0;
            }
            let free = cur >> SHIFT;
            let (next, taken) = if free >= n {
                (cur - (n << SHIFT), n)
            } else {
                // Become the head of the line with every free permit.
                ((cur & CLOSED) | WAITERS, free)
            };
            // Ordering: AcqRel on success: Acquire for the permits we take
            // (as in `try_acquire`); Release so the fast path of a release
            // that then sees WAITERS (and takes the lock) is ordered after
            // us. Relaxed on failure: retry.
            match self
                .state
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) if taken == n => return Ok(None),
                Ok(_) => break taken,
                Err(actual) => cur = actual,
            }
        };
        if line.waiters.is_empty() {
            line.head_assigned = taken;
        }
        let id = line.next_id;
        line.next_id += 1;
        line.waiters.push_back(Waiter {
            id,
            needed: n,
            waker,
        });
        Ok(Some(id))
    }

    /// Polls a waiter already in line. As in tokio, a closed semaphore fails
    /// even a waiter that was served before the close but has not seen it
    /// yet; its permits go back.
    fn poll_waiter(&self, id: u64, n: usize, waker: &Waker) -> Poll<Result<(), Closed>> {
        // Ordering: Acquire pairs with the Release store in `mark_served`:
        // the permits handed to us under the lock -- and what their
        // releasers did before giving them back -- happen before our use.
        // The state load may be stale: then the close comes after this poll.
        if id < self.served_below.load(Ordering::Acquire)
            && self.state.load(Ordering::SeqCst) & CLOSED == 0
        {
            return Poll::Ready(Ok(()));
        }
        // A new waker is cloned with the lock let go (a clone runs the
        // waker's own code, which may release permits of this very
        // semaphore), and the line is looked at again when it is stored.
        let mut fresh = None;
        loop {
            let mut line = self.lock();
            // Ordering: Relaxed. With waiters in line CLOSED is set only
            // under the lock we hold; a close without it (nobody in line)
            // that this load misses comes after this poll, and one it sees
            // fails this waiter, not in line, with all its `n` permits
            // (`failed_from` is `u64::MAX`): served in full before the
            // close, given back.
            if self.state.load(Ordering::Relaxed) & CLOSED != 0 {
                let back = Self::failed_holds(&mut line, id, n);
                drop(line);
                self.release(back);
                return Poll::Ready(Err(Closed));
            }
            let Ok(i) = line.waiters.binary_search_by_key(&id, |w| w.id) else {
                // Not in line and not failed by a close: served in full.
                return Poll::Ready(Ok(()));
            };
            let slot = &mut line.waiters[i].waker;
            if slot.will_wake(waker) {
                return Poll::Pending;
            }
            match fresh.take() {
                Some(fresh) => {
                    // The old waker is dropped after the lock is let go,
                    // for the same reason.
                    let old = std::mem::replace(slot, fresh);
                    drop(line);
                    drop(old);
                    return Poll::Pending;
                }
                None => {
                    drop(line);
                    fresh = Some(waker.clone());
                }
            }
        }
    }

    /// Takes waiter `id` (asking for `n`) out of the line for good, giving
    /// back whatever it was handed. `true` if permits went back.
    fn leave(&self, id: u64, n: usize) -> bool {
        let mut line = self.lock();
        match line.waiters.binary_search_by_key(&id, |w| w.id) {
            Ok(i) => {
                // Its waker is dropped once the lock is let go: a waker's
                // drop runs its own code.
                let gone = line.waiters.remove(i);
                let partial = if i == 0 {
                    self.mark_served(&line);
                    std::mem::take(&mut line.head_assigned)
                } else {
                    0
                };
                if partial > 0 || line.waiters.is_empty() {
                    // Pass the partial permits on to the new head, and keep
                    // I1 if the line emptied.
                    self.assign(line, partial);
                } else {
                    drop(line);
                }
                drop(gone);
                partial > 0
            }
            Err(_) => {
                // Ordering: Relaxed: with waiters in line CLOSED is set
                // only under the lock; a close without it, seen or not,
                // gives the same `back` (`failed_from` is `u64::MAX`).
                let closed = self.state.load(Ordering::Relaxed) & CLOSED != 0;
                // Served in full but never polled (all `n`), or failed by a
                // close while it held some: pass them on.
                let back = if closed {
                    Self::failed_holds(&mut line, id, n)
                } else {
                    n
                };
                drop(line);
                self.release(back);
                back > 0
            }
        }
    }

    /// After a close, the permits waiter `id` (asking for `n`), no longer
    /// in line, still holds, taken off its record: all `n` if it was served
    /// before the close, what it had been handed if the close failed it at
    /// the head of the line (once), else none. Under the lock.
    fn failed_holds(line: &mut Line, id: u64, n: usize) -> usize {
        if id < line.failed_from {
            n
        } else if id == line.failed_from {
            std::mem::take(&mut line.failed_partial)
        } else {
            0
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::SeqCst);
        f.debug_struct("Semaphore")
            .field("permits", &(state >> SHIFT))
            .field("bound", &self.bound)
            .field("closed", &(state & CLOSED != 0))
            .field("waiters", &(state & WAITERS != 0))
            .finish()
    }
}

/// Where an [`Acquire`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Not polled yet.
    Start,
    /// In line as this id (or served and not yet told).
    Waiting(u64),
    /// Holds its permits; [`Acquire::take`] hands them to the caller.
    Acquired,
    /// Finished: failed, or its permits were taken. Holds nothing.
    Done,
}

/// An acquire of `n` permits in progress. Poll it with [`poll`]; once it
/// returns `Ready(Ok)`, call [`take`] to own the permits. Dropping it gives
/// back whatever it holds and leaves the line (cancel safety).
///
/// [`poll`]: Acquire::poll
/// [`take`]: Acquire::take
#[derive(Debug)]
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    n: usize,
    step: Step,
}

impl Acquire<'_> {
    /// Tries the fast path, then waits in line. `Ready(Ok)` means the
    /// permits are held by this acquire until [`take`](Self::take); polling
    /// again returns `Ready(Ok)` again, or, if the semaphore has closed
    /// since, gives them back and returns `Ready(Err)` (as tokio's
    /// semaphore answers a closed one first).
    #[inline]
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        // A first poll's try inline: permits free (the common case), or
        // closed. Only a first poll that finds too few permits, and later
        // polls, go out of line.
        if let Step::Start = self.step {
            match self.sem.try_acquire(self.n) {
                Ok(()) => {
                    self.step = Step::Acquired;
                    return Poll::Ready(Ok(()));
                }
                Err(TryAcquireError::Closed) => {
                    self.step = Step::Done;
                    return Poll::Ready(Err(Closed));
                }
                Err(TryAcquireError::NoPermits) => {}
            }
        }
        self.poll_slow(cx)
    }

    /// [`Acquire::poll`] past its inline try: queues a first poll that
    /// found too few permits (`enqueue` looks once more, under the line's
    /// lock), polls a waiting one, or answers from a finished step.
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        let result = match self.step {
            Step::Acquired if self.sem.is_closed() => {
                self.cancel_slow();
                Err(Closed)
            }
            Step::Acquired => return Poll::Ready(Ok(())),
            Step::Done => return Poll::Ready(Err(Closed)),
            Step::Start => match self.sem.enqueue(self.n, cx.waker()) {
                Ok(None) => Ok(()),
                Ok(Some(id)) => {
                    self.step = Step::Waiting(id);
                    return Poll::Pending;
                }
                Err(closed) => Err(closed),
            },
            Step::Waiting(id) => match self.sem.poll_waiter(id, self.n, cx.waker()) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r,
            },
        };
        self.step = if result.is_ok() {
            Step::Acquired
        } else {
            Step::Done
        };
        Poll::Ready(result)
    }

    /// Hands the acquired permits to the caller, who must give them back
    /// with [`Semaphore::release`].
    pub(crate) fn take(&mut self) {
        debug_assert_eq!(self.step, Step::Acquired);
        self.step = Step::Done;
    }

    /// Gives back whatever this acquire holds or was handed, and leaves the
    /// line; `true` if permits went back. Idempotent; `Drop` calls it.
    #[inline]
    pub(crate) fn cancel(&mut self) -> bool {
        // Inline: nearly every acquire is cancelled finished (its permits
        // taken) or never polled, which holds nothing to give back.
        if let Step::Start | Step::Done = self.step {
            self.step = Step::Done;
            return false;
        }
        self.cancel_slow()
    }

    /// [`Acquire::cancel`] of an acquire that holds permits or a place.
    #[inline(never)]
    fn cancel_slow(&mut self) -> bool {
        match std::mem::replace(&mut self.step, Step::Done) {
            Step::Start | Step::Done => false,
            Step::Acquired => {
                self.sem.release(self.n);
                self.n > 0
            }
            Step::Waiting(id) => self.sem.leave(id, self.n),
        }
    }
}

impl Drop for Acquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.cancel();
    }
}
