//! loom models of the park/notify protocol: every interleaving of parking,
//! waking, closing and cancelling, through the public handles.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::{bounded, RecvError, TryRecvError};
use loom::thread;

fn model(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.max_branches = 100_000;
    builder.check(f);
}

/// Polls `fut` with a waker that does nothing until it has joined the
/// waiters: the first `Pending` only yields to the executor (chan.rs, step
/// 2), the second one waits in line.
fn poll_into_line<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    match Pin::new(&mut *fut).poll(&mut cx) {
        Poll::Pending => Pin::new(fut).poll(&mut cx),
        ready => ready,
    }
}

/// A sender parks on a full ring; a receiver pops; the sender must wake
/// (a lost wake-up shows as a loom deadlock).
#[test]
fn full_ring_sender_wakes() {
    model(3, || {
        let (tx, rx) = bounded(1);
        tx.try_send(0).unwrap();
        let t = thread::spawn(move || tx.send_blocking(1).unwrap());
        assert_eq!(rx.recv_blocking(), Ok(0));
        assert_eq!(rx.recv_blocking(), Ok(1));
        t.join().unwrap();
    });
}

/// A receiver parks on an empty ring; a sender pushes; it must wake.
#[test]
fn empty_ring_receiver_wakes() {
    model(3, || {
        let (tx, rx) = bounded(1);
        let t = thread::spawn(move || rx.recv_blocking());
        tx.send_blocking(5).unwrap();
        assert_eq!(t.join().unwrap(), Ok(5));
    });
}

/// `close` races a blocked-or-not send and receive: the message is received,
/// left to drain, or handed back — never lost or duplicated — and both
/// parked threads wake.
#[test]
fn close_races_send_and_recv() {
    model(2, || {
        let (tx, rx) = bounded(1);
        tx.try_send(0).unwrap();
        let (tx2, rx2) = (tx.clone(), rx.clone());
        let sender = thread::spawn(move || tx2.send_blocking(1).is_ok());
        let receiver = thread::spawn(move || rx2.recv_blocking());
        tx.close();
        let sent = sender.join().unwrap();
        let mut got: Vec<i32> = receiver.join().unwrap().into_iter().collect();
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        got.sort_unstable();
        let expected: Vec<i32> = if sent { vec![0, 1] } else { vec![0] };
        assert_eq!(got, expected);
    });
}

/// Two receivers wait; one of them drops its pending future while a
/// notification may be on its way to it; the message must still reach the
/// other.
#[test]
fn cancelled_recv_hands_on_its_wake_up() {
    model(1, || {
        let (tx, rx) = bounded::<u8>(1);
        let rx2 = rx.clone();
        let canceller = thread::spawn(move || {
            let mut fut = rx2.recv();
            let first = poll_into_line(&mut fut);
            drop(fut);
            // If it got the message on the first poll, it is the receiver.
            match first {
                Poll::Ready(v) => v.ok(),
                Poll::Pending => None,
            }
        });
        let tx2 = tx.clone();
        let sender = thread::spawn(move || tx2.send_blocking(7).unwrap());
        let cancelled_got = canceller.join().unwrap();
        sender.join().unwrap();
        if cancelled_got.is_none() {
            assert_eq!(rx.recv_blocking(), Ok(7));
        }
        drop(tx);
        assert_eq!(rx.recv_blocking(), Err(RecvError));
    });
}

