//! Wakers that use the very channel their task waits on, from their
//! `clone`, `wake` or `drop`: sending, closing, dropping the last handle.
//! The channel runs wakers' code only outside its locks, so none of this
//! may deadlock, wherever the task waits: in a line's first place, or
//! behind it (the waiters behind the first wait in event-listener's list,
//! which runs its wakers' code under its own lock; the channel hands it
//! wakers of its own instead). Every test runs under a thread watchdog.

mod common;

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};

use common::{panicky, poll_once, watchdog, WakeCount};
use ringchan::{bounded, unbounded, Receiver, Recv, RecvError, Sender};

/// A channel constructor; the unbounded one ignores the capacity.
type Make = fn(usize) -> (Sender<u32>, Receiver<u32>);

/// Both flavours, with room for two messages.
const CHANNELS: [(&str, Make); 2] = [("bounded", bounded::<u32>), ("unbounded", |_| unbounded())];

/// A waker whose `wake` (by value or by reference) runs an action, once,
/// and whose last clone's `drop` runs another, once.
#[derive(Default)]
struct Rigged {
    on_wake: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    on_drop: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Rigged {
    fn on_wake(action: impl FnOnce() + Send + 'static) -> Waker {
        let rigged = Rigged::default();
        *rigged.on_wake.lock().unwrap() = Some(Box::new(action));
        Waker::from(Arc::new(rigged))
    }

    fn on_drop(action: impl FnOnce() + Send + 'static) -> Waker {
        let rigged = Rigged::default();
        *rigged.on_drop.lock().unwrap() = Some(Box::new(action));
        Waker::from(Arc::new(rigged))
    }
}

impl Wake for Rigged {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let action = self.on_wake.lock().unwrap().take();
        if let Some(action) = action {
            action();
        }
    }
}

impl Drop for Rigged {
    fn drop(&mut self) {
        if let Some(action) = self.on_drop.get_mut().unwrap().take() {
            action();
        }
    }
}

/// A channel with room for two and two receivers: the first to wait
/// takes the line's first place, the second waits behind it.
fn two_receivers(make: Make) -> (Sender<u32>, Receiver<u32>, Receiver<u32>) {
    let (tx, rx) = make(2);
    (tx, rx.clone(), rx)
}

/// Polls a receive until it waits in line, its last poll with `waker`. A
/// receive's first failure only yields (outside a multi-thread runtime,
/// a waiting task gives the other side a turn first), so the second poll
/// joins the line.
fn wait_in_line<F: Future>(mut fut: Pin<&mut F>, waker: &Waker) {
    assert!(poll_once(fut.as_mut(), Waker::noop()).is_pending());
    assert!(poll_once(fut.as_mut(), waker).is_pending());
}

/// A scenario of [`with_two_receivers`]: the channel's name, its sender,
/// and the two receive futures.
type Scenario = fn(&str, Sender<u32>, Pin<&mut Recv<'_, u32>>, Pin<&mut Recv<'_, u32>>);

/// Runs `scenario` on each flavour, under a watchdog, with the channel's
/// sender and two receive futures: the first waiting in the line's first
/// place, the second not polled yet.
fn with_two_receivers(scenario: Scenario) {
    for (name, make) in CHANNELS {
        watchdog(name, move || {
            let (tx, rx1, rx2) = two_receivers(make);
            let mut first = pin!(rx1.recv());
            let second = pin!(rx2.recv());
            wait_in_line(first.as_mut(), Waker::noop());
            scenario(name, tx, first, second);
        });
    }
}

#[test]
fn a_waker_behind_the_first_that_closes_the_channel_as_it_is_woken() {
    with_two_receivers(|name, tx, first, mut second| {
        let closer = tx.clone();
        let waker = Rigged::on_wake(move || {
            closer.close();
        });
        wait_in_line(second.as_mut(), &waker);
        // The first message wakes the first place, the second the waiter
        // behind it, whose waker closes the channel.
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(tx.is_closed(), "{name}: the wake-up ran the close");
        assert_eq!(poll_once(first, Waker::noop()), Poll::Ready(Ok(1)));
        assert_eq!(poll_once(second, Waker::noop()), Poll::Ready(Ok(2)));
    });
}

#[test]
fn a_waker_behind_the_first_whose_clone_closes_the_channel() {
    with_two_receivers(|name, tx, first, mut second| {
        wait_in_line(second.as_mut(), Waker::noop());
        // Polled again with a new waker, whose clone closes the channel.
        panicky::arm_quiet(move || {
            tx.close();
        });
        let polled = poll_once(second, &panicky::waker());
        assert!(panicky::fired(), "{name}: the poll cloned the new waker");
        assert_eq!(
            polled,
            Poll::Ready(Err(RecvError)),
            "{name}: closed and empty"
        );
        assert_eq!(poll_once(first, Waker::noop()), Poll::Ready(Err(RecvError)));
    });
}

