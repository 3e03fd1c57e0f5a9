//! Faults and bad input: payloads whose `Drop` panics, consumers that panic,
//! runtimes dropped with tasks parked on the channel, handles dropped from
//! inside a payload's `Drop`, and every misuse the API allows.
//!
//! The invariant throughout: the channel stays usable for everyone else, a
//! panic reaches the code that caused it, every payload is dropped exactly
//! once and nothing outlives the channel. Anything that could hang runs under
//! a watchdog, so a deadlock fails the test instead of stalling the run.
//!
//! Capacity 0 and capacities too large to allocate are pinned in
//! `tests/bad_capacity.rs`, a binary of their own so that an abort there
//! cannot take these tests down with it.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use common::{current_thread_rt, multi_thread_rt, panicky, poll_once, watchdog};
use futures::executor::block_on;
use futures::StreamExt;
use ringchan::{
    bounded, unbounded, Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError,
};

// ------------------------------------------------------------- helpers

/// A channel constructor; unbounded flavours ignore the capacity.
type Make<T> = fn(usize) -> (Sender<T>, Receiver<T>);

/// The channels a fault is tried on: `bounded(cap)` for each capacity, and
/// `unbounded()`.
fn channels<T>(capacities: &[usize]) -> Vec<(String, Make<T>, usize)> {
    let mut out: Vec<(String, Make<T>, usize)> = capacities
        .iter()
        .map(|&cap| (format!("bounded({cap})"), bounded::<T> as Make<T>, cap))
        .collect();
    out.push(("unbounded()".to_owned(), |_| unbounded::<T>(), 0));
    out
}

/// Counts drops per payload id.
struct Drops(Box<[AtomicU32]>);

impl Drops {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Drops((0..n).map(|_| AtomicU32::new(0)).collect()))
    }

    fn of(&self, id: usize) -> u32 {
        self.0[id].load(Relaxed)
    }

    /// Asserts every id in `ids` was dropped exactly once.
    fn assert_once(&self, ids: impl IntoIterator<Item = usize>) {
        for id in ids {
            assert_eq!(self.of(id), 1, "payload {id} dropped {} times", self.of(id));
        }
    }
}

/// A drop-counted payload; one of them may panic in `Drop`.
struct Payload {
    id: usize,
    drops: Arc<Drops>,
    panic_on_drop: bool,
}

impl Payload {
    fn new(drops: &Arc<Drops>, id: usize) -> Self {
        Payload {
            id,
            drops: Arc::clone(drops),
            panic_on_drop: false,
        }
    }

    fn panicking(drops: &Arc<Drops>, id: usize) -> Self {
        let mut p = Payload::new(drops, id);
        p.panic_on_drop = true;
        p
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        self.drops.0[self.id].fetch_add(1, Relaxed);
        // Never while unwinding: that would abort the test binary.
        if self.panic_on_drop && !thread::panicking() {
            panic!("payload {} panicked in drop", self.id);
        }
    }
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// Runs `f` and returns the message it panicked with; fails if it returned.
fn expect_panic<R>(what: &str, f: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("{what}: expected a panic, but it returned"),
        Err(payload) => panic_message(&*payload),
    }
}

/// A waker that remembers whether it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Relaxed);
    }
}

impl Flag {
    fn waker() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag::default());
        (Arc::clone(&flag), Waker::from(flag))
    }

    fn woken(&self) -> bool {
        self.0.load(Relaxed)
    }
}

// ------------------------------------------------------------- panicking Drop

/// The last handle drops the buffered payloads; one of them panics. The panic
/// comes out of that `drop` call, and every other payload is still dropped
/// exactly once (nothing leaks behind the panic).
#[test]
fn panicking_drop_among_leftovers_propagates_and_drops_the_rest() {
    // Enough leftovers that the unbounded list spans several blocks.
    let n = 100;
    let cases = (0..2)
        .flat_map(|last| [0, 1, n / 2, n - 1].map(|bad| (last == 0, bad)))
        .flat_map(|(sender_last, bad)| {
            channels::<Payload>(&[n])
                .into_iter()
                .map(move |(name, make, cap)| (name, make, cap, sender_last, bad))
        });
    for (name, make, cap, sender_last, bad) in cases {
        {
            let drops = Drops::new(n);
            let (tx, rx) = make(cap);
            for id in 0..n {
                let p = if id == bad {
                    Payload::panicking(&drops, id)
                } else {
                    Payload::new(&drops, id)
                };
                tx.try_send(p).expect("room for every payload");
            }
            let (first, last): (Box<dyn Send>, Box<dyn Send>) = if sender_last {
                (Box::new(rx), Box::new(tx))
            } else {
                (Box::new(tx), Box::new(rx))
            };
            drop(first);
            assert_eq!(drops.of(bad), 0, "{name}: dropped while a handle lives");
            let msg = expect_panic(&name, move || drop(last));
            assert_eq!(msg, format!("payload {bad} panicked in drop"), "{name}");
            for id in 0..n {
                assert_eq!(
                    drops.of(id),
                    1,
                    "{name}, payload {bad} panicking, sender dropped last: {sender_last}: \
                     payload {id} dropped {} times",
                    drops.of(id)
                );
            }
            assert_eq!(
                Arc::strong_count(&drops),
                1,
                "{name}: a payload outlived the channel"
            );
        }
    }
}

