//! Cancel safety: dropping a pending `recv` future loses no message, dropping
//! a pending `send` future drops only its own message, and a cancelled waiter
//! that had consumed a notification passes it on to the next waiter.

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use common::{guard, parked, scaled, send_all_then_check_delivery, DropLog, Polled};
use ringchan::{bounded, TryRecvError};

// ---------------------------------------------------------------- recv

#[test]
fn dropping_a_pending_recv_future_loses_no_message() {
    let (tx, rx) = bounded(2);
    drop(parked(rx.recv()));
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn dropping_a_woken_recv_future_before_it_runs_leaves_the_message_queued() {
    let (tx, rx) = bounded(2);
    let recv = parked(rx.recv());
    tx.try_send(1).unwrap();
    assert!(recv.woken());
    drop(recv);
    assert_eq!(rx.len(), 1);
    assert_eq!(Polled::new(rx.recv()).ready(), Ok(1));
}

#[test]
fn dropping_a_woken_recv_many_future_moves_nothing_and_passes_the_wake_up_on() {
    let (tx, rx) = bounded(4);
    let (mut first_buf, mut second_buf) = (Vec::new(), Vec::new());
    let waiters = vec![
        Polled::new(rx.recv_many(&mut first_buf, 4)),
        Polled::new(rx.recv_many(&mut second_buf, 4)),
    ];
    let got = cancelled_notifications_reach_the_remaining_waiters(waiters, 1, || {
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
    });
    assert_eq!(got, [Ok(2)]);
    let mut bufs = [first_buf, second_buf];
    bufs.sort();
    assert_eq!(
        bufs,
        [vec![], vec![1, 2]],
        "the cancelled recv_many must take nothing"
    );
}

#[test]
fn dropping_a_receiver_whose_stream_was_notified_passes_the_wake_up_on() {
    let (tx, rx) = bounded(2);
    let mut streaming = rx.clone();
    // The stream parks first, so it is first in line for the next message.
    let mut next = Polled::new(futures::StreamExt::next(&mut streaming));
    assert!(next.poll().is_pending());
    let mut recv = parked(rx.recv());
    tx.try_send(1).unwrap();
    drop(next);
    drop(streaming);
    assert!(recv.woken(), "the wake-up died with the receiver");
    assert_eq!(recv.ready(), Ok(1));
}

// ---------------------------------------------------------------- send

#[test]
fn dropping_a_pending_send_future_drops_only_its_own_message() {
    let log = DropLog::new(2);
    let (tx, rx) = bounded(1);
    tx.try_send(log.item(0)).unwrap();

    drop(parked(tx.send(log.item(1))));
    assert_eq!(log.drops(1), 1, "the cancelled send must drop its message");
    assert_eq!(log.drops(0), 0, "the queued message must be untouched");
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv().map(|m| m.id), Ok(0));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    log.assert_each_dropped_once();
}

#[test]
fn dropping_a_woken_send_future_before_it_runs_drops_only_its_own_message() {
    let log = DropLog::new(2);
    let (tx, rx) = bounded(1);
    tx.try_send(log.item(0)).unwrap();

    let send = parked(tx.send(log.item(1)));
    let first = rx.try_recv().unwrap();
    assert!(send.woken());
    drop(send);
    assert_eq!(log.drops(1), 1);
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "a cancelled send must not deliver"
    );
    assert_eq!(first.id, 0);
    assert_eq!(log.drops(0), 0);
}

// ---------------------------------------------------------------- hand-on

/// Parks `waiters`, makes `events` wake-ups happen, then cancels woken
/// waiters one at a time until only `events` are left. Each cancelled
/// waiter's notification must reach one of those left, so in the end every
/// one of them must have been woken and complete.
fn cancelled_notifications_reach_the_remaining_waiters<F: Future>(
    mut waiters: Vec<Polled<F>>,
    events: usize,
    wake: impl FnOnce(),
) -> Vec<F::Output> {
    assert!(waiters.iter_mut().all(|w| w.poll().is_pending()));
    wake();
    while waiters.len() > events {
        let notified = waiters
            .iter()
            .position(|w| w.woken())
            .expect("a notification was lost: no live waiter is woken");
        drop(waiters.remove(notified));
    }
    waiters
        .iter_mut()
        .enumerate()
        .map(|(i, w)| {
            assert!(w.woken(), "waiter {i} of the {events} left was never woken");
            w.ready()
        })
        .collect()
}

#[test]
fn a_cancelled_notified_receiver_passes_the_notification_to_the_other() {
    let (tx, rx) = bounded(1);
    let waiters = vec![Polled::new(rx.recv()), Polled::new(rx.recv())];
    let got = cancelled_notifications_reach_the_remaining_waiters(waiters, 1, || {
        tx.try_send(7).unwrap();
    });
    assert_eq!(got, [Ok(7)]);
}

#[test]
fn cancelled_notified_receivers_pass_notifications_down_a_chain() {
    let (tx, rx) = bounded(4);
    let rx2 = rx.clone();
    for messages in 1..=3 {
        let waiters = (0..5)
            .map(|i| Polled::new(if i % 2 == 0 { rx.recv() } else { rx2.recv() }))
            .collect();
        let got = cancelled_notifications_reach_the_remaining_waiters(waiters, messages, || {
            for m in 0..messages {
                tx.try_send(m).unwrap();
            }
        });
        let got: BTreeSet<_> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(got, (0..messages).collect(), "{messages} messages");
    }
}

