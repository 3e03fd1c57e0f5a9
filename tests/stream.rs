//! `Receiver` as a `Stream` and `FusedStream`, used through both
//! `futures::StreamExt` and `tokio_stream::StreamExt`, and polled by hand
//! through `Pin::new` (the receiver is `Unpin`).

mod common;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use common::{guard, parked, scaled, send_all_then_check_delivery, WakeCount};
use futures_core::stream::{FusedStream, Stream};
use ringchan::bounded;

mod with_futures_stream_ext {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn next_yields_messages_in_order_then_none_after_close() {
        let (tx, mut rx) = bounded(3);
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        assert_eq!(rx.next().await, Some(0));
        assert_eq!(rx.next().await, Some(1));
        assert_eq!(rx.next().await, Some(2));
        assert_eq!(rx.next().await, None);
        assert_eq!(rx.next().await, None, "the stream stays finished");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn collect_receives_every_message_sent_from_another_task() {
        let n = scaled(10_000);
        let (tx, rx) = bounded(4);
        let producer = tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).await.unwrap();
            }
        });
        let got: Vec<usize> = guard(rx.collect()).await;
        producer.await.unwrap();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn combinators_work_on_the_receiver() {
        let (tx, rx) = bounded(8);
        for i in 1..=8 {
            tx.try_send(i).unwrap();
        }
        let doubled_evens: Vec<i32> = rx
            .clone()
            .filter(|v| std::future::ready(v % 2 == 0))
            .map(|v| v * 2)
            .take(3)
            .collect()
            .await;
        assert_eq!(doubled_evens, [4, 8, 12]);
        // `take(3)` stopped after the sixth message; the rest is still queued.
        assert_eq!(rx.len(), 2);
    }

    #[tokio::test]
    async fn select_next_some_works_in_futures_select() {
        // `futures::select!` needs `FusedStream + Unpin`.
        let (tx, mut rx) = bounded(2);
        tx.try_send(5).unwrap();
        let got = futures::select! {
            v = rx.select_next_some() => v,
            complete => unreachable!("the stream is not terminated"),
        };
        assert_eq!(got, 5);
        drop(tx);
        let done = futures::select! {
            _ = rx.select_next_some() => false,
            complete => true,
        };
        assert!(done, "a closed, drained receiver must count as complete");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn several_receiver_streams_share_the_messages_exactly_once() {
        let n = scaled(10_000);
        let (tx, rx) = bounded(16);
        let consumers: Vec<_> = (0..3)
            .map(|_| tokio::spawn(rx.clone().collect::<Vec<usize>>()))
            .collect();
        drop(rx);
        send_all_then_check_delivery(tx, n, consumers).await;
    }
}

mod with_tokio_stream_ext {
    use super::*;
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn next_yields_messages_in_order_then_none_after_close() {
        let (tx, mut rx) = bounded(2);
        tx.send("a").await.unwrap();
        tx.send("b").await.unwrap();
        tx.close();
        assert_eq!(rx.next().await, Some("a"));
        assert_eq!(rx.next().await, Some("b"));
        assert_eq!(rx.next().await, None);
        assert_eq!(rx.next().await, None, "the stream stays finished");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn map_take_and_collect_receive_from_another_task() {
        let n = scaled(10_000);
        let (tx, rx) = bounded(4);
        let producer = tokio::spawn(async move {
            for i in 0..n {
                if tx.send(i).await.is_err() {
                    break;
                }
            }
        });
        let got: Vec<usize> = guard(rx.map(|v| v + 1).take(n / 2).collect()).await;
        assert_eq!(got, (1..=n / 2).collect::<Vec<_>>());
        // The stream, and with it the only receiver, is gone: the producer
        // sees the channel closed and stops.
        guard(producer).await.unwrap();
    }

    #[tokio::test]
    async fn stream_wakes_when_a_message_arrives_from_another_task() {
        let (tx, mut rx) = bounded(1);
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(9).await.unwrap();
        });
        assert_eq!(guard(rx.next()).await, Some(9));
        sender.await.unwrap();
        assert_eq!(guard(rx.next()).await, None);
    }
}

// ---------------------------------------------------------------- by hand