/// A parked `send` whose payload panics when the future is dropped: the
/// panic reaches whoever dropped the future, the wake-up that future had been
/// given is passed on to the next parked sender, and the channel keeps
/// working.
#[test]
fn cancelled_send_with_panicking_payload_passes_its_wakeup_on() {
    let drops = Drops::new(4);
    let (tx, rx) = bounded(1);
    tx.try_send(Payload::new(&drops, 0)).unwrap();

    let (_, waker_a) = Flag::waker();
    let mut a = Box::pin(tx.send(Payload::panicking(&drops, 1)));
    assert!(poll_once(a.as_mut(), &waker_a).is_pending());

    let (woken_b, waker_b) = Flag::waker();
    let mut b = Box::pin(tx.send(Payload::new(&drops, 2)));
    assert!(poll_once(b.as_mut(), &waker_b).is_pending());

    // Room for one: the wake-up goes to a parked sender.
    assert_eq!(rx.try_recv().map(|p| p.id).ok(), Some(0));
    let msg = expect_panic("dropping the cancelled send", move || drop(a));
    assert_eq!(msg, "payload 1 panicked in drop");
    assert!(
        woken_b.woken(),
        "the other parked sender was never woken: the cancelled send kept the wake-up"
    );
    assert!(matches!(
        poll_once(b.as_mut(), &waker_b),
        Poll::Ready(Ok(()))
    ));
    drop(b);

    assert_eq!(rx.try_recv().map(|p| p.id).ok(), Some(2));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    tx.try_send(Payload::new(&drops, 3))
        .expect("usable after the panic");
    assert_eq!(rx.try_recv().map(|p| p.id).ok(), Some(3));
    drops.assert_once(0..4);
    drop((tx, rx));
    assert_eq!(Arc::strong_count(&drops), 1);
}

/// Panicking payloads handed back by `force_send` and by a send into a closed
/// channel panic where the caller drops them, not inside the channel.
#[test]
fn panicking_payload_handed_back_panics_in_the_caller() {
    let drops = Drops::new(4);
    let (tx, rx) = bounded(1);
    tx.try_send(Payload::panicking(&drops, 0)).unwrap();
    let old = tx
        .force_send(Payload::new(&drops, 1))
        .expect("open")
        .expect("full, so force_send displaces the oldest");
    assert_eq!((old.id, drops.of(0)), (0, 0));
    assert_eq!(
        expect_panic("drop displaced", move || drop(old)),
        "payload 0 panicked in drop"
    );
    assert_eq!(rx.len(), 1);

    rx.close();
    let back = match tx.try_send(Payload::panicking(&drops, 2)) {
        Err(TrySendError::Closed(back)) => back,
        _ => panic!("try_send into a closed channel must hand the message back"),
    };
    assert_eq!(
        expect_panic("drop handed back", move || drop(back)),
        "payload 2 panicked in drop"
    );
    let err = tx
        .send_blocking(Payload::panicking(&drops, 3))
        .expect_err("closed");
    assert_eq!(
        expect_panic("drop SendError", move || drop(err)),
        "payload 3 panicked in drop"
    );

    // The receiver still drains what was buffered before the close.
    assert_eq!(rx.try_recv().map(|p| p.id).ok(), Some(1));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Closed)));
    drops.assert_once(0..4);
    drop((tx, rx));
    assert_eq!(Arc::strong_count(&drops), 1);
}

// ------------------------------------------------------------- panicking consumers

