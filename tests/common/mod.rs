//! Helpers shared by the integration tests: a hang guard, loop sizes scaled
//! for Miri, hand-polled futures that record their wake-ups, and a payload
//! that counts its drops.

// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// The ways a channel gets closed.
#[derive(Debug, Clone, Copy)]
pub enum CloseBy {
    /// `Sender::close`.
    SenderClose,
    /// `Receiver::close`.
    ReceiverClose,
    /// Dropping the last handle of the other side.
    DroppingLastHandle,
}

/// Every [`CloseBy`], for tests that try each.
pub const CLOSE_PATHS: [CloseBy; 3] = [
    CloseBy::SenderClose,
    CloseBy::ReceiverClose,
    CloseBy::DroppingLastHandle,
];

/// `n` normally; a small fraction of it (at least 4) under Miri.
pub fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        (n / 100).max(4)
    } else {
        n
    }
}

/// Awaits `fut`, failing the test if it has not finished after 20 seconds.
///
/// Only a guard against a hang turning into a stuck test run: no test
/// asserts anything about how long an operation takes.
pub async fn guard<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("hang guard: the future did not finish within 20 s")
}

/// Fails the test unless `parts`, the messages each consumer received,
/// hold every one of `0..n` exactly once, each part in increasing order.
#[track_caller]
pub fn assert_delivered_once(parts: impl IntoIterator<Item = Vec<usize>>, n: usize) {
    let mut all = Vec::with_capacity(n);
    for (i, part) in parts.into_iter().enumerate() {
        assert!(
            part.windows(2).all(|w| w[0] < w[1]),
            "consumer {i} saw messages out of order"
        );
        all.extend(part);
    }
    all.sort_unstable();
    assert_eq!(all.len(), n, "messages lost or duplicated");
    assert!(all.iter().copied().eq(0..n), "messages lost or duplicated");
}

/// Sends `0..n` through `tx`, drops it to close the channel, then awaits the
/// `consumers` (each returning what it received) and checks the delivery
/// with [`assert_delivered_once`].
pub async fn send_all_then_check_delivery(
    tx: ringchan::Sender<usize>,
    n: usize,
    consumers: Vec<tokio::task::JoinHandle<Vec<usize>>>,
) {
    for i in 0..n {
        tx.send(i).await.unwrap();
    }
    drop(tx);
    let mut parts = Vec::new();
    for consumer in consumers {
        parts.push(guard(consumer).await.unwrap());
    }
    assert_delivered_once(parts, n);
}

/// `producers` tasks send `per` messages each (`make(seq)`, producer `p`
/// the numbers `p * per..(p + 1) * per`, in order) to `consumers` tasks
/// that receive until the channel closes. Checks that each consumer saw
/// each producer's messages in order and that every number arrived once;
/// `seq_of` gives a message's number back (and may check the rest of it).
pub async fn fan_in_fan_out<T: Send + 'static>(
    (tx, rx): (ringchan::Sender<T>, ringchan::Receiver<T>),
    (producers, consumers, per): (usize, usize, usize),
    make: fn(usize) -> T,
    seq_of: fn(T) -> usize,
) {
    let senders: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for seq in p * per..(p + 1) * per {
                    assert!(tx.send(make(seq)).await.is_ok(), "receivers alive");
                }
            })
        })
        .collect();
    drop(tx);
    let receivers: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut last = vec![None::<usize>; producers];
                let mut seen = Vec::new();
                while let Ok(message) = rx.recv().await {
                    let seq = seq_of(message);
                    let p = seq / per;
                    assert!(
                        last[p] < Some(seq),
                        "producer {p}: {seq} after {:?}",
                        last[p]
                    );
                    last[p] = Some(seq);
                    seen.push(seq);
                }
                seen
            })
        })
        .collect();
    drop(rx);
    let mut all = Vec::with_capacity(producers * per);
    guard(async {
        for sender in senders {
            sender.await.expect("producer");
        }
        for receiver in receivers {
            all.extend(receiver.await.expect("consumer"));
        }
    })
    .await;
    all.sort_unstable();
    assert!(
        all.iter().copied().eq(0..producers * per),
        "messages lost or duplicated"
    );
}

/// A waker that counts how often it was woken.
#[derive(Default)]
pub struct WakeCount(AtomicUsize);

impl WakeCount {
    /// Wake-ups so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Wake-ups so far, and starts the count again from 0.
    pub fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future polled by hand with its own counting waker, so a test can see
/// exactly which waiter a channel operation woke.
pub struct Polled<F: Future> {
    fut: Pin<Box<F>>,
    wakes: Arc<WakeCount>,
    waker: Waker,
}

impl<F: Future> Polled<F> {
    /// Wraps `fut` without polling it.
    pub fn new(fut: F) -> Self {
        let wakes = Arc::new(WakeCount::default());
        let waker = Waker::from(wakes.clone());
        Polled {
            fut: Box::pin(fut),
            wakes,
            waker,
        }
    }

    /// Polls once, after forgetting the wake-ups seen so far.
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.wakes.0.store(0, Ordering::SeqCst);
        self.fut
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    /// Whether the future was woken since it was last polled.
    pub fn woken(&self) -> bool {
        self.wakes.0.load(Ordering::SeqCst) > 0
    }

    /// Polls once and returns the output, failing the test if it is pending.
    #[track_caller]
    pub fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }
}

