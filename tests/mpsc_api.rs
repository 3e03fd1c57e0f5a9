//! The bounded `mpsc` channel, method by method, pinned to the documented
//! behaviour of `tokio::sync::mpsc` 1.x.
//!
//! The tests run against `ringchan::mpsc`; `--features tokio-mpsc` runs the
//! very same tests against tokio's module, which is how they were validated.
#[cfg(not(feature = "tokio-mpsc"))]
use ringchan::mpsc;
#[cfg(feature = "tokio-mpsc")]
use tokio::sync::mpsc;

mod common;
mod mpsc_util;

use common::{
    guard, panicky, parked, poll_once, scaled, watchdog, woken_only_by, Bomb, DropLog, Polled,
    WakeCount,
};
use mpsc::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use mpsc_util::{assert_try_recv_never_spuriously_empty, panic_file};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// tokio's documented maximum capacity, `Semaphore::MAX_PERMITS`.
const MAX_CAPACITY: usize = usize::MAX >> 3;

// ===== channel() =====

#[test]
fn max_capacity_constant_is_tokio_semaphore_max_permits() {
    assert_eq!(MAX_CAPACITY, tokio::sync::Semaphore::MAX_PERMITS);
}

#[test]
#[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
fn channel_zero_panics_with_tokio_message() {
    let _ = mpsc::channel::<u8>(0);
}

#[test]
#[should_panic(expected = "a semaphore may not have more than MAX_PERMITS permits")]
fn channel_above_max_capacity_panics() {
    let _ = mpsc::channel::<u8>(MAX_CAPACITY + 1);
}

#[test]
#[should_panic(expected = "a semaphore may not have more than MAX_PERMITS permits")]
fn channel_usize_max_panics() {
    let _ = mpsc::channel::<u8>(usize::MAX);
}

#[test]
fn channel_zero_panic_points_at_caller() {
    // `channel` is `#[track_caller]`: the panic is located in this file.
    let file = panic_file(|| {
        let _ = mpsc::channel::<u8>(0);
    });
    assert!(file.ends_with("mpsc_api.rs"), "panic located in {file}");
}

// ringchan's own: tokio (1.54.1) locates this panic in its semaphore.
#[cfg(not(feature = "tokio-mpsc"))]
#[test]
fn channel_above_max_capacity_panic_points_at_caller() {
    let file = panic_file(|| {
        let _ = mpsc::channel::<u8>(usize::MAX);
    });
    assert!(file.ends_with("mpsc_api.rs"), "panic located in {file}");
}

#[tokio::test]
async fn capacity_up_to_max_works_with_memory_following_messages() {
    // A channel of the maximum capacity must not allocate its capacity
    // up front (2^61 slots would abort the process).
    let (tx, mut rx) = mpsc::channel::<[u8; 64]>(MAX_CAPACITY);
    assert_eq!(tx.max_capacity(), MAX_CAPACITY);
    assert_eq!(tx.capacity(), MAX_CAPACITY);
    for i in 0..100u8 {
        tx.try_send([i; 64]).unwrap();
    }
    assert_eq!(rx.len(), 100);
    assert_eq!(tx.capacity(), MAX_CAPACITY - 100);
    for i in 0..100u8 {
        assert_eq!(rx.recv().await, Some([i; 64]));
    }
    assert_eq!(rx.capacity(), MAX_CAPACITY);
    // The whole capacity can be reserved at once.
    let permits = tx.try_reserve_many(MAX_CAPACITY).unwrap();
    assert_eq!(permits.len(), MAX_CAPACITY);
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_send([0; 64]), Err(TrySendError::Full(_))));
    drop(permits);
    assert_eq!(tx.capacity(), MAX_CAPACITY);
}

#[tokio::test]
async fn large_capacity_buffers_many_messages() {
    let n = scaled(100_000);
    let (tx, mut rx) = mpsc::channel::<usize>(1 << 40);
    for i in 0..n {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.len(), n);
    for i in 0..n {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

// ===== send / recv =====

#[tokio::test]
async fn send_then_recv_in_fifo_order() {
    let (tx, mut rx) = mpsc::channel(16);
    for i in 0..10 {
        tx.send(i).await.unwrap();
    }
    for i in 0..10 {
        assert_eq!(rx.recv().await, Some(i));
    }
}

#[tokio::test]
async fn recv_returns_none_once_senders_gone_and_drained() {
    let (tx, mut rx) = mpsc::channel(4);
    let tx2 = tx.clone();
    tx.send(1).await.unwrap();
    tx2.send(2).await.unwrap();
    drop(tx);
    drop(tx2);
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, None);
    // Closed stays closed.
    assert_eq!(rx.recv().await, None);
}

#[tokio::test]
async fn recv_stays_open_while_any_sender_clone_lives() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    let tx2 = tx.clone();
    drop(tx);
    let mut recv = parked(rx.recv());
    tx2.try_send(7).unwrap();
    assert!(recv.woken());
    assert_eq!(recv.ready(), Some(7));
    drop(recv);
    let mut recv = parked(rx.recv());
    drop(tx2);
    assert!(recv.woken(), "dropping the last sender wakes the receiver");
    assert_eq!(recv.ready(), None);
}

