//! The unbounded lock-free MPMC queue: a linked list of blocks of slots.
//!
//! The algorithm is the block list of crossbeam-channel's list flavour
//! (`crossbeam-channel/src/flavors/list.rs`, by Stjepan Glavina and the
//! crossbeam authors), which concurrent-queue's `unbounded.rs` also uses; both
//! descend from Dmitry Vyukov's bounded MPMC queue
//! (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>).
//! Positions count up for ever; instead of wrapping around a ring, every lap of
//! positions gets a block of its own, and a block is given up once all of
//! its slots have been read (at once, or at the next block's retire: see
//! [`List::retire`]). The code and comments here are our own.
//! Four choices differ from those sources: the first block is allocated by
//! [`List::new`] (so no push ever races to install it and no pointer is ever
//! null); the claim CASes carry only the orderings this crate's park
//! protocol needs (see the `// Ordering:` comments); a slot's WRITE and READ
//! flags are plain stores, not read-modify-writes, because a block whose last
//! slot is read while another slot is still being read waits in a limbo list
//! for a later lap instead of being handed to that slot's reader (see
//! [`List::retire`]); and one drained block is kept as a spare for the next
//! lap instead of being freed (see [`List`]'s `spare`).
//!
//! No async, no wakers, no `Arc`: this file only moves values in and out of
//! slots.

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use crate::queue::{PopError, PushError, Queue};
use crate::sync::{
    seqcst_edge, AtomicPtr, AtomicU32, AtomicUsize, Backoff, CachePadded, Ordering, UnsafeCell,
};

/// Slot `written` value: the producer has written the value.
const WRITE: u32 = 1;
/// Slot `read` value: the consumer has read the value and is done with the
/// block.
const READ: u32 = 1;

/// Positions per block (one lap). A power of two, so laps wrap cleanly
/// around `usize`. Small under loom so that models cross blocks.
#[cfg(not(loom))]
const LAP: usize = 32;
#[cfg(loom)]
const LAP: usize = 4;
/// Slots per block: the last position of each lap is the bridge, not a slot.
const BLOCK_CAP: usize = LAP - 1;
/// Index bits below the position.
const SHIFT: usize = 1;
/// In `tail`: the queue is closed. In `head`: head's block is not the last.
const MARK: usize = 1;
/// One position, in index units.
const ONE: usize = 1 << SHIFT;
/// One lap, in index units.
const ONE_LAP: usize = LAP << SHIFT;

const _: () = assert!(LAP.is_power_of_two() && LAP >= 2);

/// One cell of a block: the value, the producer's [`WRITE`] flag and the
/// consumer's [`READ`] flag.
///
/// Each flag has one writer, which stores it once, so both are plain
/// Release stores: no read-modify-write (a locked instruction costs about a
/// fifth of a push and pop here). The two 32-bit words take the space of one
/// `usize`, and a slot of a small `T` is 4-byte aligned instead of 8.
struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    written: AtomicU32,
    read: AtomicU32,
}

impl<T> Slot<T> {
    /// Spins until the producer that claimed this slot has written it.
    #[inline]
    fn wait_write(&self) {
        // Ordering: Acquire pairs with the producer's Release
        // `store(WRITE)` in `write`, so its write of the value happens
        // before our read.
        if self.written.load(Ordering::Acquire) != WRITE {
            self.wait_write_slow();
        }
    }

    /// Waits for the producer's write, then moves the value out.
    ///
    /// # Safety
    /// The caller's head CAS claimed this slot's position, so nobody else
    /// reads it; it is read once.
    #[inline]
    unsafe fn take(&self) -> T {
        self.wait_write();
        // SAFETY: the position is the caller's (see above), and
        // `wait_write` saw WRITE with Acquire, so the value is initialised
        // and its write happened before this read.
        unsafe { self.value.with_mut(|v| v.read().assume_init()) }
    }

    /// The spin of [`Slot::wait_write`], out of line: a consumer rarely
    /// overtakes the producer of its slot.
    #[cold]
    fn wait_write_slow(&self) {
        let mut backoff = Backoff::default();
        // Ordering: Acquire, as in `wait_write`.
        while self.written.load(Ordering::Acquire) != WRITE {
            backoff.snooze();
        }
    }
}

/// One lap of positions: [`BLOCK_CAP`] slots and the link to the next lap.
struct Block<T> {
    /// The next lap's block; null until the producer of this block's last
    /// slot links it.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
    /// Makes loom report a block that is never freed ("Allocation leaked").
    #[cfg(loom)]
    _leak_check: loom::alloc::Track<()>,
}

impl<T> Block<T> {
    /// A block with every slot empty (both flags 0) and no successor.
    ///
    /// Allocated and initialised in place rather than built on the stack and
    /// moved into a `Box`: a block of a large `T` could overflow the stack.
    /// Only the link and the flags are written; the values stay
    /// uninitialised. Zeroing the whole block instead (`alloc_zeroed`) cost
    /// a `memset` of every value too: measured with callgrind, 72 of the 425
    /// instructions per 64-byte message through an unbounded channel.
    /// Allocation failure goes to `handle_alloc_error`, as `Box::new` does.
    #[cfg(not(loom))]
    fn new() -> Box<Self> {
        let layout = std::alloc::Layout::new::<Self>();
        // SAFETY: `layout` is not zero-sized: a block holds its `next` pointer.
        let raw = unsafe { std::alloc::alloc(layout) }.cast::<Self>();
        if raw.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: `raw` is a live, suitably aligned allocation for a `Self`,
        // and nothing else can see it yet. Writing through `addr_of_mut!`
        // makes no reference to the uninitialised memory.
        unsafe {
            std::ptr::addr_of_mut!((*raw).next).write(AtomicPtr::new(std::ptr::null_mut()));
            let slots = std::ptr::addr_of_mut!((*raw).slots).cast::<Slot<T>>();
            for i in 0..BLOCK_CAP {
                let slot = slots.add(i);
                std::ptr::addr_of_mut!((*slot).written).write(AtomicU32::new(0));
                std::ptr::addr_of_mut!((*slot).read).write(AtomicU32::new(0));
            }
        }
        // SAFETY: `raw` is a live allocation of the global allocator with
        // `Self`'s layout, which is what `Box` owns and frees, and every field
        // is initialised but the values, which are `MaybeUninit` and may stay
        // uninitialised.
        unsafe { Box::from_raw(raw) }
    }

