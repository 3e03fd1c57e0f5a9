//! loom models of the `mpsc` pieces: the permit semaphore's hand-off to its
//! waiters (partial assignment, cancellation, close), and the receiver's
//! single-waiter wake-ups (a message; the last permit going after `close`).
//! A lost wake-up shows as a loom deadlock; lost permits fail the final
//! `available()` checks.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --lib tests::mpsc`.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll};

use loom::sync::Arc;
use loom::thread;

use crate::mpsc;
use crate::semaphore::Semaphore;

fn model(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.max_branches = 100_000;
    builder.check(f);
}

/// Runs `fut` on this loom thread, parking it between polls (loom's own
/// `block_on` needs its `futures` feature).
fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = crate::notify::thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// A waker that raises its flag and unparks the loom thread that made it.
struct Flag(std::sync::atomic::AtomicBool, thread::Thread);

impl std::task::Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        self.1.unpark();
    }
}

/// Runs `poll` to completion on this loom thread with a new waker (one
/// that `will_wake` no other) for every poll, as a future moved between
/// tasks sees: polled a second time at once, racing the other threads, and
/// after that waiting for the waker of its latest poll alone. A wake-up
/// that reaches an older waker only is a loom deadlock.
fn block_on_new_wakers<R>(mut poll: impl FnMut(&mut Context<'_>) -> Poll<R>) -> R {
    for polls in 1.. {
        let flag = std::sync::Arc::new(Flag(Default::default(), thread::current()));
        let waker = std::task::Waker::from(flag.clone());
        if let Poll::Ready(out) = poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        if polls >= 2 {
            while !flag.0.load(std::sync::atomic::Ordering::SeqCst) {
                thread::park();
            }
        }
    }
    unreachable!("polled forever")
}

/// Waits for `n` permits and takes them; `false` if the semaphore closed.
fn acquire(sem: &Semaphore, n: usize) -> bool {
    let mut acquire = sem.acquire(n);
    let ok = block_on(poll_fn(|cx| acquire.poll(cx))).is_ok();
    if ok {
        acquire.take();
    }
    ok
}

/// [`acquire`] with a new waker for every poll ([`block_on_new_wakers`]):
/// a waiter in line then stores each one, cloning it with the line's lock
/// let go.
fn acquire_with_new_wakers(sem: &Semaphore, n: usize) -> bool {
    let mut acquire = sem.acquire(n);
    let ok = block_on_new_wakers(|cx| acquire.poll(cx)).is_ok();
    if ok {
        acquire.take();
    }
    ok
}

/// All `bound` permits are held; one thread waits for `need` of them while
/// they come back one at a time: it is served (partially assigned first when
/// `need > 1`), and every permit is back at the end.
fn handoff(bound: usize, need: usize, preemption_bound: usize) {
    handoff_with(bound, need, preemption_bound, acquire);
}

/// [`handoff`], the waiter waiting through `acquire`.
fn handoff_with(
    bound: usize,
    need: usize,
    preemption_bound: usize,
    acquire: fn(&Semaphore, usize) -> bool,
) {
    model(preemption_bound, move || {
        let sem = Arc::new(Semaphore::new(bound));
        sem.try_acquire(bound).unwrap();
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || {
                assert!(acquire(&sem, need));
                sem.release(need);
            })
        };
        for _ in 0..bound {
            sem.release(1);
        }
        waiter.join().unwrap();
        assert_eq!(sem.available(), bound);
    });
}

#[test]
fn handoff_one_permit() {
    handoff(1, 1, 3);
}

#[test]
fn handoff_partial_assignment() {
    handoff(2, 2, 3);
}

/// As above, the waiter polled with a new waker each time: the hand-off
/// wakes the waker of its latest poll.
#[test]
fn handoff_partial_assignment_to_a_waiter_with_new_wakers() {
    handoff_with(2, 2, 3, acquire_with_new_wakers);
}

