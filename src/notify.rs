//! Waiting: an `event_listener::Event` plus a count of the waiters on it that
//! no notifier has claimed yet, so that nobody pays for a notification when
//! nobody waits, or when every waiter already has a wake-up on its way; and
//! in front of the event, one waker slot (the line's first place, see
//! [`First`]) so that a lone waiter parks without allocating a listener.
//!
//! This file knows nothing of queues. The protocol that makes the count safe
//! to read without a lock lives half here and half in the queue's ordering:
//!
//! ```text
//! notifier (after a push or pop)       waiter (after a failed try)
//!   RMW on the queue position  (SeqCst)   listen on the Event
//!   load idle                  (SeqCst)   RMW idle += 1           (SeqCst)
//!   idle != 0 => claim one                load the queue position (SeqCst)
//!     (idle -= 1), Event::notify          still full/empty => wait
//! ```
//!
//! This is the store-buffering pattern with all four accesses `SeqCst`: the
//! C++20 model forbids both loads from missing the other side's RMW. So either
//! the notifier sees the waiter (and notifies a listener that is already
//! registered, because `listen` came first), or the waiter's re-check sees the
//! new position and it does not wait. No fence is needed in the real build
//! (on x86 the RMWs are full barriers already); `sync::seqcst_edge` adds one
//! for loom, which models `SeqCst` accesses only as `AcqRel`. This is the same
//! idea as crossbeam-channel's `SyncWaker::is_empty`, without its mutex.
//!
//! **Claims.** `idle` counts listeners that no notifier has claimed: a
//! notifier takes one off before it notifies, so the sends that follow the
//! first one into a channel with one parked receiver cost a load each, not a
//! trip through the event's lock. The invariant is
//! `idle + claims in flight + joins in flight >= unnotified listeners`
//! (a join is in flight between its `listen` and its `fetch_add`), so a
//! waiting listener always has a claim, a count a notifier will see, or a
//! joiner that will re-check and pass a wake-up on:
//!
//! - a notified waiter (its listener fired) leaves `idle` alone: its
//!   notifier already took it off;
//! - a waiter that leaves with a notification it did not see (its re-check
//!   succeeded after a claim woke it, or its future was dropped) takes
//!   nothing off, since its notifier did, and passes the wake-up on with a
//!   claim of its own ([`Waiters::leave`]): to the first place, else the
//!   event's next unnotified listener. Its listener is discarded, not
//!   dropped, since event-listener's own passing-on stays within the
//!   event's line and the next waiter may hold the first place;
//! - a waiter that leaves unnotified takes nothing off either: its count
//!   stays, one too high, until a claim spends it on nobody (a compare-
//!   exchange and two loads: the event's lock is skipped when nobody is in
//!   its line). Taking one off, as this crate did until the loom model
//!   `a_place_marked_while_taken_wakes_its_taker` found the race, is wrong:
//!   a claim in flight may already have taken this waiter's count and be
//!   about to notify nobody, and the decrement then takes the count of a
//!   waiter that joined meanwhile, who sleeps through the next operation;
//! - a claim that finds no unnotified listener left (its waiter left first)
//!   notifies nobody, which the invariant allows;
//! - a claim may notify a listener whose join is still in flight (event-
//!   listener wakes the first unnotified listener in line, counted or not),
//!   leaving a counted waiter behind it unnotified with `idle` at 0. That
//!   joiner's re-check comes after the claiming push in the SeqCst order, so
//!   it succeeds (unless another receiver took that message first, and then
//!   nobody needs the wake-up), and its `leave` passes the unseen
//!   notification on to the waiter behind it: the joins-in-flight term of
//!   the invariant;
//! - `notify_all` (close) wakes everyone without claiming, so `idle` stays
//!   too high after a close: needless notifications, never a lost one.
//!
//! So the count may run high, never low.
//!
//! **The first place.** A waiter takes [`First`] only if it finds nobody
//! counted, so whoever holds it joined before everyone in the event's line,
//! and waking it first keeps the line's order. It counts as a listener in
//! all of the above: it joins (takes the place, then counts itself) before its
//! re-check, a claim wakes it before anyone in the event's line, and a
//! wake-up passed on reaches it before the event's line too.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use event_listener::{Event, EventListener, IntoNotification, Listener};

use crate::sync::{seqcst_edge, AtomicUsize, Backoff, Ordering, UnsafeCell};

/// One side's waiting room: senders waiting for room, or receivers waiting
/// for a message.
///
/// Its owner keeps it on a cache line of its own (`CachePadded<Waiters>`):
/// the other side reads `idle` after every successful operation, and
/// everything else here is written only by waiters and their notifiers,
/// who write `idle` too. One line per room, not one for `idle` and one for
/// the rest: a `bounded` channel has four rooms, and its creation writes
/// and allocates every byte of them.
pub(crate) struct Waiters {
    event: Event,
    /// Registered listeners no notifier has claimed (see the module docs).
    idle: AtomicUsize,
    /// Listeners in the event's line (not the first place): a claim with
    /// nobody there skips the event's lock. Raised before a listener
    /// counts itself in `idle`, so a claim that took that count (Acquire)
    /// sees it; lowered once the listener is gone. Too high only costs a
    /// trip through the lock.
    listening: AtomicUsize,
    /// The first waiter's place, taken before the event's line (see
    /// [`First`]).
    first: First,
}

