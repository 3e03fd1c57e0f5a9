//! The unbounded `mpsc` channel, pinned to the documented behaviour of
//! `tokio::sync::mpsc` 1.x.
//!
//! The tests run against `ringchan::mpsc`; `--features tokio-mpsc` runs the
//! very same tests against tokio's module, which is how they were validated.
#[cfg(not(feature = "tokio-mpsc"))]
use ringchan::mpsc;
#[cfg(feature = "tokio-mpsc")]
use tokio::sync::mpsc;

mod common;
mod mpsc_util;

use common::{guard, parked, scaled, Bomb, DropLog, Polled, WakeCount};
use mpsc::error::{SendError, TryRecvError};
use mpsc_util::assert_try_recv_never_spuriously_empty;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

#[test]
fn send_never_waits_and_needs_no_runtime() {
    let n = scaled(100_000);
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..n {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), n);
    assert!(!rx.is_empty());
    for i in 0..n {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert!(rx.is_empty());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn sync_send_async_recv_on_a_foreign_executor() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let producer = std::thread::spawn(move || {
        for i in 0..100 {
            tx.send(i).unwrap();
        }
    });
    let got = futures::executor::block_on(async {
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got
    });
    producer.join().unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn recv_in_fifo_order_then_none_after_senders_drop() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    tx2.send(2).unwrap();
    tx.send(3).unwrap();
    drop(tx);
    drop(tx2);
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, Some(3));
    assert_eq!(rx.recv().await, None);
    assert_eq!(rx.recv().await, None);
}

#[test]
fn recv_is_woken_by_send_and_by_last_sender_drop() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    {
        let mut recv = parked(rx.recv());
        tx.send(5).unwrap();
        assert!(recv.woken());
        assert_eq!(recv.ready(), Some(5));
    }
    let mut recv = parked(rx.recv());
    drop(tx);
    assert!(recv.woken());
    assert_eq!(recv.ready(), None);
}

#[test]
fn send_after_receiver_drop_or_close_returns_the_value() {
    let (tx, rx) = mpsc::unbounded_channel();
    drop(rx);
    assert_eq!(
        tx.send(String::from("x")),
        Err(SendError(String::from("x")))
    );

    let (tx, mut rx) = mpsc::unbounded_channel();
    rx.close();
    let err = tx.send(7).unwrap_err();
    assert_eq!(err.0, 7);
}

#[tokio::test]
async fn close_then_drain_delivers_everything_buffered() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    rx.close();
    assert!(rx.is_closed());
    assert!(tx.is_closed());
    assert_eq!(tx.send(99), Err(SendError(99)));
    let mut got = Vec::new();
    while let Some(v) = guard(rx.recv()).await {
        got.push(v);
    }
    assert_eq!(got, [0, 1, 2, 3, 4]);
    // Senders are still alive; the close alone ends the stream.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    drop(tx);
}

#[test]
fn recv_after_close_returns_none_at_once_when_empty() {
    let (tx, mut rx) = mpsc::unbounded_channel::<i32>();
    rx.close();
    rx.close(); // idempotent
    assert_eq!(Polled::new(rx.recv()).ready(), None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    drop(tx);
}

#[test]
fn try_recv_reports_empty_then_disconnected() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn try_recv_is_never_spuriously_empty() {
    // Once a send has returned, try_recv sees a message even while other
    // senders are halfway through theirs.
    let (producers, per) = (4, scaled(20_000));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let senders = (0..producers)
        .map(|_| {
            let tx = tx.clone();
            move |i| tx.send(i).unwrap()
        })
        .collect();
    assert_try_recv_never_spuriously_empty(senders, per, || rx.try_recv());
}

#[tokio::test]
async fn recv_many_takes_up_to_limit_and_appends() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    let mut buf = vec![-1];
    assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
    assert_eq!(rx.recv_many(&mut buf, 2).await, 2);
    assert_eq!(rx.recv_many(&mut buf, 10).await, 3);
    assert_eq!(buf, [-1, 0, 1, 2, 3, 4]);
    drop(tx);
    assert_eq!(rx.recv_many(&mut buf, 10).await, 0);
    assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
}

#[test]
fn recv_many_waits_for_the_first_message() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut buf = Vec::new();
    let mut many = parked(rx.recv_many(&mut buf, 4));
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(many.woken());
    assert_eq!(many.ready(), 2);
    drop(many);
    assert_eq!(buf, [1, 2]);
}