    /// A block with every slot empty and no successor (loom's atomics and
    /// cells must be built by their constructors, not zeroed).
    #[cfg(loom)]
    fn new() -> Box<Self> {
        Box::new(Self {
            next: AtomicPtr::new(std::ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                written: AtomicU32::new(0),
                read: AtomicU32::new(0),
            }),
            _leak_check: loom::alloc::Track::new(()),
        })
    }

    /// Spins until the next block is linked, and returns it.
    fn wait_next(&self) -> *mut Self {
        let mut backoff = Backoff::default();
        loop {
            // Ordering: Acquire pairs with the Release store of `next` in
            // `write`, so the new block's initialisation happens before we
            // use it.
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Whether every slot but the last has been read: the test that makes a
    /// block whose last slot its caller has read free to go.
    ///
    /// # Safety
    /// `this` is alive: head has left it and it is not yet recycled or
    /// freed (only the caller can do either).
    unsafe fn all_read(this: *mut Self) -> bool {
        // The last slot is not checked: its reader (the caller, or whoever
        // put the block in limbo) is done with it.
        (0..BLOCK_CAP - 1).all(|i| {
            // SAFETY: the block is alive (see `# Safety`).
            let slot = unsafe { &(*this).slots[i] };
            // Ordering: Acquire pairs with the reader's Release store of
            // READ in `read`: its read of the value happens before whatever
            // we do with the block next (reuse or free).
            slot.read.load(Ordering::Acquire) == READ
        })
    }

    /// Empties a block nobody can reach any more and parks it in `spare`
    /// for the producer that links the next lap, so that a queue in steady
    /// state allocates nothing; frees it if `spare` already holds one.
    ///
    /// # Safety
    /// As for [`Block::free`].
    unsafe fn recycle(this: *mut Self, spare: &AtomicPtr<Self>) {
        // SAFETY: `this` is alive and ours alone (see `# Safety`).
        let block = unsafe { &*this };
        block.check_values_unshared();
        // Ordering: Relaxed: the Release CAS below publishes these stores to
        // the producer that takes the block.
        block.next.store(std::ptr::null_mut(), Ordering::Relaxed);
        for slot in &block.slots {
            slot.written.store(0, Ordering::Relaxed);
            slot.read.store(0, Ordering::Relaxed);
        }
        // Ordering: Release pairs with the Acquire swap in `take_spare`: the
        // reset above, and every read of the old values, happen before the
        // block's next use.
        if spare
            .compare_exchange(
                std::ptr::null_mut(),
                this,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // SAFETY: as for `recycle` (`spare` did not take it).
            unsafe { Self::free(this) };
        }
    }

    /// Under loom, touches every value cell with `with_mut`. loom cannot see
    /// accesses to freed std memory, but it does check that a `with_mut`
    /// happens after every other access to the cell: called just before a
    /// block is freed or reused, this makes the models prove that comes
    /// after every read and write of its old values. Nothing otherwise.
    fn check_values_unshared(&self) {
        #[cfg(loom)]
        for slot in &self.slots {
            slot.value.with_mut(|_| ());
        }
    }

    /// Gives the block's memory back.
    ///
    /// # Safety
    /// - `this` came from [`Block::new`] and no thread will use it again.
    /// - Its values have been read or dropped, or are not to be dropped.
    unsafe fn free(this: *mut Self) {
        // SAFETY: `this` is still alive here (see `# Safety`).
        unsafe { (*this).check_values_unshared() };
        // SAFETY: `this` is a `Box` turned into a raw pointer by `List`, and
        // no thread uses it again (see `# Safety`). Dropping a `Block` drops
        // no `T`: the values are `MaybeUninit`.
        drop(unsafe { Box::from_raw(this) });
    }
}

/// Where pushes (tail) or pops (head) are: an index and the block of its lap.
struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

/// An unbounded lock-free MPMC queue of blocks of slots, closable.
///
/// ```text
/// index (head, tail):  | lap ................ | offset | mark |
///                        position = index >> SHIFT (SHIFT = 1)
///   offset   position % LAP, 0 <= offset < LAP (LAP = 32; 4 under loom)
///   lap      position / LAP: which block; wraps around usize cleanly
///   mark     in tail: closed, pushes fail from then on (set by `close`)
///            in head: set once tail is known to have left head's block,
///            so pops take that block's slots without loading tail
///
/// blocks, one per lap (BLOCK_CAP = LAP - 1 slots):
///   offset   0      1            LAP-2      LAP-1
///          [slot] [slot]  ...  [slot]       bridge ──next──▶ block of lap+1
///   The bridge is a position with no slot. Whoever claims offset LAP-2 (the
///   last slot) moves that index across it: the producer links a new block
///   and steps tail to {lap+1, 0}; the consumer steps head onto the new
///   block. Anyone else who sees an index on a bridge waits.
///
/// one slot's life (`written`, `read` flags):
///   0, 0 ──producer claims {lap, offset} (tail CAS), writes, stores WRITE──▶
///   WRITE, 0 ──consumer claims it (head CAS), waits for WRITE, reads, stores
///   READ──▶ WRITE, READ: done; nobody touches the slot again
///
/// block life: allocated by the producer of the previous lap's last slot
///   (or by `new`), or the spare block taken again; retired by the reader of
///   its last slot (`retire`): kept as the spare or freed if every slot has
///   READ, else put in `limbo` until a later retire (or `Drop`) finds them
///   all READ.
/// ```
///
/// Invariants: `head <= tail` in positions; every position below tail and
/// not on a bridge has been claimed by exactly one producer, every one below
/// head by exactly one consumer; a block is alive while head is in it or
/// before it, or any of its slots is still being read; a block head has left
/// is in `limbo` from its retire until all its slots have READ.
pub(crate) struct List<T> {
    /// Next position to pop, with the mark once tail has left head's block.
    head: CachePadded<Position<T>>,
    /// Next position to push, with the mark once closed.
    tail: CachePadded<Position<T>>,
    /// A drained block kept for the next lap (null if none), so that a
    /// queue whose length stays under one block's worth ([`BLOCK_CAP`]
    /// values) stops allocating. Touched about once a lap, by the reader
    /// that empties a block and the writer that links one (a writer that
    /// takes it and then loses the race for the lap's last slot frees it).
    spare: AtomicPtr<Block<T>>,
    /// Retired blocks with a slot still being read when their last slot's
    /// reader was done, linked through `next` (dead once head has left a
    /// block); null if none. A stack: pushed by `retire`, taken whole by the
    /// next `retire`, which frees what is done and pushes back the rest.
    /// Usually empty; under concurrent consumers it holds a block for about
    /// a lap now and then.
    limbo: AtomicPtr<Block<T>>,
    /// The list owns `T`s (for the drop checker and auto traits).
    _values: PhantomData<T>,
}

// SAFETY: the list owns its values and hands each one to exactly one thread:
// written by the producer that won the tail CAS for its position, read by the
// consumer that won the head CAS for it. Moving values between threads needs
// `T: Send`; no `&T` is ever shared, so `T: Sync` is not needed.
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: as for `Send`: `&List<T>` only ever gives out owned `T`s, one thread
// per value, with the WRITE bit ordering each write before its read.
unsafe impl<T: Send> Sync for List<T> {}

impl<T> List<T> {
    /// An empty, open list with its first block allocated.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self::with_start(0)
    }

    /// An empty list whose positions start at `start`, a lap-aligned index:
    /// lets tests start a few laps below `usize::MAX` to prove the
    /// wrap-around.
    pub(crate) fn with_start(start: usize) -> Self {
        debug_assert_eq!(start % ONE_LAP, 0, "start must be lap-aligned");
        let block = Box::into_raw(Block::new());
        let position = || {
            CachePadded(Position {
                index: AtomicUsize::new(start),
                block: AtomicPtr::new(block),
            })
        };
        Self {
            head: position(),
            tail: position(),
            spare: AtomicPtr::new(std::ptr::null_mut()),
            limbo: AtomicPtr::new(std::ptr::null_mut()),
            _values: PhantomData,
        }
    }

    /// The spare block, if a drained one is waiting (see `spare`).
    fn take_spare(&self) -> Option<Box<Block<T>>> {
        // Ordering: a Relaxed look first, so the common empty case costs no
        // RMW; Acquire on the swap pairs with the Release CAS in `recycle`.
        if self.spare.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let block = self.spare.swap(std::ptr::null_mut(), Ordering::Acquire);
        // SAFETY: a non-null `spare` is a block from `Block::new` that
        // `recycle` emptied and gave up; the swap made it ours alone.
        (!block.is_null()).then(|| unsafe { Box::from_raw(block) })
    }

    /// The first try of `push_or_closed`, for `push` and `push_from`: the
    /// open list's tail on a slot that is not its block's last and the CAS
    /// won gives that lap's block and the slot's offset, to be written
    /// with `write`. The last slot (whose producer links the next block),
    /// the bridge, a lost race and a closed list give `None`, for the loop
    /// out of line.
    #[inline(always)]
    fn claim_inline(&self) -> Option<(*mut Block<T>, usize)> {
        // Ordering: Acquire on both loads, as in `push_or_closed`.
        let tail = self.tail.index.load(Ordering::Acquire);
        let block = self.tail.block.load(Ordering::Acquire);
        let offset = (tail >> SHIFT) % LAP;
        (tail & MARK == 0
            && offset + 1 < BLOCK_CAP
            // Ordering: as for the claim in `push_or_closed`.
            && self
                .tail
                .index
                .compare_exchange_weak(
                    tail,
                    tail.wrapping_add(ONE),
                    Ordering::SeqCst,
                    Ordering::Acquire,
                )
                .is_ok())
        .then_some((block, offset))
    }

    /// Shared by `push` (past its inline first try) and `force_push`:
    /// appends `value`, or hands it back when the list is closed. Out of
    /// line, so that `push`'s inline part stays small.
    #[inline(never)]
    fn push_or_closed(&self, value: T) -> Result<(), T> {
        let mut backoff = Backoff::default();
        // Ordering: Acquire pairs with the Release `fetch_add` that stepped
        // tail into this lap (`write`), whose release sequence every later
        // RMW on tail continues: the `block` load below then sees this lap's
        // block (stored before that `fetch_add`) or a later one.
        let mut tail = self.tail.index.load(Ordering::Acquire);
        // Ordering: Acquire pairs with the Release store of `tail.block` in
        // `write`: the block's initialisation happens before we use it, and
        // if we read a later lap's block, the claim that ended our lap
        // happens before our CAS, which therefore fails instead of claiming a
        // slot in a block that is not ours.
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block = None;
        loop {
            if tail & MARK != 0 {
                return Err(value);
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Tail is on a bridge: the producer of the last slot is
                // linking the next block. Wait for it to step tail across.
                backoff.snooze();
                // Ordering: Acquire, as for the first loads.
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            // If we may be the one to link the next block, allocate it before
            // claiming, so the others wait on the bridge as briefly as can be.
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(self.take_spare().unwrap_or_else(Block::new));
            }
            // Ordering: SeqCst on success: this claim is the push's
            // linearisation point and the first half of the park protocol's
            // store-buffering pair (the channel next SeqCst-loads its waiter
            // count; a parking receiver RMWs that count, then `pop` SeqCst-
            // loads tail). Acquire on failure, as for the first load.
            match self.tail.index.compare_exchange_weak(
                tail,
                tail.wrapping_add(ONE),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: our CAS moved tail from {lap, offset} (not a
                    // bridge) and `block` is lap's block (see the Ordering
                    // comment on the first load); `next_block` is `Some` when
                    // `offset` is the last slot (allocated above).
                    unsafe { self.write(block, offset, next_block, value) };
                    return Ok(());
                }
                Err(current) => {
                    // Lost to another producer (see `Backoff::spin`).
                    // Producers of an unbounded queue never wait for
                    // room, so with several of them the tail's line is
                    // fought over on every push, and a retry at once
                    // mostly loses again.
                    backoff.spin();
                    tail = current;
                    // Ordering: Acquire, as for the first load.
                    block = self.tail.block.load(Ordering::Acquire);
                }
            }
        }
    }

    /// Second half of a push: links the next block if we claimed a lap's
    /// last slot, then writes `value` into the slot and sets WRITE.
    ///
    /// # Safety
    /// - This thread's CAS just moved tail from `{lap, offset, 0}` (with
    ///   `offset < BLOCK_CAP`) to the next position, and `block` is the
    ///   block of `lap`.
    /// - `next_block` is `Some` if `offset == BLOCK_CAP - 1`.
    #[inline(always)]
    unsafe fn write(
        &self,
        block: *mut Block<T>,
        offset: usize,
        next_block: Option<Box<Block<T>>>,
        value: T,
    ) {
        if offset + 1 == BLOCK_CAP {
            // Tail is now on the bridge and every other push waits there
            // until we step it into the next lap.
            let next = Box::into_raw(next_block.expect("allocated before the claim"));
            // Ordering: Release pairs with the Acquire loads of `tail.block`
            // in `push_or_closed`: the new block's initialisation, and our
            // claim of this lap's last slot, happen before anything a
            // producer does after seeing `next` there.
            self.tail.block.store(next, Ordering::Release);
            // Ordering: Release pairs with the Acquire loads of `tail.index`
            // in `push_or_closed`: a producer that reads {lap+1, ..} then
            // reads `next` from `tail.block`. An RMW, not a store, so that a
            // concurrent `close`'s mark is kept.
            self.tail.index.fetch_add(ONE, Ordering::Release);
            // Ordering: Release pairs with the Acquire load in `wait_next`
            // (and in `read`): the consumer that moves head onto `next` sees
            // it initialised, and tail already past this lap.
            // SAFETY: `block` stays alive until our slot has been read, and
            // we have not written it yet.
            unsafe { (*block).next.store(next, Ordering::Release) };
        }
        // SAFETY: as above, `block` is alive until this slot is read, which
        // waits for our WRITE; `offset < BLOCK_CAP` by the first bullet.
        let slot = unsafe { &(*block).slots[offset] };
        // SAFETY: our tail CAS gave us position {lap, offset}: no other
        // producer writes this slot, and its consumer reads only after WRITE.
        unsafe { slot.value.with_mut(|v| v.write(MaybeUninit::new(value))) };
        // Ordering: Release pairs with the Acquire load in `wait_write`: our
        // write of the value happens before its read. A store, not an RMW:
        // nobody else writes `written` (READ lives in `read`).
        slot.written.store(WRITE, Ordering::Release);
        // The block may be freed from here on; we do not touch it again.
    }

    /// Second half of a pop: waits for the value and reads it. A lap's last
    /// slot goes to [`List::read_last`], which also moves head onto the next
    /// block and frees this one (or does its share of freeing it); kept out
    /// of line so that this, inlined into every pop, stays small.
    ///
    /// # Safety
    /// - This thread's CAS just moved head from `{lap, offset}` (with
    ///   `offset < BLOCK_CAP`) to `new_head`, and `block` is the block of
    ///   `lap`.
    #[inline]
    unsafe fn read(&self, block: *mut Block<T>, offset: usize, new_head: usize) -> T {
        if offset + 1 == BLOCK_CAP {
            // SAFETY: the caller's contract, passed on; `offset` is the
            // lap's last slot.
            return unsafe { self.read_last(block, new_head) };
        }
        // SAFETY: `block` cannot be freed before this slot's READ.
        let slot = unsafe { &(*block).slots[offset] };
        // SAFETY: our head CAS gave us position {lap, offset}.
        let value = unsafe { slot.take() };
        // Ordering: Release pairs with the Acquire load in
        // `Block::all_read`: our read of the value happens before the
        // block is reused or freed. The block may go from here on.
        slot.read.store(READ, Ordering::Release);
        value
    }

    /// [`List::read`] of a lap's last slot, out of line (once per
    /// [`BLOCK_CAP`] pops): moves head onto the next block, reads the value
    /// and retires the block.
    ///
    /// # Safety
    /// As for [`List::read`], with `offset == BLOCK_CAP - 1`.
    #[cold]
    #[inline(never)]
    unsafe fn read_last(&self, block: *mut Block<T>, new_head: usize) -> T {
        // Head is now on the bridge and every other pop waits there until
        // we step it onto the next block.
        // SAFETY: only the reader of the last slot (us) can start freeing
        // `block`, so it is alive.
        let next = unsafe { (*block).wait_next() };
        let mut next_index = (new_head & !MARK).wrapping_add(ONE);
        // If `next` has a successor, tail has left `next`'s lap too.
        // Ordering: Acquire pairs with the Release store of that
        // successor in `write`, made after tail left `next`'s lap: pops
        // that trust the mark without loading tail, and `len`, then see
        // tail beyond every slot of `next`.
        // SAFETY: `next` is alive: head has not passed it yet.
        if !unsafe { (*next).next.load(Ordering::Acquire) }.is_null() {
            next_index |= MARK;
        }
        // Ordering: Release pairs with the Acquire loads of `head.block`
        // in `pop` and `pop_slow`: our claim of this lap's last slot happens before
        // anything a consumer does after seeing `next` there.
        self.head.block.store(next, Ordering::Release);
        // Ordering: Release pairs with the Acquire loads of `head.index`
        // in `pop` and `pop_slow`: a consumer that reads {lap+1, ..} then reads `next`.
        self.head.index.store(next_index, Ordering::Release);
        // SAFETY: `block` cannot be freed before we free it ourselves below.
        let slot = unsafe { &(*block).slots[BLOCK_CAP - 1] };
        // SAFETY: our head CAS gave us the lap's last position.
        let value = unsafe { slot.take() };
        // SAFETY: head is on `next` now; we read the last slot and are
        // done with the block; only the last slot's reader retires it.
        unsafe { self.retire(block) };
        value
    }

    /// Gives up a block whose last slot the caller has just read: to the
    /// spare slot (or freed, see [`Block::recycle`]) if every other slot has
    /// been read too, else to `limbo`. First retries the blocks already in
    /// limbo, so that each waits about a lap.
    ///
    /// Why limbo rather than crossbeam's hand-over (a DESTROY bit that makes
    /// the late reader finish the job): the hand-over needs every reader to
    /// set READ with a read-modify-write, to learn whether DESTROY came
    /// first; here READ is a plain store, and the rare late reader costs a
    /// block kept a little longer.
    ///
    /// # Safety
    /// `block` is alive and head has left it, and the caller is the reader
    /// of its last slot, has read it, and touches the block no more.
    unsafe fn retire(&self, block: *mut Block<T>) {
        // Ordering: Relaxed: a hint; `retry_limbo` takes the blocks with an
        // Acquire swap, and one pushed after this load waits for the next
        // retire.
        if !self.limbo.load(Ordering::Relaxed).is_null() {
            self.retry_limbo();
        }
        // SAFETY: see `# Safety`.
        unsafe { self.settle(block) };
    }

    /// Recycles a retired block if every slot has been read, else puts it
    /// in limbo.
    ///
    /// # Safety
    /// `block` is alive, head has left it, its last slot's reader is done
    /// with it, and the caller owns it (took it from limbo or is retiring
    /// it): nobody else recycles, frees or pushes it.
    unsafe fn settle(&self, block: *mut Block<T>) {
        // SAFETY: alive and ours (see `# Safety`).
        if unsafe { Block::all_read(block) } {
            // SAFETY: every slot has been read and its reader is done with
            // the block (the last slot's: the caller's contract), producers
            // are done with a slot once it is written, and head has left it,
            // so nobody else can reach it.
            unsafe { Block::recycle(block, &self.spare) };
        } else {
            // SAFETY: alive, head has left it, ours until pushed.
            unsafe { self.push_limbo(block) };
        }
    }

    /// Takes every block in limbo; recycles those whose slots have all been
    /// read since and puts the rest back.
    #[cold]
    fn retry_limbo(&self) {
        // Ordering: Acquire pairs with the Release CAS in `push_limbo`: the
        // link stores of the blocks we take happen before we follow them.
        let mut block = self.limbo.swap(std::ptr::null_mut(), Ordering::Acquire);
        while !block.is_null() {
            // SAFETY: a block in limbo is alive until its last retire, and
            // the swap made the chain ours alone.
            let next = unsafe { (*block).next.load(Ordering::Relaxed) };
            // SAFETY: each block in limbo met `retire`'s contract when it
            // was pushed, and the swap made it ours: `settle`'s contract.
            unsafe { self.settle(block) };
            block = next;
        }
    }

    /// Pushes a retired block with a slot still being read onto `limbo`.
    ///
    /// # Safety
    /// `block` is alive, head has left it (so its `next` is free to reuse),
    /// its last slot has been read, and the caller owns it until this push.
    unsafe fn push_limbo(&self, block: *mut Block<T>) {
        // Ordering: Relaxed: the CAS publishes the link.
        let mut top = self.limbo.load(Ordering::Relaxed);
        loop {
            // SAFETY: the block is alive and still ours (see `# Safety`).
            unsafe { (*block).next.store(top, Ordering::Relaxed) };
            // Ordering: Release pairs with the Acquire swap in `retry_limbo`
            // (and `Drop`'s load): our link store happens before the taker
            // follows it. Only pushes and whole-stack swaps touch `limbo`,
            // so there is no ABA: the top we saw is the one we link to.
            match self
                .limbo
                .compare_exchange_weak(top, block, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => top = current,
            }
        }
    }

    /// What a pop may claim at `head` (not a bridge): the next head, marked
    /// if tail has left head's block; or the answer, `Empty` or `Closed`,
    /// if head has caught up with tail.
    #[inline(always)]
    fn claimable(&self, head: usize) -> Result<usize, PopError> {
        let mut new_head = head.wrapping_add(ONE);
        if head & MARK == 0 {
            // Head's block may be the last one: only tail can tell whether
            // a producer has claimed this position.
            seqcst_edge();
            // Ordering: SeqCst: the second half of the park protocol's
            // store-buffering pair. A receiver that SeqCst-RMWed the waiter
            // count and then reads "empty" here cannot have missed a push
            // whose SeqCst tail claim came first; that push will see the
            // count. It also orders us after `close`'s mark.
            let tail = self.tail.index.load(Ordering::SeqCst);
            if head >> SHIFT == tail >> SHIFT {
                return Err(if tail & MARK != 0 {
                    PopError::Closed
                } else {
                    PopError::Empty
                });
            }
            if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                // Tail has left head's block: every slot left in it is
                // claimed, so later pops here need not load tail.
                new_head |= MARK;
            }
        }
        Ok(new_head)
    }

    /// `pop`'s loop, starting over from fresh loads of head and block: a
    /// bridge to wait out, and claims lost to other consumers (after each
    /// it backs off, as the push does).
    #[cold]
    #[inline(never)]
    fn pop_slow(&self) -> Result<T, PopError> {
        let mut backoff = Backoff::default();
        // Ordering: Acquire pairs with the Release store of `head.index` in
        // `read` that stepped head into this lap, whose release sequence
        // every later claim CAS continues: the `block` load below then sees
        // this lap's block (stored before that store) or a later one.
        let mut head = self.head.index.load(Ordering::Acquire);
        // Ordering: Acquire pairs with the Release store of `head.block` in
        // `read`: if we read a later lap's block, the claim that ended our
        // lap happens before our CAS, which therefore fails instead of
        // claiming a slot in a block that is not ours.
        let mut block = self.head.block.load(Ordering::Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Head is on a bridge: the reader of the last slot is moving
                // it onto the next block. Wait for it.
                backoff.snooze();
                // Ordering: Acquire, as for the first loads.
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            let new_head = self.claimable(head)?;
            // Ordering: AcqRel on success: Release so that whoever reads our
            // head (a pop trusting its mark, `len`) also sees the tail we
            // checked it against; Acquire to continue the chain from earlier
            // claims. Not SeqCst: senders of an unbounded queue never wait on
            // head. Acquire on failure, as for the first load.
            match self.head.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: our CAS moved head from {lap, offset} (not a
                    // bridge) to `new_head`, and `block` is lap's block (see
                    // the Ordering comment on the first load).
                    return Ok(unsafe { self.read(block, offset, new_head) });
                }
                Err(current) => {
                    // Lost to another consumer (see `Backoff::spin`).
                    backoff.spin();
                    head = current;
                    // Ordering: Acquire, as for the first load.
                    block = self.head.block.load(Ordering::Acquire);
                }
            }
        }
    }

    /// Debug view of the positions; see [`ListState`].
    pub(crate) fn state(&self) -> ListState {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        ListState {
            head: Pos::of(head),
            tail: Pos::of(tail),
            closed: tail & MARK != 0,
            head_block_is_last: head & MARK == 0,
            len: self.len(),
            slots_per_block: BLOCK_CAP,
        }
    }
}