#[test]
fn send_waits_for_capacity_and_is_woken_by_recv() {
    let (tx, mut rx) = mpsc::channel(1);
    let mut first = Polled::new(tx.send(1));
    assert_eq!(first.ready(), Ok(()));
    let mut second = parked(tx.send(2));
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(second.woken(), "a recv frees a slot and wakes the sender");
    assert_eq!(second.ready(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[tokio::test]
async fn send_after_receiver_dropped_returns_the_value() {
    let (tx, rx) = mpsc::channel(4);
    drop(rx);
    let err = tx.send(String::from("lost")).await.unwrap_err();
    assert_eq!(err, SendError(String::from("lost")));
    assert_eq!(err.0, "lost");
}

#[tokio::test]
async fn send_after_receiver_close_returns_the_value() {
    let (tx, mut rx) = mpsc::channel(4);
    rx.close();
    assert_eq!(tx.send(5).await, Err(SendError(5)));
}

#[test]
fn pending_send_fails_when_receiver_dropped() {
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut send = parked(tx.send(1));
    drop(rx);
    assert!(send.woken());
    assert_eq!(send.ready(), Err(SendError(1)));
}

#[test]
fn pending_send_fails_when_receiver_closes() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut send = parked(tx.send(1));
    rx.close();
    assert!(send.woken());
    assert_eq!(send.ready(), Err(SendError(1)));
    // The message buffered before the close is still delivered.
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn waiting_senders_complete_in_request_order() {
    // "This channel uses a queue to ensure that calls to send and reserve
    // complete in the order they were requested."
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut a = parked(tx.send(1));
    let mut b = parked(tx.send(2));
    assert_eq!(rx.try_recv(), Ok(0));
    // The freed slot belongs to `a`, the first in line: `b` still waits
    // and a `try_send` cannot barge in ahead of the queue either.
    assert!(b.poll().is_pending());
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    assert!(a.woken());
    assert_eq!(a.ready(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(b.woken());
    assert_eq!(b.ready(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn cancelled_waiting_send_passes_its_turn_on() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let a = parked(tx.send(1));
    let mut b = parked(tx.send(2));
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(a.woken());
    // `a` is cancelled after being handed the slot: the slot moves on to `b`.
    drop(a);
    assert!(b.woken());
    assert_eq!(b.ready(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn cancelled_recv_loses_no_message() {
    let (tx, mut rx) = mpsc::channel(2);
    let recv = parked(rx.recv());
    drop(recv);
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn poll_recv_wakes_only_the_most_recent_waker() {
    let (tx, mut rx) = mpsc::channel(2);
    let first_count = Arc::new(WakeCount::default());
    let first = Waker::from(first_count.clone());
    let second_count = Arc::new(WakeCount::default());
    let second = Waker::from(second_count.clone());
    assert!(rx.poll_recv(&mut Context::from_waker(&first)).is_pending());
    assert!(rx.poll_recv(&mut Context::from_waker(&second)).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(first_count.count(), 0);
    assert!(second_count.count() >= 1);
    assert_eq!(
        rx.poll_recv(&mut Context::from_waker(&second)),
        Poll::Ready(Some(1))
    );
    drop(tx);
    assert_eq!(
        rx.poll_recv(&mut Context::from_waker(&second)),
        Poll::Ready(None)
    );
}

#[test]
fn poll_recv_many_extends_the_buffer() {
    let (tx, mut rx) = mpsc::channel(8);
    let wakes = Arc::new(WakeCount::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let mut buf = vec![100];
    assert!(rx.poll_recv_many(&mut cx, &mut buf, 4).is_pending());
    for i in 0..6 {
        tx.try_send(i).unwrap();
    }
    assert!(wakes.count() >= 1);
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 4), Poll::Ready(4));
    assert_eq!(buf, [100, 0, 1, 2, 3]);
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 0), Poll::Ready(0));
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 4), Poll::Ready(2));
    drop(tx);
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 4), Poll::Ready(0));
    assert_eq!(buf, [100, 0, 1, 2, 3, 4, 5]);
}

// ===== try_send / try_recv =====

#[test]
fn try_send_is_full_at_exactly_the_capacity() {
    for cap in [1, 2, 3, 5, 7, 16, 31, 32, 33, 100] {
        let (tx, mut rx) = mpsc::channel(cap);
        for i in 0..cap {
            tx.try_send(i).unwrap();
        }
        assert_eq!(tx.try_send(cap), Err(TrySendError::Full(cap)), "cap {cap}");
        assert_eq!(rx.len(), cap);
        assert_eq!(tx.capacity(), 0);
        assert_eq!(rx.try_recv(), Ok(0));
        tx.try_send(cap).unwrap();
        assert_eq!(
            tx.try_send(cap + 1),
            Err(TrySendError::Full(cap + 1)),
            "cap {cap}"
        );
        for i in 1..=cap {
            assert_eq!(rx.try_recv(), Ok(i));
        }
    }
}

#[test]
fn try_send_closed_returns_the_value() {
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));

    // Closed wins over Full.
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    rx.close();
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
}

#[test]
fn try_recv_reports_empty_then_disconnected() {
    let (tx, mut rx) = mpsc::channel(4);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    drop(tx);
    // Buffered messages come first.
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn try_recv_is_never_spuriously_empty() {
    // "Unlike poll_recv, this method will never return an Empty error
    // spuriously": once a send has returned, try_recv sees a message even
    // while other senders are halfway through theirs.
    let (producers, per) = (4, scaled(20_000));
    let (tx, mut rx) = mpsc::channel(producers * per);
    let senders = (0..producers)
        .map(|_| {
            let tx = tx.clone();
            move |i| tx.try_send(i).unwrap()
        })
        .collect();
    assert_try_recv_never_spuriously_empty(senders, per, || rx.try_recv());
}

#[test]
fn try_recv_after_close_is_disconnected_even_with_live_senders() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    drop(tx);
}

#[test]
fn try_recv_with_only_weak_senders_is_disconnected() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    let weak = tx.downgrade();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert!(weak.upgrade().is_none());
}

// ===== recv_many =====

#[test]
fn a_pending_recv_is_woken_only_by_a_message_or_the_end() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let got = woken_only_by(rx.recv(), || tx.try_send(1).unwrap());
    assert_eq!(got, Some(1));
    let mut buf = Vec::new();
    assert_eq!(woken_only_by(rx.recv_many(&mut buf, 4), || drop(tx)), 0);
}

#[test]
fn a_reservation_whose_waker_clone_panics_as_it_waits_loses_no_permit() {
    // One slot free, two asked for: the reservation takes the free one and
    // waits for the other, and its waker's clone panics as it joins the
    // line. The panic reaches the poll, and the slot it took comes back.
    let (tx, mut rx) = mpsc::channel::<i32>(2);
    tx.try_send(1).unwrap();
    {
        let mut reserve = Box::pin(tx.reserve_many(2));
        panicky::arm(|| {});
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = std::future::Future::poll(
                reserve.as_mut(),
                &mut Context::from_waker(&panicky::waker()),
            );
        }));
        assert!(polled.is_err(), "the waker's clone was expected to panic");
    }
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.capacity(), 2, "a permit was lost");
    let permits = tx.try_reserve_many(2).expect("both slots free again");
    for (permit, v) in permits.zip([2, 3]) {
        permit.send(v);
    }
    assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(2), Ok(3)));
}

/// Polls `fut` once with a waker whose clone runs `action` and then panics
/// (`panics`) or clones. Returns the poll's answer, or `None` when the
/// clone's panic reached the poll; fails unless the clone ran.
fn poll_cloning_with<F: std::future::Future + Unpin>(
    fut: &mut F,
    panics: bool,
    action: impl FnOnce() + 'static,
) -> Option<Poll<F::Output>> {
    if panics {
        panicky::arm(action);
    } else {
        panicky::arm_quiet(action);
    }
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        std::future::Future::poll(
            std::pin::Pin::new(fut),
            &mut Context::from_waker(&panicky::waker()),
        )
    }));
    assert!(panicky::fired(), "the poll never cloned the waker");
    assert_eq!(
        polled.is_err(),
        panics,
        "the clone's panic, and only it, reaches the poll"
    );
    polled.ok()
}

/// Runs `scenario` with a waker clone that goes on, then with one that
/// panics, each on a [`watchdog`]ed thread of its own.
fn with_both_clones(what: &'static str, scenario: fn(bool)) {
    for panics in [false, true] {
        watchdog(what, move || scenario(panics));
    }
}