/// One place in a [`Waiters`] line that costs no allocation and no lock: a
/// waker slot owned by whoever the state word says. A waiter that joins
/// while it is free and nobody else is counted takes it; everyone else
/// joins the event, behind it, so waking it first keeps the line's order.
/// An event listener costs an allocation, a reference count and two trips
/// through the event's lock (and a task's listener a [`Relay`], one more
/// allocation); with one waiter per side, as in SPSC and ping-pong, nobody
/// pays that.
///
/// It follows the event's rules: a waiter in it is counted in `idle` like
/// a listener, a notifier that claimed one wakes it before the event, and
/// a waiter that leaves with a wake-up it did not see passes it on to the
/// event (as event-listener does when a notified listener is dropped).
///
/// **The state word.** `state` says who may touch `slot`:
///
/// ```text
/// FREE --take--> BUSY --> WAITING --notify--> WAKING --> NOTIFIED --poll/release--> FREE
///                 |  ^       |  \--release--> BUSY --> FREE
///        notify   |  \-poll-/
///                 v
///            BUSY_NOTIFIED --(holder)--> NOTIFIED, or FREE when a poll sees it
/// ```
///
/// - The holder owns the slot in `BUSY` (taking the place, storing a new
///   waker, or giving the place back); a notifier owns it in `WAKING`
///   (taking the waker out to wake it). Each enters its state by a
///   compare-exchange with `Acquire` and leaves it with a `Release` store or
///   exchange, so every access to the slot happens-after the one before it.
/// - Nobody else touches the slot; nobody waits on a lock. The holder waits
///   only in `poll` and `release`, and only while a notifier is in
///   `WAKING`, which takes a waker out of an `Option` and nothing else (it
///   wakes after leaving), so the wait is a few instructions long unless the
///   notifier's thread is preempted in them.
/// - A notifier that finds the holder `BUSY` marks it `BUSY_NOTIFIED`
///   instead of waiting: the holder, running, sees that when it leaves
///   `BUSY` and needs no waker. With a lock, that notifier would have waited
///   for the holder and then woken it: the same outcome.
/// - Between holders the slot is empty: a notifier takes the waker out, and
///   a holder that leaves unnotified takes its own out, so a finished task's
///   waker is not kept alive by the channel.
///
/// Per wait this is two compare-exchanges (the holder's `take`, the
/// notifier's `WAITING -> WAKING`) and plain stores, where the lock took
/// six read-modify-writes (three lock-unlock pairs).
struct First {
    /// [`FREE`], [`BUSY`], [`WAITING`], [`WAKING`], [`NOTIFIED`] or
    /// [`BUSY_NOTIFIED`].
    state: AtomicUsize,
    /// The waker of the waiter in the place; see the state word above for
    /// who may touch it.
    slot: UnsafeCell<Option<std::task::Waker>>,
}

// SAFETY: the slot is reached only by the one thread whose compare-exchange
// moved `state` into BUSY (the holder) or WAKING (a notifier), and each
// hand-over between them is a Release store read by an Acquire
// compare-exchange or load (see `First`'s docs), so the slot is never
// accessed from two threads at once. `Waker` is `Send + Sync`.
unsafe impl Sync for First {}

/// A waker slot under a lock, for [`OneWaiter`]. A poisoned lock is taken
/// anyway: the slot holds an `Option<Waker>`, which no panic can leave
/// half-written.
struct WakerSlot(one_waiter::Mutex<Option<std::task::Waker>>);

impl WakerSlot {
    #[inline(always)]
    fn new() -> Self {
        Self(one_waiter::Mutex::new(None))
    }

    fn lock(&self) -> one_waiter::MutexGuard<'_, Option<std::task::Waker>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A waker of the channel's own, which a task waiting behind the line's
/// first place hands to event-listener in place of its own waker.
///
/// event-listener clones, wakes and drops the wakers in its list while it
/// holds the list's lock. A task's waker runs code of its own in each of
/// those, and that code may use this very channel (send, close it, drop
/// its last handle: a waker that owns the task's future does, when its
/// executor is gone), which needs the same lock on the same thread: a
/// deadlock. The relay's code touches no lock:
/// - its clone and drop only count references (the ticket holds one, so
///   the list's copies are never the last);
/// - its wake only puts it on this thread's list of deferred wake-ups,
///   which the notifier empties with [`wake_deferred`] once
///   `Event::notify` has returned, waking the task's waker outside every
///   lock.
///
/// The task's waker is stored and replaced in the relay by the waiting task
/// ([`Relay::store`]), cloned and dropped outside the relay's lock. A
/// wake-up takes it out, as a notifier does in [`First`].
pub(crate) struct Relay {
    waker: WakerSlot,
}

impl Default for Relay {
    fn default() -> Self {
        Self {
            waker: WakerSlot::new(),
        }
    }
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

impl Relay {
    /// Stores `waker` for the next wake-up, unless the stored one wakes the
    /// same task.
    fn store(&self, waker: &std::task::Waker) {
        if self
            .waker
            .lock()
            .as_ref()
            .is_some_and(|w| w.will_wake(waker))
        {
            return;
        }
        // Cloned with the lock let go: a clone runs the waker's own code.
        // A wake-up that takes the stored waker meanwhile wakes the old
        // one, and the listener's poll, after this, sees the notification.
        let fresh = waker.clone();
        let old = self.waker.lock().replace(fresh);
        drop(old);
    }

