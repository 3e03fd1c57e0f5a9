//! The one place the crate takes its synchronisation primitives from.
//!
//! Under `--cfg loom` every atomic, cell, `Arc` and spin hint comes from
//! [loom](https://docs.rs/loom) so the models in `src/tests/` explore every
//! interleaving; otherwise they are the `std` types, wrapped where needed so
//! both speak loom's API (`UnsafeCell::with`/`with_mut`).

#[cfg(loom)]
pub(crate) use loom::{
    cell::UnsafeCell,
    sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering},
    sync::Arc,
};

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicU32, AtomicUsize, Ordering},
    Arc,
};

/// `std::cell::UnsafeCell` with loom's closure-based API.
#[cfg(not(loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    #[inline(always)]
    pub(crate) const fn new(data: T) -> Self {
        Self(std::cell::UnsafeCell::new(data))
    }

    /// Gives `f` a shared raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Gives `f` an exclusive raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Tells the CPU (or loom's scheduler) that this thread is busy-waiting on
/// another one.
#[inline(always)]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

/// Gives the core away while another thread finishes a step we wait on.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}

/// Orders a `SeqCst` read-modify-write before a later `SeqCst` load of
/// another location, for loom's sake only.
///
/// The wake-up protocol (see `notify.rs`) is a store-buffering pattern: one
/// side does a `SeqCst` RMW on a position and then a `SeqCst` load of a waiter
/// count, the other a `SeqCst` RMW on the count and then a `SeqCst` load of the
/// position. The C++20 model forbids both loads from missing the other side's
/// RMW, so the real build needs no fence (and on x86 the RMW is already a full
/// barrier). loom models `SeqCst` accesses as `AcqRel` only (its README,
/// "Unsupported features"), but does model `fence(SeqCst)`; this fence restores
/// the single total order in the model without costing the real build anything.
#[inline(always)]
pub(crate) fn seqcst_edge() {
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

/// `Arc::new(make())`, with `make`'s value built in the `Arc`'s allocation.
///
/// `Arc::new` takes its value by move, so a channel's state (over a
/// kilobyte, most of it cache-line padding) was built on the stack and then
/// copied into the heap: for `ringchan::mpsc::channel` three `memcpy`s of
/// 1,792, 512 and 256 bytes per channel, a fifth of the time it takes to
/// create and drop one. Allocating first, with `make` and the constructors
/// it calls inlined, lets the compiler write most fields in place.
#[inline(always)]
pub(crate) fn arc_in_place<T>(make: impl FnOnce() -> T) -> Arc<T> {
    // loom's `Arc` has no `new_uninit`; the models do not care for copies.
    #[cfg(loom)]
    return Arc::new(make());
    #[cfg(not(loom))]
    {
        let mut arc = Arc::<T>::new_uninit();
        Arc::get_mut(&mut arc)
            .expect("a new Arc has no other handle")
            .write(make());
        // SAFETY: `assume_init` needs the value initialised: the `write`
        // just above did it, through the only handle (`get_mut` succeeded).
        // If `make` panics, the `Arc` of `MaybeUninit` is freed without
        // reading its value.
        unsafe { arc.assume_init() }
    }
}

/// Pads and aligns a value to the length of a cache line, so two values
/// written by different cores never share one (no false sharing).
///
/// 128 bytes on x86_64 and aarch64, where the adjacent-line prefetcher (x86) or
/// the line size itself (Apple M-series) pairs 64-byte lines; 64 elsewhere.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Exponential busy-wait for the short windows of the ring where one thread
/// waits for another to finish a step it has already claimed (a slot being
/// written or read): spin a little, then give the core away.
#[derive(Debug, Default)]
pub(crate) struct Backoff(u32);

impl Backoff {
    const SPIN_LIMIT: u32 = 6;

    /// A backoff whose first snooze is its longest spin; every later one
    /// yields the core.
    pub(crate) fn longest_spin() -> Self {
        Self(Self::SPIN_LIMIT)
    }

    /// One step of an exponential spin for a thread that lost a
    /// compare-exchange on a queue position to another: spin hints, twice
    /// as many each time up to the longest spin, and never a yield (the
    /// winner has moved on already; the loser only waits so as not to
    /// fight the next winner for the cache line at once), as
    /// crossbeam-channel does. Nothing under loom, where a lost
    /// compare-exchange already means another thread made progress, nor
    /// under Miri, which fails most weak compare-exchanges on purpose and
    /// yields at every spin hint: there the spin changed no outcome, and
    /// CI's Miri step took 710 s with it against 446-518 s in the three
    /// runs without it.
    ///
    /// Measured with `examples/race`, ringchan alone, processes of each
    /// build alternated, medians: unbounded multi-thread MPSC 4 57-63 ->
    /// 26-36 ns per message (3 processes each); the ring, 12 processes
    /// each: blocking 2x2 41.0 -> 30.1 ns, 4x4 33.9 -> 28.6, multi-thread
    /// MPSC 64 35.8 -> 31.1, MPMC 4x4 31.9 -> 29.7, 64-byte MPSC 4 61.5 ->
    /// 54.5; 8-byte MPSC 4 33.7 -> 34.6, within its noise.
    #[inline]
    pub(crate) fn spin(&mut self) {
        if cfg!(loom) || cfg!(miri) {
            return;
        }
        spin_hints(self.0.min(Self::SPIN_LIMIT));
        if self.0 <= Self::SPIN_LIMIT {
            self.0 += 1;
        }
    }

    #[inline]
    pub(crate) fn snooze(&mut self) {
        // Under loom one yield is one step for the model: spinning longer
        // only multiplies the interleavings without showing anything new.
        if cfg!(loom) {
            yield_now();
        } else if self.0 <= Self::SPIN_LIMIT {
            spin_hints(self.0);
            self.0 += 1;
        } else {
            yield_now();
        }
    }
}

/// `1 << step` spin hints: one step of [`Backoff`]'s spin.
#[inline(always)]
fn spin_hints(step: u32) {
    for _ in 0..1u32 << step {
        spin_hint();
    }
}

/// Owns a value that is only ever reached through `&mut self`, so sharing
/// `&Unshared<T>` between threads shares nothing: it is `Sync` whenever `T` is
/// `Send` (the same idea as the `sync_wrapper` crate). Lets a future that
/// carries a message be `Sync` without asking `T: Sync`.
#[derive(Default)]
pub(crate) struct Unshared<T>(T);

impl<T> Unshared<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(value)
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

// SAFETY: `Unshared` has no method taking `&self` that reaches the value, so
// a `&Unshared<T>` on another thread can do nothing with it; only the owner
// (through `&mut self`, which needs `T: Send` to move across threads) can.
unsafe impl<T: Send> Sync for Unshared<T> {}
// For the same reason a `&Unshared<T>` observes nothing a panic could have
// left half-changed.
impl<T> std::panic::RefUnwindSafe for Unshared<T> {}

// `AtomicPtr` for the unbounded list's block links (`list.rs`).
#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicPtr;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicPtr;
