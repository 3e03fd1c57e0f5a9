//! The native `unbounded()` channel: the same API as `bounded`, in the shape
//! of async-channel's unbounded channel (`capacity()` is `None`, `send` never
//! waits), on the lock-free block list.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use ringchan::{unbounded, RecvError, TryRecvError, TrySendError};

fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        n / 100 + 10
    } else {
        n
    }
}

#[test]
fn capacity_is_none_and_it_is_never_full() {
    let (tx, rx) = unbounded();
    assert_eq!(tx.capacity(), None);
    assert_eq!(rx.capacity(), None);
    for i in 0..scaled(10_000) {
        assert_eq!(tx.try_send(i), Ok(()));
        assert!(!tx.is_full() && !rx.is_full());
    }
    assert_eq!(tx.len(), scaled(10_000));
    for i in 0..scaled(10_000) {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(rx.is_empty());
}

#[tokio::test]
async fn send_never_waits_and_recv_drains_before_closed() {
    let (tx, rx) = unbounded();
    for i in 0..scaled(5_000) {
        tx.send(i as i64).await.unwrap();
    }
    assert_eq!(
        tx.force_send(-1),
        Ok(None),
        "force_send never replaces when unbounded"
    );
    drop(tx);
    let got: Vec<i64> = rx.clone().collect().await;
    assert_eq!(got.len(), scaled(5_000) + 1);
    assert!(got[..scaled(5_000)]
        .iter()
        .copied()
        .eq(0..scaled(5_000) as i64));
    assert_eq!(rx.recv().await, Err(RecvError));
}

#[test]
fn close_hands_messages_back_and_wakes_blocked_receivers() {
    let (tx, rx) = unbounded::<u8>();
    let rx2 = rx.clone();
    let waiter = std::thread::spawn(move || rx2.recv_blocking());
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(rx.close());
    assert_eq!(waiter.join().unwrap(), Err(RecvError));
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    assert_eq!(tx.send_blocking(2).unwrap_err().into_inner(), 2);
}

#[test]
fn batches_move_in_order() {
    let (tx, rx) = unbounded();
    let mut batch: Vec<u32> = (0..100).collect();
    assert_eq!(tx.try_send_many(&mut batch), Ok(100));
    assert!(batch.is_empty());
    let mut out = Vec::new();
    assert_eq!(rx.try_recv_many(&mut out, 64), Ok(64));
    assert_eq!(rx.try_recv_many(&mut out, 64), Ok(36));
    assert_eq!(out, (0..100).collect::<Vec<_>>());
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn leftovers_across_many_blocks_are_dropped_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = unbounded();
    let n = scaled(1_000);
    for _ in 0..n {
        tx.try_send(Counted(drops.clone())).unwrap();
    }
    for _ in 0..n / 3 {
        drop(rx.try_recv().unwrap());
    }
    assert_eq!(drops.load(Ordering::SeqCst), n / 3);
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), n);
}

#[test]
fn mpmc_threads_deliver_each_message_once_in_sender_order() {
    let (producers, consumers, per) = (4, 4, scaled(20_000));
    let (tx, rx) = unbounded::<(usize, usize)>();
    let handles: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut last = vec![None; producers];
                while let Ok((p, i)) = rx.recv_blocking() {
                    assert!(last[p] < Some(i), "producer {p} reordered");
                    last[p] = Some(i);
                    got.push((p, i));
                }
                got
            })
        })
        .collect();
    drop(rx);
    std::thread::scope(|s| {
        for p in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..per {
                    tx.send_blocking((p, i)).unwrap();
                }
            });
        }
    });
    drop(tx);
    let mut all: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    let expected: Vec<_> = (0..producers)
        .flat_map(|p| (0..per).map(move |i| (p, i)))
        .collect();
    assert!(all == expected, "messages lost or duplicated");
}

#[test]
fn debug_shows_the_list_state() {
    let (tx, _rx) = unbounded::<u8>();
    tx.try_send(1).unwrap();
    let shown = format!("{tx:#?}");
    assert!(shown.contains("capacity: None"), "{shown}");
    assert!(shown.contains("len: 1"), "{shown}");
}