#[test]
fn a_recv_whose_new_wakers_clone_sends_on_the_channel_does_not_deadlock() {
    // The receiver waits, then is polled with another waker, whose clone
    // sends on the same channel while the receiver's wait is registered: a
    // clone made under the receiver's waker lock would meet that send's
    // wake-up there.
    with_both_clones("re-entrant clone in a recv", |panics| {
        let (tx, mut rx) = mpsc::channel::<i32>(1);
        let mut recv = Box::pin(rx.recv());
        assert!(parked_once(&mut recv));
        match poll_cloning_with(&mut recv, panics, move || tx.try_send(7).unwrap()) {
            Some(polled) => assert_eq!(polled, Poll::Ready(Some(7))),
            None => {
                // A future that panicked is done with; a new one gets it.
                drop(recv);
                assert_eq!(poll_noop(&mut Box::pin(rx.recv())), Poll::Ready(Some(7)));
            }
        }
    });
}

#[test]
fn a_recv_whose_wakers_clone_closes_the_channel_does_not_deadlock() {
    // As above with the unbounded channel, the clone dropping the last
    // sender: the recv then sees the end, not a hang.
    with_both_clones("re-entrant clone in an unbounded recv", |panics| {
        let (tx, mut rx) = mpsc::unbounded_channel::<i32>();
        let mut recv = Box::pin(rx.recv());
        assert!(parked_once(&mut recv));
        match poll_cloning_with(&mut recv, panics, move || drop(tx)) {
            Some(polled) => assert_eq!(polled, Poll::Ready(None)),
            None => {
                drop(recv);
                assert_eq!(poll_noop(&mut Box::pin(rx.recv())), Poll::Ready(None));
            }
        }
    });
}

// tokio clones a waiting reservation's new waker under its semaphore's lock,
// so there the clones below deadlock (checked: the first test hangs with
// `--features tokio-mpsc`).
#[cfg(not(feature = "tokio-mpsc"))]
#[test]
fn a_reservation_whose_new_wakers_clone_frees_a_slot_does_not_deadlock() {
    // A reservation waits for the only slot; polled with another waker,
    // whose clone takes the message out, freeing the slot for it.
    with_both_clones("re-entrant clone in a reserve", |panics| {
        let (tx, rx) = mpsc::channel::<i32>(1);
        tx.try_send(1).unwrap();
        let rx = std::rc::Rc::new(std::cell::RefCell::new(rx));
        let mut reserve = Box::pin(tx.reserve());
        assert!(parked_once(&mut reserve));
        let taker = rx.clone();
        let polled = poll_cloning_with(&mut reserve, panics, move || {
            assert_eq!(taker.borrow_mut().try_recv(), Ok(1));
        });
        match polled {
            Some(Poll::Ready(Ok(permit))) => permit.send(2),
            Some(other) => panic!("the freed slot is the reservation's: {other:?}"),
            None => {
                // The panicked reservation is dropped: the slot it was
                // handed comes back.
                drop(reserve);
                assert_eq!(tx.capacity(), 1, "a permit was lost");
                tx.try_send(2).unwrap();
            }
        }
        assert_eq!(rx.borrow_mut().try_recv(), Ok(2));
        assert_eq!(tx.capacity(), 1, "a permit was lost");
    });
}

#[test]
fn a_second_closed_whose_wakers_clone_closes_the_channel_does_not_deadlock() {
    // Two senders wait for the close; the second joins behind the first
    // with a waker whose clone closes the channel.
    with_both_clones("re-entrant clone in a closed()", |panics| {
        second_closed_closes_the_channel(panics, false)
    });
}

// tokio (1.54.1) hangs here: its `Notify` stores a re-polled waiter's new
// waker under its lock (checked with `--features tokio-mpsc`).
#[cfg(not(feature = "tokio-mpsc"))]
#[test]
fn a_second_closed_whose_new_wakers_clone_closes_the_channel_does_not_deadlock() {
    // As above, the second waiting already, polled again with a new waker.
    with_both_clones("re-entrant clone in a re-polled closed()", |panics| {
        second_closed_closes_the_channel(panics, true)
    });
}

/// Two `closed()` futures wait (the second polled first with a no-op
/// waker if `repolled`); then the second is polled with a waker whose
/// clone closes the channel, and both must end.
fn second_closed_closes_the_channel(panics: bool, repolled: bool) {
    let (tx, rx) = mpsc::channel::<i32>(1);
    let other = tx.clone();
    let mut first = Box::pin(tx.closed());
    let mut second = Box::pin(other.closed());
    assert!(parked_once(&mut first));
    if repolled {
        assert!(parked_once(&mut second));
    }
    let rx = std::rc::Rc::new(std::cell::RefCell::new(rx));
    let closer = rx.clone();
    let polled = poll_cloning_with(&mut second, panics, move || closer.borrow_mut().close());
    if let Some(polled) = polled {
        assert_eq!(polled, Poll::Ready(()), "the close ends the wait");
    }
    assert_eq!(poll_noop(&mut first), Poll::Ready(()));
}

#[cfg(not(feature = "tokio-mpsc"))]
#[test]
fn a_reservation_whose_new_wakers_clone_closes_the_channel_does_not_deadlock() {
    // A `reserve_many(2)` at the head of the line, the one free slot
    // handed to it, the other held; polled with another waker, whose clone
    // closes the channel: the reservation fails, and the slot it was
    // handed comes back.
    with_both_clones("re-entrant close in a reserve_many", |panics| {
        let (tx, rx) = mpsc::channel::<i32>(2);
        let held = tx.try_reserve().unwrap();
        let rx = std::rc::Rc::new(std::cell::RefCell::new(rx));
        let mut reserve = Box::pin(tx.reserve_many(2));
        assert!(parked_once(&mut reserve));
        let closer = rx.clone();
        let polled = poll_cloning_with(&mut reserve, panics, move || closer.borrow_mut().close());
        if let Some(polled) = polled {
            assert!(
                matches!(polled, Poll::Ready(Err(_))),
                "the close fails the reservation"
            );
        }
        drop(reserve);
        assert_eq!(tx.capacity(), 1, "the handed slot came back");
        drop(held);
        assert_eq!(tx.capacity(), 2);
    });
}

#[test]
fn a_waiting_recv_or_reserve_wakes_the_waker_of_its_latest_poll() {
    // A future moved between tasks (or polled by `select!` under another
    // waker) must wake the waker it was last polled with.
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    woken_through_its_latest_waker(std::pin::pin!(rx.recv()), "recv", || {
        tx.try_send(1).unwrap()
    });
    tx.try_send(2).unwrap();
    woken_through_its_latest_waker(std::pin::pin!(tx.reserve()), "reserve", || {
        assert_eq!(rx.try_recv(), Ok(2))
    });
}

