//! `Sender::send_many` and `Sender::try_send_many`: runs sent in order, what
//! stays in the `Vec` on close and on cancel, wake-ups passed on by a
//! dropped future, and the empty `Vec`.

mod common;

use std::thread;

use common::{parked, scaled, Polled};
use ringchan::{bounded, unbounded, SendError, TryRecvError};

#[test]
fn a_cancelled_send_many_leaves_exactly_the_unsent_suffix() {
    let (tx, rx) = bounded(2);
    let mut batch: Vec<u32> = (0..7).collect();
    {
        let mut send = parked(tx.send_many(&mut batch));
        assert_eq!(rx.try_recv(), Ok(0));
        assert!(send.woken(), "the freed slot wakes the waiting batch");
        assert!(send.poll().is_pending(), "one slot was free, five wait");
    }
    assert_eq!(batch, [3, 4, 5, 6], "what was not sent stays, in order");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_woken_send_many_that_is_dropped_passes_its_wake_up_on() {
    let (tx, rx) = bounded(1);
    tx.try_send(0).unwrap();
    let mut first_batch = vec![1];
    let first = parked(tx.send_many(&mut first_batch));
    let mut second = parked(tx.send(2));
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(first.woken(), "the first in line is woken for the slot");
    assert!(!second.woken());
    drop(first);
    assert!(second.woken(), "the dropped batch passed its wake-up on");
    assert_eq!(second.ready(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(first_batch, [1], "the dropped batch sent nothing");
}

#[test]
fn close_in_the_middle_returns_the_unsent_rest_in_order() {
    for cap in [1, 2, 5] {
        let (tx, rx) = bounded(cap);
        let mut batch: Vec<usize> = (0..3 * cap + 1).collect();
        let mut send = parked(tx.send_many(&mut batch));
        assert_eq!(rx.try_recv(), Ok(0));
        assert!(send.woken());
        assert!(send.poll().is_pending());
        rx.close();
        assert!(send.woken(), "the close wakes the waiting batch");
        assert_eq!(send.ready(), Err(SendError(())));
        drop(send);
        let sent = cap + 1;
        assert_eq!(batch, (sent..3 * cap + 1).collect::<Vec<_>>());
        let mut got = Vec::new();
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        assert_eq!(
            got,
            (1..sent).collect::<Vec<_>>(),
            "what was sent stays sent"
        );
    }
}

#[test]
fn an_empty_batch_is_sent_at_once_even_on_a_closed_channel() {
    for (tx, rx) in [bounded::<u8>(2), unbounded::<u8>()] {
        rx.close();
        assert_eq!(tx.try_send_many(&mut Vec::new()), Ok(0));
        assert_eq!(Polled::new(tx.send_many(&mut Vec::new())).ready(), Ok(()));
        let mut one = vec![1];
        assert!(tx.try_send_many(&mut one).unwrap_err().is_closed());
        assert_eq!(
            Polled::new(tx.send_many(&mut one)).ready(),
            Err(SendError(()))
        );
        assert_eq!(one, [1], "a failed batch keeps its message");
    }
}

#[test]
fn runs_longer_than_the_capacity_arrive_once_in_producer_order() {
    // Threads, more than cores; batches of up to twice the capacity, so each
    // one is split across waits and claims whole runs of the ring.
    let (producers, n, cap) = (3, scaled(20_000), 64);
    let (tx, rx) = bounded(cap);
    let received = thread::scope(|s| {
        for p in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                let mut next = 0;
                let mut size = 1;
                while next < n {
                    let end = (next + size).min(n);
                    let mut batch: Vec<usize> = (next..end).map(|i| p * n + i).collect();
                    tx.send_many(&mut batch).wait().unwrap();
                    assert!(batch.is_empty(), "a successful send_many sends all");
                    next = end;
                    size = size % (2 * cap) + 7;
                }
            });
        }
        drop(tx);
        let consumer = s.spawn(|| {
            let mut got = Vec::new();
            let mut buf = Vec::new();
            while let Ok(k) = rx.recv_many(&mut buf, 3 * cap).wait() {
                assert!(k > 0 && k <= 3 * cap);
                got.append(&mut buf);
            }
            got
        });
        consumer.join().unwrap()
    });
    // One consumer: each producer's messages arrive in the order sent.
    for p in 0..producers {
        let mine: Vec<usize> = received.iter().copied().filter(|v| v / n == p).collect();
        assert_eq!(mine, (0..n).map(|i| p * n + i).collect::<Vec<_>>());
    }
    let mut all = received;
    all.sort_unstable();
    assert!(
        all.iter().copied().eq(0..producers * n),
        "messages lost or duplicated"
    );
}