/// Two of six consumer tasks panic mid-stream: one while holding a received
/// message (dropped during unwinding), one while its `recv` is pending inside
/// `select!` (the future is dropped during unwinding). The others keep going
/// and every message is received exactly once.
#[test]
fn consumer_task_panics_mid_stream_others_keep_going() {
    const PRODUCERS: usize = 3;
    let per_producer = if cfg!(miri) { 10 } else { 2000 };
    let total = PRODUCERS * per_producer;
    for (name, make, capacity) in channels::<Payload>(&[1, 7, 64]) {
        watchdog(
            &format!("consumer_task_panics_mid_stream {name}"),
            move || {
                let drops = Drops::new(total);
                let seen = Arc::new(Mutex::new(Vec::new()));
                let (tx, rx) = make(capacity);
                let rt = multi_thread_rt();
                let mut consumers = Vec::new();
                for c in 0..6 {
                    let (rx, seen) = (rx.clone(), Arc::clone(&seen));
                    consumers.push(rt.spawn(async move {
                        let mut mine = 0;
                        loop {
                            let got = if c == 1 && mine >= 2 {
                                // Poll a fresh recv once; if it parks, panic with
                                // it pending (it is dropped while unwinding).
                                let mut recv = pin!(rx.recv());
                                match futures::poll!(recv.as_mut()) {
                                    Poll::Pending => {
                                        panic!("consumer 1 panics with a recv pending")
                                    }
                                    Poll::Ready(r) => r,
                                }
                            } else {
                                rx.recv().await
                            };
                            let Ok(p) = got else {
                                if c < 2 {
                                    panic!("consumer {c} panics after the close");
                                }
                                break;
                            };
                            seen.lock().unwrap().push(p.id);
                            mine += 1;
                            if c == 0 && mine == 10 {
                                panic!("consumer 0 panics holding payload {}", p.id);
                            }
                        }
                    }));
                }
                drop(rx);
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let (tx, drops) = (tx.clone(), Arc::clone(&drops));
                        rt.spawn(async move {
                            for i in 0..per_producer {
                                let payload = Payload::new(&drops, p * per_producer + i);
                                tx.send(payload).await.expect("receivers remain");
                            }
                        })
                    })
                    .collect();
                drop(tx);
                rt.block_on(async {
                    for p in producers {
                        p.await.expect("producer");
                    }
                    for (c, h) in consumers.into_iter().enumerate() {
                        match (c, h.await) {
                            (0 | 1, Err(e)) if e.is_panic() => {
                                let msg = panic_message(&*e.into_panic());
                                assert!(msg.starts_with(&format!("consumer {c} panics")), "{msg}");
                            }
                            (0 | 1, other) => {
                                panic!("consumer {c} should have panicked: {other:?}")
                            }
                            (_, r) => r.expect("a healthy consumer"),
                        }
                    }
                });
                drop(rt);
                let mut seen = Arc::try_unwrap(seen).unwrap().into_inner().unwrap();
                seen.sort_unstable();
                assert_eq!(seen, (0..total).collect::<Vec<_>>(), "lost or duplicated");
                drops.assert_once(0..total);
                assert_eq!(Arc::strong_count(&drops), 1);
            },
        );
    }
}

/// The same with blocking consumers on plain threads.
#[test]
fn consumer_thread_panics_mid_stream_others_keep_going() {
    let total = if cfg!(miri) { 20 } else { 5000 };
    for (name, make, cap) in channels::<Payload>(&[3]) {
        watchdog(
            &format!("consumer_thread_panics_mid_stream {name}"),
            move || {
                let drops = Drops::new(total);
                let seen = Arc::new(Mutex::new(Vec::new()));
                let (tx, rx) = make(cap);
                let consumers: Vec<_> = (0..4)
                    .map(|c| {
                        let (rx, seen) = (rx.clone(), Arc::clone(&seen));
                        thread::spawn(move || {
                            let mut mine = 0;
                            while let Ok(p) = rx.recv_blocking() {
                                seen.lock().unwrap().push(p.id);
                                mine += 1;
                                if c == 0 && mine == 3 {
                                    panic!("consumer 0 panics holding payload {}", p.id);
                                }
                            }
                            if c == 0 {
                                panic!("consumer 0 panics after the close");
                            }
                        })
                    })
                    .collect();
                drop(rx);
                for id in 0..total {
                    tx.send_blocking(Payload::new(&drops, id))
                        .expect("receivers remain");
                }
                drop(tx);
                for (c, h) in consumers.into_iter().enumerate() {
                    match h.join() {
                        Err(e) if c == 0 => {
                            assert!(panic_message(&*e).starts_with("consumer 0 panics"))
                        }
                        Ok(()) if c != 0 => {}
                        r => panic!(
                            "consumer {c}: unexpected outcome (panicked: {})",
                            r.is_err()
                        ),
                    }
                }
                let mut seen = Arc::try_unwrap(seen).unwrap().into_inner().unwrap();
                seen.sort_unstable();
                assert_eq!(seen, (0..total).collect::<Vec<_>>(), "lost or duplicated");
                drops.assert_once(0..total);
            },
        );
    }
}