/// Polls `fut` with one waker, then another; `event` must wake the second
/// alone, and `fut` must then be ready.
fn woken_through_its_latest_waker<F: std::future::Future>(
    mut fut: std::pin::Pin<&mut F>,
    what: &str,
    event: impl FnOnce(),
) {
    let (old, new) = (
        Arc::new(WakeCount::default()),
        Arc::new(WakeCount::default()),
    );
    assert!(pending_with(fut.as_mut(), &old), "{what}: pending");
    assert!(pending_with(fut.as_mut(), &new), "{what}: still pending");
    event();
    assert_eq!(
        (old.count(), new.count()),
        (0, 1),
        "{what}: (old, new) wakes"
    );
    assert!(
        !pending_with(fut.as_mut(), &new),
        "{what}: ready once woken"
    );
}

/// Polls `fut` once with `count`'s waker; `true` if it is pending.
fn pending_with<F: std::future::Future>(
    fut: std::pin::Pin<&mut F>,
    count: &Arc<WakeCount>,
) -> bool {
    poll_once(fut, &Waker::from(count.clone())).is_pending()
}

/// Polls `fut` once with a no-op waker; `true` if it is pending.
fn parked_once<F: std::future::Future + Unpin>(fut: &mut F) -> bool {
    poll_noop(fut).is_pending()
}

/// Polls `fut` once with a no-op waker.
fn poll_noop<F: std::future::Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_once(std::pin::Pin::new(fut), Waker::noop())
}

