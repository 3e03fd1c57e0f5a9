//! `ringchan::mpsc::Receiver` and `UnboundedReceiver` implement
//! `futures_core::Stream` themselves, so code that wrapped tokio's receiver
//! in `tokio_stream::wrappers::ReceiverStream` passes the receiver as is.
//!
//! tokio's receivers are not streams, so this file is ringchan-only: it
//! compiles to nothing under `--features tokio-mpsc`. Its expectations are
//! those of `ReceiverStream` over tokio's receiver (one test compares the
//! two side by side).
#![cfg(not(feature = "tokio-mpsc"))]

use ringchan::mpsc;

mod common;

use common::{guard, parked, scaled};
use futures::StreamExt;
use futures_core::Stream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Implements nothing, to show the impls need no bound on `T`.
struct Bare;

fn assert_stream<S: Stream<Item = T> + Unpin, T>() {}

#[test]
fn receivers_are_streams_of_their_item_for_any_t() {
    assert_stream::<mpsc::Receiver<Bare>, Bare>();
    assert_stream::<mpsc::UnboundedReceiver<Bare>, Bare>();
    // Through `&mut`, so a receiver can be streamed and kept.
    assert_stream::<&mut mpsc::Receiver<u8>, u8>();
    assert_stream::<&mut mpsc::UnboundedReceiver<u8>, u8>();
}

/// What migrated code looks like: it took `ReceiverStream<T>`, now it
/// takes the receiver.
async fn total(stream: impl Stream<Item = u64> + Unpin) -> u64 {
    stream.fold(0, |acc, v| async move { acc + v }).await
}

#[tokio::test]
async fn bounded_receiver_streams_in_order_then_ends() {
    let (tx, rx) = mpsc::channel(4);
    let producer = tokio::spawn(async move {
        for i in 1..=100u64 {
            tx.send(i).await.unwrap();
        }
    });
    assert_eq!(guard(total(rx)).await, 5050);
    producer.await.unwrap();
}

#[tokio::test]
async fn unbounded_receiver_streams_in_order_then_ends() {
    let (tx, rx) = mpsc::unbounded_channel();
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let got: Vec<i32> = guard(rx.collect()).await;
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[tokio::test]
async fn stream_and_recv_share_one_queue() {
    let (tx, mut rx) = mpsc::channel(8);
    for i in 0..6 {
        tx.send(i).await.unwrap();
    }
    drop(tx);
    let first: Vec<i32> = rx.by_ref().take(2).collect().await;
    assert_eq!(first, [0, 1]);
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.next().await, Some(3));
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.next().await, Some(5));
    assert_eq!(rx.next().await, None);
    assert_eq!(rx.recv().await, None);
}

#[tokio::test]
async fn stream_ends_after_close_and_drain() {
    let (tx, mut rx) = mpsc::channel(8);
    tx.send(1).await.unwrap();
    let permit = tx.reserve().await.unwrap();
    rx.close();
    assert_eq!(rx.next().await, Some(1));
    {
        // Closed, but a permit is outstanding: the stream is not over yet.
        let mut next = parked(rx.next());
        permit.send(2);
        assert!(next.woken());
        assert_eq!(next.ready(), Some(2));
    }
    assert_eq!(rx.next().await, None);
    drop(tx);
}

#[test]
fn poll_next_is_pending_then_woken_by_send() {
    let (tx, mut rx) = mpsc::channel(1);
    {
        let mut next = parked(rx.next());
        tx.try_send(7).unwrap();
        assert!(next.woken());
        assert_eq!(next.ready(), Some(7));
    }
    let mut next = parked(rx.next());
    drop(tx);
    assert!(next.woken());
    assert_eq!(next.ready(), None);
}

#[test]
fn poll_next_after_the_end_keeps_returning_none() {
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    drop(tx);
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..3 {
        assert_eq!(Pin::new(&mut rx).poll_next(&mut cx), Poll::Ready(None));
    }
}

#[test]
fn dropped_next_future_loses_no_message() {
    let (tx, mut rx) = mpsc::channel(2);
    let next = parked(rx.next());
    drop(next);
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[tokio::test]
async fn same_items_as_tokio_receiver_stream() {
    // Side by side with what the migration replaces.
    let script: Vec<u32> = (0..scaled(1000) as u32).collect();
    let (ttx, trx) = tokio::sync::mpsc::channel(3);
    let (rtx, rrx) = mpsc::channel(3);
    let feed = script.clone();
    tokio::spawn(async move {
        for v in feed {
            ttx.send(v).await.unwrap();
            rtx.send(v).await.unwrap();
        }
    });
    let theirs = tokio_stream::wrappers::ReceiverStream::new(trx)
        .filter(|v| std::future::ready(v % 3 != 0))
        .chunks(7)
        .collect::<Vec<_>>();
    let ours = rrx
        .filter(|v| std::future::ready(v % 3 != 0))
        .chunks(7)
        .collect::<Vec<_>>();
    let (theirs, ours) = guard(async { futures::join!(theirs, ours) }).await;
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn tokio_stream_ext_works_directly() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    assert_eq!(tokio_stream::StreamExt::next(&mut rx).await, Some(1));
    let rest: Vec<i32> = tokio_stream::StreamExt::collect(rx).await;
    assert_eq!(rest, [2]);
}

#[test]
fn stream_polling_takes_part_in_coop() {
    // A task looping on `next()` over an always-ready channel yields to a
    // neighbour on a current-thread runtime, as `recv` does.
    let limit = scaled(100_000).max(1_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let seen = ran.clone();
    let spinner = rt.spawn(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..limit {
            tx.send(i).unwrap();
            assert_eq!(rx.next().await, Some(i));
            if seen.load(Ordering::SeqCst) {
                return i;
            }
        }
        limit
    });
    let flag = ran.clone();
    rt.spawn(async move { flag.store(true, Ordering::SeqCst) });
    let iterations = rt.block_on(spinner).unwrap();
    assert!(iterations < limit, "the neighbour was starved");
}