    /// Wakes the stored waker, if any, taking it out.
    fn wake_now(&self) {
        let waker = self.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl std::task::Wake for Relay {
    fn wake(self: std::sync::Arc<Self>) {
        defer(self);
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        defer(self.clone());
    }
}

/// Relays woken on this thread (by event-listener, under its lock) whose
/// tasks' wakers are still to be woken: see [`Relay`].
type Deferred = std::cell::RefCell<std::collections::VecDeque<std::sync::Arc<Relay>>>;

#[cfg(not(loom))]
std::thread_local! {
    static DEFERRED: Deferred = const { Deferred::new(std::collections::VecDeque::new()) };
}

#[cfg(loom)]
loom::thread_local! {
    static DEFERRED: Deferred = Deferred::new(std::collections::VecDeque::new());
}

/// Wake-ups deferred by threads whose own list was gone (a thread being
/// torn down, its thread-locals destroyed, still notifying: a thread-local
/// whose destructor drops a channel's last sender closes it). A static
/// never goes away; [`wake_deferred`] empties it after its own list.
static TORN_DOWN: std::sync::Mutex<Vec<std::sync::Arc<Relay>>> = std::sync::Mutex::new(Vec::new());

/// Whether [`TORN_DOWN`] may hold a wake-up: one load on the common path.
static TORN_DOWN_PENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Defers `relay`'s wake-up to [`wake_deferred`] on this thread, or, if
/// this thread's list is gone, to [`TORN_DOWN`]: never at once, under
/// event-listener's lock.
fn defer(relay: std::sync::Arc<Relay>) {
    let mut relay = Some(relay);
    let _ = DEFERRED.try_with(|list| list.borrow_mut().push_back(relay.take().expect("once")));
    if let Some(relay) = relay {
        let mut torn_down = TORN_DOWN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        torn_down.push(relay);
        // Ordering: Release, so that a drain that sees the flag sees the
        // push; this thread's own drain follows in program order anyway.
        TORN_DOWN_PENDING.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// The first panic of a series of wake-ups, held back until all of them have
/// gone out: a waker whose `wake` panics must not stop the others (a waiter
/// behind it, or in another line, would sleep through a close).
#[derive(Default)]
pub(crate) struct Panics(Option<Box<dyn std::any::Any + Send>>);

impl Panics {
    /// Runs `wake`, keeping its panic, if any (the first one only).
    pub(crate) fn catch(&mut self, wake: impl FnOnce()) {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(wake)) {
            self.0.get_or_insert(payload);
        }
    }

    /// Raises the panic kept, if any, once every wake-up has gone out.
    pub(crate) fn raise(self) {
        if let Some(payload) = self.0 {
            std::panic::resume_unwind(payload);
        }
    }
}

/// Wakes the tasks of the relays woken on this thread, oldest first; called
/// after every `Event::notify`, outside every lock. A waker that uses the
/// channel again may defer more wake-ups meanwhile; this takes them too.
/// A waker whose `wake` panics does not stop the others: the first panic
/// is raised again once all are woken.
fn wake_deferred() {
    let mut panicked = None;
    loop {
        // The list is borrowed only to take one relay: a wake-up below may
        // come back here, or defer another.
        let next = match DEFERRED.try_with(|list| list.borrow_mut().pop_front()) {
            Ok(Some(relay)) => relay,
            _ => match take_torn_down() {
                Some(relay) => relay,
                None => break,
            },
        };
        let woken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| next.wake_now()));
        if let Err(payload) = woken {
            panicked.get_or_insert(payload);
        }
    }
    if let Some(payload) = panicked {
        std::panic::resume_unwind(payload);
    }
}

/// One relay from [`TORN_DOWN`], if any.
fn take_torn_down() -> Option<std::sync::Arc<Relay>> {
    // Ordering: Acquire pairs with the Release store in `defer`.
    if !TORN_DOWN_PENDING.load(std::sync::atomic::Ordering::Acquire) {
        return None;
    }
    let mut torn_down = TORN_DOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let relay = torn_down.pop();
    if torn_down.is_empty() {
        TORN_DOWN_PENDING.store(false, std::sync::atomic::Ordering::Relaxed);
    }
    relay
}

/// Stores `waker` in `slot` unless the stored one wakes the same task, and
/// returns the waker it replaced, for the caller to drop after it lets go
/// of the slot (a waker's drop may run any code, this channel's `close`
/// included, which would reach the slot again).
fn store_waker(
    slot: &mut Option<std::task::Waker>,
    waker: &std::task::Waker,
) -> Option<std::task::Waker> {
    match slot {
        Some(stored) if stored.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

/// Nobody holds the first place; its slot is empty.
const FREE: usize = 0;
/// The holder is writing or emptying the slot.
const BUSY: usize = 1;
/// A waiter holds the first place and waits for a wake-up; its waker is in
/// the slot.
const WAITING: usize = 2;
/// A notifier is taking the waiter's waker out of the slot.
const WAKING: usize = 3;
/// A notifier has taken the waiter's waker and woken it (or marked it while
/// it was busy); the place is the waiter's until it sees that, or leaves.
const NOTIFIED: usize = 4;
/// A notifier came while the holder was busy; the holder turns this into
/// [`NOTIFIED`] (or [`FREE`], having seen it) when it is done.
const BUSY_NOTIFIED: usize = 5;

impl First {
    #[inline(always)]
    fn new() -> Self {
        Self {
            state: AtomicUsize::new(FREE),
            slot: UnsafeCell::new(None),
        }
    }

    /// Takes the place for `waker` if it is free: `None` if it is not;
    /// `Some(owed)` if it is, with the stored waker in `owed` when a notifier
    /// marked the place meanwhile: the caller wakes it (see below) once it
    /// is counted in line, so that a wake that panics can leave the line.
    fn take(&self, waker: &std::task::Waker) -> Option<Option<std::task::Waker>> {
        // Ordering: Relaxed: a hint; the compare-exchange decides.
        if self.state.load(Ordering::Relaxed) != FREE {
            return None;
        }
        // Cloned before the place is taken: a clone runs the waker's own
        // code, and a clone that panicked in BUSY would leave the place
        // taken by nobody for good, and a notifier would spend wake-ups on
        // it (marking it) that the event's line needed.
        let waker = waker.clone();
        // Ordering: Acquire: the slot's last access (emptied by the previous
        // holder, or by a notifier) happens-before ours.
        if self
            .state
            .compare_exchange(FREE, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // SAFETY: BUSY is ours (we moved FREE -> BUSY): nobody else touches
        // the slot until we leave it (see `First`). The slot is empty
        // between holders, so the store drops nothing.
        self.slot.with_mut(|slot| unsafe { *slot = Some(waker) });
        // Notified while busy or not, the place is ours. A notification
        // that came meanwhile stays as NOTIFIED for our next look, and the
        // waker we stored is woken for it (by `join`): a notified place has
        // always had its waker woken, which lets a waiter that just joined
        // skip its first look (chan.rs, `park_loop`) and still see the
        // notification.
        Some(self.leave_busy(WAITING, NOTIFIED).err().flatten())
    }

    /// Ends the holder's BUSY: moves to `next` (`Ok`); or, if a notifier
    /// marked it meanwhile, empties the slot, moves to `marked` (NOTIFIED,
    /// or FREE for a holder that sees the mark and is done), and returns
    /// the waker it took out (`Err`), for the caller to drop.
    #[inline]
    fn leave_busy(&self, next: usize, marked: usize) -> Result<(), Option<std::task::Waker>> {
        // Ordering: Release: publishes the slot to its next owner (a
        // notifier's Acquire in `notify`, or the next holder's in `take`).
        if let Err(state) =
            self.state
                .compare_exchange(BUSY, next, Ordering::Release, Ordering::Relaxed)
        {
            debug_assert_eq!(state, BUSY_NOTIFIED, "only a notifier leaves a mark");
            // SAFETY: BUSY_NOTIFIED is still ours: a notifier that marks the
            // place never touches the slot (see `First`).
            let waker = self.slot.with_mut(|slot| unsafe { (*slot).take() });
            // Ordering: Release, as above.
            self.state.store(marked, Ordering::Release);
            return Err(waker);
        }
        Ok(())
    }

    /// Notifies the waiter in the place if it waits unnotified: `None` if
    /// nobody did; else `Some` of its waker, if it left one, for the caller
    /// to wake right away (through [`Panics`], so that a waker that panics
    /// does not stop the wake-ups after it).
    fn notify(&self) -> Option<Option<std::task::Waker>> {
        // Ordering: Relaxed: the claim that sent us here already acquired
        // whatever it needs to see (a waiter whose WAITING or BUSY we miss
        // here took the place after our claim's SeqCst load of `idle`; the
        // claim was for another waiter, or its join is in flight and its
        // re-check will see our operation: see the module docs). The slot
        // itself is acquired by the compare-exchange below.
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            let next = match state {
                WAITING => WAKING,
                BUSY => BUSY_NOTIFIED,
                // FREE: nobody; WAKING, NOTIFIED, BUSY_NOTIFIED: notified
                // already.
                _ => return None,
            };
            // Ordering: Acquire: into WAKING we read the slot the holder
            // wrote before its Release into WAITING.
            match self.state.compare_exchange_weak(
                state,
                next,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => state = now,
            }
        }
        if state == BUSY {
            return Some(None); // marked: the busy holder sees it
        }
        // SAFETY: WAKING is ours (we moved WAITING -> WAKING): nobody else
        // touches the slot until we store NOTIFIED (see `First`).
        let waker = self.slot.with_mut(|slot| unsafe { (*slot).take() });
        // Ordering: Release: the emptied slot passes to the holder.
        self.state.store(NOTIFIED, Ordering::Release);
        // Woken after the slot is given up (by the caller): a waker that
        // polls at once finds the place NOTIFIED, not a half-done notifier
        // to wait for.
        Some(waker)
    }

    /// The holder gives the place back; `true` if it had been notified.
    fn release(&self) -> bool {
        self.holder_looks(None)
    }

    /// The holder asks whether it has been notified; if not, it stores
    /// `waker` (unless the stored one wakes the same task) and waits on.
    fn poll(&self, waker: &std::task::Waker) -> bool {
        self.holder_looks(Some(waker))
    }

    /// [`First::poll`] with a waker to store, [`First::release`] without:
    /// `true` if the holder had been notified, and then (or on a release)
    /// the place is free again, its slot empty.
    fn holder_looks(&self, waker: Option<&std::task::Waker>) -> bool {
        // Ordering: Acquire: a notifier's access to the slot happens-before
        // ours, and before the next holder's (we pass it on with Release).
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            match state {
                WAITING => {
                    // Ordering: Acquire, as in `take`.
                    if let Err(now) = self.state.compare_exchange_weak(
                        WAITING,
                        BUSY,
                        Ordering::Acquire,
                        Ordering::Acquire,
                    ) {
                        state = now;
                        continue;
                    }
                    // A waker's `clone` in `store_waker` may panic: then the
                    // place goes back to WAITING, its stored waker kept.
                    let busy = LeaveBusyOnUnwind(self);
                    // SAFETY: BUSY is ours (we moved WAITING -> BUSY): nobody
                    // else touches the slot until we leave it.
                    let old = self.slot.with_mut(|slot| unsafe {
                        match waker {
                            Some(waker) => store_waker(&mut *slot, waker),
                            None => (*slot).take(),
                        }
                    });
                    std::mem::forget(busy);
                    let next = if waker.is_some() { WAITING } else { FREE };
                    let marked = self.leave_busy(next, FREE);
                    // Outside the slot's ownership: a waker's drop may run any
                    // code, this channel's `close` included.
                    drop(old);
                    return marked.is_err();
                }
                WAKING => state = self.wait_out_waking(),
                _ => {
                    debug_assert_eq!(state, NOTIFIED, "only the holder looks");
                    // Ordering: Release: the slot the notifier emptied passes
                    // to the next holder's Acquire in `take`.
                    self.state.store(FREE, Ordering::Release);
                    return true;
                }
            }
        }
    }

    /// Waits out a notifier in WAKING (a few instructions: see `First`) and
    /// returns the state it left.
    #[cold]
    fn wait_out_waking(&self) -> usize {
        let mut backoff = Backoff::default();
        loop {
            backoff.snooze();
            // Ordering: Acquire: the notifier's slot access happens-before
            // ours.
            let state = self.state.load(Ordering::Acquire);
            if state != WAKING {
                return state;
            }
        }
    }
}

/// Ends a holder's BUSY if the holder unwinds in it (a waker's `clone`
/// panicked): back to WAITING with the waker the slot still holds, or, if a
/// notifier marked the place meanwhile, to NOTIFIED, which the holder's
/// next look (or its future's drop, which passes the wake-up on) sees.
/// Forgotten on the normal path.
struct LeaveBusyOnUnwind<'a>(&'a First);

impl Drop for LeaveBusyOnUnwind<'_> {
    fn drop(&mut self) {
        // The waker a mark takes out is dropped here, outside the slot's
        // ownership, like every other.
        let _ = self.0.leave_busy(WAITING, NOTIFIED);
    }
}

/// A waiter's progress through the park protocol: it has spun (and, as a
/// task, yielded once) without success, or it holds a place in a [`Waiters`]
/// line. Hand a place back with [`Waiters::leave`], [`Waiters::poll`] or
/// [`Waiters::wait`]. A lost ticket (a waiting future leaked with
/// `mem::forget`) keeps its place and its count: a wake-up can go to it and
/// be lost to a waiter behind it, as with any channel whose waiters stand
/// in a list (async-channel's too), and its count costs needless
/// notifications after.
///
/// A ticket has no drop glue: its listener is dropped only when the ticket
/// goes back through one of those three, which every holder's `Drop` does
/// (the futures', the stream's, `mpsc`'s guard). So dropping a future that
/// never waited -- nearly every `send(..).await` and `recv().await` -- only
/// tests its ticket and calls nothing: measured with callgrind, a call to
/// `Option<Ticket>`'s drop glue per future was 9 instructions of each
/// message's send and receive. A ticket dropped while still in line would
/// leak its listener, which would then swallow a notification: debug builds
/// (Miri included) panic on that.
#[derive(Debug)]
pub(crate) struct Ticket(Stage);

#[derive(Debug)]
enum Stage {
    /// Spun and yielded; the next failure joins the line.
    Spun,
    /// In the line, counted. Given back only through [`Ticket::into_listener`].
    Listening(ManuallyDrop<Listened>),
    /// In the line's first place ([`First`]), counted.
    First,
}

/// A waiter's place in the event's line.
#[derive(Debug)]
struct Listened {
    listener: EventListener,
    /// Stands in for a task's waker in event-listener's list (see
    /// [`Relay`]); made at the task's first poll (a blocked thread never
    /// needs one). Declared after the listener, so dropped after it: the
    /// list's copies of the relay's waker go with the listener, and this
    /// drop, the relay's last but for a wake-up deferred on some thread,
    /// drops the task's waker outside every lock.
    relay: Option<std::sync::Arc<Relay>>,
}

impl Ticket {
    /// A waiter that has spun without success and should join next.
    pub(crate) fn spun() -> Self {
        Self(Stage::Spun)
    }

