//! Every message is dropped exactly once: by its receiver, by the channel
//! when it goes away with the message still buffered, or by whoever gets it
//! handed back (`force_send`, a failed send).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::DropLog;
use ringchan::{bounded, SendError, TrySendError};

const CAPACITIES: [usize; 4] = [1, 2, 3, 7];

/// Which handle goes last when the channel is torn down.
#[derive(Debug, Clone, Copy)]
enum LastHandle {
    Sender,
    Receiver,
}

#[test]
fn buffered_messages_are_dropped_once_when_the_channel_goes_away() {
    for cap in CAPACITIES {
        // Receive `offset` messages first so that the buffered ones sit
        // anywhere in the ring, including across its wrap-around point.
        for offset in 0..2 * cap {
            for buffered in 0..=cap {
                for last in [LastHandle::Sender, LastHandle::Receiver] {
                    let log = DropLog::new(offset + buffered);
                    let (tx, rx) = bounded(cap);
                    for id in 0..offset {
                        tx.try_send(log.item(id)).unwrap();
                        assert_eq!(rx.try_recv().unwrap().id, id);
                    }
                    for id in offset..offset + buffered {
                        tx.try_send(log.item(id)).unwrap();
                    }
                    let context = format!("cap {cap}, offset {offset}, {buffered} buffered");
                    assert_eq!(log.total(), offset, "{context}: dropped too early");
                    match last {
                        LastHandle::Sender => drop((rx, tx)),
                        LastHandle::Receiver => drop((tx, rx)),
                    }
                    for id in 0..offset + buffered {
                        assert_eq!(log.drops(id), 1, "{context}, {last:?} last: message {id}");
                    }
                }
            }
        }
    }
}

#[test]
fn buffered_messages_outlive_the_strong_handles_while_a_weak_handle_lives() {
    for cap in CAPACITIES {
        let log = DropLog::new(cap);
        let (tx, rx) = bounded(cap);
        for id in 0..cap {
            tx.try_send(log.item(id)).unwrap();
        }
        let weak_tx = tx.downgrade();
        let weak_rx = rx.downgrade();
        drop((tx, rx));
        assert!(log.total() <= cap, "cap {cap}: a message was dropped twice");
        drop(weak_tx);
        drop(weak_rx);
        log.assert_each_dropped_once();
    }
}

#[test]
fn a_closed_channel_still_drops_its_buffered_messages_once() {
    for cap in CAPACITIES {
        let log = DropLog::new(cap + 1);
        let (tx, rx) = bounded(cap);
        for id in 0..cap {
            tx.try_send(log.item(id)).unwrap();
        }
        rx.close();
        // Receive one after the close: it is the receiver's to drop.
        drop(rx.try_recv().unwrap());
        assert_eq!(log.drops(0), 1);
        let refused = tx.try_send(log.item(cap)).unwrap_err();
        assert!(refused.is_closed());
        assert_eq!(
            log.drops(cap),
            0,
            "a refused message is handed back, not dropped"
        );
        drop(refused);
        drop((tx, rx));
        log.assert_each_dropped_once();
    }
}

#[test]
fn received_messages_are_dropped_by_the_receiver_only() {
    let log = DropLog::new(6);
    let (tx, rx) = bounded(3);
    let mut kept = Vec::new();
    for id in 0..6 {
        tx.try_send(log.item(id)).unwrap();
        if id % 2 == 1 {
            kept.push(rx.try_recv().unwrap());
            kept.push(rx.try_recv().unwrap());
        }
    }
    drop((tx, rx));
    assert_eq!(
        log.total(),
        0,
        "the channel dropped a message it had handed out"
    );
    drop(kept);
    log.assert_each_dropped_once();
}

#[test]
fn force_send_hands_back_the_replaced_oldest_message_without_dropping_it() {
    for cap in CAPACITIES {
        let total = 3 * cap;
        let log = DropLog::new(total);
        let (tx, rx) = bounded(cap);
        for id in 0..cap {
            assert_eq!(
                tx.force_send(log.item(id)).map(|old| old.is_none()),
                Ok(true)
            );
        }
        for id in cap..total {
            let replaced = tx
                .force_send(log.item(id))
                .unwrap()
                .expect("the channel is full");
            assert_eq!(replaced.id, id - cap, "cap {cap}: not the oldest message");
            assert_eq!(
                log.drops(replaced.id),
                0,
                "cap {cap}: replaced message already dropped"
            );
            assert_eq!(tx.len(), cap);
        }
        // The newest `cap` messages are left, in order.
        for id in total - cap..total {
            assert_eq!(rx.try_recv().unwrap().id, id, "cap {cap}");
        }
        assert!(rx.is_empty());
        log.assert_each_dropped_once();
    }
}

#[tokio::test]
async fn refused_sends_hand_the_message_back_undropped() {
    let log = DropLog::new(4);
    let (tx, rx) = bounded(1);
    tx.try_send(log.item(0)).unwrap();

    let TrySendError::Full(full) = tx.try_send(log.item(1)).unwrap_err() else {
        panic!("expected Full");
    };
    assert_eq!((full.id, log.drops(1)), (1, 0));
    drop(rx);
    let SendError(closed) = tx.send(log.item(2)).await.unwrap_err();
    assert_eq!((closed.id, log.drops(2)), (2, 0));
    let SendError(forced) = tx.force_send(log.item(3)).unwrap_err();
    assert_eq!((forced.id, log.drops(3)), (3, 0));
    drop((full, closed, forced, tx));
    log.assert_each_dropped_once();
}

#[test]
fn zero_sized_messages_are_counted_and_dropped_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Zst;
    impl Drop for Zst {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    assert_eq!(std::mem::size_of::<Zst>(), 0);

    let (tx, rx) = bounded(3);
    for _ in 0..3 {
        assert!(tx.try_send(Zst).is_ok());
    }
    assert!(tx.try_send(Zst).unwrap_err().is_full());
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        1,
        "only the refused one is gone"
    );
    assert_eq!(rx.len(), 3);
    drop(rx.try_recv().unwrap());
    assert_eq!(DROPS.load(Ordering::SeqCst), 2);
    drop((tx, rx));
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        4,
        "two buffered messages left to drop"
    );
}
