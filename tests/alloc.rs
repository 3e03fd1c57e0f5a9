//! The fast path allocates nothing per message. A counting global allocator
//! (this binary's own) counts the allocations made by the current thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ringchan::{bounded, TryRecvError};

struct CountingAllocator;

thread_local! {
    // Const-initialised and without `Drop`: using it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with` because allocations also happen while a thread's locals are
    // being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches no allocator state.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's duties for `alloc` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` and `layout` come from this allocator, that is from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, that is from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations made by this thread so far.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations this thread makes while running `f`.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = allocations();
    f();
    allocations() - before
}

fn pairs() -> u64 {
    if cfg!(miri) {
        100
    } else {
        10_000
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Without this, a broken counter would make every other test pass.
    assert!(allocations_during(|| drop(std::hint::black_box(Box::new(1u64)))) >= 1);
}

#[test]
fn try_send_and_try_recv_pairs_allocate_nothing() {
    let (tx, rx) = bounded(8);
    for i in 0..100 {
        tx.try_send(i).unwrap();
        rx.try_recv().unwrap();
    }
    let n = allocations_during(|| {
        for i in 0..pairs() {
            tx.try_send(i).unwrap();
            assert_eq!(rx.try_recv(), Ok(i));
        }
    });
    assert_eq!(n, 0, "allocations over {} try_send/try_recv pairs", pairs());
}

#[test]
fn filling_and_draining_allocates_nothing() {
    for cap in [1, 3, 64] {
        let (tx, rx) = bounded(cap);
        // Warm-up: a channel may set up its wait queues lazily, once.
        for i in 0..2 * cap {
            tx.try_send(i).unwrap();
            rx.try_recv().unwrap();
        }
        let n = allocations_during(|| {
            for _ in 0..pairs() / cap as u64 {
                for i in 0..cap {
                    tx.try_send(i).unwrap();
                }
                assert!(tx.try_send(cap).unwrap_err().is_full());
                for i in 0..cap {
                    assert_eq!(rx.try_recv(), Ok(i));
                }
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            }
        });
        assert_eq!(n, 0, "cap {cap}: allocations while filling and draining");
    }
}

#[test]
fn send_await_and_recv_await_pairs_allocate_nothing_on_a_current_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (tx, rx) = bounded(4);
    runtime.block_on(async {
        for i in 0..100 {
            tx.send(i).await.unwrap();
            rx.recv().await.unwrap();
        }
        let before = allocations();
        for i in 0..pairs() {
            tx.send(i).await.unwrap();
            assert_eq!(rx.recv().await, Ok(i));
        }
        let n = allocations() - before;
        assert_eq!(n, 0, "allocations over {} send/recv pairs", pairs());
    });
}

/// Polls `fut` until it waits in line: the first `Pending` only yields
/// (the park protocol's step 2), the second one has joined the waiters.
fn poll_into_line<F: std::future::Future + Unpin>(fut: &mut F) {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(std::pin::Pin::new(&mut *fut).poll(&mut cx).is_pending());
    assert!(std::pin::Pin::new(&mut *fut).poll(&mut cx).is_pending());
}

/// Polls a future that has been woken; it must be done.
fn poll_done<F: std::future::Future + Unpin>(fut: &mut F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(fut).poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("a woken waiter did not finish"),
    }
}

/// A lone waiter on each side takes its line's first place, which costs no
/// allocation (a listener of the event behind it costs one per wait).
#[test]
fn a_lone_waiting_receiver_or_sender_allocates_nothing() {
    let (tx, rx) = bounded(1);
    let wait_for_message = || {
        let mut recv = rx.recv();
        poll_into_line(&mut recv);
        tx.try_send(7u64).unwrap(); // wakes the waiting receiver
        assert_eq!(poll_done(&mut recv), Ok(7));
    };
    let wait_for_room = || {
        tx.try_send(1).unwrap();
        let mut send = tx.send(2);
        poll_into_line(&mut send);
        assert_eq!(rx.try_recv(), Ok(1)); // wakes the waiting sender
        assert_eq!(poll_done(&mut send), Ok(()));
        assert_eq!(rx.try_recv(), Ok(2));
    };
    wait_for_message();
    wait_for_room();
    let n = allocations_during(|| {
        for _ in 0..pairs() {
            wait_for_message();
            wait_for_room();
        }
    });
    assert_eq!(n, 0, "allocations over {} waits on each side", pairs());
}

#[test]
fn stream_next_allocates_nothing_per_message() {
    use futures::StreamExt;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (tx, mut rx) = bounded(4);
    runtime.block_on(async {
        for i in 0..100 {
            tx.try_send(i).unwrap();
            rx.next().await.unwrap();
        }
        let before = allocations();
        for i in 0..pairs() {
            tx.try_send(i).unwrap();
            assert_eq!(rx.next().await, Some(i));
        }
        assert_eq!(allocations() - before, 0);
    });
}

#[test]
fn an_unbounded_channel_in_steady_state_allocates_nothing() {
    // A drained block is kept for the next one the list needs, so a queue
    // whose length stays below a block's worth stops allocating.
    for in_flight in [0, 1, 5, 20] {
        let (tx, rx) = ringchan::unbounded();
        for i in 0..in_flight {
            tx.try_send(i).unwrap();
        }
        // Warm-up: several blocks' worth of laps.
        for i in in_flight..in_flight + 200 {
            tx.try_send(i).unwrap();
            rx.try_recv().unwrap();
        }
        let n = allocations_during(|| {
            for i in 0..pairs() as usize {
                tx.try_send(i).unwrap();
                rx.try_recv().unwrap();
            }
        });
        assert_eq!(
            n,
            0,
            "{in_flight} in flight: allocations over {} pairs",
            pairs()
        );
        assert_eq!(rx.len(), in_flight);
    }
}

#[test]
fn a_channel_nobody_waits_on_allocates_its_state_and_ring_once_and_nothing_to_close() {
    // One allocation for the state the handles share, one for the ring. A
    // close wakes nobody, so neither `close` nor the last handle's drop
    // allocates (each used to allocate the event of every waiting line).
    let mut chan = None;
    let made = allocations_during(|| chan = Some(bounded::<u64>(16)));
    assert_eq!(made, 2, "allocations to create a bounded channel");
    let (tx, rx) = chan.take().unwrap();
    let closed = allocations_during(|| {
        tx.try_send(1).unwrap();
        assert!(rx.close());
        assert_eq!(rx.try_recv(), Ok(1));
        drop((tx, rx));
    });
    assert_eq!(closed, 0, "allocations to use, close and drop it");

    let mut chan = None;
    let made = allocations_during(|| chan = Some(ringchan::mpsc::channel::<u64>(16)));
    assert_eq!(made, 2, "allocations to create an mpsc channel");
    let (tx, mut rx) = chan.take().unwrap();
    let closed = allocations_during(|| {
        tx.try_send(1).unwrap();
        rx.close();
        assert_eq!(rx.try_recv(), Ok(1));
        drop((tx, rx));
    });
    assert_eq!(closed, 0, "allocations to use, close and drop it");
}