    /// Forgets a ticket whose first place has been given back (it holds
    /// nothing to drop; forgetting it skips the leak check).
    // Release builds have no `Drop` to skip (see `Ticket`).
    #[cfg_attr(not(debug_assertions), allow(clippy::forget_non_drop))]
    fn spend(self) {
        debug_assert!(self.is_first());
        std::mem::forget(self);
    }

    /// `true` if the waiter holds its line's first place.
    fn is_first(&self) -> bool {
        matches!(self.0, Stage::First)
    }

    /// `true` if joining stored the waiter's waker already (in the first
    /// place): polling it at once would only store the same one again. An
    /// event listener has no waker until it is polled.
    pub(crate) fn has_waker(&self) -> bool {
        self.is_first()
    }

    /// `true` while the waiter has not joined a line yet.
    pub(crate) fn is_spun(&self) -> bool {
        matches!(self.0, Stage::Spun)
    }

    /// The listener, if the waiter joined a line; the ticket is spent.
    fn into_listener(mut self) -> Option<Listened> {
        match std::mem::replace(&mut self.0, Stage::Spun) {
            // The only place a listener leaves its `ManuallyDrop`.
            Stage::Listening(listened) => Some(ManuallyDrop::into_inner(listened)),
            Stage::Spun | Stage::First => None,
        }
    }
}

/// The leak check of debug builds (see [`Ticket`]); release builds have no
/// drop glue here at all.
#[cfg(debug_assertions)]
impl Drop for Ticket {
    fn drop(&mut self) {
        let leaked = match std::mem::replace(&mut self.0, Stage::Spun) {
            // Not leaked here: the check should report, not add a leak.
            Stage::Listening(listened) => {
                // A notified listener's drop passes its wake-up on, maybe
                // to a relay, deferred: run it.
                drop(ManuallyDrop::into_inner(listened));
                wake_deferred();
                true
            }
            Stage::First => true,
            Stage::Spun => false,
        };
        if leaked && !std::thread::panicking() {
            panic!("ringchan: a waiter's ticket was dropped without being given back");
        }
    }
}

impl Default for Waiters {
    #[inline(always)]
    fn default() -> Self {
        Self::new()
    }
}

impl Waiters {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self {
            event: Event::new(),
            idle: AtomicUsize::new(0),
            listening: AtomicUsize::new(0),
            first: First::new(),
        }
    }

