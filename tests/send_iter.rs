//! `Sender::send_iter` and `Sender::try_send_iter`: sending what an iterator
//! yields, a run at a time, in order; what happens on close, on cancel, on a
//! panicking iterator and on an iterator whose size hint lies.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::Poll;

use common::{guard, parked, scaled, DropLog, Polled};
use ringchan::{bounded, unbounded, TrySendError};

/// Message `i` of producer `p`, for `n` messages per producer.
fn msg(p: usize, i: usize, n: usize) -> usize {
    p * n + i
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_producers_send_long_iterators_through_a_small_channel() {
    // More tasks than cores, capacity below the run size: runs are split,
    // producers wait for room in the middle of their iterators.
    let (producers, consumers, n) = (6, 3, scaled(5_000));
    let (tx, rx) = bounded(3);
    let consumer_tasks: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv().await {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    drop(rx);
    let producer_tasks: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send_iter((0..n).map(|i| msg(p, i, n))).await })
        })
        .collect();
    drop(tx);
    for task in producer_tasks {
        guard(task).await.unwrap().unwrap();
    }
    let mut all = Vec::new();
    for task in consumer_tasks {
        let got = guard(task).await.unwrap();
        for p in 0..producers {
            let mine: Vec<_> = got.iter().filter(|&&v| v / n == p).collect();
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "a consumer saw producer {p}'s messages out of order"
            );
        }
        all.extend(got);
    }
    all.sort_unstable();
    assert!(
        all.iter().copied().eq(0..producers * n),
        "messages lost or duplicated"
    );
}

#[test]
fn on_an_unbounded_channel_it_never_waits() {
    let (tx, rx) = unbounded();
    let mut send = Polled::new(tx.send_iter(0..1000));
    assert!(matches!(send.poll(), Poll::Ready(Ok(()))));
    let mut out = Vec::new();
    assert_eq!(rx.try_recv_many(&mut out, 2000), Ok(1000));
    assert!(out.iter().copied().eq(0..1000));
    assert_eq!(tx.try_send_iter(1000..1600), Ok(()));
    assert_eq!(rx.len(), 600);
}

#[test]
fn close_mid_iteration_returns_the_taken_run_and_leaves_the_rest_in_the_iterator() {
    let (tx, rx) = bounded(2);
    let mut rest = 0..10;
    // The first run fills the channel; the second, [2, 3], waits for room.
    let mut send = parked(tx.send_iter(rest.by_ref()));
    assert_eq!(rx.len(), 2);
    rx.close();
    assert!(send.woken(), "closing must wake the waiting sender");
    let unsent = send.ready().unwrap_err().into_inner();
    assert_eq!(unsent, [2, 3]);
    drop(send);
    assert_eq!(
        rest.next(),
        Some(4),
        "messages never taken stay in the iterator"
    );
    // What was sent stays sent.
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.try_recv().unwrap_err().is_closed());
}

#[test]
fn a_dropped_send_iter_drops_what_it_took_once_and_gives_back_its_place() {
    let log = DropLog::new(6);
    let (tx, rx) = bounded(2);
    let items: Vec<_> = (0..6).map(|id| log.item(id)).collect();
    let send = parked(tx.send_iter(items));
    // A second sender queues behind the first.
    let mut second = parked(tx.send(log.item(5)));
    drop(send);
    // The taken run (2, 3) and the iterator's rest (4, 5) went with the future.
    for id in 2..6 {
        assert_eq!(log.drops(id), 1, "message {id}");
    }
    assert_eq!(rx.try_recv().map(|t| t.id), Ok(0));
    // The room it made reaches the sender that waited behind the dropped one.
    assert!(second.woken(), "the next waiting sender must be woken");
    assert!(matches!(second.poll(), Poll::Ready(Ok(()))));
    drop(second);
    drop((tx, rx));
    assert_eq!(log.drops(0), 1);
    assert_eq!(log.drops(1), 1);
    assert_eq!(log.drops(5), 2, "both payloads with id 5 dropped once each");
}