/// Wraps `fut` and polls it until it parks, failing the test unless it does.
///
/// A ringchan future that cannot complete first yields once to its executor
/// (it wakes itself and returns `Pending`, so a peer task on the same thread
/// can run) and only parks on the next poll; a future that woke itself is
/// polled once more. Once parked, it must not have been woken.
#[track_caller]
pub fn parked<F: Future>(fut: F) -> Polled<F> {
    let mut polled = Polled::new(fut);
    assert!(polled.poll().is_pending(), "expected the future to park");
    if polled.woken() {
        assert!(polled.poll().is_pending(), "expected the future to park");
    }
    assert!(!polled.woken(), "a freshly parked future was already woken");
    polled
}

/// Polls `fut` once, which must leave it pending and not woken (no
/// spurious self-wake), runs `event`, which must wake it, and returns its
/// output from the next poll, which must be ready.
#[track_caller]
pub fn woken_only_by<F: Future>(fut: F, event: impl FnOnce()) -> F::Output {
    let mut polled = Polled::new(fut);
    assert!(polled.poll().is_pending(), "expected the future to wait");
    assert!(!polled.woken(), "a pending future woke itself");
    event();
    assert!(polled.woken(), "the event did not wake the future");
    polled.ready()
}

/// Per-id drop counters for [`Tracked`] payloads.
#[derive(Clone)]
pub struct DropLog(Arc<Vec<AtomicUsize>>);

impl DropLog {
    /// A log for the ids `0..n`.
    pub fn new(n: usize) -> Self {
        DropLog(Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()))
    }

    /// A payload with this `id` that reports its drop here.
    pub fn item(&self, id: usize) -> Tracked {
        Tracked {
            id,
            log: self.clone(),
        }
    }

    /// How many times the payload `id` has been dropped.
    pub fn drops(&self, id: usize) -> usize {
        self.0[id].load(Ordering::SeqCst)
    }

    /// Total drops over all ids.
    pub fn total(&self) -> usize {
        (0..self.0.len()).map(|id| self.drops(id)).sum()
    }

    /// Fails the test unless every id was dropped exactly once.
    #[track_caller]
    pub fn assert_each_dropped_once(&self) {
        for id in 0..self.0.len() {
            assert_eq!(
                self.drops(id),
                1,
                "payload {id} dropped the wrong number of times"
            );
        }
    }
}

/// A payload that counts its drops in a [`DropLog`]. Compares by id.
pub struct Tracked {
    pub id: usize,
    log: DropLog,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.log.0[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// A payload whose `Drop` panics when `armed`; its [`Tracked`] is dropped
/// (and counted) either way.
pub struct Bomb {
    pub armed: bool,
    pub log: Tracked,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.armed {
            panic!("a message's drop panicked");
        }
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl std::fmt::Debug for Tracked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tracked({})", self.id)
    }
}

/// A Tokio multi-thread runtime of two workers, with every driver on: the
/// shape of the benchmarks' multi-thread rows, and as many workers as CI
/// has cores.
pub fn multi_thread_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build a multi-thread runtime")
}

/// A Tokio current-thread runtime with every driver on.
pub fn current_thread_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a current-thread runtime")
}

/// A waker that wakes nobody and whose `clone`, once armed on this thread,
/// runs the armed action and then panics ([`panicky::arm`]) or goes on to
/// clone ([`panicky::arm_quiet`]), once; unarmed, it clones.
pub mod panicky {
    use std::cell::RefCell;
    use std::task::{RawWaker, RawWakerVTable, Waker};

    /// The armed action, and whether the clone panics after it.
    type Armed = (Box<dyn FnOnce()>, bool);

    thread_local! {
        static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
    }

    pub const MESSAGE: &str = "a waker's clone panicked";

    /// The next clone on this thread runs `action`, then panics.
    pub fn arm(action: impl FnOnce() + 'static) {
        ARMED.with(|a| *a.borrow_mut() = Some((Box::new(action), true)));
    }

    /// The next clone on this thread runs `action`, then clones.
    pub fn arm_quiet(action: impl FnOnce() + 'static) {
        ARMED.with(|a| *a.borrow_mut() = Some((Box::new(action), false)));
    }

    /// Whether the armed action has run (nothing is armed any more).
    pub fn fired() -> bool {
        ARMED.with(|a| a.borrow().is_none())
    }

    pub fn waker() -> Waker {
        // SAFETY: the vtable's functions ignore the data pointer, which is
        // null, and uphold RawWaker's contract (clone returns a RawWaker
        // with the same vtable; wake and drop do nothing).
        unsafe { Waker::from_raw(raw()) }
    }

    fn raw() -> RawWaker {
        RawWaker::new(std::ptr::null(), &VTABLE)
    }

    unsafe fn clone(_: *const ()) -> RawWaker {
        if let Some((action, panics)) = ARMED.with(|a| a.borrow_mut().take()) {
            action();
            if panics {
                panic!("{MESSAGE}");
            }
        }
        raw()
    }

    unsafe fn nothing(_: *const ()) {}

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, nothing, nothing, nothing);
}

/// How long a [`watchdog`]ed run may take before it counts as a hang.
pub const HANG: Duration = Duration::from_secs(60);

/// Runs `f` on its own thread; fails if it has not finished within [`HANG`].
pub fn watchdog<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = done_tx.send(());
        r
    });
    if done_rx.recv_timeout(HANG).is_err() {
        panic!("{what}: hang (deadlock or lost wake-up), not finished after {HANG:?}");
    }
    match worker.join().expect("the watchdog's worker thread") {
        Ok(r) => r,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Polls `fut` once with `waker`.
pub fn poll_once<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}
