//! What the channel core needs from a queue, and the one place that picks
//! between the bounded ring and the unbounded block list.

use crate::chan::DebugQueue;
use crate::list::List;
use crate::ring::Ring;

/// Why a push did not take the value; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PushError<T> {
    /// The queue holds `capacity` values.
    Full(T),
    /// The queue was closed; nothing can be pushed any more.
    Closed(T),
}

impl<T> PushError<T> {
    /// The reason, and the value handed back.
    pub(crate) fn into_parts(self) -> (PushError<()>, T) {
        match self {
            PushError::Full(v) => (PushError::Full(()), v),
            PushError::Closed(v) => (PushError::Closed(()), v),
        }
    }
}

/// Why a pop returned nothing: the public [`TryRecvError`] itself, so a
/// `try_recv` returns the queue's result as it is.
pub(crate) use crate::error::TryRecvError as PopError;

/// A lock-free MPMC queue that can be closed.
///
/// Closing is part of the queue, not a flag beside it: a push linearises either
/// before the close (and its value is then popped before any pop reports
/// `Closed`) or after it (and gets `PushError::Closed`). A separate flag would
/// let a push slip in after a receiver saw "closed and empty", losing it.
pub(crate) trait Queue<T> {
    /// Adds `value` at the back, or hands it back.
    fn push(&self, value: T) -> Result<(), PushError<T>>;
    /// [`Queue::push`] of the value in `src`, which the fast path takes out
    /// only once it has claimed a slot: for a waiting send, whose message
    /// lives in its future (`Chan::send_once`). `src` is `None` after `Ok`
    /// and holds the value again after `Err`.
    ///
    /// # Panics
    /// If `src` is `None` (a send polled after it completed): before it
    /// claims anything, since a slot claimed and never written would stop
    /// every receive after it.
    fn push_from(&self, src: &mut Option<T>) -> Result<(), PushError<()>>;
    /// Adds `value` at the back; when full, replaces the oldest value and
    /// returns it. Hands `value` back only when closed.
    fn force_push(&self, value: T) -> Result<Option<T>, T>;
    /// Takes the value at the front.
    fn pop(&self) -> Result<T, PopError>;
    /// [`Queue::pop`], its fast path compiled into the caller: for
    /// `try_recv`, and for the waits of `recv` futures and streams of small
    /// messages (see `Chan::try_recv_for_wait`), whose callers then get the
    /// value from the slot without staging it through the stack of an
    /// out-of-line `pop`. Kept apart so the other paths, which call `pop` in
    /// more places, do not grow.
    #[inline(always)]
    fn pop_inline(&self) -> Result<T, PopError> {
        self.pop()
    }
    /// Closes the queue; `true` if this call closed it.
    fn close(&self) -> bool;
    fn is_closed(&self) -> bool;
    /// Number of values queued (a snapshot).
    fn len(&self) -> usize;
    /// `None` when unbounded.
    fn capacity(&self) -> Option<usize>;

    /// Moves up to `limit` values from the front into `out`, oldest first, and
    /// returns how many. `Err` only when it moved none (`Empty` or `Closed`).
    /// A queue that can claim a run of values in one atomic step overrides this.
    fn pop_many(&self, out: &mut Vec<T>, limit: usize) -> Result<usize, PopError> {
        let mut moved = 0;
        while moved < limit {
            match self.pop() {
                Ok(value) => out.push(value),
                Err(e) if moved == 0 => return Err(e),
                Err(_) => break,
            }
            moved += 1;
        }
        Ok(moved)
    }

    /// Moves values from the front of `src` to the back of the queue, in
    /// order, as many as fit, and returns how many (they leave `src`). `Err`
    /// only when it moved none: `Full` (with `src` non-empty) or `Closed`.
    /// A queue that can claim a run of slots in one atomic step overrides it.
    fn push_many(&self, src: &mut Vec<T>) -> Result<usize, PushError<()>> {
        // Pop from the back of a reversed `src`: moves without allocating.
        src.reverse();
        let mut moved = 0;
        let mut result = Ok(());
        while let Some(value) = src.pop() {
            if let Err(e) = self.push(value) {
                let (err, back) = e.into_parts();
                src.push(back);
                result = Err(err);
                break;
            }
            moved += 1;
        }
        src.reverse();
        match result {
            Err(e) if moved == 0 => Err(e),
            _ => Ok(moved),
        }
    }
}