impl<T> Queue<T> for List<T> {
    /// The first try of `push_or_closed`, inline ([`List::claim_inline`]);
    /// anything else goes to the loop out of line.
    #[inline]
    fn push(&self, value: T) -> Result<(), PushError<T>> {
        if let Some((block, offset)) = self.claim_inline() {
            // SAFETY: as in `push_or_closed`: `claim_inline`'s CAS moved
            // tail from {lap, offset}, not a bridge, and `block` is lap's
            // block; `offset` is not the lap's last slot, so no next block
            // is due.
            unsafe { self.write(block, offset, None, value) };
            return Ok(());
        }
        self.push_or_closed(value).map_err(PushError::Closed)
    }

    #[inline(always)]
    fn push_from(&self, src: &mut Option<T>) -> Result<(), PushError<()>> {
        assert!(src.is_some(), "send polled after completion");
        if let Some((block, offset)) = self.claim_inline() {
            // Read only now, after the claim (see `Queue::push_from`);
            // there is one: checked above, and `src` is ours since.
            let value = src.take().expect("checked before the claim");
            // SAFETY: as in `push`.
            unsafe { self.write(block, offset, None, value) };
            return Ok(());
        }
        let value = src.take().expect("checked before the claim");
        self.push_or_closed(value).map_err(|value| {
            *src = Some(value);
            PushError::Closed(())
        })
    }

