//! Cooperative scheduling: on a Tokio runtime, `recv`, `recv_many`, `send`,
//! `reserve` (and their unbounded counterparts where they are async) spend
//! the task's coop budget, as tokio's channel does, so a task looping on an
//! always-ready channel yields and cannot starve its neighbours.
//!
//! No timing: each test counts loop iterations and checks whether the
//! neighbour task ran before the loop limit.
//!
//! The tests run against `ringchan::mpsc`; `--features tokio-mpsc` runs the
//! very same tests against tokio's module, which is how they were validated.
#[cfg(not(feature = "tokio-mpsc"))]
use ringchan::mpsc;
#[cfg(feature = "tokio-mpsc")]
use tokio::sync::mpsc;

mod common;

use common::scaled;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Far above tokio's budget (128 operations per task poll): a loop that
/// takes part in coop yields long before this.
fn limit() -> usize {
    scaled(100_000).max(1_000)
}

/// Runs `spin(neighbour_ran)` as a task on a current-thread runtime next to
/// a task that only sets `neighbour_ran`. `spin` loops on an always-ready
/// channel until it sees the flag or hits its iteration limit, and returns
/// how many iterations it made.
fn iterations_before_neighbour_runs<F, Fut>(spin: F) -> usize
where
    F: FnOnce(Arc<AtomicBool>) -> Fut,
    Fut: Future<Output = usize> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let spinner = rt.spawn(spin(flag.clone()));
    let neighbour_flag = flag.clone();
    rt.spawn(async move { neighbour_flag.store(true, Ordering::SeqCst) });
    rt.block_on(spinner).unwrap()
}

/// Runs `$body` (one pass over an always-ready channel, with `$i` the pass
/// number) until the neighbour task has run or `limit()` passes are done;
/// evaluates to the number of passes made.
macro_rules! spin {
    ($ran:expr, |$i:ident| $body:block) => {{
        let mut passes = limit();
        for $i in 0..limit() {
            $body
            if $ran.load(Ordering::SeqCst) {
                passes = $i;
                break;
            }
        }
        passes
    }};
}

#[track_caller]
fn assert_neighbour_ran(iterations: usize) {
    assert!(
        iterations < limit(),
        "the looping task never yielded: the neighbour was starved for {iterations} iterations"
    );
}

#[test]
fn bounded_recv_yields_to_neighbours() {
    let n = iterations_before_neighbour_runs(|ran| async move {
        let (tx, mut rx) = mpsc::channel(4);
        spin!(ran, |i| {
            // try_send takes no budget: only recv can make this loop yield.
            tx.try_send(i).unwrap();
            assert_eq!(rx.recv().await, Some(i));
        })
    });
    assert_neighbour_ran(n);
}

#[test]
fn bounded_recv_many_yields_to_neighbours() {
    let n = iterations_before_neighbour_runs(|ran| async move {
        let (tx, mut rx) = mpsc::channel(4);
        let mut buf = Vec::new();
        spin!(ran, |i| {
            tx.try_send(i).unwrap();
            assert_eq!(rx.recv_many(&mut buf, 4).await, 1);
        })
    });
    assert_neighbour_ran(n);
}

#[test]
fn bounded_send_yields_to_neighbours() {
    let n = iterations_before_neighbour_runs(|ran| async move {
        let (tx, mut rx) = mpsc::channel(4);
        spin!(ran, |i| {
            // try_recv takes no budget: only send can make this loop yield.
            tx.send(i).await.unwrap();
            assert_eq!(rx.try_recv(), Ok(i));
        })
    });
    assert_neighbour_ran(n);
}

#[test]
fn bounded_reserve_yields_to_neighbours() {
    let n = iterations_before_neighbour_runs(|ran| async move {
        let (tx, mut rx) = mpsc::channel(4);
        spin!(ran, |i| {
            tx.reserve().await.unwrap().send(i);
            assert_eq!(rx.try_recv(), Ok(i));
        })
    });
    assert_neighbour_ran(n);
}

#[test]
fn unbounded_recv_yields_to_neighbours() {
    let n = iterations_before_neighbour_runs(|ran| async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        spin!(ran, |i| {
            tx.send(i).unwrap();
            assert_eq!(rx.recv().await, Some(i));
        })
    });
    assert_neighbour_ran(n);
}

#[test]
fn unbounded_recv_many_yields_to_neighbours() {
    let n = iterations_before_neighbour_runs(|ran| async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut buf = Vec::new();
        spin!(ran, |i| {
            tx.send(i).unwrap();
            buf.clear();
            assert_eq!(rx.recv_many(&mut buf, 8).await, 1);
        })
    });
    assert_neighbour_ran(n);
}

#[test]
fn recv_on_a_closed_channel_yields_to_neighbours() {
    // Returning `None` over and over also spends budget.
    let n = iterations_before_neighbour_runs(|ran| async move {
        let (tx, mut rx) = mpsc::channel::<usize>(1);
        drop(tx);
        spin!(ran, |i| {
            assert_eq!(rx.recv().await, None);
        })
    });
    assert_neighbour_ran(n);
}

#[test]
fn budget_is_tokios_own() {
    // The channel spends tokio's task budget, not a private counter:
    // inside `coop::unconstrained` it never forces a yield ...
    let n = iterations_before_neighbour_runs(|ran| async move {
        tokio::task::coop::unconstrained(async move {
            let (tx, mut rx) = mpsc::channel(4);
            spin!(ran, |i| {
                tx.try_send(i).unwrap();
                assert_eq!(rx.recv().await, Some(i));
            })
        })
        .await
    });
    assert_eq!(n, limit(), "unconstrained code must not be made to yield");

    // ... and a receive uses up the budget that `has_budget_remaining` reports.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let exhausted_after = rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..limit() {
            if !tokio::task::coop::has_budget_remaining() {
                return i;
            }
            tx.send(i).unwrap();
            assert_eq!(rx.recv().await, Some(i));
        }
        limit()
    });
    assert!(exhausted_after < limit());
}