// ------------------------------------------------------------- panicking wakers

/// A waiter whose waker's `clone` panics as it takes its line's first place:
/// the panic reaches its poll, and the place is free for the next waiter,
/// whom the next send wakes.
#[test]
fn a_waker_clone_panicking_as_it_joins_leaves_the_line_working() {
    watchdog("a_waker_clone_panicking_as_it_joins", || {
        let (tx, rx) = bounded::<u32>(1);
        {
            let panicky = panicky::waker();
            let mut first = pin!(rx.recv());
            // Yields once, then joins the line on the next poll.
            assert!(poll_once(first.as_mut(), &panicky).is_pending());
            panicky::arm(|| {});
            let msg = expect_panic("the joining poll", || poll_once(first.as_mut(), &panicky));
            assert_eq!(msg, panicky::MESSAGE);
        }
        let (flag, waker) = Flag::waker();
        let mut next = pin!(rx.recv());
        assert!(poll_once(next.as_mut(), &waker).is_pending());
        assert!(poll_once(next.as_mut(), &waker).is_pending());
        flag.0.store(false, Relaxed); // its yield woke it
        tx.try_send(7).unwrap();
        assert!(flag.woken(), "the waiter after the panic was not woken");
        assert_eq!(poll_once(next.as_mut(), &waker), Poll::Ready(Ok(7)));
    });
}

/// A waiter in the first place is polled with a new waker whose `clone`
/// panics after sending a message (so a notifier finds the place busy and
/// marks it). The wake-up is not lost: polled again, the waiter takes the
/// message; dropped instead, it passes the wake-up to the waiter behind it.
#[test]
fn a_waker_clone_panicking_while_notified_keeps_the_wake_up() {
    for drop_first in [false, true] {
        watchdog("a_waker_clone_panicking_while_notified", move || {
            let (tx, rx) = bounded::<u32>(1);
            let (_, first_waker) = Flag::waker();
            let mut first = Box::pin(rx.recv());
            assert!(poll_once(first.as_mut(), &first_waker).is_pending());
            assert!(poll_once(first.as_mut(), &first_waker).is_pending());
            let (flag, waker) = Flag::waker();
            let mut behind = pin!(rx.recv());
            assert!(poll_once(behind.as_mut(), &waker).is_pending());
            assert!(poll_once(behind.as_mut(), &waker).is_pending());
            flag.0.store(false, Relaxed); // its yield woke it

            let sender = tx.clone();
            panicky::arm(move || sender.try_send(1).unwrap());
            let msg = expect_panic("the re-poll", || {
                poll_once(first.as_mut(), &panicky::waker())
            });
            assert_eq!(msg, panicky::MESSAGE);
            assert_eq!(rx.len(), 1);
            if drop_first {
                drop(first);
                assert!(flag.woken(), "the wake-up was not passed on");
                assert_eq!(poll_once(behind.as_mut(), &waker), Poll::Ready(Ok(1)));
            } else {
                assert_eq!(poll_once(first.as_mut(), &first_waker), Poll::Ready(Ok(1)));
                assert!(!flag.woken(), "the waiter behind was woken for nothing");
            }
            drop(tx);
        });
    }
}

// ------------------------------------------------------------- runtime dropped

/// Tasks parked in `send` (channel full) and in `recv` (channel empty) when
/// their runtime is dropped: their futures are dropped, so their messages
/// and handles are freed, and nothing stale is left behind in the channel:
/// new waiters on both channels are still woken.
#[test]
fn runtime_dropped_with_tasks_parked_leaks_nothing() {
    for multi in [true, false] {
        watchdog("runtime_dropped_with_tasks_parked", move || {
            runtime_dropped_with_tasks_parked(multi)
        });
    }
}