/// A sender parked on a full ring drops its pending send while a pop's
/// wake-up may be on its way to it; the other parked sender must still get
/// through.
#[test]
fn cancelled_send_hands_on_its_wake_up() {
    model(1, || {
        let (tx, rx) = bounded::<u8>(1);
        tx.try_send(0).unwrap();
        let tx2 = tx.clone();
        let canceller = thread::spawn(move || {
            let mut fut = tx2.send(1);
            let first = poll_into_line(&mut fut);
            drop(fut);
            first.is_ready()
        });
        let tx3 = tx.clone();
        let sender = thread::spawn(move || tx3.send_blocking(2).unwrap());
        assert_eq!(rx.recv_blocking(), Ok(0));
        // The canceller never blocks; once it is done, exactly the messages
        // of the sends that completed must arrive (the parked sender's `2`
        // needs the wake-up the canceller may have taken).
        let cancelled_sent = canceller.join().unwrap();
        let mut rest = vec![rx.recv_blocking().unwrap()];
        if cancelled_sent {
            rest.push(rx.recv_blocking().unwrap());
        }
        sender.join().unwrap();
        drop(tx);
        assert_eq!(rx.recv_blocking(), Err(RecvError));
        rest.sort_unstable();
        assert_eq!(rest, if cancelled_sent { vec![1, 2] } else { vec![2] });
    });
}

/// A send waiting in its line's first place (notify.rs, `First`) is
/// dropped while a pop's wake-up may be on its way to it; the sender waiting
/// behind it, in the event's line, must get that wake-up passed on.
#[test]
fn cancelled_first_place_passes_its_wake_up_to_the_event_line() {
    model(2, || {
        let (tx, rx) = bounded::<u8>(1);
        tx.try_send(0).unwrap();
        let mut first = tx.send(1);
        assert!(poll_into_line(&mut first).is_pending());
        let tx2 = tx.clone();
        let sender = thread::spawn(move || tx2.send_blocking(2).unwrap());
        let rx2 = rx.clone();
        let popper = thread::spawn(move || rx2.recv_blocking());
        drop(first);
        assert_eq!(popper.join().unwrap(), Ok(0));
        assert_eq!(rx.recv_blocking(), Ok(2));
        sender.join().unwrap();
        drop(tx);
        assert_eq!(rx.recv_blocking(), Err(RecvError));
    });
}

/// A receiver that leaves the line (its re-check found the message) and
/// joins it again at once, while the sender's wake-up for that message is
/// still on its way: the sender's claim then takes the new wait's count,
/// and must see the receiver waiting (else it wakes nobody, the sender's
/// next message finds the count at zero, and the receiver sleeps forever:
/// this model deadlocked while the claim was Relaxed).
#[test]
fn a_claim_that_takes_a_new_waits_count_wakes_that_wait() {
    model(3, || {
        let (tx, rx) = bounded::<u8>(1);
        tx.try_send(0).unwrap();
        let tx2 = tx.clone();
        let sender = thread::spawn(move || {
            tx2.send_blocking(1).unwrap();
            tx2.send_blocking(2).unwrap();
        });
        let got: Vec<u8> = (0..3).map(|_| rx.recv_blocking().unwrap()).collect();
        sender.join().unwrap();
        assert_eq!(got, [0, 1, 2]);
    });
}

/// `force_send` races `recv` on a full ring of one: the oldest message goes
/// to exactly one of them and the new one stays for the next `recv`.
#[test]
fn force_send_races_recv() {
    model(3, || {
        let (tx, rx) = bounded(1);
        tx.try_send(0).unwrap();
        let forcer = thread::spawn(move || tx.force_send(1).unwrap());
        let first = rx.recv_blocking().unwrap();
        let replaced = forcer.join().unwrap();
        let rest: Vec<i32> = std::iter::from_fn(|| rx.recv_blocking().ok()).collect();
        let mut seen: Vec<i32> = replaced.into_iter().chain([first]).chain(rest).collect();
        seen.sort_unstable();
        assert_eq!(seen, [0, 1]);
    });
}

/// `WeakSender::upgrade` races the drop of the last sender: either the
/// upgrade wins (and its message is delivered before the channel closes) or
/// it fails; the receiver always ends with `RecvError`.
#[test]
fn weak_upgrade_races_last_drop() {
    model(3, || {
        let (tx, rx) = bounded(1);
        let weak = tx.downgrade();
        let upgrader = thread::spawn(move || match weak.upgrade() {
            Some(tx) => tx.try_send(1).is_ok(),
            None => false,
        });
        drop(tx);
        let sent = upgrader.join().unwrap();
        if sent {
            assert_eq!(rx.recv_blocking(), Ok(1));
        }
        assert_eq!(rx.recv_blocking(), Err(RecvError));
    });
}