    /// Never replaces anything: an unbounded list is never full.
    fn force_push(&self, value: T) -> Result<Option<T>, T> {
        self.push_or_closed(value).map(|()| None)
    }

    /// One inline try for the common case (head on a slot, the CAS won,
    /// or the list empty or closed); a bridge or a lost race goes to
    /// [`List::pop_slow`], out of line, which backs off.
    ///
    /// The whole loop used to be inlined here (and, through `Flavor`, into
    /// the ring's callers), without back-off, because the back-off's call
    /// made the current-thread 64-byte rows of the bounded channel 27%
    /// slower (SPSC 1024 36.7 -> 46.7 ns). Split, the loop backs off out of line and the inlined code
    /// is smaller. callgrind, race, one round of 200,000 messages,
    /// current-thread: unbounded SPSC 8 bytes 60.7 M -> 59.9 M, 64 bytes
    /// 96.8 M -> 92.4 M; capacity 1024 (ring, same `Flavor`) 8 bytes
    /// 57.2 M -> 57.6 M, 64 bytes 90.4 M -> 88.0 M. Multi-thread MPMC 4x4
    /// unbounded, 64 bytes: 84.8 -> 62.7 ns per message (8 processes of
    /// each build alternated, medians; kanal 44.0 and 47.6 beside them).
    #[inline]
    fn pop(&self) -> Result<T, PopError> {
        // Ordering: as in `pop_slow`, whose first iteration this is.
        let head = self.head.index.load(Ordering::Acquire);
        let block = self.head.block.load(Ordering::Acquire);
        let offset = (head >> SHIFT) % LAP;
        if offset != BLOCK_CAP {
            let new_head = self.claimable(head)?;
            // Ordering: as in `pop_slow`.
            if self
                .head
                .index
                .compare_exchange_weak(head, new_head, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: as in `pop_slow`: our CAS moved head from {lap,
                // offset} (not a bridge) to `new_head`, and `block` is
                // lap's block.
                return Ok(unsafe { self.read(block, offset, new_head) });
            }
        }
        self.pop_slow()
    }

    fn close(&self) -> bool {
        // Ordering: SeqCst, like the claims it races: a push's CAS either
        // comes before the mark (and its value will be popped before any pop
        // says `Closed`) or fails on it.
        self.tail.index.fetch_or(MARK, Ordering::SeqCst) & MARK == 0
    }

    fn is_closed(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & MARK != 0
    }

    /// Exact: the number of positions between head and tail, less bridges,
    /// at the moment of the head load. Counts values still being written, not
    /// those being read.
    fn len(&self) -> usize {
        loop {
            // Ordering: SeqCst is not needed for exactness (Acquire is: the
            // head we read was written by a claim that had seen tail at least
            // that far, so the second tail load reads at least as far), but
            // these loads are plain loads on x86 and keep `len` in the same
            // total order as the claims.
            let tail = self.tail.index.load(Ordering::SeqCst);
            let head = self.head.index.load(Ordering::SeqCst);
            // Tail only grows: if it is unchanged, it was `tail` when we
            // loaded `head`.
            if self.tail.index.load(Ordering::SeqCst) == tail {
                return count(head, tail);
            }
        }
    }

    fn capacity(&self) -> Option<usize> {
        None
    }
}

/// Values between `head` and `tail` (indices, marks ignored).
fn count(head: usize, tail: usize) -> usize {
    let mut head = head & !MARK;
    let mut tail = tail & !MARK;
    // A bridge holds nothing: count it as the start of the next lap.
    if (head >> SHIFT) % LAP == BLOCK_CAP {
        head = head.wrapping_add(ONE);
    }
    if (tail >> SHIFT) % LAP == BLOCK_CAP {
        tail = tail.wrapping_add(ONE);
    }
    // Shift both so that head's lap is lap 0; wrapping arithmetic keeps this
    // right when the indices have wrapped around usize.
    let lap_start = head & !(ONE_LAP - 1);
    let head = (head - lap_start) >> SHIFT;
    let tail = tail.wrapping_sub(lap_start) >> SHIFT;
    // Each lap tail has entered beyond lap 0 has one bridge behind it.
    tail - head - tail / LAP
}

/// Drops every value still queued, once, and frees every block, even when a
/// value's `drop` panics (see [`drop_rest`]).
impl<T> Drop for List<T> {
    fn drop(&mut self) {
        // Ordering: Relaxed: `&mut self` means every push and pop has
        // finished and happened before this (whatever gave us ownership
        // synchronised with them), and no block is being freed.
        let head = self.head.index.load(Ordering::Relaxed) & !MARK;
        let tail = self.tail.index.load(Ordering::Relaxed) & !MARK;
        let block = self.head.block.load(Ordering::Relaxed);
        // The spare is an emptied block: no values in it.
        drop(self.take_spare());
        // So are the blocks in limbo: every slot of theirs has been read.
        // Ordering: Relaxed, as above.
        let mut limbo = self.limbo.load(Ordering::Relaxed);
        while !limbo.is_null() {
            // SAFETY: a block in limbo is alive and only reachable from
            // `limbo`; with no other thread left, every claimed slot of it
            // has been read, and its values are gone.
            unsafe {
                let next = (*limbo).next.load(Ordering::Relaxed);
                Block::free(limbo);
                limbo = next;
            }
        }
        // SAFETY: neither index is on a bridge (whoever stepped onto one has
        // finished stepping off), every slot between them holds a written,
        // unread value, `block` is head's block, and no other thread is left.
        unsafe { drop_rest(head, tail, block) };
    }
}

/// Drops the values at positions `[head, tail)` and frees their blocks, from
/// `block` (head's block) on. If a value's `Drop` panics, a guard drops the
/// rest and frees the blocks during the unwind, before the panic goes on.
///
/// # Safety
/// - no other thread is left;
/// - `block` is the live block `head` is in, linked on to tail's block;
/// - every slot in `[head, tail)` holds a written value never read.
unsafe fn drop_rest<T>(mut head: usize, tail: usize, mut block: *mut Block<T>) {
    /// What is left to drop if a value's `Drop` panics.
    struct Rest<T> {
        head: usize,
        tail: usize,
        block: *mut Block<T>,
    }
    impl<T> Drop for Rest<T> {
        fn drop(&mut self) {
            // SAFETY: the remainder of the caller's range, whose contract
            // still holds (the panicking value counts as dropped).
            unsafe { drop_rest(self.head, self.tail, self.block) };
        }
    }
    while head != tail {
        let offset = (head >> SHIFT) % LAP;
        head = head.wrapping_add(ONE);
        if offset < BLOCK_CAP {
            let rest = Rest { head, tail, block };
            // SAFETY: `block` is alive (the range is in it) and this slot
            // holds a written, unread value, dropped once as head moves on.
            unsafe {
                (*block).slots[offset]
                    .value
                    .with_mut(|v| (*v).assume_init_drop());
            }
            std::mem::forget(rest);
        } else {
            // SAFETY: head was on `block`'s bridge, so tail is past it and
            // the next block is linked; every value of `block` has been read
            // or dropped, and nothing else can reach it.
            unsafe {
                // Ordering: Relaxed: no other thread is left.
                let next = (*block).next.load(Ordering::Relaxed);
                Block::free(block);
                block = next;
            }
        }
    }
    // SAFETY: the block tail is in: never freed, and every value in it was
    // dropped above or read before.
    unsafe { Block::free(block) };
}

impl<T> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state().fmt(f)
    }
}