fn runtime_dropped_with_tasks_parked(multi: bool) {
    const PARKED: usize = 4;
    let drops = Drops::new(2 + PARKED + 2);
    let token = Arc::new(());
    let started = Arc::new(AtomicUsize::new(0));
    let (full_tx, full_rx) = bounded(2);
    full_tx.try_send(Payload::new(&drops, 0)).unwrap();
    full_tx.try_send(Payload::new(&drops, 1)).unwrap();
    let (empty_tx, empty_rx) = bounded::<Payload>(2);

    let rt = if multi {
        multi_thread_rt()
    } else {
        current_thread_rt()
    };
    for i in 0..PARKED {
        let (tx, payload) = (full_tx.clone(), Payload::new(&drops, 2 + i));
        let (token2, started2) = (Arc::clone(&token), Arc::clone(&started));
        rt.spawn(async move {
            let _token = token2;
            started2.fetch_add(1, Relaxed);
            let _ = tx.send(payload).await;
            unreachable!("the channel stays full");
        });
        let (rx, token, started) = (empty_rx.clone(), Arc::clone(&token), Arc::clone(&started));
        rt.spawn(async move {
            let _token = token;
            started.fetch_add(1, Relaxed);
            let _ = rx.recv().await;
            unreachable!("the channel stays empty");
        });
    }
    rt.block_on(async {
        while started.load(Relaxed) < 2 * PARKED {
            tokio::task::yield_now().await;
        }
        // Let every task reach its await point.
        tokio::time::sleep(Duration::from_millis(20)).await;
    });
    assert_eq!(full_tx.sender_count(), 1 + PARKED);
    drop(rt);

    assert_eq!(Arc::strong_count(&token), 1, "a task outlived its runtime");
    assert_eq!(full_tx.sender_count(), 1, "a parked task's sender leaked");
    assert_eq!(
        empty_rx.receiver_count(),
        1,
        "a parked task's receiver leaked"
    );
    drops.assert_once(2..2 + PARKED);
    assert_eq!((drops.of(0), drops.of(1), full_rx.len()), (0, 0, 2));

    // New waiters are woken as usual.
    let waiter = {
        let rx = empty_rx.clone();
        thread::spawn(move || rx.recv_blocking().map(|p| p.id))
    };
    thread::sleep(Duration::from_millis(10));
    empty_tx.try_send(Payload::new(&drops, 6)).unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(6));

    let waiter = {
        let (tx, payload) = (full_tx.clone(), Payload::new(&drops, 7));
        thread::spawn(move || tx.send_blocking(payload).is_ok())
    };
    thread::sleep(Duration::from_millis(10));
    assert_eq!(full_rx.try_recv().map(|p| p.id).ok(), Some(0));
    assert!(waiter.join().unwrap());
    assert_eq!(full_rx.try_recv().map(|p| p.id).ok(), Some(1));
    assert_eq!(full_rx.try_recv().map(|p| p.id).ok(), Some(7));

    drop((full_tx, full_rx, empty_tx, empty_rx));
    drops.assert_once(0..2 + PARKED + 2);
    assert_eq!(Arc::strong_count(&drops), 1);
}

// ------------------------------------------------------------- handles dropped in Drop

/// A payload that carries channel handles and drops (or uses) them in its
/// own `Drop`.
struct Carrier {
    id: usize,
    drops: Arc<Drops>,
    tx: Option<Sender<Carrier>>,
    rx: Option<Receiver<Carrier>>,
    /// In `Drop`: `try_send` into, and `try_recv` from, these handles.
    reenter: Option<(Sender<Carrier>, Receiver<Carrier>)>,
    /// What `reenter` observed: (first try_send was Full, try_recv got an id,
    /// second try_send succeeded).
    observed: Option<Arc<Mutex<Vec<String>>>>,
}

impl Carrier {
    fn new(drops: &Arc<Drops>, id: usize) -> Self {
        Carrier {
            id,
            drops: Arc::clone(drops),
            tx: None,
            rx: None,
            reenter: None,
            observed: None,
        }
    }
}

impl Drop for Carrier {
    fn drop(&mut self) {
        self.drops.0[self.id].fetch_add(1, Relaxed);
        drop(self.tx.take());
        drop(self.rx.take());
        if let Some((tx, rx)) = self.reenter.take() {
            let log = self.observed.as_ref().expect("reenter needs observed");
            let mut log = log.lock().unwrap();
            let spare = Carrier::new(&self.drops, self.id + 1);
            log.push(match tx.try_send(spare) {
                Ok(()) => "sent".to_owned(),
                Err(TrySendError::Full(_)) => "full".to_owned(),
                Err(TrySendError::Closed(_)) => "closed".to_owned(),
            });
            log.push(match rx.try_recv() {
                Ok(c) => format!("got {}", c.id),
                Err(e) => format!("{e:?}"),
            });
            let spare = Carrier::new(&self.drops, self.id + 2);
            log.push(match tx.try_send(spare) {
                Ok(()) => "sent".to_owned(),
                Err(e) => format!("{e:?}"),
            });
        }
    }
}

