//! The fast/slow consumer scenario of `examples/fair_share.rs`, in Tokio's
//! paused (virtual) clock, so every run is the same run and nothing depends on
//! how busy the machine is.
//!
//! One producer, a fast consumer and a slow one share `bounded(8)`. The rates
//! keep the scenario's ratios (producer 1000/s, fast 1500/s, slow 500/s) scaled
//! to whole milliseconds, because Tokio's timer counts in milliseconds: the
//! producer sends every 30 ms, the fast consumer works 20 ms per message and
//! the slow one 60 ms. Every event therefore falls on a multiple of 10 ms.
//!
//! What must hold, and how it is checked:
//!
//! - **Every message is delivered exactly once**, and both consumers finish
//!   (drain the channel and see it closed).
//! - **Both consumers get a share.** The slow one can take at most one message
//!   per 60 ms, half of what is sent, so the fast one must take at least half;
//!   the test asks for 40 %. Nothing in the rates protects the slow one: the
//!   fast one could serve every message alone. What feeds it is that a message
//!   goes to the receiver that has waited longest, which gives it one message
//!   in three here; the test asks for one in ten.
//! - **The queue is never full while a consumer waits.** A sampler reads
//!   `len()` and which consumers are inside `recv` at 5, 15, 25, ... ms: points
//!   where nothing else happens, after every task woken at the previous event
//!   has run. So a sample sees no transient: a consumer still inside `recv`
//!   there has been left waiting. No sample may show a waiting consumer and a
//!   full queue; the stronger form, which the channel also keeps, is that no
//!   sample shows a waiting consumer and any message queued.
//!
//! Each check is also run against a deliberately broken scenario (a consumer
//! whose wake-ups are lost, a producer that overwrites), which it must flag;
//! so none of them can pass vacuously. There are no timing assertions: a hang
//! is caught by a limit on virtual time and by a wall-clock guard.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use ringchan::{Receiver, Sender, TrySendError};
use tokio::time::{Instant, MissedTickBehavior};

const CAPACITY: usize = 8;
/// The producer's period (the scenario's 1 ms, scaled by 30).
const SEND_EVERY: Duration = Duration::from_millis(30);
/// The fast consumer's work per message (0.67 ms, scaled by 30).
const FAST_WORK: Duration = Duration::from_millis(20);
/// The slow consumer's work per message (2 ms, scaled by 30).
const SLOW_WORK: Duration = Duration::from_millis(60);
/// Samples fall at 5, 15, 25, ... ms: between events, which all fall on
/// multiples of 10 ms.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);
const SAMPLE_PHASE: Duration = Duration::from_millis(5);
/// Virtual time the consumers get to drain after the producer is done; a
/// healthy drain needs at most 8 x 60 ms.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// Hang guard in virtual time for the producer: over five times what the
/// slowest broken scenario needs (3000 messages x 60 ms when only the slow
/// consumer works).
const PRODUCER_LIMIT: Duration = Duration::from_secs(1000);
/// Hang guard in real time for a whole scenario.
const WALL_CLOCK_LIMIT: Duration = Duration::from_secs(120);

const FAST: usize = 0;
const SLOW: usize = 1;
const NAMES: [&str; 2] = ["fast", "slow"];

/// The least share of the delivered messages each consumer must get.
const FLOOR_PERCENT: [f64; 2] = [40.0, 10.0];

fn messages() -> u64 {
    if cfg!(miri) {
        60
    } else {
        3000
    }
}

/// When a broken consumer stops being woken: after a thirtieth of the
/// messages (100, or 2 under Miri), so it has taken part first.
fn a_few() -> usize {
    (messages() / 30) as usize
}

/// Ways to break the scenario, to show that each check can fail.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    /// After this many messages, the consumer (index [`FAST`] or [`SLOW`])
    /// waits in `recv` with a waker that does nothing: the lost wake-up a
    /// broken channel would cause.
    loses_wake_ups_after: [Option<usize>; 2],
    /// The producer uses `force_send` and drops the message it displaces.
    producer_overwrites: bool,
}

/// What the sampler saw at one instant between events.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    len: usize,
    /// Which consumers were inside `recv`.
    waiting: [bool; 2],
}

/// State shared by the scenario's tasks.
#[derive(Debug, Default)]
struct Shared {
    /// Messages the producer has sent.
    sent: AtomicU64,
    /// Set by each consumer just before awaiting `recv`, cleared just after.
    /// Ordering: every access is Relaxed; all tasks run on one thread.
    waiting: [AtomicBool; 2],
    /// Each consumer's messages, kept here so a consumer that has to be
    /// aborted still counts.
    received: [Mutex<Vec<u64>>; 2],
    samples: Mutex<Vec<Sample>>,
}

#[derive(Debug)]
struct Report {
    sent: u64,
    received: [Vec<u64>; 2],
    samples: Vec<Sample>,
    /// Tasks that had not finished: the producer after `PRODUCER_LIMIT`, a
    /// consumer `DRAIN_LIMIT` after the producer.
    unfinished: Vec<String>,
}