/// A snapshot of a [`List`]'s positions, for `{:#?}` of a channel. Taken
/// without stopping other threads, so fields may disagree slightly while the
/// list is in use.
pub(crate) struct ListState {
    head: Pos,
    tail: Pos,
    closed: bool,
    head_block_is_last: bool,
    len: usize,
    slots_per_block: usize,
}

impl fmt::Debug for ListState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("List")
            .field("head", &self.head)
            .field("tail", &self.tail)
            .field("closed", &self.closed)
            .field("head_block_is_last", &self.head_block_is_last)
            .field("len", &self.len)
            .field("slots_per_block", &self.slots_per_block)
            .finish()
    }
}

/// A position as `{lap, offset}`.
struct Pos {
    lap: usize,
    offset: usize,
}

impl Pos {
    fn of(index: usize) -> Self {
        Self {
            lap: (index >> SHIFT) / LAP,
            offset: (index >> SHIFT) % LAP,
        }
    }
}

impl fmt::Debug for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{lap {}, offset {}}}", self.lap, self.offset)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::{Arc, Barrier};
    use std::thread;

    /// Test sizes: small under Miri, which is about a thousand times slower.
    const fn scaled(normal: usize, miri: usize) -> usize {
        if cfg!(miri) {
            miri
        } else {
            normal
        }
    }

    /// Counts its own drops in a shared counter.
    #[derive(Debug)]
    struct Counted(Arc<StdAtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn drops(counter: &Arc<StdAtomicUsize>) -> usize {
        counter.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Marks slot `i` of `block` read, as its reader does.
    fn mark_read(block: *mut Block<u32>, i: usize) {
        // SAFETY: the tests own `block`, which is alive.
        unsafe { (*block).slots[i].read.store(READ, Ordering::Release) };
    }

    #[test]
    fn a_retired_block_waits_in_limbo_until_every_slot_is_read() {
        let list = List::<u32>::new();
        let block = Box::into_raw(Block::new());
        // Every slot but 0 read (the last one by the retiring caller).
        for i in 1..BLOCK_CAP - 1 {
            mark_read(block, i);
        }
        // SAFETY: `block` is alive, linked nowhere, and its last slot counts
        // as read by us.
        unsafe { list.retire(block) };
        assert_eq!(list.limbo.load(Ordering::Relaxed), block, "not in limbo");
        assert!(list.spare.load(Ordering::Relaxed).is_null());
        // Still unread: a retry puts it back.
        list.retry_limbo();
        assert_eq!(list.limbo.load(Ordering::Relaxed), block);
        // Slot 0's reader finishes; the next retire of another block, all
        // of whose slots are read, recycles both: one as the spare, the
        // other freed.
        mark_read(block, 0);
        let other = Box::into_raw(Block::new());
        for i in 0..BLOCK_CAP - 1 {
            mark_read(other, i);
        }
        // SAFETY: as above.
        unsafe { list.retire(other) };
        assert!(
            list.limbo.load(Ordering::Relaxed).is_null(),
            "limbo kept a done block"
        );
        let spare = list.spare.load(Ordering::Relaxed);
        assert!(
            spare == block || spare == other,
            "neither block became the spare"
        );
        // The spare comes back reset.
        // SAFETY: the spare is alive until the list drops it.
        assert!(unsafe { &(*spare).slots }
            .iter()
            .all(|s| s.read.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn drop_frees_the_blocks_in_limbo() {
        let counter = Arc::new(StdAtomicUsize::new(0));
        let list = List::new();
        list.push(Counted(counter.clone())).unwrap();
        let block = Box::into_raw(Block::<Counted>::new());
        // SAFETY: alive, linked nowhere; slot 0 unread, so it stays in limbo.
        unsafe { list.push_limbo(block) };
        drop(list);
        // The queued value is dropped once; the limbo block's slots hold no
        // values (Miri and the leak checkers see the block freed).
        assert_eq!(drops(&counter), 1);
    }

    #[test]
    fn recycled_blocks_come_back_empty_and_unlinked() {
        // Laps of one block's worth, drained each time: from the third lap on
        // every block is a recycled one. A stale `next` would make head
        // believe tail had left the block (and a pop at empty would then
        // claim an unwritten slot); stale flags would hand out old values or
        // refuse new ones.
        let list = List::new();
        let mut spares = std::collections::HashSet::new();
        for lap in 0..8 {
            for i in 0..BLOCK_CAP {
                list.push(lap * 100 + i).unwrap();
            }
            for i in 0..BLOCK_CAP {
                assert_eq!(list.pop(), Ok(lap * 100 + i));
            }
            let state = list.state();
            assert!(state.head_block_is_last, "lap {lap}: {state:?}");
            assert_eq!(list.pop(), Err(PopError::Empty));
            spares.insert(list.spare.load(Ordering::Relaxed) as usize);
        }
        // Two blocks take turns: the one in use and the spare.
        spares.remove(&0);
        assert!(spares.len() <= 2, "blocks were not reused: {spares:?}");
    }

    #[test]
    fn a_second_drained_block_is_freed_when_the_spare_is_taken() {
        // Three full blocks drained in a row: the first becomes the spare,
        // the second finds the spare taken and is freed (Miri checks the
        // free), the list's `Drop` frees the spare.
        let counter = Arc::new(StdAtomicUsize::new(0));
        let list = List::new();
        for _ in 0..3 * BLOCK_CAP {
            list.push(Counted(counter.clone())).unwrap();
        }
        for _ in 0..3 * BLOCK_CAP {
            drop(list.pop().unwrap());
        }
        assert!(!list.spare.load(Ordering::Relaxed).is_null());
        drop(list);
        assert_eq!(drops(&counter), 3 * BLOCK_CAP);
    }

    #[test]
    fn pop_is_fifo_across_blocks() {
        let n = 5 * LAP + 3;
        let list = List::new();
        for i in 0..n {
            list.push(i).unwrap();
        }
        for i in 0..n {
            assert_eq!(list.pop(), Ok(i));
        }
        assert_eq!(list.pop(), Err(PopError::Empty));
    }

    #[test]
    fn interleaved_push_pop_crosses_many_blocks() {
        // Keeps the list short while head and tail cross block after block,
        // so blocks are freed by `read` all the way, at every offset pattern.
        let list = List::new();
        let mut next_out = 0;
        let mut next_in = 0;
        for round in 0..scaled(2_000, 200) {
            for _ in 0..round % 5 + 1 {
                list.push(next_in).unwrap();
                next_in += 1;
            }
            for _ in 0..round % 4 + 1 {
                match list.pop() {
                    Ok(v) => {
                        assert_eq!(v, next_out);
                        next_out += 1;
                    }
                    Err(e) => {
                        assert_eq!(e, PopError::Empty);
                        assert_eq!(next_out, next_in);
                    }
                }
            }
            assert_eq!(list.len(), next_in - next_out);
        }
    }

    #[test]
    fn len_is_exact_at_every_offset() {
        let list = List::new();
        assert_eq!(list.len(), 0);
        let n = 3 * LAP + 1;
        for i in 0..n {
            assert_eq!(list.len(), i);
            list.push(i).unwrap();
        }
        assert_eq!(list.len(), n);
        for i in 0..n {
            assert_eq!(list.len(), n - i);
            list.pop().unwrap();
        }
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn count_treats_bridges_as_empty() {
        let at = |lap: usize, offset: usize| (lap * LAP + offset) << SHIFT;
        assert_eq!(count(at(0, 0), at(0, 0)), 0);
        assert_eq!(count(at(0, 0), at(0, BLOCK_CAP)), BLOCK_CAP);
        assert_eq!(count(at(0, 0), at(1, 0)), BLOCK_CAP);
        assert_eq!(count(at(0, BLOCK_CAP), at(1, 0)), 0);
        assert_eq!(count(at(0, BLOCK_CAP), at(0, BLOCK_CAP)), 0);
        assert_eq!(count(at(0, 5), at(2, 3)), BLOCK_CAP - 5 + BLOCK_CAP + 3);
        assert_eq!(count(at(7, 1) | MARK, at(7, 2) | MARK), 1);
    }

    #[test]
    fn positions_wrap_around_usize() {
        // Start two laps before the index wraps to 0.
        let start = 0usize.wrapping_sub(2 * ONE_LAP);
        let list = List::with_start(start);
        let n = 4 * LAP + 2;
        for i in 0..n {
            list.push(i).unwrap();
            assert_eq!(list.len(), i + 1);
        }
        for i in 0..LAP {
            assert_eq!(list.pop(), Ok(i));
        }
        assert_eq!(list.len(), n - LAP);
        for i in LAP..n {
            assert_eq!(list.pop(), Ok(i));
        }
        assert_eq!(list.pop(), Err(PopError::Empty));
        // And drop with values left across the wrap.
        for i in 0..2 * LAP {
            list.push(i).unwrap();
        }
    }

    #[test]
    fn close_fails_pushes_and_drains() {
        let list = List::new();
        for i in 0..LAP + 1 {
            list.push(i).unwrap();
        }
        assert!(!list.is_closed());
        assert!(list.close());
        assert!(!list.close(), "second close reports it did nothing");
        assert!(list.is_closed());
        assert_eq!(list.push(100), Err(PushError::Closed(100)));
        assert_eq!(list.force_push(101), Err(101));
        assert_eq!(list.len(), LAP + 1);
        for i in 0..LAP + 1 {
            assert_eq!(list.pop(), Ok(i));
        }
        assert_eq!(list.pop(), Err(PopError::Closed));
        assert_eq!(list.pop(), Err(PopError::Closed));
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn close_on_a_bridge_keeps_the_mark() {
        // Fill a block exactly: tail ends on {1, 0} after crossing the
        // bridge; close, then check the mark survived and the values drain.
        let list = List::new();
        for i in 0..BLOCK_CAP {
            list.push(i).unwrap();
        }
        assert!(list.close());
        assert_eq!(list.push(0), Err(PushError::Closed(0)));
        for i in 0..BLOCK_CAP {
            assert_eq!(list.pop(), Ok(i));
        }
        assert_eq!(list.pop(), Err(PopError::Closed));
    }

    #[test]
    fn empty_closed_list_pops_closed() {
        let list = List::<u8>::new();
        assert_eq!(list.pop(), Err(PopError::Empty));
        list.close();
        assert_eq!(list.pop(), Err(PopError::Closed));
    }

    #[test]
    fn force_push_never_replaces() {
        let list = List::new();
        for i in 0..2 * LAP {
            assert_eq!(list.force_push(i), Ok(None));
        }
        assert_eq!(list.len(), 2 * LAP);
        assert_eq!(list.capacity(), None);
        assert_eq!(list.pop(), Ok(0));
    }

    #[test]
    fn pop_many_takes_in_order() {
        let list = List::new();
        for i in 0..LAP + 5 {
            list.push(i).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(list.pop_many(&mut out, LAP), Ok(LAP));
        assert_eq!(list.pop_many(&mut out, 100), Ok(5));
        assert_eq!(out, (0..LAP + 5).collect::<Vec<_>>());
        assert_eq!(list.pop_many(&mut out, 1), Err(PopError::Empty));
    }

    #[test]
    fn drop_drops_every_left_value_once() {
        let counter = Arc::new(StdAtomicUsize::new(0));
        let n = 3 * LAP + 7;
        let list = List::new();
        for _ in 0..n {
            list.push(Counted(counter.clone())).unwrap();
        }
        // Pop into the middle of the second block, so `Drop` starts mid-block.
        let popped = LAP + 3;
        for _ in 0..popped {
            drop(list.pop().unwrap());
        }
        assert_eq!(drops(&counter), popped);
        drop(list);
        assert_eq!(drops(&counter), n);
    }

    #[test]
    fn drop_of_unused_and_drained_lists() {
        drop(List::<String>::new());
        let list = List::new();
        for i in 0..BLOCK_CAP {
            list.push(i.to_string()).unwrap();
        }
        // Drained exactly to a block end: head on {1, 0}, the first block
        // freed by the last read, the second allocated and empty.
        while list.pop().is_ok() {}
        drop(list);
    }

    #[test]
    fn zero_sized_values() {
        let list = List::new();
        let n = 4 * LAP;
        for _ in 0..n {
            list.push(()).unwrap();
        }
        assert_eq!(list.len(), n);
        for _ in 0..n / 2 {
            assert_eq!(list.pop(), Ok(()));
        }
        assert_eq!(list.len(), n / 2);
    }

    #[test]
    fn large_values_do_not_overflow_the_stack() {
        // 31 slots of 64 KiB: a 2 MiB block, bigger than a test thread's
        // stack; it must be allocated in place.
        let list = List::new();
        list.push([7u8; 1 << 16]).unwrap();
        assert_eq!(list.pop().map(|a| a[1 << 15]), Ok(7));
    }

    #[test]
    fn mpmc_delivers_each_value_once_in_producer_order() {
        let producers = scaled(4, 2);
        let consumers = scaled(4, 2);
        let per_producer = scaled(20_000, 150);
        let list = Arc::new(List::new());
        let done = Arc::new(StdAtomicUsize::new(0));
        let start = Arc::new(Barrier::new(producers + consumers));

        let consumer_threads: Vec<_> = (0..consumers)
            .map(|_| {
                let (list, done, start) = (list.clone(), done.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut seen = Vec::new();
                    let mut last = vec![None; producers];
                    loop {
                        match list.pop() {
                            Ok((p, i)) => {
                                // Per-producer FIFO, as seen by one consumer.
                                assert!(last[p] < Some(i), "producer {p}: {i} after {:?}", last[p]);
                                last[p] = Some(i);
                                seen.push((p, i));
                            }
                            Err(PopError::Empty) => std::hint::spin_loop(),
                            Err(PopError::Closed) => break,
                        }
                    }
                    done.fetch_add(seen.len(), std::sync::atomic::Ordering::Relaxed);
                    seen
                })
            })
            .collect();
        let producer_threads: Vec<_> = (0..producers)
            .map(|p| {
                let (list, start) = (list.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for i in 0..per_producer {
                        list.push((p, i)).unwrap();
                    }
                })
            })
            .collect();
        for t in producer_threads {
            t.join().unwrap();
        }
        assert!(list.close());
        let mut all: Vec<_> = consumer_threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        all.sort_unstable();
        let expected: Vec<_> = (0..producers)
            .flat_map(|p| (0..per_producer).map(move |i| (p, i)))
            .collect();
        assert_eq!(all, expected);
        assert_eq!(list.len(), 0);
        // A block waits in limbo only while a reader is still in it (here
        // 0-28 of the ~2,600 blocks went through limbo, counted once), and
        // every retire retries the limbo (see
        // `a_retired_block_waits_in_limbo_until_every_slot_is_read`). With
        // every reader gone, one retry must empty it.
        list.retry_limbo();
        assert_eq!(
            limbo_len(&list),
            0,
            "a block stayed in limbo with no reader left"
        );
    }

    /// Blocks in `list`'s limbo; no other thread may use the list.
    fn limbo_len<T>(list: &List<T>) -> usize {
        let mut n = 0;
        let mut block = list.limbo.load(Ordering::Acquire);
        while !block.is_null() {
            n += 1;
            // SAFETY: blocks in limbo are alive until the list drops them.
            block = unsafe { (*block).next.load(Ordering::Relaxed) };
        }
        n
    }

    #[test]
    fn concurrent_drop_counts_are_exact() {
        // Producers and consumers race; whatever is left is dropped with the
        // list. Every value is dropped exactly once either way.
        let counter = Arc::new(StdAtomicUsize::new(0));
        let per_thread = scaled(10_000, 100);
        let list = Arc::new(List::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (list, counter) = (list.clone(), counter.clone());
                thread::spawn(move || {
                    for i in 0..per_thread {
                        if t % 2 == 0 {
                            list.push(Counted(counter.clone())).unwrap();
                        } else if i % 3 != 0 {
                            drop(list.pop());
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let left = list.len();
        assert_eq!(drops(&counter), 2 * per_thread - left);
        drop(Arc::try_unwrap(list).expect("threads are gone"));
        assert_eq!(drops(&counter), 2 * per_thread);
    }

    #[test]
    fn close_racing_pushes_loses_nothing() {
        for _ in 0..scaled(200, 5) {
            let list = Arc::new(List::new());
            let pushers: Vec<_> = (0..2)
                .map(|p| {
                    let list = list.clone();
                    thread::spawn(move || {
                        let mut ok = 0;
                        for i in 0..2 * LAP {
                            match list.push((p, i)) {
                                Ok(()) => ok += 1,
                                Err(PushError::Closed(v)) => {
                                    assert_eq!(v, (p, i));
                                    // Once closed, closed for good.
                                    assert!(list.push((p, i)).is_err());
                                    break;
                                }
                                Err(PushError::Full(_)) => unreachable!("never full"),
                            }
                        }
                        ok
                    })
                })
                .collect();
            thread::yield_now();
            list.close();
            let pushed: usize = pushers.into_iter().map(|t| t.join().unwrap()).sum();
            let mut popped = 0;
            while list.pop().is_ok() {
                popped += 1;
            }
            assert_eq!(list.pop(), Err(PopError::Closed));
            assert_eq!(popped, pushed);
        }
    }

    #[test]
    fn list_is_send_and_sync_for_send_values() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<List<std::cell::Cell<u8>>>();
        assert_send_sync::<List<Box<dyn FnOnce() + Send>>>();
    }

    #[test]
    fn debug_shows_positions() {
        let list = List::new();
        for i in 0..LAP + 2 {
            list.push(i).unwrap();
        }
        list.pop().unwrap();
        let shown = format!("{list:?}");
        assert!(shown.contains("head: {lap 0, offset 1}"), "{shown}");
        assert!(shown.contains("tail: {lap 1, offset 3}"), "{shown}");
        assert!(shown.contains(&format!("len: {}", LAP + 1)), "{shown}");
    }
}