/// A semaphore of one permit, held: `waiters` threads run `waiter` while
/// this thread runs `holder` (which must give the permit back); at the end
/// every thread has finished and the permit is free.
fn one_held_permit(
    preemption_bound: usize,
    waiters: usize,
    waiter: fn(&Semaphore),
    holder: fn(&Semaphore),
) {
    model(preemption_bound, move || {
        let sem = Arc::new(Semaphore::new(1));
        sem.try_acquire(1).unwrap();
        let threads: Vec<_> = (0..waiters)
            .map(|_| {
                let sem = sem.clone();
                thread::spawn(move || waiter(&sem))
            })
            .collect();
        holder(&sem);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sem.available(), 1);
    });
}

/// Two waiters for one permit that comes back once and is then passed on:
/// both are served, in some order.
#[test]
fn two_waiters_are_both_served() {
    one_held_permit(
        2,
        2,
        |sem| {
            assert!(acquire(sem, 1));
            sem.release(1);
        },
        |sem| sem.release(1),
    );
}

/// A waiter polled once, then dropped, while the permit comes back: it may
/// be served before it is dropped; either way the permit ends up free.
#[test]
fn cancelled_waiter_gives_its_permit_back() {
    one_held_permit(
        3,
        1,
        |sem| {
            let mut acquire = sem.acquire(1);
            let waker = futures::task::noop_waker();
            let _ = acquire.poll(&mut Context::from_waker(&waker));
        },
        |sem| sem.release(1),
    );
}

/// `close` races a waiter and the release of the permit it waits for: the
/// waiter always finishes. Released after the close, the permit serves
/// nobody (a closed semaphore fails its line, as tokio's does); released
/// before it, the waiter may be served first, and the model must reach
/// both outcomes.
#[test]
fn close_fails_or_serves_every_waiter() {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    static SERVED: AtomicUsize = AtomicUsize::new(0);
    static FAILED: AtomicUsize = AtomicUsize::new(0);
    one_held_permit(
        3,
        1,
        |sem| {
            assert!(
                !acquire(sem, 1),
                "served by a permit released after the close"
            )
        },
        |sem| {
            sem.close();
            sem.release(1);
            assert!(sem.is_closed());
        },
    );
    one_held_permit(
        3,
        1,
        |sem| {
            if acquire(sem, 1) {
                SERVED.fetch_add(1, Relaxed);
                sem.release(1);
            } else {
                FAILED.fetch_add(1, Relaxed);
            }
        },
        |sem| {
            sem.release(1);
            sem.close();
        },
    );
    let reached = (SERVED.load(Relaxed), FAILED.load(Relaxed));
    assert!(
        reached.0 > 0 && reached.1 > 0,
        "(served, failed) runs: {reached:?}"
    );
}

/// When [`close_races_a_half_served_waiter`] gives the held permit back.
#[derive(Clone, Copy, PartialEq)]
enum GiveBack {
    /// Before the close, racing the waiter: it may be served first.
    BeforeClose,
    /// After the close, racing the waiter: it is never served.
    AfterClose,
    /// Once the waiter is joined, when only the held permit may be out.
    AfterJoin,
}

/// Two permits, one held, and a thread running `waiter` (which asks for
/// both: it is handed the free one and waits for the other; it returns
/// whether it was served) while this one closes the semaphore and gives
/// the held permit back when `give_back` says. Whether the waiter is
/// served first, fails holding the partial permit a close leaves with it,
/// or fails before it joins, every permit is back at the end. Returns how
/// many runs of the model served the waiter, and how many failed it.
fn close_races_a_half_served_waiter(
    give_back: GiveBack,
    waiter: impl Fn(&Semaphore) -> bool + Copy + Send + Sync + 'static,
) -> (usize, usize) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let outcomes = std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let counted = outcomes.clone();
    model(3, move || {
        let sem = Arc::new(Semaphore::new(2));
        sem.try_acquire(1).unwrap();
        let thread = {
            let sem = sem.clone();
            thread::spawn(move || waiter(&sem))
        };
        if give_back == GiveBack::BeforeClose {
            sem.release(1);
        }
        sem.close();
        if give_back == GiveBack::AfterClose {
            sem.release(1);
        }
        let served = thread.join().unwrap();
        counted[usize::from(!served)].fetch_add(1, Relaxed);
        if give_back == GiveBack::AfterJoin {
            assert_eq!(sem.available(), 1, "only the held permit is out");
            sem.release(1);
        }
        assert_eq!(sem.available(), 2);
        assert!(sem.is_idle());
    });
    (outcomes[0].load(Relaxed), outcomes[1].load(Relaxed))
}