#[test]
fn poll_recv_and_poll_recv_many() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let first_count = Arc::new(WakeCount::default());
    let first = Waker::from(first_count.clone());
    let second_count = Arc::new(WakeCount::default());
    let second = Waker::from(second_count.clone());
    assert!(rx.poll_recv(&mut Context::from_waker(&first)).is_pending());
    assert!(rx
        .poll_recv_many(&mut Context::from_waker(&second), &mut Vec::new(), 3)
        .is_pending());
    for i in 0..4 {
        tx.send(i).unwrap();
    }
    // Only the waker of the most recent poll is scheduled.
    assert_eq!(first_count.count(), 0);
    assert!(second_count.count() >= 1);
    let mut cx = Context::from_waker(&second);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(0)));
    let mut buf = Vec::new();
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 2), Poll::Ready(2));
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 2), Poll::Ready(1));
    assert_eq!(buf, [1, 2, 3]);
    drop(tx);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 2), Poll::Ready(0));
}

#[test]
fn closed_completes_when_receiver_dropped_or_closed() {
    let (tx, rx) = mpsc::unbounded_channel::<i32>();
    let mut closed = parked(tx.closed());
    assert!(!tx.is_closed());
    drop(rx);
    assert!(closed.woken());
    closed.ready();
    assert!(tx.is_closed());
    Polled::new(tx.closed()).ready();

    let (tx, mut rx) = mpsc::unbounded_channel::<i32>();
    let tx2 = tx.clone();
    let mut a = parked(tx.closed());
    let mut b = parked(tx2.closed());
    rx.close();
    assert!(a.woken() && b.woken());
    a.ready();
    b.ready();
}

#[test]
fn dropping_receiver_drops_every_message_even_when_one_drop_panics() {
    let d = DropLog::new(3);
    let (tx, rx) = mpsc::unbounded_channel();
    for i in 0..3 {
        tx.send(Bomb {
            armed: i == 1,
            log: d.item(i),
        })
        .unwrap();
    }
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rx)));
    assert!(dropped.is_err(), "the panic reaches the receiver's owner");
    d.assert_each_dropped_once();
    drop(tx);
    d.assert_each_dropped_once();
}

#[test]
fn is_closed_on_the_receiver() {
    let (tx, rx) = mpsc::unbounded_channel::<i32>();
    assert!(!rx.is_closed());
    tx.send(1).unwrap();
    drop(tx);
    assert!(rx.is_closed(), "closed once the senders are gone");
    assert_eq!(rx.len(), 1);
}

#[test]
fn weak_senders_and_counts() {
    let (tx, mut rx) = mpsc::unbounded_channel::<i32>();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 0));
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    assert_eq!((weak.strong_count(), weak.weak_count()), (1, 2));
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 2));
    let up = weak.upgrade().expect("a strong sender exists");
    assert_eq!(rx.sender_strong_count(), 2);
    assert!(up.same_channel(&tx));
    up.send(1).unwrap();
    drop(up);
    drop(weak2);
    drop(tx);
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (0, 1));
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn same_channel_compares_channels() {
    let (tx, _rx) = mpsc::unbounded_channel::<()>();
    let (other, _other_rx) = mpsc::unbounded_channel::<()>();
    assert!(tx.same_channel(&tx.clone()));
    assert!(!tx.same_channel(&other));
}

#[test]
fn dropping_receiver_drops_buffered_messages_at_once() {
    let d = DropLog::new(6);
    let (tx, rx) = mpsc::unbounded_channel();
    for i in 0..5 {
        tx.send(d.item(i)).unwrap();
    }
    drop(rx);
    assert_eq!(d.total(), 5);
    let err = tx.send(d.item(5)).unwrap_err();
    assert_eq!(d.total(), 5, "the rejected message is handed back");
    assert_eq!(err.0.id, 5);
    drop(err);
    assert_eq!(d.total(), 6);
}

#[test]
fn every_message_is_dropped_exactly_once() {
    let n = scaled(1000);
    let d = DropLog::new(n);
    {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..n {
            tx.send(d.item(i)).unwrap();
        }
        for i in 0..n / 3 {
            assert_eq!(rx.try_recv().unwrap().id, i);
        }
        assert_eq!(d.total(), n / 3);
    }
    assert_eq!(d.total(), n);
    d.assert_each_dropped_once();
}

#[test]
fn debug_output_names_the_types() {
    let (tx, rx) = mpsc::unbounded_channel::<i32>();
    assert!(format!("{tx:?}").starts_with("UnboundedSender {"));
    assert!(format!("{rx:?}").starts_with("UnboundedReceiver {"));
    assert_eq!(format!("{:?}", tx.downgrade()), "WeakUnboundedSender");
}

#[test]
fn many_threads_exactly_once_and_per_sender_fifo() {
    let producers = 4;
    let per = scaled(10_000);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    tx.send((p, i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let next = rt.block_on(async {
        let mut next = vec![0; producers];
        while let Some((p, i)) = guard(rx.recv()).await {
            assert_eq!(next[p], i, "per-sender FIFO for producer {p}");
            next[p] += 1;
        }
        next
    });
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(next, vec![per; producers]);
}