#[test]
fn a_waker_behind_the_first_that_drops_the_last_sender_when_replaced() {
    with_two_receivers(|name, tx, first, mut second| {
        // The second waiter's waker owns the last sender; polled again
        // with another waker, the old one is dropped, and with it the
        // sender: the channel closes.
        let waker = Rigged::on_drop(move || drop(tx));
        wait_in_line(second.as_mut(), &waker);
        drop(waker);
        assert_eq!(
            poll_once(second, Waker::noop()),
            Poll::Ready(Err(RecvError)),
            "{name}: the replaced waker's drop closed the channel"
        );
        assert_eq!(poll_once(first, Waker::noop()), Poll::Ready(Err(RecvError)));
    });
}

/// A waker whose `wake` panics.
struct PanicOnWake;

impl Wake for PanicOnWake {
    fn wake(self: Arc<Self>) {
        panic!("a waker's wake panicked");
    }
}

#[test]
fn a_waker_that_panics_as_it_is_woken_loses_no_wake_up_behind_it() {
    for (name, make) in CHANNELS {
        watchdog(name, move || {
            let (tx, rx) = make(2);
            let (rx2, rx3) = (rx.clone(), rx.clone());
            let mut first = pin!(rx.recv());
            let mut second = pin!(rx2.recv());
            let mut third = pin!(rx3.recv());
            let count = Arc::new(WakeCount::default());
            wait_in_line(first.as_mut(), Waker::noop());
            wait_in_line(second.as_mut(), &Waker::from(Arc::new(PanicOnWake)));
            wait_in_line(third.as_mut(), &Waker::from(count.clone()));
            // The close wakes all three, the second's waker panicking on a
            // thread that then ends: the third's wake-up must not be lost.
            let closed = std::thread::spawn(move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.close()))
            })
            .join()
            .unwrap();
            assert!(
                closed.is_err(),
                "{name}: the waker's panic reaches the close"
            );
            assert_eq!(count.count(), 1, "{name}: the third's wake-up");
            for fut in [first, second, third] {
                assert_eq!(poll_once(fut, Waker::noop()), Poll::Ready(Err(RecvError)));
            }
        });
    }
}

std::thread_local! {
    /// A sender that a thread's teardown drops.
    static HELD: std::cell::RefCell<Option<Sender<u32>>> = const { std::cell::RefCell::new(None) };
}

// Its wakers must be 'static, so it leaks its receivers, which Miri
// reports; it is about a native thread's teardown anyway.
#[cfg_attr(miri, ignore = "leaks its receivers on purpose")]
#[test]
fn a_thread_being_torn_down_that_closes_a_channel_does_not_deadlock() {
    // A thread's thread-local holds a channel's last sender, and is
    // destroyed after the channel's list of deferred wake-ups (the later
    // thread-local, destroyed first): the close then defers the wake-ups
    // of that thread's teardown. The second waiter's waker drops the third
    // waiter's future (an executor that is gone), which uses event-
    // listener's lock: run under the notify, it would deadlock.
    for (name, make) in CHANNELS {
        watchdog(name, move || {
            let leak = |rx: Receiver<u32>| -> &'static Receiver<u32> { Box::leak(Box::new(rx)) };
            let (tx, rx) = make(2);
            let (r1, r2, r3) = (leak(rx.clone()), leak(rx.clone()), leak(rx));
            let mut first = Box::pin(r1.recv());
            let mut second = Box::pin(r2.recv());
            let third = Arc::new(Mutex::new(Some(Box::pin(r3.recv()))));
            wait_in_line(first.as_mut(), Waker::noop());
            let dropper = third.clone();
            let waker = Rigged::on_wake(move || drop(dropper.lock().unwrap().take()));
            wait_in_line(second.as_mut(), &waker);
            let mut third_fut = third.lock().unwrap().take().unwrap();
            wait_in_line(third_fut.as_mut(), Waker::noop());
            *third.lock().unwrap() = Some(third_fut);
            // Another channel, whose close makes the thread set up its
            // list of deferred wake-ups after `HELD`.
            let (other_tx, other_rx) = make(2);
            let (o1, o2) = (leak(other_rx.clone()), leak(other_rx));
            let mut o_first = Box::pin(o1.recv());
            let mut o_second = Box::pin(o2.recv());
            wait_in_line(o_first.as_mut(), Waker::noop());
            wait_in_line(o_second.as_mut(), Waker::noop());
            std::thread::spawn(move || {
                HELD.with(|held| *held.borrow_mut() = Some(tx));
                other_tx.close();
            })
            .join()
            .unwrap();
            assert_eq!(
                poll_once(first.as_mut(), Waker::noop()),
                Poll::Ready(Err(RecvError)),
                "{name}"
            );
            assert_eq!(
                poll_once(second.as_mut(), Waker::noop()),
                Poll::Ready(Err(RecvError))
            );
            assert!(
                third.lock().unwrap().is_none(),
                "{name}: the second's wake-up ran"
            );
        });
    }
}