/// `close` alone must wake a waiter in line: no permit comes back while it
/// waits. The waiter joins before the close (the close finds WAITERS set,
/// takes the lock and fails the line) or after it (its `enqueue` sees
/// CLOSED); either way it ends failed. A close that set CLOSED without
/// looking at the line leaves it asleep: a loom deadlock.
#[test]
fn close_alone_wakes_a_waiter() {
    model(3, || {
        let sem = Arc::new(Semaphore::new(1));
        sem.try_acquire(1).unwrap();
        let thread = {
            let sem = sem.clone();
            thread::spawn(move || acquire(&sem, 1))
        };
        assert!(sem.close());
        assert!(!thread.join().unwrap(), "the waiter fails");
        sem.release(1);
        assert_eq!(sem.available(), 1);
        assert!(sem.is_idle());
    });
}

/// The waiter is polled to its end (and gives back what it was served).
#[test]
fn close_leaves_the_waiters_partial_permit_until_it_goes() {
    close_serves_or_fails_a_half_served_waiter(acquire);
}

/// As above, the waiter polled with a new waker each time, so that it
/// stores each one while the close and the permit's return race it.
#[test]
fn close_races_a_half_served_waiter_with_new_wakers() {
    close_serves_or_fails_a_half_served_waiter(acquire_with_new_wakers);
}

/// [`close_races_a_half_served_waiter`] with the permit given back before
/// the close (both outcomes must be reached) and after it (never served).
fn close_serves_or_fails_a_half_served_waiter(acquire: fn(&Semaphore, usize) -> bool) {
    // Asks for both permits, and gives back what it was served.
    let waiter = move |sem: &Semaphore| {
        let served = acquire(sem, 2);
        if served {
            sem.release(2);
        }
        served
    };
    let (served, failed) = close_races_a_half_served_waiter(GiveBack::BeforeClose, waiter);
    assert!(
        served > 0 && failed > 0,
        "given back first: served {served}, failed {failed} runs"
    );
    let (served, _) = close_races_a_half_served_waiter(GiveBack::AfterClose, waiter);
    assert_eq!(served, 0, "served by a permit given back after the close");
}

/// The waiter is dropped after one poll: what it holds comes back with the
/// drop. (That a partial permit stays out until then is pinned by the
/// `close_leaves_a_failed_reserve_many_*` tests in `tests/mpsc_api.rs`.)
#[test]
fn close_then_cancel_gives_the_partial_permit_back() {
    close_races_a_half_served_waiter(GiveBack::AfterJoin, |sem| {
        let mut acquire = sem.acquire(2);
        let waker = futures::task::noop_waker();
        matches!(
            acquire.poll(&mut Context::from_waker(&waker)),
            Poll::Ready(Ok(()))
        )
    });
}