/// The only sender travels in a message; the receiver that gets it drops it,
/// which closes the channel from inside `Carrier::drop` and must wake every
/// other parked receiver.
#[test]
fn last_sender_dropped_inside_a_received_payload_wakes_parked_receivers() {
    for (name, make, cap) in channels::<Carrier>(&[4]) {
        watchdog(
            &format!("last_sender_dropped_inside_a_received_payload {name}"),
            move || {
                let drops = Drops::new(1);
                let (tx, rx) = make(cap);
                let rt = multi_thread_rt();
                let started = Arc::new(AtomicUsize::new(0));
                let receivers: Vec<_> = (0..4)
                    .map(|_| {
                        let (rx, started) = (rx.clone(), Arc::clone(&started));
                        rt.spawn(async move {
                            started.fetch_add(1, Relaxed);
                            rx.recv().await.map(|c| c.id)
                        })
                    })
                    .collect();
                drop(rx);
                rt.block_on(async {
                    while started.load(Relaxed) < 4 {
                        tokio::task::yield_now().await;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                });
                let mut carrier = Carrier::new(&drops, 0);
                carrier.tx = Some(tx.clone());
                tx.try_send(carrier).unwrap();
                drop(tx);
                let results: Vec<_> = rt.block_on(async {
                    let mut out = Vec::new();
                    for r in receivers {
                        out.push(r.await.expect("receiver task"));
                    }
                    out
                });
                assert_eq!(
                    results.iter().filter(|r| **r == Ok(0)).count(),
                    1,
                    "{results:?}"
                );
                assert_eq!(
                    results.iter().filter(|r| **r == Err(RecvError)).count(),
                    3,
                    "{results:?}"
                );
                drops.assert_once([0]);
            },
        );
    }
}

/// A parked `send` is cancelled; its message holds the last receiver, so
/// dropping the future closes the channel from inside its own `Drop`. The
/// other parked senders wake and get their messages back.
#[test]
fn cancelled_send_drops_the_last_receiver_and_wakes_other_senders() {
    watchdog("cancelled_send_drops_the_last_receiver", || {
        let drops = Drops::new(5);
        let (tx, rx) = bounded::<Carrier>(1);
        tx.try_send(Carrier::new(&drops, 0)).unwrap();
        let rt = current_thread_rt();
        let others: Vec<_> = (1..4)
            .map(|id| {
                let (tx, c) = (tx.clone(), Carrier::new(&drops, id));
                rt.spawn(async move {
                    match tx.send(c).await {
                        Err(SendError(back)) => back.id,
                        Ok(()) => panic!("sent into a channel with no receiver"),
                    }
                })
            })
            .collect();
        let mut last = Carrier::new(&drops, 4);
        last.rx = Some(rx);
        let cancelled = rt.block_on(async {
            // Let the other senders park first.
            tokio::task::yield_now().await;
            tokio::time::timeout(Duration::from_millis(5), tx.send(last)).await
        });
        assert!(cancelled.is_err(), "the send should have been cancelled");
        assert!(
            tx.is_closed(),
            "dropping the last receiver must close the channel"
        );
        let handed_back: Vec<_> = rt.block_on(async {
            let mut out = Vec::new();
            for h in others {
                out.push(h.await.expect("sender task"));
            }
            out
        });
        assert_eq!(handed_back, [1, 2, 3]);
        drop(tx);
        drops.assert_once(0..5);
        assert_eq!(Arc::strong_count(&drops), 1);
    });
}

/// Channel B's leftovers hold the last sender of channel A and a sender of
/// channel C they use in `Drop`; tearing down B must close A (waking its
/// parked receiver) without deadlock.
#[test]
fn channel_teardown_drops_handles_of_another_channel() {
    for (name, make, cap) in channels::<Carrier>(&[2]) {
        watchdog(
            &format!("channel_teardown_drops_handles_of_another_channel, B {name}"),
            move || {
                let drops = Drops::new(8);
                let (a_tx, a_rx) = bounded::<Carrier>(1);
                let (b_tx, b_rx) = make(cap);
                let (c_tx, c_rx) = bounded::<Carrier>(4);
                let parked = thread::spawn(move || a_rx.recv_blocking().map(|c| c.id));
                thread::sleep(Duration::from_millis(10));

                let mut holds_a = Carrier::new(&drops, 0);
                holds_a.tx = Some(a_tx);
                b_tx.try_send(holds_a).unwrap();
                let observed = Arc::new(Mutex::new(Vec::new()));
                let mut uses_c = Carrier::new(&drops, 1);
                uses_c.reenter = Some((c_tx.clone(), c_rx.clone()));
                uses_c.observed = Some(Arc::clone(&observed));
                b_tx.try_send(uses_c).unwrap();
                drop(b_rx);
                drop(b_tx); // B goes away here, dropping both carriers.

                assert_eq!(parked.join().unwrap(), Err(RecvError));
                // C was empty: the first try_send fits, try_recv takes it back, the
                // second fits again.
                assert_eq!(*observed.lock().unwrap(), ["sent", "got 2", "sent"]);
                assert_eq!(c_rx.try_recv().map(|c| c.id).ok(), Some(3));
                drop((c_tx, c_rx));
                drops.assert_once(0..4);
                assert_eq!(Arc::strong_count(&drops), 1);
            },
        );
    }
}

/// A cancelled `send`'s payload uses the same channel in its `Drop`: no lock
/// may be held while the channel drops a message.
#[test]
fn cancelled_send_payload_reenters_the_same_channel() {
    watchdog("cancelled_send_payload_reenters_the_same_channel", || {
        let drops = Drops::new(8);
        let (tx, rx) = bounded::<Carrier>(1);
        tx.try_send(Carrier::new(&drops, 0)).unwrap();
        let observed = Arc::new(Mutex::new(Vec::new()));
        let mut c = Carrier::new(&drops, 1);
        c.reenter = Some((tx.clone(), rx.clone()));
        c.observed = Some(Arc::clone(&observed));

        let (_, waker) = Flag::waker();
        let mut fut = Box::pin(tx.send(c));
        assert!(poll_once(fut.as_mut(), &waker).is_pending());
        drop(fut);

        assert_eq!(*observed.lock().unwrap(), ["full", "got 0", "sent"]);
        assert_eq!(rx.len(), 1);
        assert_eq!(rx.try_recv().map(|c| c.id).ok(), Some(3));
        assert_eq!((tx.sender_count(), rx.receiver_count()), (1, 1));
        drop((tx, rx));
        drops.assert_once(0..4);
        assert_eq!(Arc::strong_count(&drops), 1);
    });
}

// ------------------------------------------------------------- bad input

/// After `close` from either side: sends hand the message back through every
/// send method, buffered messages still drain, then every receive reports
/// the close.
#[test]
fn use_after_close_from_either_side() {
    let cases = channels::<Payload>(&[4])
        .into_iter()
        .flat_map(|c| [(c.clone(), true), (c, false)]);
    for ((name, make, cap), close_with_sender) in cases {
        let drops = Drops::new(8);
        let (tx, rx) = make(cap);
        tx.try_send(Payload::new(&drops, 0)).unwrap();
        tx.try_send(Payload::new(&drops, 1)).unwrap();
        let closed = if close_with_sender {
            tx.close()
        } else {
            rx.close()
        };
        assert!(closed, "the first close returns true");
        assert!(!tx.close() && !rx.close(), "a second close returns false");
        assert!(tx.is_closed() && rx.is_closed());

        match tx.try_send(Payload::new(&drops, 2)) {
            Err(TrySendError::Closed(p)) => assert_eq!(p.id, 2),
            _ => panic!("try_send after close"),
        }
        match block_on(tx.send(Payload::new(&drops, 3))) {
            Err(SendError(p)) => assert_eq!(p.id, 3),
            Ok(()) => panic!("send after close"),
        }
        match tx.send_blocking(Payload::new(&drops, 4)) {
            Err(SendError(p)) => assert_eq!(p.id, 4),
            Ok(()) => panic!("send_blocking after close"),
        }
        match tx.force_send(Payload::new(&drops, 5)) {
            Err(SendError(p)) => assert_eq!(p.id, 5),
            Ok(_) => panic!("force_send after close"),
        }
        assert_eq!(tx.len(), 2, "{name}: nothing was added after the close");

        assert_eq!(rx.try_recv().map(|p| p.id).ok(), Some(0));
        assert_eq!(block_on(rx.recv()).map(|p| p.id).ok(), Some(1));
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Closed)));
        assert_eq!(block_on(rx.recv()).map(|p| p.id), Err(RecvError));
        assert_eq!(rx.recv_blocking().map(|p| p.id), Err(RecvError));
        // Clones and upgrades of a closed channel see it closed too.
        assert!(tx.clone().is_closed() && rx.clone().is_closed());
        if let Some(upgraded) = tx.downgrade().upgrade() {
            assert!(upgraded.is_closed());
        }
        drops.assert_once(0..6);
        drop((tx, rx));
        assert_eq!(Arc::strong_count(&drops), 1);
    }
}