#[test]
fn only_the_last_sender_going_wakes_a_pending_recv() {
    // Every way a sender handle goes: a clone, an upgraded weak sender, an
    // unused owned permit (which holds a sender). None of them is the last,
    // so none is news to a waiting receiver; the last one is.
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    woken_only_by_the_last_sender(rx.recv(), tx, |tx| {
        drop(tx.clone());
        drop(tx.downgrade().upgrade().unwrap());
        drop(tx.clone().try_reserve_owned().unwrap());
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<i32>();
    woken_only_by_the_last_sender(rx.recv(), tx, |tx| {
        drop(tx.clone());
        drop(tx.downgrade().upgrade().unwrap());
    });
}

/// Parks `recv`; `others` drops senders that are not the last, which must
/// not wake it; then the last sender, `tx`, goes, which must, and `recv`
/// ends.
#[track_caller]
fn woken_only_by_the_last_sender<S>(
    recv: impl std::future::Future<Output = Option<i32>>,
    tx: S,
    others: impl FnOnce(&S),
) {
    let mut recv = parked(recv);
    others(&tx);
    assert!(!recv.woken(), "woken by a sender that was not the last");
    assert!(recv.poll().is_pending());
    drop(tx);
    assert!(
        recv.woken(),
        "the last sender's drop did not wake the receiver"
    );
    assert_eq!(recv.ready(), None);
}

#[tokio::test]
async fn recv_many_takes_up_to_limit_and_appends() {
    let (tx, mut rx) = mpsc::channel(16);
    for i in 0..5 {
        tx.send(i).await.unwrap();
    }
    let mut buf = vec![-1];
    assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
    assert_eq!(buf, [-1, 0, 1, 2]);
    assert_eq!(
        rx.capacity(),
        16 - 2,
        "capacity returns for each message taken"
    );
    assert_eq!(rx.recv_many(&mut buf, 10).await, 2);
    assert_eq!(buf, [-1, 0, 1, 2, 3, 4]);
    assert_eq!(rx.capacity(), 16);
}

#[tokio::test]
async fn recv_many_with_zero_limit_returns_zero_immediately() {
    let (tx, mut rx) = mpsc::channel(4);
    let mut buf = Vec::new();
    // Even with nothing buffered and the channel open: no waiting.
    assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
    tx.send(1).await.unwrap();
    assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
    assert!(buf.is_empty());
    assert_eq!(rx.len(), 1);
}

#[tokio::test]
async fn recv_many_waits_then_returns_zero_only_when_closed_and_drained() {
    let (tx, mut rx) = mpsc::channel(4);
    let mut buf = Vec::new();
    {
        let mut many = parked(rx.recv_many(&mut buf, 4));
        tx.try_send(7).unwrap();
        assert!(many.woken());
        assert_eq!(many.ready(), 1);
    }
    tx.try_send(8).unwrap();
    drop(tx);
    assert_eq!(rx.recv_many(&mut buf, 4).await, 1);
    assert_eq!(rx.recv_many(&mut buf, 4).await, 0);
    assert_eq!(buf, [7, 8]);
}

// ===== reserve / permits =====

#[tokio::test]
async fn reserve_holds_capacity_and_permit_send_delivers() {
    let (tx, mut rx) = mpsc::channel(2);
    let permit = tx.reserve().await.unwrap();
    assert_eq!(tx.capacity(), 1);
    assert_eq!(rx.len(), 0, "a reservation is not a message");
    assert!(rx.is_empty());
    permit.send(10);
    assert_eq!(tx.capacity(), 1);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.recv().await, Some(10));
    assert_eq!(tx.capacity(), 2);
}

#[tokio::test]
async fn held_permit_does_not_block_later_messages() {
    // No head-of-line blocking: the permit reserves capacity, not a place in
    // the queue; messages are ordered by when they are sent.
    let (tx, mut rx) = mpsc::channel(3);
    let permit = tx.reserve().await.unwrap();
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert_eq!(guard(rx.recv()).await, Some(1));
    assert_eq!(guard(rx.recv()).await, Some(2));
    permit.send(3);
    assert_eq!(guard(rx.recv()).await, Some(3));
}

#[test]
fn held_permit_does_not_block_messages_from_other_senders() {
    let (tx, mut rx) = mpsc::channel(2);
    let other = tx.clone();
    let permit = tx.try_reserve().unwrap();
    other.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    other.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    permit.send(3);
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn dropped_permit_returns_capacity() {
    let (tx, _rx) = mpsc::channel::<i32>(1);
    let permit = tx.try_reserve().unwrap();
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
    drop(permit);
    assert_eq!(tx.capacity(), 1);
    tx.try_send(1).unwrap();
}

#[test]
fn dropped_permit_wakes_a_waiting_sender() {
    let (tx, mut rx) = mpsc::channel(1);
    let permit = tx.try_reserve().unwrap();
    let mut send = parked(tx.send(5));
    drop(permit);
    assert!(send.woken(), "the released slot wakes the waiting sender");
    assert_eq!(send.ready(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn dropped_permit_wakes_a_waiting_reserve() {
    let (tx, _rx) = mpsc::channel::<i32>(1);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = parked(tx.reserve());
    drop(permit);
    assert!(reserve.woken());
    assert!(reserve.ready().is_ok());
}

#[test]
fn reserve_and_try_reserve_fail_once_closed() {
    let (tx, mut rx) = mpsc::channel::<i32>(2);
    rx.close();
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
    let mut reserve = Polled::new(tx.reserve());
    assert!(matches!(reserve.ready(), Err(SendError(()))));
    let (tx, rx) = mpsc::channel::<i32>(2);
    drop(rx);
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
}

#[test]
fn pending_reserve_fails_when_receiver_closes() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    tx.try_send(1).unwrap();
    let mut reserve = parked(tx.reserve());
    rx.close();
    assert!(reserve.woken());
    assert!(matches!(reserve.ready(), Err(SendError(()))));
}

/// A reserve served while it waited (the receive hands it the freed permit
/// and empties the line), then a close it has not seen yet, nobody left in
/// line: as in tokio, the close fails it and its permit goes back, so the
/// receiver sees the end instead of waiting for that permit forever.
#[test]
fn reserve_served_before_an_unseen_close_fails_and_gives_its_permit_back() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    tx.try_send(1).unwrap();
    let mut reserve = parked(tx.reserve());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(reserve.woken(), "the receive served the waiting reserve");
    rx.close();
    assert!(matches!(reserve.ready(), Err(SendError(()))));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// The same, the served reserve dropped instead of polled: its permit goes
/// back with the drop.
#[test]
fn reserve_served_before_a_close_gives_its_permit_back_when_dropped() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    tx.try_send(1).unwrap();
    let reserve = parked(tx.reserve());
    assert_eq!(rx.try_recv(), Ok(1));
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "the permit is out");
    drop(reserve);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn permit_still_sends_after_receiver_close() {
    let (tx, mut rx) = mpsc::channel(4);
    tx.try_send(1).unwrap();
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert!(rx.is_closed());
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
    permit.send(3);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_after_close_waits_for_outstanding_permit_sent() {
    let (tx, mut rx) = mpsc::channel(4);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    {
        let mut recv = parked(rx.recv());
        permit.send(9);
        assert!(recv.woken());
        assert_eq!(recv.ready(), Some(9));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_after_close_waits_for_outstanding_permit_dropped() {
    // "recv returns None only once the channel is closed, drained and no
    // permit is outstanding" -- and dropping the last permit wakes it.
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let mut recv = parked(rx.recv());
    drop(permit);
    assert!(recv.woken(), "releasing the last permit wakes the receiver");
    assert_eq!(recv.ready(), None);
    drop(recv);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_many_after_close_waits_for_outstanding_permits() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    let permits = tx.try_reserve_many(2).unwrap();
    rx.close();
    let mut buf = Vec::new();
    let mut many = parked(rx.recv_many(&mut buf, 8));
    drop(permits);
    assert!(many.woken());
    assert_eq!(many.ready(), 0);
}

#[test]
fn recv_after_close_waits_for_owned_permit() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    let permit = tx.clone().try_reserve_owned().unwrap();
    drop(tx);
    rx.close();
    let mut recv = parked(rx.recv());
    let tx = permit.send(4);
    assert_eq!(recv.ready(), Some(4));
    drop(recv);
    // The sender handed back by the permit cannot send into a closed channel.
    assert_eq!(tx.try_send(5), Err(TrySendError::Closed(5)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_after_close_returns_none_at_once_without_permits() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    rx.close();
    let mut recv = Polled::new(rx.recv());
    assert_eq!(recv.ready(), None);
    drop(tx);
}

#[test]
fn try_reserve_many_reserves_exactly_n() {
    let (tx, mut rx) = mpsc::channel(4);
    let mut permits = tx.try_reserve_many(3).unwrap();
    assert_eq!(permits.len(), 3);
    assert_eq!(permits.size_hint(), (3, Some(3)));
    assert_eq!(tx.capacity(), 1);
    assert!(matches!(
        tx.try_reserve_many(2),
        Err(TrySendError::Full(()))
    ));
    permits.next().unwrap().send(1);
    permits.next().unwrap().send(2);
    assert_eq!(permits.len(), 1);
    // Dropping the iterator releases the unused permit.
    drop(permits);
    assert_eq!(tx.capacity(), 4 - 2);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(tx.capacity(), 4);
}

#[test]
fn try_reserve_many_edge_cases() {
    let (tx, rx) = mpsc::channel::<i32>(2);
    let mut none = tx.try_reserve_many(0).unwrap();
    assert!(none.next().is_none());
    assert_eq!(tx.capacity(), 2);
    // More than the channel can ever hold: Full, not a hang or a panic.
    assert!(matches!(
        tx.try_reserve_many(3),
        Err(TrySendError::Full(()))
    ));
    drop(rx);
    assert!(matches!(
        tx.try_reserve_many(1),
        Err(TrySendError::Closed(()))
    ));
    assert!(matches!(
        tx.try_reserve_many(0),
        Err(TrySendError::Closed(()))
    ));
    // On a closed channel a too-large request still says Full.
    assert!(matches!(
        tx.try_reserve_many(3),
        Err(TrySendError::Full(()))
    ));
}

#[test]
fn permit_iterator_is_fused_and_exact() {
    let (tx, _rx) = mpsc::channel::<i32>(3);
    let mut permits = tx.try_reserve_many(2).unwrap();
    let a = permits.next().unwrap();
    let b = permits.next().unwrap();
    assert!(permits.next().is_none());
    assert!(permits.next().is_none());
    assert_eq!(permits.len(), 0);
    assert_eq!(tx.capacity(), 1);
    drop(permits);
    assert_eq!(tx.capacity(), 1, "handed-out permits are still held");
    drop(a);
    drop(b);
    assert_eq!(tx.capacity(), 3);
}

#[tokio::test]
async fn reserve_many_waits_for_n_free_slots() {
    let (tx, mut rx) = mpsc::channel(3);
    for i in 1..=3 {
        tx.send(i).await.unwrap();
    }
    let mut many = parked(tx.reserve_many(2));
    assert_eq!(rx.try_recv(), Ok(1));
    // One free slot is not enough; tokio's queue hands it to the waiter.
    assert!(many.poll().is_pending());
    assert_eq!(tx.capacity(), 0);
    assert_eq!(rx.try_recv(), Ok(2));
    assert!(many.woken());
    let permits = many.ready().unwrap();
    assert_eq!(permits.len(), 2);
    for (permit, v) in permits.zip([4, 5]) {
        permit.send(v);
    }
    for v in 3..=5 {
        assert_eq!(rx.recv().await, Some(v));
    }
}

#[tokio::test]
async fn reserve_many_edge_cases() {
    let (tx, rx) = mpsc::channel::<i32>(2);
    let permits = guard(tx.reserve_many(0)).await.unwrap();
    assert_eq!(permits.len(), 0);
    drop(permits);
    // More than max_capacity fails at once instead of waiting forever.
    assert!(guard(tx.reserve_many(3)).await.is_err());
    drop(rx);
    assert!(matches!(
        guard(tx.reserve_many(1)).await,
        Err(SendError(()))
    ));
}

#[test]
fn cancelled_reserve_many_returns_partial_capacity() {
    let (tx, mut rx) = mpsc::channel(3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    let many = parked(tx.reserve_many(3));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(tx.capacity(), 0, "the free slot is held for the waiter");
    drop(many);
    assert_eq!(tx.capacity(), 1, "cancelling gives the held slot back");
}

/// Capacity 2: a permit holds one slot, and a `reserve_many(2)` waiting for
/// the second has been handed the other. A close fails the reservation, but
/// the slot it was handed stays out until the reservation is polled
/// (`poll`) or dropped: until then the channel is not drained and `recv`
/// waits.
fn close_with_a_half_served_reserve_many(poll: bool) {
    let (tx, mut rx) = mpsc::channel::<i32>(2);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = parked(tx.reserve_many(2));
    rx.close();
    assert_eq!(tx.capacity(), 0, "the reservation still holds its slot");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    {
        let mut recv = parked(rx.recv());
        drop(permit);
        assert!(!recv.woken(), "woken while a slot was still out");
        if poll {
            assert!(reserve.woken(), "the close wakes the reservation");
            assert!(matches!(reserve.ready(), Err(SendError(()))));
        } else {
            drop(reserve);
        }
        assert!(recv.woken(), "the last slot coming back ends the wait");
        assert_eq!(recv.ready(), None);
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(tx.capacity(), 2);
}

#[test]
fn close_leaves_a_failed_reserve_many_its_slot_until_polled() {
    close_with_a_half_served_reserve_many(true);
}

#[test]
fn close_leaves_a_failed_reserve_many_its_slot_until_dropped() {
    close_with_a_half_served_reserve_many(false);
}

#[tokio::test]
async fn reserve_owned_moves_the_sender_and_gives_it_back() {
    let (tx, mut rx) = mpsc::channel(1);
    let permit = tx.reserve_owned().await.unwrap();
    let handle = tokio::spawn(async move {
        // An OwnedPermit is 'static and can move into a task.
        let tx = permit.send(1);
        tx.send(2).await.unwrap();
    });
    assert_eq!(guard(rx.recv()).await, Some(1));
    assert_eq!(guard(rx.recv()).await, Some(2));
    guard(handle).await.unwrap();
    assert_eq!(rx.recv().await, None);
}

#[test]
fn owned_permit_release_and_drop_return_capacity() {
    let (tx, _rx) = mpsc::channel::<i32>(1);
    let permit = tx.clone().try_reserve_owned().unwrap();
    assert_eq!(tx.capacity(), 0);
    assert_eq!(tx.strong_count(), 2, "the permit holds a sender");
    let tx2 = permit.release();
    assert_eq!(tx.capacity(), 1);
    assert!(tx2.same_channel(&tx));
    let permit = tx2.try_reserve_owned().unwrap();
    assert_eq!(tx.capacity(), 0);
    drop(permit);
    assert_eq!(tx.capacity(), 1);
    assert_eq!(tx.strong_count(), 1);
}

// ringchan's own (the module docs' one difference): tokio keeps a message
// sent through a permit after the receiver's drop until the channel's last
// handle goes, and its slot stays taken.
#[cfg(not(feature = "tokio-mpsc"))]
#[test]
fn a_permit_sending_after_the_receiver_dropped_drops_the_message_at_once() {
    let log = DropLog::new(2);
    let (tx, rx) = mpsc::channel(2);
    let permit = tx.try_reserve().unwrap();
    let owned = tx.clone().try_reserve_owned().unwrap();
    drop(rx);
    permit.send(log.item(0));
    assert_eq!(log.drops(0), 1, "the message outlived its send");
    let tx2 = owned.send(log.item(1));
    assert_eq!(
        log.drops(1),
        1,
        "the owned permit's message outlived its send"
    );
    assert_eq!(tx.capacity(), 2, "the slots were not given back");
    assert!(tx2.is_closed());
    drop((tx, tx2));
    log.assert_each_dropped_once();
}

#[test]
fn dropped_owned_permit_wakes_a_waiting_sender() {
    let (tx, mut rx) = mpsc::channel(1);
    let permit = tx.clone().try_reserve_owned().unwrap();
    let mut send = parked(tx.send(3));
    drop(permit);
    assert!(send.woken());
    assert_eq!(send.ready(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn try_reserve_owned_hands_the_sender_back_on_error() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let permit = tx.clone().try_reserve_owned().unwrap();
    let tx = match tx.try_reserve_owned() {
        Err(TrySendError::Full(tx)) => tx,
        other => panic!("expected Full(sender), got {:?}", other.map(|_| ())),
    };
    permit.send(1);
    rx.close();
    let tx = match tx.try_reserve_owned() {
        Err(TrySendError::Closed(tx)) => tx,
        other => panic!("expected Closed(sender), got {:?}", other.map(|_| ())),
    };
    assert!(tx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn reserve_owned_on_closed_channel_fails() {
    let (tx, rx) = mpsc::channel::<i32>(1);
    drop(rx);
    let mut reserve = Polled::new(tx.reserve_owned());
    assert!(matches!(reserve.ready(), Err(SendError(()))));
}

#[test]
fn owned_permit_same_channel() {
    let (tx, _rx) = mpsc::channel::<()>(2);
    let (other_tx, _other_rx) = mpsc::channel::<()>(2);
    let p1 = tx.clone().try_reserve_owned().unwrap();
    let p2 = tx.clone().try_reserve_owned().unwrap();
    let p3 = other_tx.clone().try_reserve_owned().unwrap();
    assert!(p1.same_channel(&p2));
    assert!(!p1.same_channel(&p3));
    assert!(p1.same_channel_as_sender(&tx));
    assert!(!p1.same_channel_as_sender(&other_tx));
    assert!(p3.same_channel_as_sender(&other_tx));
}

#[test]
fn owned_permit_keeps_the_channel_open() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let permit = tx.try_reserve_owned().unwrap();
    assert_eq!(rx.sender_strong_count(), 1);
    assert!(!rx.is_closed());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let mut recv = parked(rx.recv());
    drop(permit);
    assert!(recv.woken());
    assert_eq!(recv.ready(), None);
}

// ===== closing =====

#[test]
fn a_pending_closed_is_woken_only_by_the_close() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    woken_only_by(tx.closed(), || rx.close());
}

#[test]
fn closed_completes_when_receiver_dropped() {
    let (tx, rx) = mpsc::channel::<i32>(1);
    let tx2 = tx.clone();
    let mut a = parked(tx.closed());
    let mut b = parked(tx2.closed());
    drop(rx);
    assert!(a.woken() && b.woken(), "every closed() waiter is woken");
    a.ready();
    b.ready();
    // Once closed, closed() is immediately ready.
    Polled::new(tx.closed()).ready();
}

#[test]
fn closed_completes_on_receiver_close() {
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let mut closed = parked(tx.closed());
    rx.close();
    assert!(closed.woken());
    closed.ready();
}

#[test]
fn closed_does_not_complete_when_senders_drop() {
    let (tx, _rx) = mpsc::channel::<i32>(1);
    let tx2 = tx.clone();
    let mut closed = parked(tx.closed());
    drop(tx2);
    assert!(closed.poll().is_pending());
    assert!(!tx.is_closed());
}

#[test]
fn is_closed_on_each_side() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    assert!(!tx.is_closed());
    assert!(!rx.is_closed());
    rx.close();
    assert!(tx.is_closed());
    assert!(rx.is_closed());
    rx.close(); // idempotent
    assert!(rx.is_closed());

    let (tx, rx) = mpsc::channel::<i32>(4);
    drop(rx);
    assert!(tx.is_closed());

    // The receiver counts the channel closed once the senders are gone,
    // even while messages remain buffered.
    let (tx, rx) = mpsc::channel::<i32>(4);
    tx.try_send(1).unwrap();
    drop(tx);
    assert!(rx.is_closed());
    assert_eq!(rx.len(), 1);
}

#[tokio::test]
async fn close_then_drain_delivers_everything_buffered() {
    let (tx, mut rx) = mpsc::channel(8);
    for i in 0..5 {
        tx.send(i).await.unwrap();
    }
    rx.close();
    assert!(tx.send(99).await.is_err());
    let mut got = Vec::new();
    while let Some(v) = guard(rx.recv()).await {
        got.push(v);
    }
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert_eq!(rx.capacity(), 8);
}

#[tokio::test]
async fn close_with_a_producer_loop_loses_nothing() {
    // The clean-shutdown pattern from tokio's docs.
    let (tx, mut rx) = mpsc::channel(4);
    let producer = tokio::spawn(async move {
        let mut sent = 0usize;
        while let Ok(permit) = tx.reserve().await {
            permit.send(sent);
            sent += 1;
        }
        sent
    });
    let mut got = Vec::new();
    while got.len() < 10 {
        got.push(guard(rx.recv()).await.unwrap());
    }
    rx.close();
    while let Some(v) = guard(rx.recv()).await {
        got.push(v);
    }
    let sent = guard(producer).await.unwrap();
    assert_eq!(got, (0..sent).collect::<Vec<_>>());
}

// ===== drops =====

#[test]
fn dropping_receiver_drops_buffered_messages_at_once() {
    let d = DropLog::new(6);
    let (tx, rx) = mpsc::channel(8);
    for i in 0..5 {
        tx.try_send(d.item(i)).unwrap();
    }
    drop(rx);
    assert_eq!(
        d.total(),
        5,
        "unread messages are dropped with the receiver"
    );
    assert_eq!(tx.capacity(), 8);
    let err = tx.try_send(d.item(5)).unwrap_err();
    assert_eq!(err.into_inner().id, 5);
    assert_eq!(d.total(), 6);
}

#[test]
fn every_message_is_dropped_exactly_once() {
    let n = scaled(1000);
    let d = DropLog::new(n);
    {
        let (tx, mut rx) = mpsc::channel(n);
        for i in 0..n {
            tx.try_send(d.item(i)).unwrap();
        }
        for i in 0..n / 2 {
            assert_eq!(rx.try_recv().unwrap().id, i);
        }
        assert_eq!(d.total(), n / 2);
        drop(tx);
    }
    assert_eq!(d.total(), n);
    d.assert_each_dropped_once();
}

#[test]
fn dropping_receiver_drops_every_message_even_when_one_drop_panics() {
    let d = DropLog::new(3);
    let (tx, rx) = mpsc::channel(4);
    for i in 0..3 {
        tx.try_send(Bomb {
            armed: i == 0,
            log: d.item(i),
        })
        .unwrap();
    }
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rx)));
    assert!(dropped.is_err(), "the panic reaches the receiver's owner");
    assert_eq!(
        d.total(),
        3,
        "the messages after the panicking one are dropped too"
    );
    d.assert_each_dropped_once();
    assert_eq!(tx.capacity(), 4, "the capacity of all three comes back");
}

#[test]
fn dropping_receiver_lets_go_of_the_waker_of_its_last_poll() {
    let wakes = Arc::new(WakeCount::default());
    let waker = Waker::from(wakes.clone());
    let (_tx, mut rx) = mpsc::channel::<i32>(1);
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    assert_eq!(
        Arc::strong_count(&wakes),
        3,
        "the waiting receiver holds a clone"
    );
    drop(rx);
    assert_eq!(
        Arc::strong_count(&wakes),
        2,
        "the receiver kept its task's waker after it was dropped"
    );
}

#[test]
fn failed_sends_hand_the_message_back_undropped() {
    let d = DropLog::new(2);
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(d.item(0)).unwrap();
    let full = tx.try_send(d.item(1)).unwrap_err();
    assert_eq!(d.total(), 0);
    assert!(matches!(&full, TrySendError::Full(t) if t.id == 1));
    drop(full);
    assert_eq!(d.total(), 1);
    drop(rx);
    assert_eq!(d.total(), 2);
}

// ===== weak senders and counts =====

#[test]
fn weak_sender_does_not_keep_the_channel_open() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    let weak = tx.downgrade();
    assert_eq!(tx.strong_count(), 1);
    assert_eq!(tx.weak_count(), 1);
    let upgraded = weak.upgrade().expect("a strong sender still exists");
    assert_eq!(weak.strong_count(), 2);
    upgraded.try_send(1).unwrap();
    drop(upgraded);
    drop(tx);
    assert_eq!(weak.strong_count(), 0);
    assert_eq!(weak.weak_count(), 1);
    assert!(weak.upgrade().is_none());
    assert!(weak.clone().upgrade().is_none());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn sender_counts_track_clones_downgrades_and_drops() {
    let (tx, rx) = mpsc::channel::<i32>(4);
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 0));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 0));
    let tx2 = tx.clone();
    let w1 = tx.downgrade();
    let w2 = w1.clone();
    assert_eq!((tx.strong_count(), tx.weak_count()), (2, 2));
    assert_eq!((w2.strong_count(), w2.weak_count()), (2, 2));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (2, 2));
    drop(w1);
    drop(tx2);
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 1));
    drop(tx);
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (0, 1));
    assert!(w2.upgrade().is_none());
    assert_eq!((w2.strong_count(), w2.weak_count()), (0, 1));
    drop(w2);
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (0, 0));
}

