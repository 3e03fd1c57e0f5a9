//! `Receiver::recv_many` and `Receiver::try_recv_many`: batches taken in
//! order, waiting, closing, waking senders, and exactly-once delivery.

mod common;

use std::thread;

use common::{assert_delivered_once, parked, scaled, CloseBy, Polled, CLOSE_PATHS};
use ringchan::{bounded, RecvError, TryRecvError};

#[tokio::test]
async fn recv_many_appends_up_to_limit_oldest_first() {
    let (tx, rx) = bounded(8);
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    let mut buf = vec![-1];
    assert_eq!(rx.recv_many(&mut buf, 3).await, Ok(3));
    assert_eq!(buf, [-1, 0, 1, 2], "appends, oldest first");
    assert_eq!(rx.recv_many(&mut buf, 10).await, Ok(2));
    assert_eq!(buf, [-1, 0, 1, 2, 3, 4]);
    assert!(rx.is_empty());
}

#[test]
fn recv_many_parks_until_a_message_arrives() {
    let (tx, rx) = bounded(4);
    let mut buf = Vec::new();
    let mut recv = parked(rx.recv_many(&mut buf, 4));
    tx.try_send(1).unwrap();
    assert!(recv.woken(), "a send must wake a parked recv_many");
    assert_eq!(recv.ready(), Ok(1));
    drop(recv);
    assert_eq!(buf, [1]);
}

#[tokio::test]
async fn recv_many_with_limit_zero_returns_zero_at_once() {
    let (tx, rx) = bounded::<u8>(2);
    let mut buf = Vec::new();
    assert_eq!(Polled::new(rx.recv_many(&mut buf, 0)).ready(), Ok(0));
    assert_eq!(rx.try_recv_many(&mut buf, 0), Ok(0));
    tx.try_send(1).unwrap();
    assert_eq!(rx.recv_many(&mut buf, 0).await, Ok(0));
    assert!(buf.is_empty());
    assert_eq!(rx.len(), 1, "limit 0 must take nothing");
}

#[tokio::test]
async fn recv_many_drains_a_closed_channel_then_errs() {
    let (tx, rx) = bounded(4);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    drop(tx);
    let mut buf = Vec::new();
    assert_eq!(rx.recv_many(&mut buf, 2).await, Ok(2));
    assert_eq!(rx.recv_many(&mut buf, 2).await, Ok(1));
    assert_eq!(rx.recv_many(&mut buf, 2).await, Err(RecvError));
    assert_eq!(rx.recv_many(&mut buf, 2).wait(), Err(RecvError));
    assert_eq!(buf, [0, 1, 2]);
}

#[test]
fn every_close_path_wakes_a_parked_recv_many() {
    for how in CLOSE_PATHS {
        let (tx, rx) = bounded::<u32>(2);
        let rx2 = rx.clone();
        let mut buf = Vec::new();
        let mut recv = parked(rx.recv_many(&mut buf, 2));
        match how {
            CloseBy::SenderClose => assert!(tx.close()),
            CloseBy::ReceiverClose => assert!(rx2.close()),
            CloseBy::DroppingLastHandle => drop(tx),
        }
        assert!(recv.woken(), "{how:?}");
        assert_eq!(recv.ready(), Err(RecvError), "{how:?}");
    }
}

#[test]
fn recv_many_wakes_parked_senders_for_the_room_it_frees() {
    let (tx, rx) = bounded(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let mut sends = [parked(tx.send(2)), parked(tx.send(3))];
    let mut buf = Vec::new();
    assert_eq!(Polled::new(rx.recv_many(&mut buf, 2)).ready(), Ok(2));
    for (i, send) in sends.iter_mut().enumerate() {
        assert!(send.woken(), "sender {i} was not woken");
        assert_eq!(send.ready(), Ok(()));
    }
    assert_eq!(rx.try_recv_many(&mut buf, 8), Ok(2));
    assert_eq!(buf, [0, 1, 2, 3]);
}

#[test]
fn try_recv_many_takes_what_is_buffered_or_says_why_not() {
    let (tx, rx) = bounded(4);
    let mut buf = Vec::new();
    assert_eq!(rx.try_recv_many(&mut buf, 4), Err(TryRecvError::Empty));
    for i in 0..4 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(3));
    assert_eq!(buf, [0, 1, 2]);
    tx.close();
    assert_eq!(rx.try_recv_many(&mut buf, 3), Ok(1));
    assert_eq!(rx.try_recv_many(&mut buf, 3), Err(TryRecvError::Closed));
    assert_eq!(buf, [0, 1, 2, 3]);
}

#[test]
fn recv_many_takes_each_message_once_across_threads() {
    let n = scaled(20_000);
    let (tx, rx) = bounded(16);
    let parts: Vec<Vec<usize>> = thread::scope(|s| {
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let mut buf = Vec::new();
                    while rx.recv_many(&mut buf, 5).wait().is_ok() {}
                    buf
                })
            })
            .collect();
        for i in 0..n {
            tx.send_blocking(i).unwrap();
        }
        tx.close();
        consumers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert_delivered_once(parts, n);
}