/// On a closed, empty channel every receive path fails at once, every time,
/// and receivers parked before the close are all woken.
#[test]
fn recv_in_a_loop_on_a_closed_empty_channel_errs_every_time() {
    let rounds = if cfg!(miri) { 10 } else { 1000 };
    for (name, make, cap) in channels::<u32>(&[3]) {
        watchdog(
            &format!("recv_in_a_loop_on_a_closed_empty_channel {name}"),
            move || {
                let (tx, rx) = make(cap);
                let parked: Vec<_> = (0..3)
                    .map(|_| {
                        let rx = rx.clone();
                        thread::spawn(move || rx.recv_blocking())
                    })
                    .collect();
                thread::sleep(Duration::from_millis(10));
                drop(tx); // closes: the last sender is gone
                for h in parked {
                    assert_eq!(h.join().unwrap(), Err(RecvError));
                }
                let mut stream = pin!(rx.clone());
                for _ in 0..rounds {
                    assert_eq!(block_on(rx.recv()), Err(RecvError));
                    assert_eq!(rx.recv_blocking(), Err(RecvError));
                    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
                    assert_eq!(block_on(stream.next()), None);
                }
                assert!(rx.is_closed() && rx.is_empty());
            },
        );
    }
}

/// `try_*` and the other methods after every handle of the other side is
/// gone, including clones and upgraded weak handles.
#[test]
fn try_ops_after_every_handle_of_the_other_side_is_gone() {
    for (name, make, cap) in channels::<Payload>(&[2]) {
        try_ops_after_every_receiver_is_gone(&name, make, cap);
        try_ops_after_every_sender_is_gone(&name, make, cap);
    }
}