#[test]
fn weak_upgrade_succeeds_after_receiver_drop_while_senders_live() {
    // upgrade() looks at the sender count only.
    let (tx, rx) = mpsc::channel::<i32>(4);
    let weak = tx.downgrade();
    drop(rx);
    let upgraded = weak.upgrade().expect("a strong sender still exists");
    assert!(upgraded.is_closed());
    assert_eq!(upgraded.try_send(1), Err(TrySendError::Closed(1)));
}

#[tokio::test]
async fn recv_returns_none_when_only_weak_senders_remain() {
    let (tx, mut rx) = mpsc::channel::<i32>(4);
    let _weak = tx.downgrade();
    tx.send(1).await.unwrap();
    drop(tx);
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(guard(rx.recv()).await, None);
}

// ===== introspection =====

#[tokio::test]
async fn capacity_is_free_permits_and_max_capacity_is_the_bound() {
    let (tx, mut rx) = mpsc::channel::<()>(5);
    assert_eq!((tx.capacity(), tx.max_capacity()), (5, 5));
    assert_eq!((rx.capacity(), rx.max_capacity()), (5, 5));
    let permit = tx.reserve().await.unwrap();
    assert_eq!((tx.capacity(), rx.len()), (4, 0));
    permit.send(());
    assert_eq!((tx.capacity(), rx.len()), (4, 1));
    tx.send(()).await.unwrap();
    assert_eq!((rx.capacity(), rx.len()), (3, 2));
    assert!(!rx.is_empty());
    rx.recv().await.unwrap();
    rx.recv().await.unwrap();
    assert_eq!((rx.capacity(), rx.len()), (5, 0));
    assert!(rx.is_empty());
    assert_eq!((tx.max_capacity(), rx.max_capacity()), (5, 5));
}

