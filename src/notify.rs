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

/// A place in a [`Waiters`] line. Hand it back with [`Waiters::leave`],
/// [`Waiters::poll`] or [`Waiters::wait`] so the count stays exact (a lost
/// ticket costs only needless notifications, never a lost wake-up).
#[derive(Debug)]
pub(crate) struct Ticket(EventListener);

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
        Ticket(listener)
    }

    /// Gives a ticket back without waiting. A notification it had received
    /// passes on to the next listener (event-listener does that on drop).
    pub(crate) fn leave(&self, ticket: Ticket) {
        drop(ticket);
        // Ordering: Relaxed: a stale, too-high count only costs a needless
        // `notify`; it can never make a notifier skip a registered waiter,
        // because this waiter is no longer registered.
        self.count.fetch_sub(1, Ordering::Relaxed);
    }

    /// Polls a held ticket; when it fires, gives it back and clears `slot`.
    pub(crate) fn poll(&self, slot: &mut Option<Ticket>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(ticket) = slot {
            if Pin::new(&mut ticket.0).poll(cx).is_pending() {
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
        ticket.0.wait();
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