    /// Takes the first place for `waker` or, if it is held, registers a
    /// listener; then counts the waiter. The caller must re-check its
    /// condition after this and before waiting (see the module docs).
    /// A blocked thread passes [`thread_waker`].
    #[cold]
    pub(crate) fn join(&self, waker: &std::task::Waker) -> Ticket {
        // The first place only for a waiter that finds nobody else counted:
        // a claim wakes the place before the event's line, so a waiter
        // taking it behind others would overtake them, and one that
        // re-joined at once after every wake-up would starve them.
        // Ordering: Relaxed: a hint; a joiner in flight that it misses
        // joined at about the same moment.
        let alone = self.idle.load(Ordering::Relaxed) == 0;
        let mut owed = None;
        let stage = if let Some(marked) = alone.then(|| self.first.take(waker)).flatten() {
            owed = marked;
            Stage::First
        } else {
            // Ordering: Relaxed: published by the SeqCst count below.
            self.listening.fetch_add(1, Ordering::Relaxed);
            Stage::Listening(ManuallyDrop::new(Listened {
                listener: self.event.listen(),
                relay: None,
            }))
        };
        // Ordering: SeqCst RMW, the waiter's half of the store-buffering
        // pattern above; pairs with the SeqCst load in `notify_one`.
        self.idle.fetch_add(1, Ordering::SeqCst);
        seqcst_edge();
        let ticket = Ticket(stage);
        if let Some(waker) = owed {
            // The place was notified as we took it (see `First::take`). If
            // this task's waker panics, the waiter leaves again, passing the
            // notification on (it was another waiter's claim), before the
            // panic goes on: nobody holds the ticket to give it back.
            if let Err(payload) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()))
            {
                self.leave(ticket);
                std::panic::resume_unwind(payload);
            }
        }
        ticket
    }

    /// Gives back a ticket that has not seen its notification. A
    /// notification it had received unseen passes on to the next waiter;
    /// an unnotified waiter leaves its count for a later claim to spend
    /// (module docs).
    pub(crate) fn leave(&self, ticket: Ticket) {
        let notified = if ticket.is_first() {
            ticket.spend();
            self.first.release()
        } else {
            let Some(listened) = ticket.into_listener() else {
                return; // never joined, never counted
            };
            // Not dropped: a dropped listener passes its wake-up on within
            // the event's line only, and the next waiter may be in the
            // first place.
            let notified = listened.listener.discard();
            self.listener_gone();
            notified
        };
        if notified {
            // Its count was claimed already. The wake-up goes on as a claim
            // of another waiter's count, if anyone is counted: a waiter
            // still joining re-checks after the operation it announced.
            self.notify_slow(1);
        }
        // Nothing taken off: if nobody claimed this waiter, its count stays,
        // one too high, until a claim spends it on nobody. Taking one off
        // could race a claim in flight that already took it, and then take
        // the count of a waiter that joined meanwhile, who would sleep
        // through the next operation (found by the loom model
        // `a_place_marked_while_taken_wakes_its_taker`).
    }

    /// A listener left the event's line (fired, or discarded).
    fn listener_gone(&self) {
        // Ordering: Relaxed: see `listening`.
        self.listening.fetch_sub(1, Ordering::Relaxed);
    }

    /// Polls a held ticket; when it fires, clears `slot` (its notifier
    /// already took it off the count).
    pub(crate) fn poll(&self, slot: &mut Option<Ticket>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(Ticket(Stage::First)) = slot {
            if !self.first.poll(cx.waker()) {
                return Poll::Pending;
            }
            // Fired: the place is free again; the ticket is spent.
            if let Some(t) = slot.take() {
                t.spend();
            }
            return Poll::Ready(());
        }
        if let Some(Ticket(Stage::Listening(listened))) = slot {
            // The task's waker goes to the relay, and the relay's own waker
            // to the listener: event-listener then never runs the task's
            // waker code (see `Relay`).
            let relay = listened.relay.get_or_insert_with(Default::default);
            relay.store(cx.waker());
            let relay_waker = std::task::Waker::from(relay.clone());
            if Pin::new(&mut listened.listener)
                .poll(&mut Context::from_waker(&relay_waker))
                .is_pending()
            {
                return Poll::Pending;
            }
            // Fired: the listener has done its work; drop it.
            drop(slot.take().and_then(Ticket::into_listener));
            self.listener_gone();
        }
        Poll::Ready(())
    }

    /// Blocks the thread until the ticket fires (its notifier takes it off
    /// the count).
    pub(crate) fn wait(&self, ticket: Ticket) {
        if ticket.is_first() {
            ticket.spend(); // given back when the place fires, below
            let waker = thread_waker();
            while !self.first.poll(&waker) {
                one_waiter::thread::park();
            }
            return;
        }
        if let Some(listened) = ticket.into_listener() {
            listened.listener.wait();
            self.listener_gone();
        }
    }

    /// Wakes one more waiter, if anyone waits. A load on the fast path.
    #[inline]
    pub(crate) fn notify_one(&self) {
        self.notify_many(1);
    }

    /// Whether anyone waits unclaimed: the load of [`Waiters::notify_many`]'s
    /// fast path, for a caller that notifies several lines out of line
    /// only when one of them has waiters.
    #[inline]
    pub(crate) fn anyone_waits(&self) -> bool {
        seqcst_edge();
        // Ordering: SeqCst load, as in `notify_many` (which loads again).
        self.idle.load(Ordering::SeqCst) != 0
    }

    /// Wakes `n` more waiters, if anyone waits (after a batch).
    #[inline]
    pub(crate) fn notify_many(&self, n: usize) {
        seqcst_edge();
        // Ordering: SeqCst load, the notifier's half of the store-buffering
        // pattern; pairs with the SeqCst RMW in `join`.
        if n != 0 && self.idle.load(Ordering::SeqCst) != 0 {
            self.notify_slow(n);
        }
    }

    /// Claims up to `n` unclaimed waiters and notifies as many.
    #[cold]
    fn notify_slow(&self, n: usize) {
        // Ordering: Acquire on success: the claim may read a count newer
        // than the SeqCst load before it saw (a waiter that left and joined
        // again meanwhile), and must then see that waiter's place in line,
        // taken before its count: a claim that consumed its count without
        // seeing it waiting in the first place woke nobody (found by the
        // loom model `a_claim_that_takes_a_new_waits_count_wakes_that_wait`).
        // Relaxed on failure: nothing is claimed.
        let Ok(idle) = self
            .idle
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |idle| {
                (idle != 0).then(|| idle - idle.min(n))
            })
        else {
            return; // claimed by others meanwhile
        };
        // `additional`: every successful operation is worth one more wake-up,
        // even while earlier ones have not run yet. `relaxed`: the count
        // protocol above already orders this after the queue operation, and
        // the event's own lock orders it against `listen`.
        let mut n = idle.min(n);
        let mut panics = Panics::default();
        if let Some(notified) = self.first.notify() {
            n -= 1;
            if let Some(waker) = notified {
                panics.catch(|| waker.wake());
            }
        }
        // Ordering: Relaxed: a listener whose count we took raised
        // `listening` before it, and our Acquire claim made that visible;
        // one we missed counted itself after our load of `idle`, and its
        // re-check sees our operation.
        if n != 0 && self.listening.load(Ordering::Relaxed) != 0 {
            self.event.notify(n.additional().relaxed());
            panics.catch(wake_deferred);
        }
        panics.raise();
    }

    /// Wakes every waiter (the channel was closed).
    #[cold]
    pub(crate) fn notify_all(&self) {
        seqcst_edge();
        // Ordering: SeqCst load, the notifier's half of the store-buffering
        // pattern, as in `notify_many`: `First::notify` reads the place
        // Relaxed, relying on it. Either this load sees a joiner's SeqCst
        // count, and with it the place the joiner took before counting, or
        // the joiner counted later, and its re-check sees the operation
        // (a close) that preceded this call. Without it, Miri found a
        // sender that took the place, missed the close in its re-check,
        // and was never woken: the close read the place as still free (the
        // loom model `a_close_racing_a_join_into_the_first_place_wakes_the_
        // joiner` deadlocks without this load and its edge).
        let _counted = self.idle.load(Ordering::SeqCst);
        let mut panics = Panics::default();
        if let Some(Some(waker)) = self.first.notify() {
            panics.catch(|| waker.wake());
        }
        // Ordering: Relaxed, as in `notify_slow`: a listener whose count the
        // load above saw raised `listening` before counting itself, and the
        // SeqCst load read its RMW or a later one (every write to `idle` is
        // an RMW, so all of them continue its release sequence): we see the
        // raise. One that counted later re-checks and sees the close. So
        // nobody is in the event's line when this reads 0, and the event is
        // skipped: `Event::notify` allocates the event's state on first use,
        // which made every close (every channel's drop) allocate and free
        // one per line that nobody ever waited in.
        if self.listening.load(Ordering::Relaxed) != 0 {
            self.event.notify(usize::MAX);
            panics.catch(wake_deferred);
        }
        panics.raise();
    }

    /// How many waiters have no wake-up on its way, as far as notifiers
    /// know (a snapshot, for `Debug`): never too low, but too high after a
    /// close, which wakes without claiming, and after a waiter leaves or is
    /// woken by a wake-up passed on, until later notifications spend the
    /// extra counts.
    pub(crate) fn count(&self) -> usize {
        self.idle.load(Ordering::Relaxed)
    }
}