#[test]
fn a_cancelled_notified_sender_passes_the_notification_to_the_other() {
    let log = DropLog::new(3);
    let (tx, rx) = bounded(1);
    tx.try_send(log.item(0)).unwrap();
    let waiters = vec![
        Polled::new(tx.send(log.item(1))),
        Polled::new(tx.send(log.item(2))),
    ];
    let mut received = None;
    let got = cancelled_notifications_reach_the_remaining_waiters(waiters, 1, || {
        received = Some(rx.try_recv().unwrap());
    });
    assert_eq!(got.len(), 1);
    assert!(got[0].is_ok());
    assert_eq!(received.map(|m| m.id), Some(0));
    let delivered = rx.try_recv().unwrap().id;
    assert!(delivered == 1 || delivered == 2);
    assert_eq!(
        log.drops(3 - delivered),
        1,
        "the cancelled send dropped its message"
    );
    log.assert_each_dropped_once();
}

#[test]
fn cancelled_notified_senders_pass_notifications_down_a_chain() {
    for room in 1..=3 {
        let (tx, rx) = bounded(3);
        for m in 0..3 {
            tx.try_send(100 + m).unwrap();
        }
        let waiters = (0..5).map(|m| Polled::new(tx.send(m))).collect();
        let got = cancelled_notifications_reach_the_remaining_waiters(waiters, room, || {
            for _ in 0..room {
                rx.try_recv().unwrap();
            }
        });
        assert!(got.iter().all(Result::is_ok), "{room}: {got:?}");
        assert_eq!(rx.len(), 3);
    }
}

/// A 64-byte message. On a multi-thread runtime a task waiting on a channel
/// of these joins the waiters on its first poll instead of yielding first,
/// so a cancelled waiter may hold a listener after one poll.
type Wide = [u64; 8];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_joined_on_its_first_poll_passes_a_cancelled_notification_on() {
    let (tx, rx) = bounded::<Wide>(64);
    let mut first = Polled::new(rx.recv());
    assert!(first.poll().is_pending());
    assert!(
        format!("{rx:?}").contains("waiting_receivers: 1"),
        "one poll should have joined the waiters: {rx:?}"
    );
    let waiters = vec![first, Polled::new(rx.recv())];
    let got = cancelled_notifications_reach_the_remaining_waiters(waiters, 1, || {
        tx.try_send([7; 8]).unwrap();
    });
    assert_eq!(got, [Ok([7; 8])]);
    assert!(format!("{rx:?}").contains("waiting_receivers: 0"), "{rx:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_joined_on_its_first_poll_passes_a_cancelled_notification_on() {
    let (tx, rx) = bounded::<Wide>(16);
    for m in 0..16 {
        tx.try_send([m; 8]).unwrap();
    }
    let waiters = vec![
        Polled::new(tx.send([100; 8])),
        Polled::new(tx.send([101; 8])),
    ];
    let got = cancelled_notifications_reach_the_remaining_waiters(waiters, 1, || {
        assert_eq!(rx.try_recv(), Ok([0; 8]));
    });
    assert!(got[0].is_ok());
    let mut rest = Vec::new();
    while let Ok(m) = rx.try_recv() {
        rest.push(m[0]);
    }
    assert_eq!(rest.len(), 16, "{rest:?}");
    assert_eq!(rest[..15], (1..16).collect::<Vec<_>>()[..]);
    assert!(rest[15] == 100 || rest[15] == 101, "{rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_messages_between_tasks_all_arrive_in_order() {
    let n = scaled(50_000) as u64;
    let (tx, rx) = bounded::<Wide>(64);
    let producer = tokio::spawn(async move {
        for i in 0..n {
            tx.send([i; 8]).await.unwrap();
        }
    });
    for i in 0..n {
        assert_eq!(rx.recv().await, Ok([i; 8]));
    }
    producer.await.unwrap();
    assert!(rx.recv().await.is_err());
}

// ---------------------------------------------------------------- under load

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receivers_cancelled_over_and_over_lose_no_message() {
    let n = scaled(20_000);
    let (tx, rx) = bounded(4);
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    tokio::select! {
                        msg = rx.recv() => match msg {
                            Ok(v) => got.push(v),
                            Err(_) => return got,
                        },
                        () = tokio::task::yield_now() => {}
                    }
                }
            })
        })
        .collect();
    drop(rx);
    send_all_then_check_delivery(tx, n, consumers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn senders_cancelled_over_and_over_drop_exactly_their_own_messages() {
    const PRODUCERS: usize = 4;
    let per_producer = scaled(5_000);
    let log = DropLog::new(PRODUCERS * per_producer);
    let cancelled = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = bounded(2);

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (tx, log, cancelled) = (tx.clone(), log.clone(), cancelled.clone());
            tokio::spawn(async move {
                for id in p * per_producer..(p + 1) * per_producer {
                    tokio::select! {
                        sent = tx.send(log.item(id)) => sent.unwrap(),
                        () = tokio::task::yield_now() => cancelled.lock().unwrap().push(id),
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let consumer = tokio::spawn(async move {
        let mut received = Vec::new();
        while let Ok(msg) = rx.recv().await {
            received.push(msg.id);
        }
        received
    });

    for producer in producers {
        guard(producer).await.unwrap();
    }
    let received = guard(consumer).await.unwrap();
    let cancelled = cancelled.lock().unwrap().clone();

    for p in 0..PRODUCERS {
        let own = received.iter().filter(|&&id| id / per_producer == p);
        assert!(
            own.clone().zip(own.skip(1)).all(|(a, b)| a < b),
            "producer {p} out of order"
        );
    }
    let received: BTreeSet<_> = received.into_iter().collect();
    let cancelled: BTreeSet<_> = cancelled.into_iter().collect();
    assert!(
        received.is_disjoint(&cancelled),
        "a cancelled send delivered its message"
    );
    assert_eq!(received.len() + cancelled.len(), PRODUCERS * per_producer);
    log.assert_each_dropped_once();
}