/// A `closed()` future waits on an open channel while the last receiver
/// goes: the close must wake it. Catches a close that wakes the send,
/// receive and stream lines but not the line of `closed()` futures.
#[test]
fn closed_wakes_when_the_last_receiver_goes() {
    model(3, || {
        let (tx, rx) = bounded::<u8>(1);
        let waiter = thread::spawn(move || loom::future::block_on(tx.closed()));
        drop(rx);
        waiter.join().unwrap();
    });
}

/// A receiver waits as a `Stream` on an empty channel while a message is
/// pushed: the push must wake it. Catches a push that wakes one `recv`
/// future only, not the waiting streams.
#[test]
fn a_push_wakes_a_waiting_stream() {
    model(3, || {
        let (tx, mut rx) = bounded::<u8>(1);
        let waiter = thread::spawn(move || {
            loom::future::block_on(std::future::poll_fn(|cx| {
                futures_core::Stream::poll_next(Pin::new(&mut rx), cx)
            }))
        });
        tx.try_send(3).unwrap();
        assert_eq!(waiter.join().unwrap(), Some(3));
    });
}

/// A sender waits on a full ring of one while the receiver takes messages
/// with `recv_many`: the batch pop must wake it. Catches a `recv_many`
/// that frees slots without waking the senders waiting for them.
#[test]
fn recv_many_wakes_a_waiting_sender() {
    model(3, || {
        let (tx, rx) = bounded::<u8>(1);
        tx.try_send(0).unwrap();
        let sender = thread::spawn(move || tx.send_blocking(1).unwrap());
        let mut got = Vec::new();
        while got.len() < 2 {
            loom::future::block_on(rx.recv_many(&mut got, 4)).unwrap();
        }
        assert_eq!(got, [0, 1]);
        sender.join().unwrap();
    });
}

/// A receiver waits on an empty channel while `send_many` pushes: the
/// batch push must wake it. Catches a `send_many` that fills slots without
/// waking the receivers waiting for them.
#[test]
fn send_many_wakes_a_waiting_receiver() {
    model(3, || {
        let (tx, rx) = bounded::<u8>(2);
        let receiver = thread::spawn(move || rx.recv_blocking());
        let mut msgs = vec![4];
        loom::future::block_on(tx.send_many(&mut msgs)).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(4));
    });
}

/// A receiver waits on an empty ring while `force_send` pushes into it
/// (there is room: nothing is replaced): the push must wake it, as a
/// plain send's does. Catches a `force_send` that skips the wake-up.
#[test]
fn force_send_wakes_a_waiting_receiver() {
    model(3, || {
        let (tx, rx) = bounded::<u8>(1);
        let receiver = thread::spawn(move || rx.recv_blocking());
        assert_eq!(tx.force_send(5), Ok(None));
        assert_eq!(receiver.join().unwrap(), Ok(5));
    });
}

/// A `recv` future in line is woken for a message that another receiver's
/// `try_recv` takes first, so its try fails; the next message must still
/// wake it. Catches a task in line that tries without looking at its
/// place first: the wake-up it was sent is never used up, its waker is
/// not left for the next one, and it sleeps through the second message.
#[test]
fn a_task_woken_for_a_stolen_message_waits_for_the_next() {
    model(2, || {
        let (tx, rx) = bounded::<u8>(1);
        let rx2 = rx.clone();
        let waiter = thread::spawn(move || loom::future::block_on(rx2.recv()).unwrap());
        tx.try_send(1).unwrap();
        let stolen = rx.try_recv().ok();
        tx.send_blocking(2).unwrap();
        let got = waiter.join().unwrap();
        match stolen {
            Some(1) => assert_eq!(got, 2),
            None => {
                assert_eq!(got, 1);
                assert_eq!(rx.try_recv(), Ok(2));
            }
            other => panic!("stole {other:?}"),
        }
    });
}