/// A receiver waits on an empty channel while a sender sends and goes: it
/// gets the message, then the end.
#[test]
fn receiver_wakes_for_message_and_end() {
    model(3, || {
        let (tx, mut rx) = mpsc::channel(1);
        let sender = thread::spawn(move || {
            block_on(tx.send(7)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(7));
        assert_eq!(block_on(rx.recv()), None);
        sender.join().unwrap();
    });
}

/// The receiver polls with a new waker each time, the second poll racing
/// the send: the message wakes the waker of its latest poll.
#[test]
fn receiver_wakes_through_the_waker_of_its_latest_poll() {
    model(3, || {
        let (tx, mut rx) = mpsc::channel(1);
        // The receiver on a spawned thread, which its wakers unpark; this
        // one only sends and joins.
        let receiver = thread::spawn(move || {
            let mut recv = pin!(rx.recv());
            block_on_new_wakers(|cx| recv.as_mut().poll(cx))
        });
        tx.try_send(7).unwrap();
        assert_eq!(receiver.join().unwrap(), Some(7));
    });
}

/// After `close`, the receiver waits for the one outstanding permit, which
/// a thread either sends on or drops, while another sender stays alive: the
/// permit alone must end the wait (the receiver is woken by the permit, not
/// by the last sender going).
fn close_waits_for_permit(send: bool, preemption_bound: usize) {
    model(preemption_bound, move || {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        let permit = tx.clone().try_reserve_owned().unwrap();
        let holder = thread::spawn(move || {
            if send {
                drop(permit.send(9));
            } else {
                drop(permit);
            }
        });
        rx.close();
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        assert_eq!(got, if send { vec![9] } else { vec![] });
        holder.join().unwrap();
        drop(tx);
    });
}

#[test]
fn close_waits_for_permit_sent() {
    close_waits_for_permit(true, 3);
}

#[test]
fn close_waits_for_permit_dropped() {
    close_waits_for_permit(false, 3);
}

/// Two permits, one held; a thread asks for both (it is handed the free
/// one and waits, the head of the line, for the other) while another asks
/// for one (it joins behind, or takes the free permit first), and the held
/// permit comes back. Both are served, and every permit is back at the
/// end. The models above never had two waiters in line with the head
/// partly served, so an `enqueue` that reset the head's partial assignment
/// (`head_assigned = taken`, 0 for a waiter joining the back) for every new
/// waiter, not only the first, passed them all: the head's permit is lost
/// and it waits forever (a loom deadlock).
#[test]
fn a_waiter_joining_behind_a_half_served_head_keeps_its_permits() {
    model(2, || {
        let sem = Arc::new(Semaphore::new(2));
        sem.try_acquire(1).unwrap();
        let waiters: Vec<_> = [2, 1]
            .map(|need| {
                let sem = sem.clone();
                thread::spawn(move || {
                    assert!(acquire(&sem, need));
                    sem.release(need);
                })
            })
            .into_iter()
            .collect();
        sem.release(1);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(sem.available(), 2);
        assert!(sem.is_idle());
    });
}

/// A sender's `closed()` waits while the receiver closes with a permit
/// still out (so the queue itself stays open until the permit goes): the
/// receiver's close must wake it. Catches a `close_rx` that leaves the
/// line of `closed()` futures to a queue close that has not happened.
#[test]
fn receiver_close_wakes_closed_with_a_permit_out() {
    model(3, || {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let permit = tx.clone().try_reserve_owned().unwrap();
        let waiter = thread::spawn(move || block_on(tx.closed()));
        rx.close();
        waiter.join().unwrap();
        drop(permit);
        assert_eq!(block_on(rx.recv()), None);
    });
}

/// A sender's `reserve_many(2)` (run by `reserve`, on a thread of its own)
/// is handed the one free permit and waits for the other, while the
/// receiver closes, the held permit goes and the receiver waits for the
/// end: whatever the reserve gives back must wake the receiver, for whom
/// that was the last permit out. A sender stays alive throughout: the last
/// sender's drop would wake the receiver on its own.
fn half_served_reserve_races_the_close(reserve: fn(mpsc::Sender<u8>)) {
    model(3, move || {
        let (tx, mut rx) = mpsc::channel::<u8>(2);
        let permit = tx.clone().try_reserve_owned().unwrap();
        let tx2 = tx.clone();
        let reserver = thread::spawn(move || reserve(tx2));
        rx.close();
        drop(permit);
        assert_eq!(block_on(rx.recv()), None);
        reserver.join().unwrap();
        drop(tx);
    });
}

/// The reserve polled once, then dropped: catches a `Reserve` drop that
/// gives its permits back to the semaphore without waking the receiver.
#[test]
fn a_dropped_half_served_reserve_wakes_the_closed_receiver() {
    half_served_reserve_races_the_close(|tx| {
        let mut reserve = pin!(tx.reserve_many(2));
        let waker = futures::task::noop_waker();
        let _ = reserve.as_mut().poll(&mut Context::from_waker(&waker));
    });
}

/// The reserve polled to its end: a close fails it while it holds the one
/// permit it was handed (or, given the held permit first, it is served).
/// Catches a `Reserve` whose failed poll gives its permits back without
/// waking the receiver.
#[test]
fn a_half_served_reserve_failed_by_close_wakes_the_receiver() {
    half_served_reserve_races_the_close(|tx| drop(block_on(tx.reserve_many(2))));
}