fn try_ops_after_every_receiver_is_gone(name: &str, make: Make<Payload>, cap: usize) {
    let drops = Drops::new(8);
    let (tx, rx) = make(cap);
    tx.try_send(Payload::new(&drops, 0)).unwrap();
    let weak_rx = rx.downgrade();
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed(), "a receiver clone is still alive");
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.receiver_count(), 0);
    assert!(
        weak_rx.upgrade().is_none(),
        "upgrade after the last receiver is gone"
    );
    match tx.try_send(Payload::new(&drops, 1)) {
        Err(TrySendError::Closed(p)) => assert_eq!(p.id, 1),
        _ => panic!("try_send with no receivers"),
    }
    assert_eq!(
        tx.send_blocking(Payload::new(&drops, 2))
            .map_err(|e| e.0.id),
        Err(2)
    );
    assert_eq!(
        block_on(tx.send(Payload::new(&drops, 3))).map_err(|e| e.0.id),
        Err(3)
    );
    assert!(tx.force_send(Payload::new(&drops, 4)).is_err());
    drops.assert_once(1..5);
    drop(weak_rx);
    drop(tx);
    drops.assert_once(0..5);
    assert_eq!(Arc::strong_count(&drops), 1, "{name}");
}

fn try_ops_after_every_sender_is_gone(name: &str, make: Make<Payload>, cap: usize) {
    let drops = Drops::new(8);
    let (tx, rx) = make(cap);
    tx.try_send(Payload::new(&drops, 0)).unwrap();
    let weak_tx = tx.downgrade();
    let tx2 = tx.clone();
    drop(tx);
    tx2.try_send(Payload::new(&drops, 1)).unwrap();
    drop(tx2);
    assert!(rx.is_closed(), "{name}");
    assert_eq!(rx.sender_count(), 0, "{name}");
    assert!(
        weak_tx.upgrade().is_none(),
        "{name}: upgrade after the last sender is gone"
    );
    assert_eq!(rx.try_recv().map(|p| p.id).ok(), Some(0));
    assert_eq!(rx.recv_blocking().map(|p| p.id).ok(), Some(1));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Closed)));
    assert_eq!(block_on(rx.recv()).map(|p| p.id), Err(RecvError));
    drops.assert_once(0..2);
    drop((weak_tx, rx));
    assert_eq!(Arc::strong_count(&drops), 1, "{name}");
}