// Appended for `mpsc` (issue 7): the waiting room of a side that has exactly
// one waiter, the receiver of an `mpsc` channel.

/// A single waiter's waiting room: one waker slot and a flag, in the role of
/// tokio's `AtomicWaker`. The protocol is the one in the module docs, with
/// the flag for the count:
///
/// ```text
/// notifier (after a push)              the waiter (after a failed try)
///   RMW on the queue position (SeqCst)   store its waker in the slot
///   load flag                 (SeqCst)   RMW flag = 1             (SeqCst)
///   flag == 1 => swap it to 0,           load the queue position  (SeqCst)
///     take the waker, wake it            still empty => wait
/// ```
///
/// Registering costs one uncontended lock and one swap (and a store to
/// the waiter's own `registered` flag), where joining
/// [`Waiters`] costs an event listener (an allocation and several locks);
/// notifying costs one load while the flag is down. The slot holds the
/// waker of the latest registration only, so only the latest is woken.
///
/// Like [`Waiters`], kept on a cache line of its own by its owner.
pub(crate) struct OneWaiter {
    /// 1 while a registration waits for a wake-up. Read by every notifier.
    waiting: AtomicUsize,
    /// 1 once the waiter has registered: until then the slot is empty, and
    /// [`OneWaiter::clear`] skips its lock. Only the waiter touches it (the
    /// `mpsc` receiver, through its `&mut self` receive methods and its
    /// `Drop`), so its accesses are ordered without atomics' help.
    registered: AtomicUsize,
    /// The waker of the latest registration; taken by the notifier.
    waker: WakerSlot,
}

/// The std/loom switch for [`OneWaiter`]'s lock and thread parking.
pub(crate) mod one_waiter {
    #[cfg(loom)]
    pub(crate) use loom::{
        sync::{Mutex, MutexGuard},
        thread,
    };
    #[cfg(not(loom))]
    pub(crate) use std::{
        sync::{Mutex, MutexGuard},
        thread,
    };
}