/// Polls a future with a waker that does nothing, so once it is pending no
/// event ever wakes the task for it again.
struct LostWakeUps<F>(Pin<Box<F>>);

impl<F: Future> Future for LostWakeUps<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<F::Output> {
        let waker = futures::task::noop_waker();
        self.0.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

async fn produce(tx: Sender<u64>, overwrite: bool, shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(SEND_EVERY);
    // Burst keeps the offered load at one message per period even after a
    // send had to wait, as in the example.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    for seq in 0..messages() {
        ticker.tick().await;
        if overwrite {
            tx.force_send(seq)
                .expect("the consumers outlive the producer");
        } else {
            match tx.try_send(seq) {
                Ok(()) => {}
                Err(TrySendError::Full(seq)) => tx
                    .send(seq)
                    .await
                    .expect("the consumers outlive the producer"),
                Err(TrySendError::Closed(_)) => panic!("the consumers outlive the producer"),
            }
        }
        shared.sent.fetch_add(1, Relaxed);
    }
}

async fn consume(
    who: usize,
    rx: Receiver<u64>,
    work: Duration,
    loses_wake_ups_after: Option<usize>,
    shared: Arc<Shared>,
) {
    loop {
        let taken = shared.received[who].lock().unwrap().len();
        shared.waiting[who].store(true, Relaxed);
        let msg = if loses_wake_ups_after.is_some_and(|n| taken >= n) {
            LostWakeUps(Box::pin(rx.recv())).await
        } else {
            rx.recv().await
        };
        shared.waiting[who].store(false, Relaxed);
        match msg {
            Ok(seq) => shared.received[who].lock().unwrap().push(seq),
            Err(_closed) => return,
        }
        tokio::time::sleep(work).await;
    }
}

async fn sample(probe: Receiver<u64>, shared: Arc<Shared>, start: Instant) {
    let mut ticker = tokio::time::interval_at(start + SAMPLE_PHASE, SAMPLE_EVERY);
    loop {
        let at = ticker.tick().await - start;
        let waiting = [FAST, SLOW].map(|who| shared.waiting[who].load(Relaxed));
        let len = probe.len();
        shared
            .samples
            .lock()
            .unwrap()
            .push(Sample { at, len, waiting });
    }
}

async fn scenario(faults: Faults) -> Report {
    let start = Instant::now();
    let shared = Arc::new(Shared::default());
    let (tx, rx) = ringchan::bounded(CAPACITY);
    let sampler = tokio::spawn(sample(rx.clone(), shared.clone(), start));
    let mut consumers = [(FAST, FAST_WORK), (SLOW, SLOW_WORK)].map(|(who, work)| {
        let after = faults.loses_wake_ups_after[who];
        tokio::spawn(consume(who, rx.clone(), work, after, shared.clone()))
    });
    drop(rx);
    let mut producer = tokio::spawn(produce(tx, faults.producer_overwrites, shared.clone()));

    let mut unfinished = Vec::new();
    // A hang guard in virtual time: a producer stuck for good is reported
    // (with what the sampler saw meanwhile) rather than waited for.
    match tokio::time::timeout(PRODUCER_LIMIT, &mut producer).await {
        Ok(done) => done.expect("the producer"),
        Err(_elapsed) => {
            producer.abort();
            unfinished.push("producer".to_string());
        }
    }
    for (who, consumer) in consumers.iter_mut().enumerate() {
        match tokio::time::timeout(DRAIN_LIMIT, &mut *consumer).await {
            Ok(done) => done.expect("a consumer"),
            Err(_elapsed) => {
                consumer.abort();
                unfinished.push(format!("{} consumer", NAMES[who]));
            }
        }
    }
    sampler.abort();

    let received = [FAST, SLOW].map(|who| shared.received[who].lock().unwrap().clone());
    let samples = shared.samples.lock().unwrap().clone();
    Report {
        sent: shared.sent.load(Relaxed),
        received,
        samples,
        unfinished,
    }
}

/// Runs [`scenario`] on a current-thread runtime whose clock starts paused,
/// on its own thread so that a hang in real time fails the test.
fn run(faults: Faults) -> Report {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a Tokio runtime");
        let _ = done_tx.send(runtime.block_on(scenario(faults)));
    });
    match done_rx.recv_timeout(WALL_CLOCK_LIMIT) {
        Ok(report) => report,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(thread.join().expect_err("the scenario sent no report"))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!(
                "hang guard: the scenario did not finish within {WALL_CLOCK_LIMIT:?} of real time"
            )
        }
    }
}

/// The unbroken scenario, run once for all the tests that read it.
fn healthy() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| run(Faults::default()))
}

