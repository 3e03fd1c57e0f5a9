//! The bounded lock-free MPMC ring.
//!
//! Dmitry Vyukov's bounded MPMC queue
//! (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>),
//! with the lap/index position encoding of crossbeam-channel's array flavour so
//! that every capacity `>= 1` is exact, and a mark bit in the tail so that
//! closing is part of the queue. No async, no wakers, no `Arc`: this file only
//! moves values in and out of slots. All of the crate's `unsafe` lives here.

use std::fmt;
use std::mem::MaybeUninit;
use std::ops::ControlFlow;

use crate::queue::{PopError, PushError, Queue};
use crate::sync::{AtomicUsize, Backoff, CachePadded, Ordering, UnsafeCell};

/// One cell of the ring: a stamp saying whose turn it is, and the value.
///
/// Not padded to a cache line: measured with `examples/race` (ringchan alone,
/// two alternating runs per build, 2 cores), 128-byte-aligned slots won some
/// MPSC rows by 5-15% and lost SPSC cap-16 by ~60% and the 64-byte SPSC row
/// by ~25-80%, at 8x the memory for 8-byte messages. A slot stays the
/// payload plus one word.
struct Slot<T> {
    /// `{lap, 0, index}` or `{lap, 0, index} + 1`; see [`Ring`].
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A run of positions a batch may claim: see [`Ring::ready_run`].
struct Run {
    len: usize,
    /// Every slot of the run was seen ready before the claim.
    seen: bool,
}

/// A bounded lock-free MPMC queue of exact capacity.
///
/// ```text
/// position (head, tail):   | lap ........... | mark | index |
///                                             one_lap = 2 * mark_bit
///   index    slot number, 0 <= index < cap; the bits below mark_bit
///   mark     set in `tail` only, by `close`: pushes fail from then on
///   lap      counts turns around the ring, in steps of one_lap; wraps
///            around usize (one_lap divides 2^64, so laps wrap cleanly)
///
/// slot stamp, for the slot at `index`:
///   {lap, 0, index}       empty: ready for the producer whose tail is
///                         {lap, 0, index}
///   {lap, 0, index} + 1   full: holds the value that producer wrote, ready
///                         for the consumer whose head is {lap, 0, index}
///
/// life cycle of one slot (p = {lap, 0, index}):
///   stamp p ──producer CASes tail p→p+1, writes, stores p+1──▶ stamp p+1
///   stamp p+1 ──consumer CASes head p→p+1, reads, stores p+one_lap──▶
///   stamp p+one_lap (empty again, for the next lap)
///   "p+1" above means the next position: {lap, 0, index+1}, or
///   {lap+one_lap, 0, 0} after the last index.
/// ```
///
/// Between the CAS that claims a position and the stamp store that publishes
/// the slot, the slot is *being written* (or *being read*); a thread that
/// reaches such a slot from the other side waits with [`Backoff`]. Because
/// `index` has its own bits, "empty for lap L" and "full for lap L" differ even
/// at capacity 1, where the textbook `stamp = position, mask = cap - 1` form
/// cannot tell them apart.
pub(crate) struct Ring<T> {
    /// Next position to read. Never carries the mark bit.
    head: CachePadded<AtomicUsize>,
    /// Next position to write, with the mark bit once closed.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// `(cap + 1).next_power_of_two()`: the bit after the index bits.
    mark_bit: usize,
    /// `2 * mark_bit`: the amount one turn adds to a position.
    one_lap: usize,
}

// SAFETY: the ring owns its values and hands each one to exactly one thread:
// a value is written by the producer that won the tail CAS for its position and
// read by the consumer that won the head CAS for it (or by `force_push`, which
// wins the head CAS instead). Moving values between threads needs `T: Send`;
// no `&T` is ever shared, so `T: Sync` is not needed.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as for `Send`: `&Ring<T>` only ever gives out owned `T`s, one thread
// per value, with the stamp handshake ordering each write before its read.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// Largest capacity whose position arithmetic fits: `next_power_of_two`
    /// of `cap + 1` must leave room for the mark bit and at least two laps.
    const MAX_CAP: usize = 1 << (usize::BITS - 4);

    /// Bytes a slot takes: the stamp and a `T`, padded to `T`'s alignment.
    pub(crate) const SLOT_BYTES: usize = std::mem::size_of::<Slot<T>>();

    /// An empty ring for `cap` values.
    ///
    /// # Panics
    /// When `cap` is 0 or too large to allocate; the message names `caller`.
    #[inline(always)]
    pub(crate) fn new(cap: usize, caller: &str) -> Self {
        Self::with_start(cap, 0, caller)
    }