/// Runs `f`, which must panic with a waker's panic (the channel raises it
/// once every other wake-up has gone out).
fn panics_through(name: &str, f: impl FnOnce()) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    assert!(
        result.is_err(),
        "{name}: the waker's panic reaches the caller"
    );
}

/// Runs `act` on each flavour (capacity 4) with two receive futures
/// waiting: the first in its line's first place, with a waker that panics,
/// the second behind it. `act` wakes both: the panic must reach it, and
/// the second must be woken all the same. Then `check` gets what the two
/// futures give when polled.
fn behind_a_panicking_first(act: fn(&Sender<u32>), check: fn(&str, [RecvPoll; 2])) {
    for (name, make) in CHANNELS {
        watchdog(name, move || {
            let (tx, rx) = make(4);
            let rx2 = rx.clone();
            let mut first = pin!(rx.recv());
            let mut second = pin!(rx2.recv());
            let count = Arc::new(WakeCount::default());
            wait_in_line(first.as_mut(), &Waker::from(Arc::new(PanicOnWake)));
            wait_in_line(second.as_mut(), &Waker::from(count.clone()));
            panics_through(name, || act(&tx));
            assert_eq!(count.count(), 1, "{name}: the second's wake-up");
            check(
                name,
                [first, second].map(|fut| poll_once(fut, Waker::noop())),
            );
        });
    }
}

/// What a receive future gives when polled.
type RecvPoll = Poll<Result<u32, RecvError>>;

#[test]
fn a_first_place_waker_that_panics_on_a_close_loses_no_wake_up_behind_it() {
    behind_a_panicking_first(
        |tx| {
            tx.close();
        },
        |name, got| assert_eq!(got, [Poll::Ready(Err(RecvError)); 2], "{name}"),
    );
}

#[test]
fn a_first_place_waker_that_panics_on_a_batch_loses_no_wake_up_behind_it() {
    behind_a_panicking_first(
        // Two messages claim both waiters: the first's wake panics.
        |tx| {
            let mut batch = vec![1, 2];
            let sent = tx.try_send_many(&mut batch);
            unreachable!("the batch's wake-up did not panic: {sent:?}");
        },
        |name, got| assert_eq!(got, [Poll::Ready(Ok(1)), Poll::Ready(Ok(2))], "{name}"),
    );
}

#[test]
fn a_waker_that_panics_on_a_close_stops_no_other_line() {
    // The panicking waker in the receivers' first place, or behind it; a
    // `closed()` future waits in another line and must be woken either way.
    for behind in [false, true] {
        for (name, make) in CHANNELS {
            watchdog(name, move || {
                let (tx, rx) = make(2);
                let rx2 = rx.clone();
                let mut first = pin!(rx.recv());
                let mut second = pin!(rx2.recv());
                let panicky = Waker::from(Arc::new(PanicOnWake));
                let (w1, w2) = if behind {
                    (Waker::noop(), &panicky)
                } else {
                    (&panicky, Waker::noop())
                };
                wait_in_line(first.as_mut(), w1);
                wait_in_line(second.as_mut(), w2);
                let mut closed = pin!(tx.closed());
                let count = Arc::new(WakeCount::default());
                assert!(poll_once(closed.as_mut(), &Waker::from(count.clone())).is_pending());
                panics_through(name, || {
                    rx.close();
                });
                assert_eq!(
                    count.count(),
                    1,
                    "{name} (behind: {behind}): closed() woken"
                );
                assert_eq!(poll_once(closed, Waker::noop()), Poll::Ready(()));
            });
        }
    }
}

#[test]
fn a_waker_that_panics_as_a_push_wakes_it_stops_no_waiting_stream() {
    // A `recv` future whose waker panics, in the first place or behind
    // it, and a stream waiting beside it: the push wakes both lines.
    for behind in [false, true] {
        for (name, make) in CHANNELS {
            watchdog(name, move || {
                use futures_core::Stream;
                let (tx, rx) = make(2);
                let rx2 = rx.clone();
                let mut stream = rx.clone();
                let mut first = pin!(rx.recv());
                let mut second = pin!(rx2.recv());
                let panicky = Waker::from(Arc::new(PanicOnWake));
                if behind {
                    wait_in_line(first.as_mut(), Waker::noop());
                    wait_in_line(second.as_mut(), &panicky);
                } else {
                    wait_in_line(first.as_mut(), &panicky);
                }
                let count = Arc::new(WakeCount::default());
                let streaming = Waker::from(count.clone());
                let mut poll_stream = |waker: &Waker| {
                    Pin::new(&mut stream).poll_next(&mut std::task::Context::from_waker(waker))
                };
                assert!(poll_stream(Waker::noop()).is_pending());
                assert!(poll_stream(&streaming).is_pending());
                // One batch: one notification of each line.
                panics_through(name, || {
                    let _ = tx.try_send_many(&mut vec![1, 2]);
                });
                assert_eq!(
                    count.count(),
                    1,
                    "{name} (behind: {behind}): the stream's wake-up"
                );
                assert_eq!(poll_stream(Waker::noop()), Poll::Ready(Some(1)));
            });
        }
    }
}