#[test]
fn try_methods_spend_no_budget() {
    // Only the async methods take part in coop: try_send/try_recv and the
    // unbounded send never make a task yield.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        let (utx, mut urx) = mpsc::unbounded_channel();
        for i in 0..scaled(10_000) {
            tx.try_send(i).unwrap();
            assert_eq!(rx.try_recv(), Ok(i));
            utx.send(i).unwrap();
            assert_eq!(urx.try_recv(), Ok(i));
        }
        assert!(tokio::task::coop::has_budget_remaining());
    });
}

#[test]
fn a_send_held_back_by_the_budget_fails_if_the_receiver_closes_meanwhile() {
    // A send whose task has no budget left yields before it sends. If the
    // receiver closes the channel before the send is polled again, the send
    // fails, whether or not it already held its slot, and the slot is free
    // again: as with tokio, a close stops every send not finished by then.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        let mut send = std::pin::pin!(tx.send(7));
        let held_back = std::future::poll_fn(|cx| {
            while std::pin::pin!(tokio::task::coop::consume_budget())
                .poll(cx)
                .is_ready()
            {}
            std::task::Poll::Ready(send.as_mut().poll(cx).is_pending())
        })
        .await;
        assert!(held_back, "a send with no budget left must yield");
        tokio::task::yield_now().await; // a fresh budget
        rx.close();
        assert!(send.await.is_err(), "a send finished after the close");
        assert_eq!(
            rx.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected),
            "the message was delivered after the close"
        );
        assert_eq!(tx.capacity(), 4, "the held slot was not given back");
    });
}

/// Polls `fut` once after spending the whole coop budget of this task.
async fn poll_without_budget<F: Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| {
        while std::pin::pin!(tokio::task::coop::consume_budget())
            .poll(cx)
            .is_ready()
        {}
        std::task::Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx))
    })
    .await
}

#[test]
fn a_send_into_a_closed_channel_fails_at_once_even_without_budget() {
    // tokio (since 1.54) takes the permits first and spends budget only
    // after a success: a closed channel answers at once, budget or not.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = mpsc::channel::<u32>(4);
        drop(rx);
        let mut send = Box::pin(tx.send(7));
        match poll_without_budget(&mut send).await {
            std::task::Poll::Ready(Err(e)) => assert_eq!(e.0, 7),
            other => panic!("send into a closed channel: {other:?}, not an error at once"),
        }
        let mut reserve = Box::pin(tx.reserve());
        assert!(
            matches!(
                poll_without_budget(&mut reserve).await,
                std::task::Poll::Ready(Err(_))
            ),
            "reserve on a closed channel must fail at once"
        );
        let mut reserve_many = Box::pin(tx.reserve_many(2));
        assert!(
            matches!(
                poll_without_budget(&mut reserve_many).await,
                std::task::Poll::Ready(Err(_))
            ),
            "reserve_many on a closed channel must fail at once"
        );
        let mut owned = Box::pin(tx.clone().reserve_owned());
        assert!(
            matches!(
                poll_without_budget(&mut owned).await,
                std::task::Poll::Ready(Err(_))
            ),
            "reserve_owned on a closed channel must fail at once"
        );
    });
}

#[test]
fn a_send_held_back_by_the_budget_keeps_its_slot() {
    // A send whose task has no budget left takes its permit, then yields
    // (tokio 1.54, "preserve FIFO order when coop budget is exhausted"):
    // a `try_send` meanwhile finds the channel full, and the held-back
    // message is the one received.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let mut send = Box::pin(tx.send(7));
        assert!(
            poll_without_budget(&mut send).await.is_pending(),
            "a send with no budget left must yield"
        );
        assert_eq!(tx.capacity(), 0, "the held-back send let go of its slot");
        assert!(
            matches!(tx.try_send(8), Err(mpsc::error::TrySendError::Full(8))),
            "a later try_send took the held-back send's slot"
        );
        tokio::task::yield_now().await; // a fresh budget
        assert!(send.await.is_ok());
        assert_eq!(rx.try_recv(), Ok(7));
        assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty));
        assert_eq!(tx.capacity(), 1);
    });
}

#[test]
fn a_reservation_held_back_by_the_budget_keeps_its_slots_until_dropped() {
    // reserve_many with no budget left takes its permits and yields; if it
    // is dropped before it is polled again, the permits go back.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, _rx) = mpsc::channel::<u32>(3);
        let mut reserve = Box::pin(tx.reserve_many(2));
        assert!(
            poll_without_budget(&mut reserve).await.is_pending(),
            "a reservation with no budget left must yield"
        );
        assert_eq!(
            tx.capacity(),
            1,
            "the held-back reservation let go of its slots"
        );
        drop(reserve);
        assert_eq!(tx.capacity(), 3, "a dropped reservation kept its slots");
        let mut reserve = Box::pin(tx.reserve_many(2));
        assert!(poll_without_budget(&mut reserve).await.is_pending());
        tokio::task::yield_now().await; // a fresh budget
        let permits = reserve.await.expect("the reservation");
        assert_eq!(permits.len(), 2);
        assert_eq!(tx.capacity(), 1);
    });
}
