//! Every message is dropped exactly once: by its receiver, by the channel
//! when it goes away with the message still buffered, or by whoever gets it
//! handed back (`force_send`, a failed send).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropLog, Tracked};
use ringchan::{bounded, unbounded, Receiver, SendError, Sender, TrySendError};

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
                    let context = format!("cap {cap}, offset {offset}, {buffered} buffered");
                    buffered_then_torn_down(bounded(cap), offset, buffered, last, &context);
                }
            }
        }
    }
}

/// Sends `offset` messages through `(tx, rx)` and receives them, buffers
/// `buffered` more, drops both handles (`last` one last), and checks that
/// every message was dropped exactly once, and none before its time.
fn buffered_then_torn_down(
    (tx, rx): (Sender<Tracked>, Receiver<Tracked>),
    offset: usize,
    buffered: usize,
    last: LastHandle,
    context: &str,
) {
    let log = DropLog::new(offset + buffered);
    for id in 0..offset {
        tx.try_send(log.item(id)).unwrap();
        assert_eq!(rx.try_recv().unwrap().id, id);
    }
    for id in offset..offset + buffered {
        tx.try_send(log.item(id)).unwrap();
    }
    assert_eq!(log.total(), offset, "{context}: dropped too early");
    match last {
        LastHandle::Sender => drop((rx, tx)),
        LastHandle::Receiver => drop((tx, rx)),
    }
    for id in 0..offset + buffered {
        assert_eq!(log.drops(id), 1, "{context}, {last:?} last: message {id}");
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

/// Messages per block of the unbounded list, plus one: offsets and lengths
/// around it put the buffered messages across block boundaries.
const BLOCK: usize = 32;

#[test]
fn unbounded_buffered_messages_are_dropped_once_when_the_channel_goes_away() {
    // Under Miri, fewer offsets (each case allocates and frees blocks).
    let offsets: &[usize] = if cfg!(miri) {
        &[0, BLOCK - 1, BLOCK]
    } else {
        &[0, 1, BLOCK - 2, BLOCK - 1, BLOCK, 2 * BLOCK + 5]
    };
    for &offset in offsets {
        for buffered in [0, 1, BLOCK - 1, BLOCK, 2 * BLOCK + 3] {
            for last in [LastHandle::Sender, LastHandle::Receiver] {
                let context = format!("offset {offset}, {buffered} buffered");
                buffered_then_torn_down(unbounded(), offset, buffered, last, &context);
            }
        }
    }
}

/// `try_send_many` moves what fits and leaves the rest, undropped and in
/// order, in the caller's vector; `try_recv_many` appends after what the
/// vector holds; whatever is still buffered goes with the channel. Bounded
/// runs start anywhere in the ring (across its wrap), unbounded ones across
/// block boundaries.
#[test]
fn batches_move_each_message_once_and_hand_back_the_rest() {
    type Make = fn() -> (Sender<Tracked>, Receiver<Tracked>);
    let flavours: [(&str, Make); 3] = [
        ("bounded(3)", || bounded(3)),
        ("bounded(7)", || bounded(7)),
        ("unbounded", unbounded),
    ];
    for (name, make) in flavours {
        for offset in [0, 1, 2, 5, BLOCK - 1] {
            let total = offset + 2 * BLOCK;
            let log = DropLog::new(total + 1);
            let (tx, rx) = make();
            for id in 0..offset {
                tx.try_send(log.item(id)).unwrap();
                drop(rx.try_recv().unwrap());
            }
            let mut src: Vec<Tracked> = (offset..total).map(|id| log.item(id)).collect();
            let room = tx.capacity().unwrap_or(usize::MAX).min(src.len());
            let context = format!("{name}, offset {offset}");
            assert_eq!(tx.try_send_many(&mut src), Ok(room), "{context}");
            let left: Vec<usize> = src.iter().map(|m| m.id).collect();
            assert_eq!(
                left,
                (offset + room..total).collect::<Vec<_>>(),
                "{context}"
            );
            // Appends after a message the vector already holds.
            let mut out = vec![log.item(total)];
            let want = room.min(5);
            assert_eq!(rx.try_recv_many(&mut out, want), Ok(want), "{context}");
            let got: Vec<usize> = out.iter().map(|m| m.id).collect();
            let mut expected = vec![total];
            expected.extend(offset..offset + want);
            assert_eq!(got, expected, "{context}");
            assert_eq!(log.total(), offset, "{context}: dropped too early");
            drop(out);
            drop(src);
            drop((tx, rx));
            log.assert_each_dropped_once();
        }
    }
}

/// A message of more than 16 bytes: a waiting send moves it from its future
/// into the slot only once it has claimed the slot (`Queue::push_from`).
struct Big {
    tracked: Tracked,
    _pad: [u64; 6],
}

fn big(log: &DropLog, id: usize) -> Big {
    Big {
        tracked: log.item(id),
        _pad: [id as u64; 6],
    }
}

#[tokio::test]
async fn large_messages_of_waiting_sends_move_once_or_come_back() {
    let log = DropLog::new(6);
    let waker = std::task::Waker::noop();
    let (tx, rx) = bounded(1);
    tx.send(big(&log, 0)).await.unwrap();
    // Full: the message stays in the future until a slot is free.
    let mut waiting = Box::pin(tx.send(big(&log, 1)));
    assert!(common::poll_once(waiting.as_mut(), waker).is_pending());
    assert_eq!(log.drops(1), 0);
    assert_eq!(rx.try_recv().unwrap().tracked.id, 0);
    waiting.await.unwrap();
    // A pending send dropped drops its own message, once.
    let mut dropped = Box::pin(tx.send(big(&log, 2)));
    assert!(common::poll_once(dropped.as_mut(), waker).is_pending());
    drop(dropped);
    assert_eq!(log.drops(2), 1);
    // Closed: the message comes back, undropped.
    drop(rx);
    let SendError(back) = tx.send(big(&log, 3)).await.unwrap_err();
    assert_eq!((back.tracked.id, log.drops(3)), (3, 0));

    let (utx, urx) = unbounded();
    utx.send(big(&log, 4)).await.unwrap();
    urx.close();
    let SendError(uback) = utx.send(big(&log, 5)).await.unwrap_err();
    assert_eq!((uback.tracked.id, log.drops(5)), (5, 0));
    drop((back, uback, tx, utx, urx));
    log.assert_each_dropped_once();
}

#[test]
fn a_large_send_polled_after_completion_claims_no_slot() {
    // A completed send polled again panics before it claims a slot: a slot
    // claimed and never written would hang the receives after it, and the
    // channel's drop would drop whatever the slot held before (Miri: a read
    // of uninitialised memory, or a message dropped twice).
    for flavor in ["bounded", "unbounded"] {
        let log = DropLog::new(2);
        let (tx, rx) = if flavor == "bounded" {
            bounded(1)
        } else {
            unbounded()
        };
        let waker = std::task::Waker::noop();
        let mut send = Box::pin(tx.send(big(&log, 0)));
        assert!(common::poll_once(send.as_mut(), waker).is_ready());
        drop(rx.try_recv().expect("the message sent"));
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            common::poll_once(send.as_mut(), waker)
        }));
        assert!(again.is_err(), "{flavor}: a completed send polled again");
        drop(send);
        assert_eq!(rx.len(), 0, "{flavor}: a slot was claimed");
        tx.try_send(big(&log, 1)).expect("room");
        assert_eq!(
            rx.try_recv().map(|m| m.tracked.id).ok(),
            Some(1),
            "{flavor}"
        );
        drop((tx, rx));
        log.assert_each_dropped_once();
    }
}