impl OneWaiter {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            registered: AtomicUsize::new(0),
            waker: WakerSlot::new(),
        }
    }

    /// Stores `waker`, then raises the flag. The caller must re-check its
    /// condition after this and before waiting (see the table above).
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        // Ordering: Relaxed: only the waiter reads or writes it. A plain
        // store: the swap on `waiting` below writes this line anyway.
        self.registered.store(1, Ordering::Relaxed);
        // Cloned before the lock is taken: a clone runs the waker's own
        // code, which may send on or close this channel, and its wake-up
        // would then wait for this lock on this very thread. After a
        // wake-up the slot is empty (the notifier took the waker), so a
        // clone is needed anyway; it is wasted (a clone and a drop) only
        // when the stored waker still wakes the same task: a wait that
        // ended without a wake-up, or a poll that was not woken (a
        // `select!` round, a thread's spurious unpark).
        let waker = waker.clone();
        let replaced = self.waker.lock().replace(waker);
        // Outside the lock, as in `First`.
        drop(replaced);
        // Ordering: SeqCst RMW, the waiter's half of the store-buffering
        // pattern; pairs with the SeqCst load in `notify`.
        self.waiting.swap(1, Ordering::SeqCst);
        seqcst_edge();
    }

    /// The waiter stopped waiting (its condition came true): lowers the flag
    /// so notifiers stop paying for it.
    #[inline]
    pub(crate) fn unregister(&self) {
        // Ordering: Relaxed: only the waiter raises the flag, and a flag a
        // notifier still sees raised costs one needless, harmless wake-up.
        if self.waiting.load(Ordering::Relaxed) != 0 {
            self.waiting.store(0, Ordering::Relaxed);
        }
    }

    /// The waiter is gone for good: lowers the flag and drops the stored
    /// waker (a task's waker keeps the task's memory alive). Called by the
    /// waiter itself.
    ///
    /// A waiter that never registered stored nothing, so it skips the lock:
    /// most channels' receivers are dropped without ever having waited, and
    /// the lock and unlock were one of the larger costs of dropping a
    /// channel (`perf`, tokio's `send/medium_1000` scenario: 2.8% of it).
    pub(crate) fn clear(&self) {
        self.unregister();
        // Ordering: Relaxed: written only by this waiter, in `register`,
        // which happened before this call on the waiter's side.
        if self.registered.load(Ordering::Relaxed) == 0 {
            return;
        }
        let waker = self.waker.lock().take();
        // Dropped outside the lock, as in `register`.
        drop(waker);
    }

    /// Wakes the waiter if it waits. A load on the fast path.
    #[inline]
    pub(crate) fn notify(&self) {
        seqcst_edge();
        // Ordering: SeqCst load, the notifier's half of the store-buffering
        // pattern; pairs with the SeqCst RMW in `register`.
        if self.waiting.load(Ordering::SeqCst) != 0 {
            self.notify_slow();
        }
    }

    #[cold]
    fn notify_slow(&self) {
        // Ordering: SeqCst, as the load: one notifier per registration
        // takes the waker. A registration that comes between this swap and
        // the `take` below gets its waker taken and woken: still a wake-up
        // after it, which is all it needs.
        if self.waiting.swap(0, Ordering::SeqCst) != 0 {
            let waker = self.waker.lock().take();
            // Woken outside the lock: a waker that polls at once cannot
            // deadlock on the slot.
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// A waker that unparks the current thread, for blocking waits on a
/// [`OneWaiter`] (and any future run to completion on a thread). Cached
/// per thread; under loom, made afresh (loom threads share OS threads).
pub(crate) fn thread_waker() -> std::task::Waker {
    /// Unparks the thread that made it.
    struct Unpark(one_waiter::thread::Thread);

    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }

    fn make() -> std::task::Waker {
        std::task::Waker::from(std::sync::Arc::new(Unpark(one_waiter::thread::current())))
    }

    #[cfg(not(loom))]
    {
        thread_local! {
            static WAKER: std::task::Waker = make();
        }
        WAKER.with(std::task::Waker::clone)
    }
    #[cfg(loom)]
    make()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    fn poll(w: &Waiters, slot: &mut Option<Ticket>) -> Poll<()> {
        poll_by(w, slot, Waker::noop())
    }

    /// [`poll`] with the task's waker `waker`.
    fn poll_by(w: &Waiters, slot: &mut Option<Ticket>, waker: &Waker) -> Poll<()> {
        w.poll(slot, &mut Context::from_waker(waker))
    }

    /// Two waiters in line (each polled once, so each is registered).
    fn two_in_line(w: &Waiters) -> (Option<Ticket>, Option<Ticket>) {
        let (mut a, mut b) = (Some(w.join(Waker::noop())), Some(w.join(Waker::noop())));
        assert!(poll(w, &mut a).is_pending());
        assert!(poll(w, &mut b).is_pending());
        assert_eq!(w.count(), 2);
        (a, b)
    }

    #[test]
    fn a_notifier_claims_one_waiter_and_the_woken_one_leaves_the_count_alone() {
        let w = Waiters::new();
        let (mut a, mut b) = two_in_line(&w);
        w.notify_one();
        assert_eq!(w.count(), 1, "the notifier takes its waiter off the count");
        assert!(poll(&w, &mut a).is_ready(), "first in line, first woken");
        assert!(a.is_none());
        assert_eq!(w.count(), 1, "a woken waiter must not take b's place");
        assert!(poll(&w, &mut b).is_pending());
        w.notify_one();
        assert!(poll(&w, &mut b).is_ready());
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn notifying_an_already_claimed_line_costs_nothing_and_wakes_nobody_twice() {
        let w = Waiters::new();
        let mut a = Some(w.join(Waker::noop()));
        assert!(poll(&w, &mut a).is_pending());
        w.notify_one();
        w.notify_one(); // count already 0: skipped
        w.notify_many(5);
        assert_eq!(w.count(), 0);
        assert!(poll(&w, &mut a).is_ready());
        // A new waiter is counted and woken as usual.
        let mut b = Some(w.join(Waker::noop()));
        assert!(poll(&w, &mut b).is_pending());
        w.notify_one();
        assert!(poll(&w, &mut b).is_ready());
    }

    #[test]
    fn a_claimed_waiter_that_leaves_passes_its_wake_up_on() {
        let w = Waiters::new();
        let (a, mut b) = two_in_line(&w);
        w.notify_one(); // claims one, notifies a
        w.leave(a.unwrap()); // a never saw it: passes it on with a claim
        assert_eq!(w.count(), 0, "a's count went to its notifier, b's to a's");
        assert!(poll(&w, &mut b).is_ready(), "the wake-up went on to b");
        assert_eq!(w.count(), 0);
    }

    /// A claimed waiter in the event's line that leaves passes its wake-up
    /// to the first place, where the next waiter may be (event-listener's
    /// own passing-on would not reach it).
    #[test]
    fn a_wake_up_passed_on_reaches_the_first_place() {
        let w = Waiters::new();
        let (first, first_waker) = counting();
        let mut a = Some(w.join(Waker::noop())); // the first place
        let b = w.join(Waker::noop()); // the event's line
        w.notify_one(); // wakes a
        assert!(poll(&w, &mut a).is_ready());
        w.notify_one(); // wakes b, in the event's line

        // The place is free; c takes it, and b leaves without seeing its
        // wake-up.
        let mut c = Some(w.join(&first_waker));
        assert!(c.as_ref().unwrap().is_first());
        w.leave(b);
        assert_eq!(wakes(&first), 1, "c, in the first place, got b's wake-up");
        assert!(poll_by(&w, &mut c, &first_waker).is_ready());
    }

    #[test]
    fn an_unclaimed_waiter_that_leaves_keeps_its_count_for_a_claim_to_spend() {
        let w = Waiters::new();
        let (a, mut b) = two_in_line(&w);
        w.leave(a.unwrap());
        assert_eq!(
            w.count(),
            2,
            "taking a's count off could take a newer waiter's (module docs)"
        );
        w.notify_one();
        assert!(poll(&w, &mut b).is_ready(), "b is still in line and woken");
        assert_eq!(w.count(), 1);
        w.notify_one(); // spends a's count on nobody
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn notify_many_claims_at_most_the_waiters_there_are() {
        let w = Waiters::new();
        let (mut a, mut b) = two_in_line(&w);
        w.notify_many(3);
        assert_eq!(w.count(), 0);
        assert!(poll(&w, &mut a).is_ready());
        assert!(poll(&w, &mut b).is_ready());
        let mut c = Some(w.join(Waker::noop()));
        assert!(poll(&w, &mut c).is_pending(), "no wake-up was banked");
        w.leave(c.unwrap());
    }

    /// A waker that counts its wake-ups.
    struct Count(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn counting() -> (std::sync::Arc<Count>, Waker) {
        let count = std::sync::Arc::new(Count(std::sync::atomic::AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn wakes(c: &Count) -> usize {
        c.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[test]
    fn the_first_joiner_takes_the_first_place_and_is_woken_first() {
        let w = Waiters::new();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut a = Some(w.join(&first_waker));
        let mut b = Some(w.join(&second_waker));
        assert!(a.as_ref().unwrap().is_first(), "the place was free");
        assert!(!b.as_ref().unwrap().is_first(), "the place was taken");
        assert_eq!(w.count(), 2);
        w.notify_one();
        assert_eq!((wakes(&first), wakes(&second)), (1, 0));
        assert!(poll_by(&w, &mut a, &first_waker).is_ready());
        // The place is free again, but b still waits: the next joiner goes
        // behind b, and b is the one the next notification reaches.
        let (third, third_waker) = counting();
        let c = w.join(&third_waker);
        assert!(!c.is_first());
        w.leave(c);
        assert!(poll(&w, &mut b).is_pending());
        w.notify_one();
        assert!(poll(&w, &mut b).is_ready());
        assert_eq!(wakes(&third), 0);
        assert_eq!(w.count(), 1, "c left unclaimed: its count stays");
        w.notify_one();
        assert_eq!(w.count(), 0);
    }

    /// Two senders take turns on a full channel: the one woken from the
    /// first place re-joins behind the other, which is woken next (a first
    /// place that jumped the line would starve it).
    #[test]
    fn a_waiter_that_finds_others_waiting_joins_behind_them() {
        let w = Waiters::new();
        let (first, first_waker) = counting();
        let (second, second_waker) = counting();
        let mut a = Some(w.join(&first_waker));
        let mut b = Some(w.join(&second_waker));
        assert!(poll_by(&w, &mut b, &second_waker).is_pending());
        w.notify_one();
        assert!(poll_by(&w, &mut a, &first_waker).is_ready());
        // `a` has sent and waits again; the place is free, but b waits.
        let mut a = Some(w.join(&first_waker));
        assert!(
            !a.as_ref().unwrap().is_first(),
            "b was waiting: a goes behind it"
        );
        w.notify_one();
        assert_eq!((wakes(&first), wakes(&second)), (1, 1));
        assert!(poll_by(&w, &mut b, &second_waker).is_ready());
        w.notify_one();
        assert!(poll_by(&w, &mut a, &first_waker).is_ready());
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn the_first_place_wakes_the_waker_of_the_latest_poll() {
        let w = Waiters::new();
        let (old, old_waker) = counting();
        let (new, new_waker) = counting();
        let mut a = Some(w.join(&old_waker));
        assert!(poll_by(&w, &mut a, &new_waker).is_pending());
        w.notify_one();
        assert_eq!((wakes(&old), wakes(&new)), (0, 1));
        assert!(poll_by(&w, &mut a, &new_waker).is_ready());
    }

    #[test]
    fn notify_all_wakes_the_first_place_and_the_event_line() {
        let w = Waiters::new();
        let (first, first_waker) = counting();
        let mut a = Some(w.join(&first_waker));
        let mut b = Some(w.join(Waker::noop()));
        assert!(poll(&w, &mut b).is_pending());
        w.notify_all();
        assert_eq!(wakes(&first), 1);
        assert!(poll_by(&w, &mut a, &first_waker).is_ready());
        assert!(poll(&w, &mut b).is_ready());
    }

    /// The leak check of debug builds: a ticket in line must be given back.
    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "ticket was dropped without being given back")]
    fn a_ticket_dropped_while_in_line_panics_in_debug_builds() {
        let w = Waiters::new();
        drop(w.join(Waker::noop()));
    }

    #[test]
    // In release builds `Ticket` has no `Drop`; in debug builds this is the
    // leak check's drop.
    #[cfg_attr(not(debug_assertions), allow(clippy::drop_non_drop))]
    fn a_ticket_that_never_joined_needs_no_giving_back() {
        drop(Ticket::spun());
        let w = Waiters::new();
        let mut a = Some(w.join(Waker::noop()));
        assert!(poll(&w, &mut a).is_pending());
        w.notify_one();
        assert!(poll(&w, &mut a).is_ready());
        assert!(
            a.is_none(),
            "a fired ticket is spent by the poll that saw it"
        );
    }

    #[test]
    fn a_blocked_thread_woken_by_its_notifier_leaves_the_count_alone() {
        let w = std::sync::Arc::new(Waiters::new());
        let (b, mut a) = (w.join(Waker::noop()), Some(w.join(Waker::noop())));
        assert!(poll(&w, &mut a).is_pending());
        let waiter = {
            let w = w.clone();
            std::thread::spawn(move || w.wait(b))
        };
        w.notify_one(); // wakes the thread (first in line)
        waiter.join().unwrap();
        assert_eq!(w.count(), 1, "a is still counted");
        assert!(poll(&w, &mut a).is_pending());
        w.notify_one();
        assert!(poll(&w, &mut a).is_ready());
        assert_eq!(w.count(), 0);
    }
}