impl Report {
    /// Messages that were never delivered or delivered more than once, and
    /// consumers that did not finish.
    fn delivery_errors(&self) -> Vec<String> {
        let mut count = vec![0u32; self.sent as usize];
        let mut errors = Vec::new();
        for &seq in self.received.iter().flatten() {
            match count.get_mut(seq as usize) {
                Some(n) => *n += 1,
                None => errors.push(format!("message {seq} was never sent")),
            }
        }
        for (seq, &n) in count.iter().enumerate() {
            if n != 1 {
                errors.push(format!("message {seq} delivered {n} times"));
            }
        }
        errors.extend(
            self.unfinished
                .iter()
                .map(|name| format!("the {name} never finished")),
        );
        errors
    }

    /// Each consumer's share of the delivered messages, in percent.
    fn shares(&self) -> [f64; 2] {
        let total = self.received.iter().map(Vec::len).sum::<usize>().max(1) as f64;
        [FAST, SLOW].map(|who| 100.0 * self.received[who].len() as f64 / total)
    }

    /// Consumers whose share is below [`FLOOR_PERCENT`].
    fn starved(&self) -> Vec<String> {
        let shares = self.shares();
        [FAST, SLOW]
            .into_iter()
            .filter(|&who| shares[who] < FLOOR_PERCENT[who])
            .map(|who| {
                format!(
                    "{} got {:.1} % (floor {} %)",
                    NAMES[who], shares[who], FLOOR_PERCENT[who]
                )
            })
            .collect()
    }

    /// Samples in which a consumer waited in `recv` while the queue held
    /// more than `max_len` messages.
    fn waiting_with_more_than(&self, max_len: usize) -> Vec<Sample> {
        self.samples
            .iter()
            .filter(|s| s.waiting.contains(&true) && s.len > max_len)
            .copied()
            .collect()
    }
}

/// How many samples, and the first few, for a failure message.
fn describe(samples: &[Sample]) -> String {
    let first: Vec<String> = samples
        .iter()
        .take(5)
        .map(|s| {
            let waiting: Vec<&str> = [FAST, SLOW]
                .into_iter()
                .filter(|&who| s.waiting[who])
                .map(|who| NAMES[who])
                .collect();
            format!("at {:?}: len {}, waiting {:?}", s.at, s.len, waiting)
        })
        .collect();
    format!("{} samples, first: {}", samples.len(), first.join("; "))
}

// ------------------------------------------------------------ the scenario

#[test]
fn every_message_is_delivered_exactly_once() {
    let report = healthy();
    assert_eq!(report.sent, messages());
    let errors = report.delivery_errors();
    assert!(
        errors.is_empty(),
        "{} problems, first: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
}

#[test]
fn both_consumers_get_a_share() {
    let report = healthy();
    let starved = report.starved();
    assert!(
        starved.is_empty(),
        "{starved:?} (shares {:?})",
        report.shares()
    );
}

#[test]
fn the_queue_is_never_full_while_a_consumer_waits() {
    let report = healthy();
    // The check needs something to look at: samples, and each consumer seen
    // both waiting and busy.
    assert!(
        report.samples.len() as u64 >= messages() * 2,
        "too few samples"
    );
    for who in [FAST, SLOW] {
        assert!(
            report.samples.iter().any(|s| s.waiting[who]),
            "{} never seen waiting",
            NAMES[who]
        );
        assert!(
            report.samples.iter().any(|s| !s.waiting[who]),
            "{} never seen busy",
            NAMES[who]
        );
    }
    let full = report.waiting_with_more_than(CAPACITY - 1);
    assert!(full.is_empty(), "{}", describe(&full));
}

#[test]
fn no_message_waits_in_the_queue_while_a_consumer_waits() {
    let queued = healthy().waiting_with_more_than(0);
    assert!(queued.is_empty(), "{}", describe(&queued));
}

// ------------------------------------------- the checks catch broken runs

#[test]
fn the_delivery_check_catches_a_producer_that_overwrites() {
    // The fast consumer stops being woken, so the queue fills and
    // `force_send` displaces messages nobody receives.
    let report = run(Faults {
        loses_wake_ups_after: [Some(a_few()), None],
        producer_overwrites: true,
    });
    let errors = report.delivery_errors();
    assert!(
        errors.iter().any(|e| e.ends_with("delivered 0 times")),
        "{errors:?}"
    );
}

#[test]
fn the_share_check_catches_a_consumer_that_is_never_woken() {
    let report = run(Faults {
        loses_wake_ups_after: [None, Some(a_few())],
        ..Faults::default()
    });
    assert_eq!(
        report.delivery_errors(),
        ["the slow consumer never finished"]
    );
    let starved = report.starved();
    assert!(
        starved.len() == 1 && starved[0].starts_with("slow"),
        "{starved:?}"
    );
}

#[test]
fn the_full_queue_check_catches_a_lost_wake_up() {
    // With the fast consumer stuck in `recv`, the slow one (half the
    // producer's rate) is all that drains the queue.
    let report = run(Faults {
        loses_wake_ups_after: [Some(a_few()), None],
        ..Faults::default()
    });
    assert!(!report.waiting_with_more_than(CAPACITY - 1).is_empty());
    assert!(!report.waiting_with_more_than(0).is_empty());
}