#[test]
fn try_send_iter_sends_what_fits_and_returns_what_did_not() {
    let (tx, rx) = bounded(3);
    tx.try_send(100).unwrap();
    let mut msgs = 0..10;
    match tx.try_send_iter(msgs.by_ref()) {
        Err(TrySendError::Full(run)) => assert_eq!(run, [2]),
        other => panic!("expected Full([2]), got {other:?}"),
    }
    assert_eq!(msgs.next(), Some(3));
    let mut out = Vec::new();
    rx.try_recv_many(&mut out, 10).unwrap();
    assert_eq!(out, [100, 0, 1]);
    // Exactly enough room: everything goes, nothing comes back.
    assert_eq!(tx.try_send_iter(4..7), Ok(()));
    assert!(tx.is_full());
    rx.close();
    match tx.try_send_iter(7..9) {
        Err(TrySendError::Closed(run)) => assert_eq!(run, [7]),
        other => panic!("expected Closed([7]), got {other:?}"),
    }
    // An iterator that yields nothing sends nothing, closed or not.
    assert_eq!(tx.try_send_iter(std::iter::empty()), Ok(()));
}

#[test]
fn blocking_wait_sends_everything_through_a_full_channel() {
    let n = scaled(10_000);
    let (tx, rx) = bounded(4);
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv_blocking() {
            got.push(v);
        }
        got
    });
    tx.send_iter(0..n).wait().unwrap();
    drop(tx);
    assert!(consumer.join().unwrap().into_iter().eq(0..n));
}

/// An iterator whose `size_hint` says `hint` whatever it has left.
struct Lying<I> {
    inner: I,
    hint: (usize, Option<usize>),
}

impl<I: Iterator> Iterator for Lying<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.hint
    }
}

#[test]
fn a_lying_size_hint_changes_nothing() {
    for hint in [(1000, Some(1000)), (0, Some(0)), (usize::MAX, None)] {
        for cap in [1, 3, 1024] {
            let (tx, rx) = bounded(cap);
            let consumer = std::thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv_blocking() {
                    got.push(v);
                }
                got
            });
            tx.send_iter(Lying { inner: 0..7, hint }).wait().unwrap();
            drop(tx);
            let got = consumer.join().unwrap();
            assert!(got.into_iter().eq(0..7), "hint {hint:?}, capacity {cap}");
        }
        let (tx, rx) = unbounded();
        assert_eq!(tx.try_send_iter(Lying { inner: 0..5, hint }), Ok(()));
        assert_eq!(rx.len(), 5, "hint {hint:?}");
    }
}

#[test]
fn an_iterator_that_panics_leaves_what_was_sent_and_a_working_channel() {
    let log = DropLog::new(12);
    let (tx, rx) = bounded(4);
    let panicking = (0..12).map(|id| {
        assert!(id != 6, "the iterator gives up at 6");
        log.item(id)
    });
    let outcome = catch_unwind(AssertUnwindSafe(|| tx.send_iter(panicking).wait()));
    assert!(
        outcome.is_err(),
        "the iterator's panic goes on to the caller"
    );
    // Runs of 4 (the capacity): the first was sent whole; the second (4, 5)
    // was being taken when the iterator panicked, and went with the future.
    assert_eq!(log.drops(4), 1);
    assert_eq!(log.drops(5), 1);
    let mut out = Vec::new();
    assert_eq!(rx.try_recv_many(&mut out, 10), Ok(4));
    assert!(out.iter().map(|t| t.id).eq(0..4));
    drop(out);
    tx.try_send(log.item(11)).unwrap();
    assert_eq!(rx.try_recv().map(|t| t.id), Ok(11));
    for id in (0..6).chain([11]) {
        assert_eq!(log.drops(id), 1, "message {id}");
    }
}
