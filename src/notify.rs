//! Waiting: an `event_listener::Event` plus a count of the tasks and threads
//! waiting on it, so that nobody pays for a notification when nobody waits.
//!
//! This file knows nothing of queues. The protocol that makes the count safe
//! to read without a lock lives half here and half in the queue's ordering:
//!
//! ```text
//! notifier (after a push or pop)       waiter (after a failed try)
//!   RMW on the queue position  (SeqCst)   listen on the Event
//!   load count                 (SeqCst)   RMW count += 1          (SeqCst)
//!   count != 0 => Event::notify           load the queue position (SeqCst)
//!                                         still full/empty => wait
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

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use event_listener::{Event, EventListener, IntoNotification, Listener};

use crate::sync::{seqcst_edge, AtomicUsize, CachePadded, Ordering};

/// One side's waiting room: senders waiting for room, or receivers waiting
/// for a message.
pub(crate) struct Waiters {
    event: Event,
    /// Registered [`Ticket`]s not yet given back. On its own cache line: the
    /// other side reads it after every successful operation.
    count: CachePadded<AtomicUsize>,
}

/// A waiter's progress through the park protocol: it has spun (and, as a
/// task, yielded once) without success, or it holds a place in a [`Waiters`]
/// line. Hand a place back with [`Waiters::leave`], [`Waiters::poll`] or
/// [`Waiters::wait`] so the count stays exact (a lost ticket costs only
/// needless notifications, never a lost wake-up).
#[derive(Debug)]
pub(crate) struct Ticket(Stage);

#[derive(Debug)]
enum Stage {
    /// Spun and yielded; the next failure joins the line.
    Spun,
    /// In the line, counted.
    Listening(EventListener),
}

impl Ticket {
    /// A waiter that has spun without success and should join next.
    pub(crate) fn spun() -> Self {
        Self(Stage::Spun)
    }

    /// `true` while the waiter has not joined a line yet.
    pub(crate) fn is_spun(&self) -> bool {
        matches!(self.0, Stage::Spun)
    }
}

impl Waiters {
    pub(crate) fn new() -> Self {
        Self {
            event: Event::new(),
            count: CachePadded(AtomicUsize::new(0)),
        }
    }

    /// Registers a listener, then counts it. The caller must re-check its
    /// condition after this and before waiting (see the module docs).
    #[cold]
    pub(crate) fn join(&self) -> Ticket {
        let listener = self.event.listen();
        // Ordering: SeqCst RMW, the waiter's half of the store-buffering
        // pattern above; pairs with the SeqCst load in `notify_one`.
        self.count.fetch_add(1, Ordering::SeqCst);
        seqcst_edge();
        Ticket(Stage::Listening(listener))
    }

    /// Gives a ticket back without waiting. A notification it had received
    /// passes on to the next listener (event-listener does that on drop).
    pub(crate) fn leave(&self, ticket: Ticket) {
        let Stage::Listening(listener) = ticket.0 else {
            return; // never joined, never counted
        };
        drop(listener);
        // Ordering: Relaxed: a stale, too-high count only costs a needless
        // `notify`; it can never make a notifier skip a registered waiter,
        // because this waiter is no longer registered.
        self.count.fetch_sub(1, Ordering::Relaxed);
    }

    /// Polls a held ticket; when it fires, gives it back and clears `slot`.
    pub(crate) fn poll(&self, slot: &mut Option<Ticket>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(Ticket(Stage::Listening(listener))) = slot {
            if Pin::new(listener).poll(cx).is_pending() {
                return Poll::Pending;
            }
            if let Some(ticket) = slot.take() {
                self.leave(ticket);
            }
        }
        Poll::Ready(())
    }

    /// Blocks the thread until the ticket fires, then gives it back.
    pub(crate) fn wait(&self, ticket: Ticket) {
        let Stage::Listening(listener) = ticket.0 else {
            return;
        };
        listener.wait();
        // Ordering: as in `leave`.
        self.count.fetch_sub(1, Ordering::Relaxed);
    }

    /// Wakes one more waiter, if anyone waits. A load on the fast path.
    #[inline]
    pub(crate) fn notify_one(&self) {
        seqcst_edge();
        // Ordering: SeqCst load, the notifier's half of the store-buffering
        // pattern; pairs with the SeqCst RMW in `join`.
        if self.count.load(Ordering::SeqCst) != 0 {
            self.notify_one_slow();
        }
    }

    /// Wakes `n` more waiters, if anyone waits (after a batch).
    #[inline]
    pub(crate) fn notify_many(&self, n: usize) {
        seqcst_edge();
        // Ordering: as in `notify_one`.
        if n != 0 && self.count.load(Ordering::SeqCst) != 0 {
            self.event.notify(n.additional().relaxed());
        }
    }

    #[cold]
    fn notify_one_slow(&self) {
        // `additional`: every successful operation is worth one more wake-up,
        // even while earlier ones have not run yet. `relaxed`: the count
        // protocol above already orders this after the queue operation, and
        // the event's own lock orders it against `listen`.
        self.event.notify(1.additional().relaxed());
    }

    /// Wakes every waiter (the channel was closed).
    #[cold]
    pub(crate) fn notify_all(&self) {
        self.event.notify(usize::MAX);
    }

    /// How many tickets are out (a snapshot, for `Debug`).
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
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
/// Registering costs one uncontended lock and one swap, where joining
/// [`Waiters`] costs an event listener (an allocation and several locks);
/// notifying costs one load while the flag is down. The slot holds the
/// waker of the latest registration only, so only the latest is woken.
pub(crate) struct OneWaiter {
    /// 1 while a registration waits for a wake-up. Read by every notifier.
    waiting: CachePadded<AtomicUsize>,
    /// The waker of the latest registration; taken by the notifier.
    waker: one_waiter::Mutex<Option<std::task::Waker>>,
}

/// The std/loom switch for [`OneWaiter`]'s lock and thread parking.
pub(crate) mod one_waiter {
    #[cfg(loom)]
    pub(crate) use loom::{sync::Mutex, thread};
    #[cfg(not(loom))]
    pub(crate) use std::{sync::Mutex, thread};
}

impl OneWaiter {
    pub(crate) fn new() -> Self {
        Self {
            waiting: CachePadded(AtomicUsize::new(0)),
            waker: one_waiter::Mutex::new(None),
        }
    }

    /// Stores `waker` (unless the stored one wakes the same task), then
    /// raises the flag. The caller must re-check its condition after this
    /// and before waiting (see the table above).
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        {
            let mut slot = self
                .waker
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match &*slot {
                Some(stored) if stored.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
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
            let waker = self
                .waker
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
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