#[test]
fn capacity_is_unchanged_by_close() {
    let (tx, mut rx) = mpsc::channel::<i32>(3);
    tx.try_send(1).unwrap();
    rx.close();
    assert_eq!(tx.capacity(), 2);
    assert_eq!(rx.capacity(), 2);
    assert_eq!(rx.max_capacity(), 3);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.capacity(), 3);
}

#[test]
fn same_channel_compares_channels() {
    let (tx, _rx) = mpsc::channel::<()>(1);
    let tx2 = tx.clone();
    let (tx3, _rx3) = mpsc::channel::<()>(1);
    assert!(tx.same_channel(&tx2));
    assert!(tx.same_channel(&tx));
    assert!(!tx3.same_channel(&tx2));
    let up = tx.downgrade().upgrade().unwrap();
    assert!(up.same_channel(&tx));
}

#[test]
fn debug_output_names_the_types() {
    let (tx, rx) = mpsc::channel::<i32>(4);
    assert!(format!("{tx:?}").starts_with("Sender {"));
    assert!(format!("{rx:?}").starts_with("Receiver {"));
    assert_eq!(format!("{:?}", tx.downgrade()), "WeakSender");
    let permit = tx.try_reserve().unwrap();
    assert!(format!("{permit:?}").starts_with("Permit {"));
    drop(permit);
    let permits = tx.try_reserve_many(2).unwrap();
    let text = format!("{permits:?}");
    assert!(text.starts_with("PermitIterator {"), "{text}");
    assert!(text.ends_with("capacity: 2 }"), "{text}");
    drop(permits);
    let owned = tx.clone().try_reserve_owned().unwrap();
    assert!(format!("{owned:?}").starts_with("OwnedPermit {"));
}