fn poll_next<T>(rx: &mut ringchan::Receiver<T>, waker: &Waker) -> Poll<Option<T>> {
    Pin::new(rx).poll_next(&mut Context::from_waker(waker))
}

#[test]
fn poll_next_through_pin_new_is_pending_then_ready() {
    let (tx, mut rx) = bounded(2);
    let waker = futures::task::noop_waker_ref();
    assert_eq!(poll_next(&mut rx, waker), Poll::Pending);
    tx.try_send(1).unwrap();
    assert_eq!(poll_next(&mut rx, waker), Poll::Ready(Some(1)));
    assert_eq!(poll_next(&mut rx, waker), Poll::Pending);
    tx.try_send(2).unwrap();
    drop(tx);
    assert_eq!(poll_next(&mut rx, waker), Poll::Ready(Some(2)));
    assert_eq!(poll_next(&mut rx, waker), Poll::Ready(None));
    assert_eq!(poll_next(&mut rx, waker), Poll::Ready(None));
}

#[test]
fn a_pending_poll_next_is_woken_by_a_send_and_by_a_close() {
    let wakes = Arc::new(WakeCount::default());
    let waker = Waker::from(wakes.clone());

    // Polls until the stream parks: its first `Pending` only yields to the
    // executor (it wakes itself at once), the next one waits in line.
    let park = |rx: &mut ringchan::Receiver<u32>| {
        let before = wakes.count();
        assert_eq!(poll_next(rx, &waker), Poll::Pending);
        if wakes.count() > before {
            assert_eq!(poll_next(rx, &waker), Poll::Pending);
        }
    };

    let (tx, mut rx) = bounded(1);
    park(&mut rx);
    let before = wakes.count();
    tx.try_send(1).unwrap();
    assert!(wakes.count() > before, "a send must wake a pending stream");
    assert_eq!(poll_next(&mut rx, &waker), Poll::Ready(Some(1)));

    park(&mut rx);
    let before = wakes.count();
    drop(tx);
    assert!(wakes.count() > before, "closing must wake a pending stream");
    assert_eq!(poll_next(&mut rx, &waker), Poll::Ready(None));
}

/// A clone of `rx` polled as a stream until it waits in line (a first
/// `Pending` may only yield), and the count of its wake-ups since.
fn waiting_stream(rx: &ringchan::Receiver<u32>) -> (ringchan::Receiver<u32>, Arc<WakeCount>) {
    let wakes = Arc::new(WakeCount::default());
    let waker = Waker::from(wakes.clone());
    let mut stream = rx.clone();
    while poll_next(&mut stream, &waker).is_pending() && wakes.count() > 0 {
        wakes.take();
    }
    (stream, wakes)
}

/// A stream polled until it waits and then left alone (its `next()` lost a
/// `select!`, the receiver kept) must not hold back the wake-up of a `recv`
/// waiting beside it, nor of another stream: each message wakes them.
#[test]
fn a_stream_left_waiting_does_not_keep_wake_ups_from_other_receivers() {
    for (tx, rx) in [bounded::<u32>(4), ringchan::unbounded::<u32>()] {
        let (idle, _idle_wakes) = waiting_stream(&rx);
        let mut recv = parked(rx.recv());
        tx.try_send(1).unwrap();
        assert!(recv.woken(), "the recv beside an idle stream slept on");
        assert_eq!(recv.ready(), Ok(1));

        let (mut other, other_wakes) = waiting_stream(&rx);
        let other_waker = Waker::from(other_wakes.clone());
        tx.try_send(2).unwrap();
        assert!(
            other_wakes.count() > 0,
            "a stream beside an idle one slept on"
        );
        assert_eq!(poll_next(&mut other, &other_waker), Poll::Ready(Some(2)));
        drop(idle);
    }
}

#[test]
fn is_terminated_only_once_closed_and_drained() {
    let (tx, rx) = bounded(2);
    assert!(!rx.is_terminated());
    tx.try_send(1).unwrap();
    tx.close();
    assert!(!rx.is_terminated(), "a buffered message is still to come");
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_terminated());

    let (tx, rx) = bounded::<u8>(2);
    drop(rx.clone());
    assert!(!rx.is_terminated());
    drop(tx);
    assert!(rx.is_terminated());
}