/// The queue behind a channel: the ring, or the block list. The one `match`
/// on the flavour in the crate; everything above is generic.
pub(crate) enum Flavor<T> {
    Bounded(Ring<T>),
    Unbounded(List<T>),
}

impl<T> Flavor<T> {
    /// The most memory a ring's slots (allocated up front) may take when the
    /// bound is only a limit, not the buffer (`mpsc`, whose semaphore counts
    /// the capacity): 16 Ki 8-byte messages, 3.6 Ki 64-byte ones. Measured,
    /// the ring costs about 14 ns less per message than the list.
    const RING_BYTES: usize = 256 << 10;

    /// The queue for `cap` messages whose bound something else enforces:
    /// the ring if its slots (a stamp and a `T` each, padded to `T`'s
    /// alignment) fit in [`Self::RING_BYTES`], else the list, whose memory
    /// follows the messages in flight (tokio allows bounds up to
    /// `usize::MAX >> 3`).
    #[inline(always)]
    pub(crate) fn for_limit(cap: usize, caller: &str) -> Self {
        if cap.saturating_mul(Ring::<T>::SLOT_BYTES) <= Self::RING_BYTES {
            Flavor::Bounded(Ring::new(cap, caller))
        } else {
            Flavor::Unbounded(List::new())
        }
    }
}

/// Forwards a call to whichever queue the flavour holds.
macro_rules! each_flavor {
    ($self:ident, $q:ident => $body:expr) => {
        match $self {
            Flavor::Bounded($q) => $body,
            Flavor::Unbounded($q) => $body,
        }
    };
}

impl<T> Queue<T> for Flavor<T> {
    #[inline]
    fn push(&self, value: T) -> Result<(), PushError<T>> {
        each_flavor!(self, q => q.push(value))
    }
    #[inline(always)]
    fn push_from(&self, src: &mut Option<T>) -> Result<(), PushError<()>> {
        each_flavor!(self, q => q.push_from(src))
    }
    fn force_push(&self, value: T) -> Result<Option<T>, T> {
        each_flavor!(self, q => q.force_push(value))
    }
    #[inline]
    fn pop(&self) -> Result<T, PopError> {
        each_flavor!(self, q => q.pop())
    }
    #[inline(always)]
    fn pop_inline(&self) -> Result<T, PopError> {
        match self {
            Flavor::Bounded(q) => q.pop_inline(),
            Flavor::Unbounded(q) => q.pop(),
        }
    }
    fn close(&self) -> bool {
        each_flavor!(self, q => q.close())
    }
    fn is_closed(&self) -> bool {
        each_flavor!(self, q => q.is_closed())
    }
    fn len(&self) -> usize {
        each_flavor!(self, q => q.len())
    }
    fn capacity(&self) -> Option<usize> {
        each_flavor!(self, q => q.capacity())
    }
    fn pop_many(&self, out: &mut Vec<T>, limit: usize) -> Result<usize, PopError> {
        each_flavor!(self, q => q.pop_many(out, limit))
    }
    fn push_many(&self, src: &mut Vec<T>) -> Result<usize, PushError<()>> {
        each_flavor!(self, q => q.push_many(src))
    }
}

impl<T> DebugQueue for Flavor<T> {
    fn debug_state(&self) -> Box<dyn std::fmt::Debug + '_> {
        match self {
            Flavor::Bounded(q) => Box::new(q.state()),
            Flavor::Unbounded(q) => Box::new(q.state()),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Flavor;

    #[test]
    fn for_limit_counts_each_slot_with_its_padding() {
        /// A 64-byte value aligned to 64: its slot (stamp and value) takes
        /// 128 bytes, not 72.
        #[repr(align(64))]
        struct Wide(#[allow(dead_code)] [u8; 64]);
        let fits = Flavor::<Wide>::RING_BYTES / 128;
        let ring = |cap| matches!(Flavor::<Wide>::for_limit(cap, "test"), Flavor::Bounded(_));
        assert!(ring(fits), "{fits} slots of 128 bytes fit");
        assert!(
            !ring(fits + 1),
            "{} slots of 128 bytes do not fit",
            fits + 1
        );
    }
}