// ===== send_timeout =====
//
// Real time, no `start_paused` (that needs tokio's `test-util`): the
// durations only decide which branch runs, nothing asserts how long it took.

#[tokio::test]
async fn send_timeout_times_out_when_full() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.send(1).await.unwrap();
    let err = guard(tx.send_timeout(2, Duration::from_millis(10)))
        .await
        .unwrap_err();
    assert_eq!(err, SendTimeoutError::Timeout(2));
    assert_eq!(err.into_inner(), 2);
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.capacity(), 1, "a timed-out send holds no capacity");
}

#[tokio::test]
async fn send_timeout_succeeds_with_capacity() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.send_timeout(1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(rx.recv().await, Some(1));
    // A zero timeout still succeeds when a slot is free.
    tx.send_timeout(2, Duration::ZERO).await.unwrap();
    assert_eq!(rx.recv().await, Some(2));
}

#[tokio::test]
async fn send_timeout_succeeds_when_space_frees_in_time() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.send(1).await.unwrap();
    let mut send = parked(tx.send_timeout(2, Duration::from_secs(3600)));
    assert_eq!(rx.recv().await, Some(1));
    assert!(send.woken());
    assert_eq!(send.ready(), Ok(()));
    assert_eq!(rx.recv().await, Some(2));
}

#[tokio::test]
async fn send_timeout_closed_returns_the_value() {
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let err = tx
        .send_timeout(7, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(err, SendTimeoutError::Closed(7));

    // A pending send_timeout fails Closed when the receiver goes away.
    let (tx, rx) = mpsc::channel(1);
    tx.send(0).await.unwrap();
    let mut send = parked(tx.send_timeout(8, Duration::from_secs(3600)));
    drop(rx);
    assert!(send.woken());
    assert_eq!(send.ready(), Err(SendTimeoutError::Closed(8)));
}

#[test]
#[should_panic(
    expected = "there is no reactor running, must be called from the context of a Tokio 1.x runtime"
)]
fn send_timeout_outside_a_runtime_panics() {
    let (tx, _rx) = mpsc::channel(1);
    let _ = futures::executor::block_on(tx.send_timeout(1, Duration::from_secs(1)));
}

#[test]
#[should_panic(expected = "timers are disabled")]
fn send_timeout_without_time_driver_panics() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (tx, _rx) = mpsc::channel(1);
    let _ = rt.block_on(tx.send_timeout(1, Duration::from_secs(1)));
}

// ===== runtime agnosticism and concurrency =====

#[test]
fn works_without_any_tokio_runtime() {
    let (tx, mut rx) = mpsc::channel(2);
    futures::executor::block_on(async move {
        let producer = async {
            for i in 0..10 {
                tx.send(i).await.unwrap();
            }
            drop(tx);
        };
        let consumer = async {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        };
        let ((), got) = futures::join!(producer, consumer);
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    });
}

#[test]
fn many_producers_exactly_once_and_per_sender_fifo() {
    let producers = 4;
    let per = scaled(5_000);
    let rt = common::multi_thread_rt();
    rt.block_on(async {
        for cap in [1, 3, 64] {
            let (tx, mut rx) = mpsc::channel(cap);
            for p in 0..producers {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..per {
                        if i % 2 == 0 {
                            tx.send((p, i)).await.unwrap();
                        } else {
                            tx.reserve().await.unwrap().send((p, i));
                        }
                    }
                });
            }
            drop(tx);
            let mut next = vec![0; producers];
            let mut buf = Vec::new();
            while guard(rx.recv_many(&mut buf, 7)).await > 0 {
                assert!(buf.len() <= 7);
                for (p, i) in buf.drain(..) {
                    assert_eq!(next[p], i, "per-sender FIFO for producer {p}");
                    next[p] += 1;
                }
            }
            assert_eq!(next, vec![per; producers]);
            assert_eq!(rx.capacity(), cap);
        }
    });
}