    /// An empty ring whose positions start at lap `start` (a multiple of
    /// `one_lap`): lets tests start a few laps below `usize::MAX` to prove
    /// the wrap-around.
    #[inline(always)]
    pub(crate) fn with_start(cap: usize, start: usize, caller: &str) -> Self {
        assert!(cap > 0, "{caller}: capacity must be at least 1, got 0");
        assert!(
            cap <= Self::MAX_CAP,
            "{caller}: capacity {cap} is too large (the most is {})",
            Self::MAX_CAP
        );
        let mark_bit = (cap + 1).next_power_of_two();
        let one_lap = mark_bit * 2;
        debug_assert_eq!(start & (one_lap - 1), 0, "start must be lap-aligned");

        let mut slots = Vec::new();
        if slots.try_reserve_exact(cap).is_err() {
            panic!(
                "{caller}: capacity {cap} is too large (cannot allocate {} slots of {} bytes)",
                cap,
                Self::SLOT_BYTES
            );
        }
        // Slot `i` starts empty, ready for the producer at position {start, 0, i}.
        slots.extend((0..cap).map(|i| Slot {
            stamp: AtomicUsize::new(start + i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        Self {
            head: CachePadded(AtomicUsize::new(start)),
            tail: CachePadded(AtomicUsize::new(start)),
            slots: slots.into_boxed_slice(),
            mark_bit,
            one_lap,
        }
    }

    /// The position after `pos`: the next index, or index 0 of the next lap.
    #[inline(always)]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark_bit - 1);
        if index + 1 < self.slots.len() {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        let index = pos & (self.mark_bit - 1);
        debug_assert!(index < self.slots.len());
        // SAFETY: every position's index bits are below `cap = slots.len()`:
        // positions start at index 0 and `next` wraps the index at `cap`.
        unsafe { self.slots.get_unchecked(index) }
    }

    /// The first iteration of `push_or_else`, inline, for `push` and
    /// `push_from`: the open ring's slot at `tail` empty and the tail CAS
    /// won gives the slot and its position, to be written with `put`;
    /// anything else (full, closed, a lost race, a slot still being read)
    /// `None`, for the full loop, out of line. Kept apart so that the fast
    /// path needs few registers and no stack frame to speak of: with the
    /// loop and its backoff inline, every push paid for saving and
    /// restoring the registers only the slow path uses.
    #[inline(always)]
    fn claim_inline(&self) -> Option<(&Slot<T>, usize)> {
        // Ordering: as in `push_or_else`, whose first iteration this is.
        let tail = self.tail.load(Ordering::Relaxed);
        if tail & self.mark_bit != 0 {
            return None;
        }
        let slot = self.slot(tail);
        (slot.stamp.load(Ordering::Acquire) == tail
            && self
                .tail
                .compare_exchange_weak(tail, self.next(tail), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok())
        .then_some((slot, tail))
    }

    /// Shared by `push` and `force_push`: claims the tail when the slot is
    /// empty; when the ring is full at `tail`, calls `on_full(value, tail)`,
    /// which either finishes the push its own way (`Break`) or hands the value
    /// back to retry (`Continue`).
    #[inline(always)]
    fn push_or_else<F>(&self, mut value: T, mut on_full: F) -> Result<(), PushError<T>>
    where
        F: FnMut(T, usize) -> ControlFlow<Result<(), PushError<T>>, T>,
    {
        let mut backoff = Backoff::default();
        // Ordering: Relaxed is enough for a first guess; a stale tail only
        // fails the CAS or the stamp comparison below and is reloaded.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(PushError::Closed(value));
            }
            let slot = self.slot(tail);
            // Ordering: Acquire pairs with the Release stamp store of the
            // consumer that last emptied this slot, so its read of the old
            // value happens before our write.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                let new_tail = self.next(tail);
                // Ordering: SeqCst on success: the channel's wake-up protocol
                // pairs this RMW with a receiver's SeqCst RMW on its waiter
                // count (see notify.rs). Relaxed on failure: we only retry.
                match self.tail.compare_exchange_weak(
                    tail,
                    new_tail,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: winning the tail CAS at `tail` while the stamp
                        // read `tail` makes us the only writer of this slot, and
                        // the slot is empty (its last value was read before the
                        // stamp became `tail`).
                        unsafe { Self::put(slot, tail, value) };
                        return Ok(());
                    }
                    Err(current) => {
                        // Lost to another producer (see `Backoff::spin`).
                        backoff.spin();
                        tail = current;
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds the value of the previous lap: full,
                // unless a consumer has already claimed it.
                crate::sync::seqcst_edge();
                // Ordering: SeqCst pairs with the SeqCst head CAS in `pop` and
                // with the sender's SeqCst RMW on its waiter count: a sender
                // that parks after seeing "full" here cannot miss a pop's
                // wake-up (notify.rs).
                let head = self.head.load(Ordering::SeqCst);
                if head.wrapping_add(self.one_lap) == tail {
                    // The close check of a sender's re-check, which the
                    // Relaxed guess at the top may have missed: a sender
                    // that waits joined its line (a SeqCst RMW on the
                    // waiter count) before this try, and `close` marks the
                    // tail (a SeqCst RMW) before it loads that count. That
                    // store-buffering pattern (notify.rs) needs this load
                    // SeqCst too (`is_closed`), or both may miss the other
                    // and the sender sleeps through the close. x86 would
                    // not show it (its RMWs are full barriers), nor loom
                    // (it models SeqCst as AcqRel, and the fence `join`
                    // adds for it orders the Relaxed load as well).
                    if self.is_closed() {
                        return Err(PushError::Closed(value));
                    }
                    match on_full(value, tail) {
                        ControlFlow::Break(done) => return done,
                        ControlFlow::Continue(back) => value = back,
                    }
                } else {
                    backoff.snooze();
                }
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another producer claimed this position (or our tail is
                // stale): wait for the tail to move on.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes the value at `pos`, whose slot we have exclusively claimed, and
    /// frees the slot for the producer of the next lap.
    ///
    /// # Safety
    /// - the caller won the head CAS at `pos` (or, for `force_push`, a CAS
    ///   that gave it the same exclusive claim);
    /// - the caller Acquire-loaded the slot's stamp as `pos + 1` before, so
    ///   the value is initialised and its write happens before this read.
    #[inline(always)]
    unsafe fn take(&self, pos: usize) -> T {
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: passed on from our caller; `slot(pos)` is `pos`'s slot, and
        // `value` is a place for one `T` that no slot overlaps; `take_into`
        // initialised it.
        unsafe {
            Self::take_into(self.slot(pos), pos, self.one_lap, value.as_mut_ptr());
            value.assume_init()
        }
    }

    /// Moves the value of `slot`, the slot of position `pos`, into `place`,
    /// then frees the slot for the producer of the next lap: the read half
    /// of every pop, as [`Ring::put`] is the write half of every push.
    ///
    /// Copying into the caller's place before the stamp store lets
    /// `pop_many` move each value straight into its vector. Returning the
    /// value instead staged a 64-byte one on the stack (the store in between
    /// kept the compiler from forwarding the copy): 8 more moves per
    /// message. A single pop, which has no place to copy into before it
    /// returns, compiles to the same stack round trip either way.
    ///
    /// # Safety
    /// As for [`Ring::take`], and `place` is valid for writing one `T` and
    /// does not overlap the slot.
    #[inline(always)]
    unsafe fn take_into(slot: &Slot<T>, pos: usize, one_lap: usize, place: *mut T) {
        // SAFETY: the caller's claim and stamp load make the value
        // initialised and ours alone; `place` is writable and apart from
        // the slot (see `# Safety`).
        unsafe {
            slot.value
                .with(|v| place.copy_from_nonoverlapping(v.cast::<T>(), 1))
        };
        // Ordering: Release orders our read before the next lap's producer
        // (which Acquire-loads this stamp) overwrites the slot.
        slot.stamp
            .store(pos.wrapping_add(one_lap), Ordering::Release);
    }

    /// Writes `value` into `slot`, the slot of position `pos`, and publishes
    /// it to the consumer of `pos` (stamp `pos + 1`): the write half of every
    /// push, as [`Ring::take_into`] is the read half of every pop.
    ///
    /// # Safety
    /// - the caller owns position `pos`: it won the tail CAS that claimed
    ///   it (alone, or in a run);
    /// - the slot is vacant: its last value was read (the caller saw stamp
    ///   `pos`, Acquire) or moved out by the caller itself (`force_push`).
    #[inline(always)]
    unsafe fn put(slot: &Slot<T>, pos: usize, value: T) {
        // SAFETY: the caller's claim makes it the slot's only writer, and the
        // slot holds no value to overwrite (see `# Safety`).
        unsafe { slot.value.with_mut(|v| (*v).write(value)) };
        // Ordering: Release publishes the value to the consumer that
        // Acquire-loads stamp `pos + 1`.
        slot.stamp.store(pos + 1, Ordering::Release);
    }

    /// The position `n` steps after `pos` (`n <= cap`): `next` applied `n`
    /// times, in one step. `pos` must not carry the mark bit.
    #[inline(always)]
    fn advance(&self, pos: usize, n: usize) -> usize {
        let index = pos & (self.mark_bit - 1);
        let left = self.slots.len() - index;
        if n < left {
            pos + n
        } else {
            (pos & !(self.one_lap - 1))
                .wrapping_add(self.one_lap)
                .wrapping_add(n - left)
        }
    }

    /// How much of the run of `n` positions from `pos` to claim, `ready`
    /// telling whether a slot is done by the other side (written, for a
    /// consumer; read, for a producer). When the run's last slot is ready,
    /// all of it: the other side claims positions in order, so whoever did
    /// the last one had every earlier one claimed before it, and any of
    /// those still unfinished is waited for with [`Ring::wait_for`]. Most
    /// batches end here, with one stamp read before the claim instead of
    /// one per slot (each side fills and empties its runs in order). When
    /// the last slot is not ready, the ready ones in a row from `pos`
    /// (each seen ready, so the walk that follows need not look again): a
    /// batch never claims a slot the other side has not even claimed, so
    /// it cannot wait on a slot that nobody will finish, and it does not
    /// chase the other side slot by slot through lines it is still
    /// writing.
    #[inline(always)]
    fn ready_run(&self, pos: usize, n: usize, ready: impl Fn(&Slot<T>, usize) -> bool) -> Run {
        if n == 0 {
            return Run { len: 0, seen: true };
        }
        let last = self.advance(pos, n - 1);
        if ready(self.slot(last), last) {
            Run {
                len: n,
                seen: n == 1,
            }
        } else {
            Run {
                len: self.walk(pos, n - 1, ready),
                seen: true,
            }
        }
    }

    /// Waits until `slot`'s stamp reads `stamp` (Acquire): a batch has
    /// claimed (see [`Ring::ready_run`]) a slot whose other side, the
    /// producer writing it or the consumer reading its last value, claimed
    /// it earlier and has not finished. Every wait is for an earlier claim,
    /// so waits cannot form a cycle; a pop or push never waits between its
    /// claim and its stamp store, and a batch only for earlier claims, so
    /// this waits for at most a chain of threads to be scheduled.
    #[cold]
    #[inline(never)]
    fn wait_for(slot: &Slot<T>, stamp: usize) {
        let mut backoff = Backoff::default();
        // Ordering: Acquire, as the callers' own first load of the stamp.
        while slot.stamp.load(Ordering::Acquire) != stamp {
            backoff.snooze();
        }
    }

    /// Calls `visit(slot, p)` for the positions `p` = `pos`, `next(pos)`, ...
    /// in order, `n <= cap` of them at most, until `visit` says `false`;
    /// returns how many said `true`. The batch paths' loops: a run of
    /// positions is at most two runs of slots (up to the last index, then on
    /// from index 0 of the next lap), so each is a plain walk over a slice
    /// instead of `slot`/`next` arithmetic per position. With it (and raw
    /// moves in and out of the callers' vectors), `push_many` + `pop_many`
    /// of 32 8-byte messages cost 36 instructions per message instead of 78
    /// (callgrind, current-thread runtime), and 33 since [`Ring::ready_run`]
    /// spares the stamp scan before most claims. `pos` must not carry the
    /// mark bit.
    #[inline(always)]
    fn walk(&self, pos: usize, n: usize, mut visit: impl FnMut(&Slot<T>, usize) -> bool) -> usize {
        let index = pos & (self.mark_bit - 1);
        let first = n.min(self.slots.len() - index);
        // Positions in the first run share `pos`'s lap: `pos + i` keeps its
        // index below `cap`, so it never carries into the lap bits.
        for (i, slot) in self.slots[index..index + first].iter().enumerate() {
            if !visit(slot, pos + i) {
                return i;
            }
        }
        let next_lap = (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap);
        for (i, slot) in self.slots[..n - first].iter().enumerate() {
            if !visit(slot, next_lap + i) {
                return first + i;
            }
        }
        n
    }

    /// For a pop that found the slot at `head` waiting for this lap's
    /// producer (stamp `head`): `Empty` or `Closed` if the ring is, `None`
    /// if a producer has already claimed the slot and is writing it.
    #[inline(always)]
    fn empty_at(&self, head: usize) -> Option<PopError> {
        crate::sync::seqcst_edge();
        // Ordering: SeqCst pairs with the SeqCst tail CAS in `push_or_else`
        // and with a receiver's SeqCst RMW on its waiter count: a receiver
        // that parks after "empty" here cannot miss a push's wake-up
        // (notify.rs).
        let tail = self.tail.load(Ordering::SeqCst);
        if tail & !self.mark_bit != head {
            return None;
        }
        Some(if tail & self.mark_bit != 0 {
            PopError::Closed
        } else {
            PopError::Empty
        })
    }

    /// `pop`'s loop: the whole protocol, for empty, closed and contended
    /// cases (and the first try again, which the fast path already lost).
    #[cold]
    #[inline(never)]
    fn pop_slow(&self) -> Result<T, PopError> {
        let mut backoff = Backoff::default();
        // Ordering: Relaxed first guess; see `push_or_else`.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            // Ordering: Acquire pairs with the producer's Release store of
            // `head + 1`: its write of the value happens before our read.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head.wrapping_add(1) {
                let new_head = self.next(head);
                // Ordering: SeqCst on success pairs with the SeqCst head load
                // of a sender that saw "full" (see `push_or_else`).
                match self.head.compare_exchange_weak(
                    head,
                    new_head,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    // SAFETY: we won the head CAS at `head` after
                    // Acquire-loading stamp `head + 1`.
                    Ok(_) => return Ok(unsafe { self.take(head) }),
                    Err(current) => {
                        // Lost to another consumer (see `Backoff::spin`).
                        backoff.spin();
                        head = current;
                    }
                }
            } else if stamp == head {
                if let Some(answer) = self.empty_at(head) {
                    return Err(answer);
                }
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // Another consumer took this position: catch up.
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// `push`'s loop: full, closed and contended cases.
    #[cold]
    #[inline(never)]
    fn push_slow(&self, value: T) -> Result<(), PushError<T>> {
        self.push_or_else(value, |value, _| {
            ControlFlow::Break(Err(PushError::Full(value)))
        })
    }

    /// Debug view of positions and slots; see [`RingState`].
    pub(crate) fn state(&self) -> RingState {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        let slots = self
            .slots
            .iter()
            .take(RingState::MAX_SLOTS)
            .enumerate()
            .map(|(index, slot)| {
                let stamp = slot.stamp.load(Ordering::SeqCst);
                SlotState::classify(stamp, index, self.mark_bit, head, tail & !self.mark_bit)
            })
            .collect();
        RingState {
            head,
            tail: tail & !self.mark_bit,
            closed: tail & self.mark_bit != 0,
            len: self.len(),
            capacity: self.slots.len(),
            one_lap: self.one_lap,
            slots,
        }
    }
}

impl<T> Queue<T> for Ring<T> {
    /// One inline try for the common case ([`Ring::claim_inline`]);
    /// anything else goes to the full loop, out of line.
    #[inline]
    fn push(&self, value: T) -> Result<(), PushError<T>> {
        if let Some((slot, tail)) = self.claim_inline() {
            // SAFETY: `claim_inline` won the tail CAS at `tail` while the
            // stamp read `tail`: the slot is empty and ours.
            unsafe { Self::put(slot, tail, value) };
            return Ok(());
        }
        self.push_slow(value)
    }

    #[inline(always)]
    fn push_from(&self, src: &mut Option<T>) -> Result<(), PushError<()>> {
        assert!(src.is_some(), "send polled after completion");
        if let Some((slot, tail)) = self.claim_inline() {
            // Read only now, after the claim (see `Queue::push_from`);
            // there is one: checked above, and `src` is ours since.
            let value = src.take().expect("checked before the claim");
            // SAFETY: `claim_inline` won the tail CAS at `tail` while the
            // stamp read `tail`: the slot is empty and ours.
            unsafe { Self::put(slot, tail, value) };
            return Ok(());
        }
        let value = src.take().expect("checked before the claim");
        self.push_slow(value).map_err(|e| {
            let (err, value) = e.into_parts();
            *src = Some(value);
            err
        })
    }

    fn force_push(&self, value: T) -> Result<Option<T>, T> {
        let mut replaced = None;
        let pushed = self.push_or_else(value, |value, tail| {
            // Full: claim `tail` as a producer would, then try to take the
            // oldest value (at `head = tail - one_lap`, the same slot) by
            // winning the head CAS against the consumers.
            let new_tail = self.next(tail);
            // Ordering: SeqCst on success, as for the tail CAS of a push (a
            // force push that finds a free slot wakes receivers the same way).
            if self
                .tail
                .compare_exchange(tail, new_tail, Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
            {
                return ControlFlow::Continue(value); // tail moved or closed: start over
            }
            let slot = self.slot(tail);
            let oldest = tail.wrapping_sub(self.one_lap);
            // Ordering: SeqCst like the head CAS in `pop`, which it races.
            let stolen = self
                .head
                .compare_exchange(
                    oldest,
                    self.next(oldest),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok();
            if stolen {
                // SAFETY: we won the head CAS at `oldest` and, before calling
                // us, `push_or_else` Acquire-loaded this slot's stamp as
                // `oldest + 1` (full), so the value is ours and initialised.
                // We also own position `tail` (tail CAS), so no producer or
                // consumer touches the slot until we publish `tail + 1`.
                replaced = Some(unsafe { slot.value.with(|v| (*v).assume_init_read()) });
            } else {
                // A consumer claimed the oldest value first; wait until it
                // has read it and freed the slot for our lap.
                let mut backoff = Backoff::default();
                // Ordering: Acquire pairs with that consumer's Release store
                // in `take`: its read happens before our write.
                while slot.stamp.load(Ordering::Acquire) != tail {
                    backoff.snooze();
                }
            }
            // SAFETY: we own position `tail` (won the tail CAS) and the slot
            // is vacant: either we just moved its old value out, or its
            // consumer published stamp `tail`.
            unsafe { Self::put(slot, tail, value) };
            ControlFlow::Break(Ok(()))
        });
        match pushed {
            Ok(()) => Ok(replaced),
            Err(PushError::Closed(value)) => Err(value),
            Err(PushError::Full(_)) => unreachable!("force_push never gives up on a full ring"),
        }
    }

    /// One inline try for the common cases: the slot at `head` full and the
    /// CAS won, or the ring empty (or closed and drained). A lost race or a
    /// value still being written goes to the loop out of line.
    ///
    /// The empty answer inline: callgrind, whole process, 200,000 round
    /// trips of a capacity-1 ping-pong between two tasks that join the
    /// waiters at once: 419.8 M -> 391.8 M instructions; race, one round
    /// of 200,000 messages, current-thread: ping-pong 57.8 M -> 55.0 M,
    /// SPSC capacity 1 519.0 M -> 505.0 M, the capacity-1024 rows 0.5-0.7%
    /// more (two instructions per message on the receive's success path).
    #[inline]
    fn pop(&self) -> Result<T, PopError> {
        self.pop_inline()
    }

    /// [`Ring::pop`] itself, always inlined (see [`Queue::pop_inline`]).
    #[inline(always)]
    fn pop_inline(&self) -> Result<T, PopError> {
        // Ordering: as in `pop_slow`, whose first iteration this is.
        let head = self.head.load(Ordering::Relaxed);
        let slot = self.slot(head);
        let stamp = slot.stamp.load(Ordering::Acquire);
        if stamp == head.wrapping_add(1) {
            if self
                .head
                .compare_exchange_weak(head, self.next(head), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: we won the head CAS at `head` after Acquire-loading
                // stamp `head + 1`.
                return Ok(unsafe { self.take(head) });
            }
        } else if stamp == head {
            // Empty or closed, answered here too: a waiting receive tries
            // two or three times per wait, and all but the last find the
            // ring empty. A slot a producer is still writing goes to
            // `pop_slow` to be waited out.
            if let Some(answer) = self.empty_at(head) {
                return Err(answer);
            }
        }
        self.pop_slow()
    }

    fn pop_many(&self, out: &mut Vec<T>, limit: usize) -> Result<usize, PopError> {
        if limit == 0 {
            return Ok(0);
        }
        let limit = limit.min(self.slots.len());
        if limit == 1 {
            // A run of one is a plain pop, without the run's bookkeeping
            // (`ready_run`, `walk`, the reserve): see `push_many`.
            let value = self.pop_inline()?;
            out.push(value);
            return Ok(1);
        }
        let mut backoff = Backoff::default();
        // Ordering: Relaxed first guess, as in `pop`.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Ordering: Acquire, as in `pop`.
            let Run { len: n, seen } = self.ready_run(head, limit, |slot, pos| {
                slot.stamp.load(Ordering::Acquire) == pos.wrapping_add(1)
            });
            if n == 0 {
                // Not full at `head`: `pop` sorts out empty, closed and a
                // value still being written.
                return self.pop().map(|value| {
                    out.push(value);
                    1
                });
            }
            // Reserve before claiming, so nothing can fail between the
            // claim and the reads.
            out.reserve(n);
            // Ordering: SeqCst on success, as the head CAS in `pop`. One CAS
            // claims the whole run [head, end): head never moves backwards,
            // so if it still reads `head`, these positions are still unread.
            let end = self.advance(head, n);
            match self
                .head
                .compare_exchange_weak(head, end, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    // Hoisted: the stamp stores below would make the
                    // compiler reload it for every value.
                    let one_lap = self.one_lap;
                    let len = out.len();
                    // SAFETY: `out.reserve(n)` above left room for `n` more
                    // values after `len`.
                    let mut place = unsafe { out.as_mut_ptr().add(len) };
                    self.walk(head, n, |slot, pos| {
                        // Ordering: Acquire pairs with the producer's Release
                        // store of `pos + 1`: its write happens before our read.
                        if !seen && slot.stamp.load(Ordering::Acquire) != pos.wrapping_add(1) {
                            Self::wait_for(slot, pos.wrapping_add(1));
                        }
                        // SAFETY: the CAS claimed every position in the run,
                        // and each one's stamp was Acquire-loaded as
                        // `pos + 1` (written): by `ready_run` (`seen`) or
                        // just above. The walk visits exactly `n` positions,
                        // so `place` stays within the `n` places reserved
                        // in `out`, which no slot overlaps.
                        unsafe {
                            Self::take_into(slot, pos, one_lap, place);
                            place = place.add(1);
                        }
                        true
                    });
                    // SAFETY: the walk initialised the `n` places after
                    // `len`, in order, and nothing between the reserve and
                    // here can panic or touch `out`.
                    unsafe { out.set_len(len + n) };
                    return Ok(n);
                }
                Err(current) => {
                    // Lost to another consumer (see `Backoff::spin`).
                    backoff.spin();
                    head = current;
                }
            }
        }
    }

    fn push_many(&self, src: &mut Vec<T>) -> Result<usize, PushError<()>> {
        if src.is_empty() {
            return Ok(0);
        }
        if let [_] = src.as_slice() {
            // A run of one is a plain push, without the run's bookkeeping:
            // callgrind, current-thread runtime, capacity 1024, 8-byte
            // messages in batches of one through `send_many`/`recv_many`:
            // 415 -> 254 instructions per message (single `send`/`recv`:
            // 113).
            let value = src.pop().expect("one value");
            return self.push(value).map(|()| 1).map_err(|e| {
                let (err, value) = e.into_parts();
                src.push(value);
                err
            });
        }
        let cap = self.slots.len();
        let want = src.len().min(cap);
        // Ordering: Relaxed first guess, as in `push_or_else`.
        let mut tail = self.tail.load(Ordering::Relaxed);
        let mut backoff = Backoff::default();
        loop {
            if tail & self.mark_bit != 0 {
                return Err(PushError::Closed(()));
            }
            // Ordering: Acquire, as in `push_or_else`.
            let Run { len: n, seen } = self.ready_run(tail, want, |slot, pos| {
                slot.stamp.load(Ordering::Acquire) == pos
            });
            if n == 0 {
                let stamp = self.slot(tail).stamp.load(Ordering::Acquire);
                if stamp.wrapping_add(self.one_lap) == tail + 1 {
                    crate::sync::seqcst_edge();
                    // Ordering: SeqCst, as the full check in `push_or_else`.
                    if self.head.load(Ordering::SeqCst).wrapping_add(self.one_lap) == tail {
                        // The close check, as in `push_or_else`.
                        return Err(if self.is_closed() {
                            PushError::Closed(())
                        } else {
                            PushError::Full(())
                        });
                    }
                }
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
                continue;
            }
            // Ordering: SeqCst on success, as the tail CAS in `push_or_else`
            // (the wake-up protocol). One CAS claims the run [tail, end).
            let end = self.advance(tail, n);
            match self
                .tail
                .compare_exchange_weak(tail, end, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => {
                    let values = src.as_mut_ptr();
                    let mut i = 0;
                    self.walk(tail, n, |slot, pos| {
                        // Ordering: Acquire pairs with the Release stamp
                        // store of the consumer that emptied this slot: its
                        // read of the old value happens before our write.
                        if !seen && slot.stamp.load(Ordering::Acquire) != pos {
                            Self::wait_for(slot, pos);
                        }
                        // SAFETY: `i < n <= src.len()`: each of the first `n`
                        // values of `src` is read exactly once, here, and
                        // `src` forgets them below without dropping them.
                        let value = unsafe { values.add(i).read() };
                        i += 1;
                        // SAFETY: the CAS claimed `pos`, and its stamp was
                        // Acquire-loaded as `pos` (empty, its last value
                        // read): by `ready_run` (`seen`) or just above.
                        unsafe { Self::put(slot, pos, value) };
                        true
                    });
                    let rest = src.len() - n;
                    if rest > 0 {
                        // SAFETY: the first `n` values were moved out above;
                        // the `rest` after them move down to the front (the
                        // ranges may overlap, so `copy`). Nothing between the
                        // reads and here can panic.
                        unsafe { std::ptr::copy(values.add(n), values, rest) };
                    }
                    // SAFETY: every value left in the first `rest` places is
                    // owned once; the moved-out ones are forgotten.
                    unsafe { src.set_len(rest) };
                    return Ok(n);
                }
                Err(current) => {
                    // Lost to another producer (see `Backoff::spin`).
                    backoff.spin();
                    tail = current;
                }
            }
        }
    }

    fn close(&self) -> bool {
        // Ordering: SeqCst RMW: pairs with the SeqCst tail load of `pop`
        // (a pop that sees the mark sees every earlier push).
        self.tail.fetch_or(self.mark_bit, Ordering::SeqCst) & self.mark_bit == 0
    }

    fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    fn len(&self) -> usize {
        loop {
            // Ordering: SeqCst so that the tail, head, tail triple is a
            // consistent snapshot when both tail loads agree.
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == tail {
                // tail - head in slots, from the laps between them and
                // their indices.
                let lap = |pos: usize| pos & !(self.one_lap - 1);
                let laps = lap(tail).wrapping_sub(lap(head)) / self.one_lap;
                let hix = head & (self.mark_bit - 1);
                let tix = tail & (self.mark_bit - 1);
                let cap = self.slots.len();
                // Capped: a `force_push` on a full ring moves the tail one
                // slot on before it moves the head, so for that moment the
                // count is cap + 1 (and `laps` 2 if that slot starts a lap
                // after the head's); read by index alone it was 1.
                return (laps * cap + tix - hix).min(cap);
            }
        }
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.slots.len())
    }
}

impl<T> Ring<T> {
    /// Drops the values at positions `[head, tail)`. If one of their `Drop`s
    /// panics, the rest are still dropped (by a guard, during the unwind)
    /// before the panic goes on.
    ///
    /// # Safety
    /// - no other thread is left (`&mut self` in `Drop`);
    /// - every position in `[head, tail)` was written and not yet read.
    unsafe fn drop_range(&self, mut head: usize, tail: usize) {
        /// Drops what is left of the range if a value's `Drop` panics.
        struct Rest<'a, T> {
            ring: &'a Ring<T>,
            head: usize,
            tail: usize,
        }
        impl<T> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                // SAFETY: the range is the tail of the caller's range, whose
                // contract (written, unread, no other thread) still holds.
                unsafe { self.ring.drop_range(self.head, self.tail) };
            }
        }
        while head != tail {
            let slot = self.slot(head);
            head = self.next(head);
            let rest = Rest {
                ring: self,
                head,
                tail,
            };
            // SAFETY: this position is in the caller's range: written, not
            // yet read, and no other thread is left to touch it.
            unsafe { slot.value.with_mut(|v| (*v).assume_init_drop()) };
            std::mem::forget(rest);
        }
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread is left; positions are final.
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed) & !self.mark_bit;
        // SAFETY: every position in [head, tail) was written (its producer
        // finished, since no thread is left) and not yet read.
        unsafe { self.drop_range(head, tail) };
    }
}

/// What one slot is doing, as seen by [`Ring::state`]; `p` is the position
/// the stamp names (`{lap, 0, index}`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// Empty, waiting for the producer at `p`.
    Ready(usize),
    /// A producer won the tail CAS for `p` and is writing.
    Writing(usize),
    /// Holds the value written at `p`.
    Full(usize),
    /// A consumer won the head CAS for `p` and is reading.
    Reading(usize),
}

impl SlotState {
    /// Reads a stamp against the head and the tail (tail without its mark).
    fn classify(stamp: usize, index: usize, mark_bit: usize, head: usize, tail: usize) -> Self {
        // `a` is before `b` when `b - a`, as a signed distance, is positive:
        // positions grow monotonically (lap above index), wrapping included.
        let before = |a: usize, b: usize| (b.wrapping_sub(a) as isize) > 0;
        if stamp & (mark_bit - 1) == index {
            let p = stamp;
            if before(p, tail) {
                Self::Writing(p)
            } else {
                Self::Ready(p)
            }
        } else {
            let p = stamp.wrapping_sub(1);
            if before(p, head) {
                Self::Reading(p)
            } else {
                Self::Full(p)
            }
        }
    }
}

impl fmt::Debug for SlotState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Ready(p) => write!(f, "ready for producer at {p:#x}"),
            Self::Writing(p) => write!(f, "being written at {p:#x}"),
            Self::Full(p) => write!(f, "holding message of {p:#x}"),
            Self::Reading(p) => write!(f, "being read at {p:#x}"),
        }
    }
}

/// A snapshot of a ring for debugging: positions, length and the first
/// [`RingState::MAX_SLOTS`] slots. Taken without stopping other threads, so
/// fields may disagree slightly while the ring is in use.
pub(crate) struct RingState {
    head: usize,
    tail: usize,
    closed: bool,
    len: usize,
    capacity: usize,
    one_lap: usize,
    slots: Vec<SlotState>,
}

impl RingState {
    /// Slots shown at most, so that a large ring prints readably.
    pub(crate) const MAX_SLOTS: usize = 32;
}

impl fmt::Debug for RingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Slots<'a>(&'a RingState);
        impl fmt::Debug for Slots<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut list = f.debug_map();
                for (index, state) in self.0.slots.iter().enumerate() {
                    list.entry(&index, state);
                }
                let hidden = self.0.capacity - self.0.slots.len();
                if hidden > 0 {
                    list.entry(&"..", &format_args!("{hidden} more slots not shown"));
                }
                list.finish()
            }
        }
        f.debug_struct("Ring")
            .field("head", &format_args!("{:#x}", self.head))
            .field("tail", &format_args!("{:#x}", self.tail))
            .field("one_lap", &format_args!("{:#x}", self.one_lap))
            .field("closed", &self.closed)
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .field("slots", &Slots(self))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc as StdArc;

    const CAPS: [usize; 5] = [1, 2, 3, 7, 64];

    /// Positions a few laps below `usize::MAX`, so the tests cross the wrap.
    fn near_wrap<T>(cap: usize) -> Ring<T> {
        let one_lap = (cap + 1).next_power_of_two() * 2;
        let start = (usize::MAX & !(one_lap - 1)).wrapping_sub(2 * one_lap);
        Ring::with_start(cap, start, "test")
    }

    fn rings<T>(cap: usize) -> [Ring<T>; 2] {
        [Ring::new(cap, "test"), near_wrap(cap)]
    }

    #[test]
    fn capacity_is_exact() {
        for cap in CAPS {
            for ring in rings::<usize>(cap) {
                for i in 0..cap {
                    assert!(ring.push(i).is_ok(), "cap {cap}: push {i} failed");
                }
                assert!(ring.push(cap) == Err(PushError::Full(cap)), "cap {cap}");
                assert_eq!(ring.len(), cap);
                assert_eq!(ring.pop(), Ok(0));
                assert!(ring.push(cap).is_ok());
                assert!(matches!(ring.push(0), Err(PushError::Full(0))));
            }
        }
    }

    #[test]
    fn fifo_across_many_laps_and_the_wrap() {
        let laps = if cfg!(miri) { 4 } else { 40 };
        for cap in CAPS {
            for ring in rings::<usize>(cap) {
                let mut next_out = 0;
                for i in 0..cap * laps {
                    if ring.push(i).is_err() {
                        assert_eq!(ring.pop(), Ok(next_out));
                        next_out += 1;
                        assert!(ring.push(i).is_ok());
                    }
                    assert!(ring.len() <= cap);
                }
                while let Ok(v) = ring.pop() {
                    assert_eq!(v, next_out);
                    next_out += 1;
                }
                assert_eq!(next_out, cap * laps);
                assert_eq!(ring.pop(), Err(PopError::Empty));
                assert_eq!(ring.len(), 0);
            }
        }
    }

    #[test]
    fn wraps_past_usize_max() {
        let ring = near_wrap::<u32>(3);
        let before = ring.head.load(Ordering::Relaxed);
        for i in 0..100 {
            ring.push(i).unwrap();
            assert_eq!(ring.pop(), Ok(i));
        }
        let after = ring.head.load(Ordering::Relaxed);
        assert!(
            after < before,
            "positions did not wrap: {before:#x} -> {after:#x}"
        );
    }

    /// A pop that finds its slot claimed but not yet written (tail moved
    /// on, the stamp still `head`) waits for the write instead of answering
    /// `Empty` (or, closed meanwhile, `Closed`): the inline empty check
    /// must hand that case to `pop_slow`.
    #[test]
    #[cfg_attr(miri, ignore)] // sleeps
    fn pop_waits_out_a_slot_being_written() {
        for close in [false, true] {
            for ring in rings::<u32>(2) {
                let ring = StdArc::new(ring);
                let head = ring.head.load(Ordering::Relaxed);
                // A producer's claim of `head`, its write still to come.
                ring.tail
                    .compare_exchange(head, ring.next(head), Ordering::SeqCst, Ordering::Relaxed)
                    .unwrap();
                if close {
                    assert!(ring.close());
                }
                let r = ring.clone();
                let popper = std::thread::spawn(move || r.pop());
                std::thread::sleep(std::time::Duration::from_millis(50));
                assert!(
                    !popper.is_finished(),
                    "close {close}: answered before the write"
                );
                // SAFETY: the tail CAS above claimed `head`, whose slot is empty.
                unsafe { Ring::put(ring.slot(head), head, 7) };
                assert_eq!(popper.join().unwrap(), Ok(7), "close {close}");
                let end = if close {
                    PopError::Closed
                } else {
                    PopError::Empty
                };
                assert_eq!(ring.pop(), Err(end));
            }
        }
    }

    #[test]
    fn close_fails_pushes_and_drains_pops() {
        for ring in rings::<u8>(2) {
            ring.push(1).unwrap();
            assert!(ring.close());
            assert!(!ring.close());
            assert!(ring.is_closed());
            assert!(matches!(ring.push(2), Err(PushError::Closed(2))));
            assert_eq!(ring.force_push(3), Err(3));
            assert_eq!(ring.len(), 1);
            assert_eq!(ring.pop(), Ok(1));
            assert_eq!(ring.pop(), Err(PopError::Closed));
        }
    }

    #[test]
    fn force_push_replaces_the_oldest() {
        for cap in CAPS {
            for ring in rings::<usize>(cap) {
                for i in 0..cap {
                    assert_eq!(ring.force_push(i), Ok(None));
                }
                for i in cap..cap * 3 {
                    assert_eq!(ring.force_push(i), Ok(Some(i - cap)));
                    assert_eq!(ring.len(), cap);
                }
                for i in cap * 2..cap * 3 {
                    assert_eq!(ring.pop(), Ok(i));
                }
                assert_eq!(ring.pop(), Err(PopError::Empty));
            }
        }
    }

    #[test]
    fn batches_claim_runs_in_order_across_the_wrap() {
        for cap in CAPS {
            for ring in rings::<usize>(cap) {
                let mut next_in = 0;
                let mut next_out = 0;
                for round in 0..20 {
                    let mut src: Vec<usize> =
                        (next_in..next_in + cap / 2 + round % 3 + 1).collect();
                    let offered = src.len();
                    let room = cap - ring.len();
                    let sent = ring.push_many(&mut src).unwrap_or(0);
                    assert_eq!(sent, offered.min(room), "cap {cap} round {round}");
                    assert_eq!(src.len(), offered - sent);
                    assert_eq!(
                        src.first().copied(),
                        (sent < offered).then_some(next_in + sent)
                    );
                    next_in += sent;
                    let mut out = Vec::new();
                    let limit = round % 4 + 1;
                    let got = ring.pop_many(&mut out, limit).unwrap();
                    assert_eq!(got, limit.min(next_in - next_out));
                    assert_eq!(out, (next_out..next_out + got).collect::<Vec<_>>());
                    next_out += got;
                }
                let mut out = Vec::new();
                while ring.pop_many(&mut out, 3).is_ok() {}
                assert_eq!(out, (next_out..next_in).collect::<Vec<_>>());
                assert_eq!(ring.pop_many(&mut out, 3), Err(PopError::Empty));
                assert_eq!(ring.pop_many(&mut out, 0), Ok(0));
            }
        }
    }

    #[test]
    fn batches_report_full_and_closed() {
        let ring = Ring::new(2, "test");
        let mut src = vec![1, 2, 3];
        assert_eq!(ring.push_many(&mut src), Ok(2));
        assert_eq!(ring.push_many(&mut src), Err(PushError::Full(())));
        assert_eq!(src, [3]);
        ring.close();
        assert_eq!(ring.push_many(&mut src), Err(PushError::Closed(())));
        let mut out = Vec::new();
        assert_eq!(ring.pop_many(&mut out, 5), Ok(2));
        assert_eq!(ring.pop_many(&mut out, 5), Err(PopError::Closed));
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn runs_of_one_report_full_empty_and_closed() {
        // A run of one (one value offered, a limit of one, or a ring of one
        // slot) takes the plain push and pop, with the same answers.
        for cap in [1, 2] {
            let ring = Ring::new(cap, "test");
            let mut out = Vec::new();
            assert_eq!(ring.pop_many(&mut out, 1), Err(PopError::Empty));
            assert_eq!(ring.pop_many(&mut out, 5), Err(PopError::Empty));
            for v in 0..cap {
                let mut one = vec![v];
                assert_eq!(ring.push_many(&mut one), Ok(1));
                assert!(one.is_empty());
            }
            let mut one = vec![9];
            assert_eq!(ring.push_many(&mut one), Err(PushError::Full(())));
            assert_eq!(one, [9], "a full ring leaves the value offered");
            assert_eq!(ring.pop_many(&mut out, 1), Ok(1));
            assert_eq!(out, [0]);
            ring.close();
            assert_eq!(ring.push_many(&mut one), Err(PushError::Closed(())));
            assert_eq!(one, [9], "a closed ring leaves the value offered");
            let limit = if cap == 1 { 5 } else { 1 };
            for v in 1..cap {
                assert_eq!(ring.pop_many(&mut out, limit), Ok(1));
                assert_eq!(out.last(), Some(&v));
            }
            assert_eq!(ring.pop_many(&mut out, limit), Err(PopError::Closed));
        }
    }

    #[test]
    fn zero_sized_values() {
        let ring = Ring::new(3, "test");
        for _ in 0..3 {
            ring.push(()).unwrap();
        }
        assert!(ring.push(()).is_err());
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.pop(), Ok(()));
    }

    struct Counted(StdArc<StdAtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn batches_move_each_value_once_across_the_wrap() {
        // Boxed values: Miri reports a value read twice (double free) or
        // never moved out (leak); the counter catches a lost drop. Miri
        // skips the largest capacity (over a minute there on its own).
        let caps = if cfg!(miri) { &CAPS[..4] } else { &CAPS[..] };
        for &cap in caps {
            for ring in rings::<(usize, Box<Counted>)>(cap) {
                let drops = StdArc::new(StdAtomicUsize::new(0));
                let item = |i| (i, Box::new(Counted(drops.clone())));
                let (mut next_in, mut next_out) = (0, 0);
                // Start the runs at every index, so some straddle the end of
                // the slot array.
                for round in 0..3 * cap + 2 {
                    // More than fits: the rest must stay in `src`, in order.
                    let mut src: Vec<_> = (next_in..next_in + cap + 1).map(item).collect();
                    let room = cap - ring.len();
                    assert_eq!(ring.push_many(&mut src).unwrap_or(0), room);
                    let left: Vec<usize> = src.iter().map(|v| v.0).collect();
                    assert_eq!(
                        left,
                        (next_in + room..next_in + cap + 1).collect::<Vec<_>>()
                    );
                    next_in += room;
                    drop(src);
                    // Appends after what `out` already holds.
                    let mut out = vec![item(usize::MAX)];
                    let got = ring.pop_many(&mut out, round % cap + 1).unwrap();
                    let seen: Vec<usize> = out.iter().skip(1).map(|v| v.0).collect();
                    assert_eq!(seen, (next_out..next_out + got).collect::<Vec<_>>());
                    assert_eq!(out[0].0, usize::MAX);
                    next_out += got;
                }
                drop(ring);
                // Every value made was dropped exactly once: the ones left
                // in `src`, the ones popped, the markers, the leftovers.
                let rounds = 3 * cap + 2;
                let created = rounds * (cap + 1) + rounds;
                assert_eq!(drops.load(Ordering::Relaxed), created);
            }
        }
    }

    #[test]
    fn drop_drops_each_leftover_once() {
        for cap in CAPS {
            for ring in rings::<Counted>(cap) {
                let drops = StdArc::new(StdAtomicUsize::new(0));
                // Leave the leftovers straddling the end of the slot array.
                for _ in 0..cap / 2 + 1 {
                    assert!(ring.push(Counted(drops.clone())).is_ok());
                    drop(ring.pop());
                }
                for _ in 0..cap {
                    assert!(ring.push(Counted(drops.clone())).is_ok());
                }
                let popped = cap / 2 + 1;
                assert_eq!(drops.load(Ordering::Relaxed), popped);
                drop(ring);
                assert_eq!(drops.load(Ordering::Relaxed), popped + cap);
            }
        }
    }

    #[test]
    fn mpmc_threads_deliver_each_value_once_in_producer_order() {
        let (producers, consumers, per) = if cfg!(miri) {
            (2, 2, 50)
        } else {
            (4, 4, 20_000)
        };
        let total = producers * per;
        for cap in [1, 3, 64] {
            let ring = near_wrap::<(usize, usize)>(cap);
            let taken = StdAtomicUsize::new(0);
            let mut all: Vec<(usize, usize)> = std::thread::scope(|s| {
                for p in 0..producers {
                    let ring = &ring;
                    s.spawn(move || {
                        for i in 0..per {
                            let mut v = (p, i);
                            while let Err(PushError::Full(back)) = ring.push(v) {
                                v = back;
                                std::thread::yield_now();
                            }
                        }
                    });
                }
                let consumers: Vec<_> = (0..consumers)
                    .map(|_| {
                        let (ring, taken) = (&ring, &taken);
                        s.spawn(move || {
                            let mut got = Vec::new();
                            let mut last = vec![None; producers];
                            while taken.load(Ordering::Relaxed) < total {
                                let Ok((p, i)) = ring.pop() else {
                                    std::thread::yield_now();
                                    continue;
                                };
                                taken.fetch_add(1, Ordering::Relaxed);
                                assert!(last[p] < Some(i), "producer {p} out of order");
                                last[p] = Some(i);
                                got.push((p, i));
                            }
                            got
                        })
                    })
                    .collect();
                consumers
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect()
            });
            all.sort_unstable();
            let expected: Vec<_> = (0..producers)
                .flat_map(|p| (0..per).map(move |i| (p, i)))
                .collect();
            assert!(all == expected, "cap {cap}: values lost or duplicated");
            assert_eq!(ring.pop(), Err(PopError::Empty));
        }
    }

    #[test]
    fn state_names_each_slot() {
        let ring = Ring::new(3, "test");
        ring.push(1u8).unwrap();
        ring.push(2).unwrap();
        assert_eq!(ring.pop(), Ok(1));
        let state = ring.state();
        assert_eq!(state.len, 1);
        assert_eq!(
            state.slots,
            [SlotState::Ready(8), SlotState::Full(1), SlotState::Ready(2)]
        );
        let shown = format!("{state:#?}");
        assert!(
            shown.contains("head") && shown.contains("holding message"),
            "{shown}"
        );
        let big = Ring::<u8>::new(100_000, "test");
        let shown = format!("{:#?}", big.state());
        assert!(shown.len() < 4096 && shown.contains("more slots not shown"));
    }

    #[test]
    #[should_panic(expected = "test: capacity must be at least 1")]
    fn zero_capacity_panics() {
        let _ = Ring::<u8>::new(0, "test");
    }

    #[test]
    #[should_panic(expected = "too large")]
    // Miri stops at "resource exhaustion" instead of failing the allocation.
    #[cfg_attr(miri, ignore)]
    // `1 << 50` does not fit a 32-bit `usize`; the test below covers those.
    #[cfg(target_pointer_width = "64")]
    fn absurd_capacity_panics() {
        // A size that fits the address space; the allocator refuses it.
        let _ = Ring::<[u8; 64]>::new(1 << 50, "test");
    }

    #[test]
    #[should_panic(expected = "too large")]
    fn capacity_whose_slots_overflow_the_address_space_panics() {
        // Allowed by the position arithmetic, but its slots' size overflows
        // `isize` (on 32-bit targets as on 64-bit ones): refused before any
        // allocation is tried.
        let _ = Ring::<[u8; 64]>::new(Ring::<[u8; 64]>::MAX_CAP, "test");
    }
}
