//! Seeded stress tests: many producers and many consumers over many
//! capacities, counting every message and every drop.
//!
//! Each case runs N producers and M consumers (more tasks than cores) over one
//! channel, mixing single operations with runs of 1-8 messages through
//! `send_many` and `recv_many` (blocking or async), and then checks that
//!
//! - every message is accounted for exactly once: delivered, or handed back in
//!   a send error after a close, or dropped with its cancelled `send` future,
//!   or displaced by `force_send` (nothing lost, nothing duplicated);
//! - each consumer saw each producer's messages in the order they were sent;
//! - every payload was dropped exactly once, and no payload outlived the case;
//! - the case finished within a generous bound: a hang is a failure, reported
//!   with the progress made so far. There are no timing assertions.
//!
//! Everything random comes from one printed seed, so a failing case can be
//! replayed (thread scheduling aside). The knobs are environment variables:
//!
//! | variable                       | default         | meaning                              |
//! |--------------------------------|-----------------|--------------------------------------|
//! | `RINGCHAN_STRESS_SEED`         | random, printed | base seed (decimal or `0x` hex)      |
//! | `RINGCHAN_STRESS_PRODUCERS`    | 4               | producers per case                   |
//! | `RINGCHAN_STRESS_CONSUMERS`    | 4               | consumers per case                   |
//! | `RINGCHAN_STRESS_MESSAGES`     | 5000            | messages per producer                |
//! | `RINGCHAN_STRESS_WORKERS`      | 2               | Tokio multi-thread worker threads    |
//! | `RINGCHAN_STRESS_TIMEOUT_SECS` | 120             | per case; longer than this is a hang |
//!
//! Under Miri the defaults shrink to 2 x 2 tasks, 16 messages each and the
//! capacities 1, 2, 3 and 7.

use std::fmt;
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use futures::StreamExt;
use ringchan::{Receiver, SendError, Sender, TryRecvError, TrySendError};
use tokio::time::{sleep, timeout};

// ------------------------------------------------------------- flavours

/// The channel flavours under test: a constructor and its capacities.
///
/// A new flavour is one more line in [`FLAVORS`]; every test runs over all of
/// them.
struct Flavor {
    name: &'static str,
    capacities: &'static [usize],
    make: fn(usize) -> (Sender<Msg>, Receiver<Msg>),
}

const CAPACITIES: &[usize] = if cfg!(miri) {
    &[1, 2, 3, 7]
} else {
    &[1, 2, 3, 7, 64, 1000]
};

const FLAVORS: &[Flavor] = &[
    Flavor {
        name: "bounded",
        capacities: CAPACITIES,
        make: ringchan::bounded,
    },
    Flavor {
        name: "unbounded",
        capacities: &[0],
        make: |_| ringchan::unbounded(),
    },
];

// ------------------------------------------------------------- the knobs

/// The parameters every case of one test shares.
struct Config {
    /// The test's own seed (the base seed mixed with the test's name).
    seed: u64,
    producers: usize,
    consumers: usize,
    messages: usize,
    workers: usize,
    timeout: Duration,
}

fn env_u64(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    let raw = raw.trim();
    let parsed = match raw.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => raw.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={raw:?} is not a number")))
}

fn env_usize(name: &str, default: usize, miri_default: usize) -> usize {
    match env_u64(name) {
        Some(v) => usize::try_from(v).expect("knob does not fit usize").max(1),
        None if cfg!(miri) => miri_default,
        None => default,
    }
}

fn config(test: &str) -> Config {
    let base = env_u64("RINGCHAN_STRESS_SEED").unwrap_or_else(random_seed);
    // Print before anything can fail: the harness shows it for failed tests.
    eprintln!("{test}: seed {base} (replay with RINGCHAN_STRESS_SEED={base})");
    Config {
        seed: base ^ fnv1a(test),
        producers: env_usize("RINGCHAN_STRESS_PRODUCERS", 4, 2),
        consumers: env_usize("RINGCHAN_STRESS_CONSUMERS", 4, 2),
        messages: env_usize("RINGCHAN_STRESS_MESSAGES", 5000, 16),
        workers: env_usize("RINGCHAN_STRESS_WORKERS", 2, 2),
        timeout: Duration::from_secs(env_u64("RINGCHAN_STRESS_TIMEOUT_SECS").unwrap_or(120)),
    }
}

fn random_seed() -> u64 {
    if cfg!(miri) {
        // Miri runs isolated from the clock; any fixed seed will do.
        return 0x5EED;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    splitmix64(nanos ^ u64::from(std::process::id()).rotate_left(32))
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xorshift64*: small, fast, and good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(splitmix64(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    /// An independent generator, for one task or one case.
    fn fork(&mut self) -> Rng {
        Rng::new(self.next())
    }
}

// ------------------------------------------------------------- the payload

/// Counts, per message, how often it was dropped, plus progress for hang
/// reports.
struct Tracker {
    messages: usize,
    drops: Box<[AtomicU32]>,
    sent: AtomicUsize,
    received: AtomicUsize,
}

impl Tracker {
    fn new(producers: usize, messages: usize) -> Arc<Self> {
        Arc::new(Tracker {
            messages,
            drops: (0..producers * messages)
                .map(|_| AtomicU32::new(0))
                .collect(),
            sent: AtomicUsize::new(0),
            received: AtomicUsize::new(0),
        })
    }

    fn total(&self) -> usize {
        self.drops.len()
    }

    fn msg(self: &Arc<Self>, producer: usize, seq: usize) -> Msg {
        Msg {
            id: u32::try_from(producer * self.messages + seq).expect("too many messages"),
            tracker: Arc::clone(self),
        }
    }
}

/// The drop-counting payload. `id = producer * messages + seq`.
struct Msg {
    id: u32,
    tracker: Arc<Tracker>,
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.tracker.drops[self.id as usize].fetch_add(1, Relaxed);
    }
}

// ------------------------------------------------------------- a case

/// Where the tasks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runtime {
    MultiThread,
    CurrentThread,
    /// No runtime: plain threads on the blocking API.
    Threads,
}

/// What the producers and consumers do besides plain sends and receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Plain,
    /// Sends and receives wrapped in `timeout` and `select!`.
    CancelStorm,
    /// Half the sends are `force_send`.
    Force,
    /// Something closes the channel mid-stream.
    Close(CloseBy),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloseBy {
    SenderClose,
    ReceiverClose,
    /// Every consumer stops early and drops its receiver.
    ReceiversDropped,
}

struct Case {
    test: &'static str,
    flavor: &'static Flavor,
    capacity: usize,
    runtime: Runtime,
    blocking_producers: bool,
    blocking_consumers: bool,
    producers: usize,
    consumers: usize,
    messages: usize,
    workers: usize,
    mode: Mode,
    seed: u64,
    timeout: Duration,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |blocking| if blocking { "blocking" } else { "async" };
        write!(
            f,
            "{} [{}({}), {:?} ({} producers, {} consumers), {} producers x {} consumers x {} \
             messages, {:?}, case seed {:#x}]",
            self.test,
            self.flavor.name,
            self.capacity,
            self.runtime,
            side(self.blocking_producers),
            side(self.blocking_consumers),
            self.producers,
            self.consumers,
            self.messages,
            self.mode,
            self.seed,
        )
    }
}

/// Builds the cases of one test: every flavour and capacity, each crossed
/// with the given runtimes, with a seeded task layout per case.
fn cases(
    test: &'static str,
    cfg: &Config,
    runtimes: &[(Runtime, bool, bool)],
    mut mode: impl FnMut(&mut Rng) -> Mode,
) -> Vec<Case> {
    let mut rng = Rng::new(cfg.seed);
    let mut out = Vec::new();
    for flavor in FLAVORS {
        for &capacity in flavor.capacities {
            for &(runtime, blocking_producers, blocking_consumers) in runtimes {
                let mut case_rng = rng.fork();
                // Mostly N x M; sometimes one side is single, so SPMC and
                // MPSC shapes get their turn too.
                let (producers, consumers) = match case_rng.below(6) {
                    0 => (1, cfg.consumers),
                    1 => (cfg.producers, 1),
                    _ => (cfg.producers, cfg.consumers),
                };
                out.push(Case {
                    test,
                    flavor,
                    capacity,
                    runtime,
                    blocking_producers,
                    blocking_consumers,
                    producers,
                    consumers,
                    messages: cfg.messages,
                    workers: cfg.workers,
                    mode: mode(&mut case_rng),
                    seed: case_rng.next(),
                    timeout: cfg.timeout,
                });
            }
        }
    }
    out
}

const ASYNC: (Runtime, bool, bool) = (Runtime::MultiThread, false, false);
const CURRENT: (Runtime, bool, bool) = (Runtime::CurrentThread, false, false);
const THREADS: (Runtime, bool, bool) = (Runtime::Threads, true, true);

/// What one producer observed about its own messages.
#[derive(Default)]
struct ProducerLog {
    /// Dropped with their cancelled `send` future.
    cancelled: Vec<u32>,
    /// Handed back in a `SendError`/`TrySendError::Closed`.
    returned: Vec<u32>,
    /// Other messages (any producer's) that this producer's `force_send`
    /// pushed out of the channel.
    displaced: Vec<u32>,
}

/// The outcome of one send attempt.
enum Sent {
    Ok,
    Cancelled,
    Returned(Msg),
}

impl Sent {
    fn of(result: Result<(), SendError<Msg>>) -> Self {
        match result {
            Ok(()) => Sent::Ok,
            Err(SendError(msg)) => Sent::Returned(msg),
        }
    }
}

/// Shared by every task of a case.
struct Ctx {
    tracker: Arc<Tracker>,
    mode: Mode,
    /// Per consumer: receive at most this many, then drop the receiver.
    stop_after: Vec<Option<usize>>,
}

fn record(log: &mut ProducerLog, ctx: &Ctx, id: u32, outcome: Sent) {
    match outcome {
        Sent::Ok => {
            ctx.tracker.sent.fetch_add(1, Relaxed);
        }
        Sent::Cancelled => log.cancelled.push(id),
        Sent::Returned(back) => {
            assert_eq!(back.id, id, "a send error handed back another message");
            log.returned.push(id);
        }
    }
}

fn force(log: &mut ProducerLog, tx: &Sender<Msg>, msg: Msg) -> Sent {
    match tx.force_send(msg) {
        Ok(None) => Sent::Ok,
        Ok(Some(old)) => {
            log.displaced.push(old.id);
            Sent::Ok
        }
        Err(SendError(msg)) => Sent::Returned(msg),
    }
}

/// Whether this send or receive moves a run of messages with `send_many` /
/// `recv_many` (about one time in eight, outside the modes that exercise
/// `force_send` and cancellation).
fn batch_turn(ctx: &Ctx, rng: &mut Rng) -> bool {
    matches!(ctx.mode, Mode::Plain | Mode::Close(_)) && rng.percent(12)
}

/// The next run of `1..=8` of producer `p`'s messages from `seq`.
fn next_run(ctx: &Ctx, p: usize, seq: usize, rng: &mut Rng) -> Vec<Msg> {
    let k = (1 + rng.below(8) as usize).min(ctx.tracker.messages - seq);
    (seq..seq + k).map(|s| ctx.tracker.msg(p, s)).collect()
}

/// Records a run that `send_many` took: `ids` in order, of which the ones
/// still in `unsent` came back (the channel closed).
fn record_run(log: &mut ProducerLog, ctx: &Ctx, ids: &[u32], unsent: Vec<Msg>) {
    let sent = ids.len() - unsent.len();
    for &id in &ids[..sent] {
        record(log, ctx, id, Sent::Ok);
    }
    for (&id, msg) in ids[sent..].iter().zip(unsent) {
        record(log, ctx, id, Sent::Returned(msg));
    }
}

/// Logs a run `recv_many` took; `true` if the channel was closed and
/// drained instead.
fn log_run(
    got: Result<usize, ringchan::RecvError>,
    buf: &mut Vec<Msg>,
    seen: &mut Vec<u32>,
    ctx: &Ctx,
) -> bool {
    match got {
        Ok(n) => {
            assert_eq!(n, buf.len(), "recv_many counted other than it took");
            for msg in buf.drain(..) {
                Got::Msg(msg).log_until_closed(seen, ctx);
            }
            false
        }
        Err(_) => true,
    }
}

// ------------------------------------------------------------- async side

async fn produce_async(tx: Sender<Msg>, p: usize, ctx: Arc<Ctx>, mut rng: Rng) -> ProducerLog {
    let mut log = ProducerLog::default();
    let mut seq = 0;
    while seq < ctx.tracker.messages {
        if batch_turn(&ctx, &mut rng) {
            let mut run = next_run(&ctx, p, seq, &mut rng);
            let ids: Vec<u32> = run.iter().map(|m| m.id).collect();
            let _ = tx.send_many(&mut run).await;
            record_run(&mut log, &ctx, &ids, run);
            seq += ids.len();
            continue;
        }
        let msg = ctx.tracker.msg(p, seq);
        seq += 1;
        let id = msg.id;
        let outcome = match ctx.mode {
            Mode::Force if rng.percent(50) => force(&mut log, &tx, msg),
            Mode::CancelStorm if rng.percent(50) => cancellable_send(&tx, msg, &mut rng).await,
            _ => match rng.below(10) {
                0..=6 => Sent::of(tx.send(msg).await),
                7 | 8 => {
                    let mut msg = msg;
                    loop {
                        match tx.try_send(msg) {
                            Ok(()) => break Sent::Ok,
                            Err(TrySendError::Full(back)) => {
                                msg = back;
                                tokio::task::yield_now().await;
                            }
                            Err(TrySendError::Closed(back)) => break Sent::Returned(back),
                        }
                    }
                }
                // Through a short-lived handle: a clone or an upgraded weak.
                _ => {
                    let upgraded = rng.percent(50).then(|| tx.downgrade().upgrade());
                    let other = match upgraded {
                        Some(Some(tx)) => tx,
                        // Upgrade fails only once the channel is closed.
                        Some(None) if tx.is_closed() => tx.clone(),
                        Some(None) => panic!("upgrade failed while a sender lives"),
                        None => tx.clone(),
                    };
                    Sent::of(other.send(msg).await)
                }
            },
        };
        record(&mut log, &ctx, id, outcome);
    }
    log
}

/// A send that gets cancelled at a random point if it does not finish first.
async fn cancellable_send(tx: &Sender<Msg>, msg: Msg, rng: &mut Rng) -> Sent {
    let wait = Duration::from_micros(rng.below(1500));
    match rng.below(5) {
        // Cancelled before it was ever polled.
        4 => {
            drop(tx.send(msg));
            Sent::Cancelled
        }
        // Cancelled right after the first poll if that did not finish it.
        0 => timeout(Duration::ZERO, tx.send(msg))
            .await
            .map_or(Sent::Cancelled, Sent::of),
        1 => timeout(wait, tx.send(msg))
            .await
            .map_or(Sent::Cancelled, Sent::of),
        // Cancelled after a poll or two, maybe with a wake-up in flight.
        2 => tokio::select! {
            r = tx.send(msg) => Sent::of(r),
            () = tokio::task::yield_now() => Sent::Cancelled,
        },
        _ => tokio::select! {
            r = tx.send(msg) => Sent::of(r),
            () = sleep(wait) => Sent::Cancelled,
        },
    }
}

/// The outcome of one receive attempt.
enum Got {
    Msg(Msg),
    /// Nothing this time (cancelled, or empty): try again.
    Again,
    Closed,
}

impl Got {
    /// Logs a received message in `seen` and the tracker; `true` once the
    /// channel is closed and drained.
    fn log_until_closed(self, seen: &mut Vec<u32>, ctx: &Ctx) -> bool {
        match self {
            Got::Msg(msg) => {
                seen.push(msg.id);
                ctx.tracker.received.fetch_add(1, Relaxed);
                false
            }
            Got::Again => false,
            Got::Closed => true,
        }
    }
}

async fn consume_async(rx: Receiver<Msg>, c: usize, ctx: Arc<Ctx>, mut rng: Rng) -> Vec<u32> {
    let mut seen = Vec::new();
    let mut stream = Box::pin(rx.clone());
    let limit = ctx.stop_after[c].unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    while seen.len() < limit {
        if batch_turn(&ctx, &mut rng) {
            let k = (1 + rng.below(8) as usize).min(limit - seen.len());
            let got = rx.recv_many(&mut buf, k).await;
            if log_run(got, &mut buf, &mut seen, &ctx) {
                break;
            }
            continue;
        }
        let got = match rng.below(10) {
            _ if ctx.mode == Mode::CancelStorm && rng.percent(50) => {
                cancellable_recv(&rx, &mut rng).await
            }
            0..=5 => rx.recv().await.map_or(Got::Closed, Got::Msg),
            6 | 7 => match rx.try_recv() {
                Ok(msg) => Got::Msg(msg),
                Err(TryRecvError::Empty) => {
                    tokio::task::yield_now().await;
                    Got::Again
                }
                Err(TryRecvError::Closed) => Got::Closed,
            },
            _ => stream.next().await.map_or(Got::Closed, Got::Msg),
        };
        if got.log_until_closed(&mut seen, &ctx) {
            break;
        }
    }
    seen
}

/// A receive that gets cancelled at a random point if it does not finish
/// first. A cancelled receive must not lose a message.
async fn cancellable_recv(rx: &Receiver<Msg>, rng: &mut Rng) -> Got {
    let wait = Duration::from_micros(rng.below(1500));
    let got = |r: Result<Msg, ringchan::RecvError>| r.map_or(Got::Closed, Got::Msg);
    match rng.below(5) {
        4 => {
            drop(rx.recv());
            Got::Again
        }
        0 => timeout(Duration::ZERO, rx.recv())
            .await
            .map_or(Got::Again, got),
        1 => timeout(wait, rx.recv()).await.map_or(Got::Again, got),
        2 => tokio::select! {
            r = rx.recv() => got(r),
            () = tokio::task::yield_now() => Got::Again,
        },
        _ => tokio::select! {
            r = rx.recv() => got(r),
            () = sleep(wait) => Got::Again,
        },
    }
}

// ------------------------------------------------------------- blocking side

fn produce_blocking(tx: Sender<Msg>, p: usize, ctx: Arc<Ctx>, mut rng: Rng) -> ProducerLog {
    let mut log = ProducerLog::default();
    let mut seq = 0;
    while seq < ctx.tracker.messages {
        if batch_turn(&ctx, &mut rng) {
            let mut run = next_run(&ctx, p, seq, &mut rng);
            let ids: Vec<u32> = run.iter().map(|m| m.id).collect();
            let _ = tx.send_many(&mut run).wait();
            record_run(&mut log, &ctx, &ids, run);
            seq += ids.len();
            continue;
        }
        let msg = ctx.tracker.msg(p, seq);
        seq += 1;
        let id = msg.id;
        let outcome = match ctx.mode {
            Mode::Force if rng.percent(50) => force(&mut log, &tx, msg),
            _ => match rng.below(10) {
                0..=6 => Sent::of(tx.send_blocking(msg)),
                7 | 8 => {
                    let mut msg = msg;
                    loop {
                        match tx.try_send(msg) {
                            Ok(()) => break Sent::Ok,
                            Err(TrySendError::Full(back)) => {
                                msg = back;
                                thread::yield_now();
                            }
                            Err(TrySendError::Closed(back)) => break Sent::Returned(back),
                        }
                    }
                }
                _ => Sent::of(tx.clone().send_blocking(msg)),
            },
        };
        record(&mut log, &ctx, id, outcome);
    }
    log
}

fn consume_blocking(rx: Receiver<Msg>, c: usize, ctx: Arc<Ctx>, mut rng: Rng) -> Vec<u32> {
    let mut seen = Vec::new();
    let limit = ctx.stop_after[c].unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    while seen.len() < limit {
        if batch_turn(&ctx, &mut rng) {
            let k = (1 + rng.below(8) as usize).min(limit - seen.len());
            let got = rx.recv_many(&mut buf, k).wait();
            if log_run(got, &mut buf, &mut seen, &ctx) {
                break;
            }
            continue;
        }
        let got = if rng.percent(75) {
            rx.recv_blocking().map_or(Got::Closed, Got::Msg)
        } else {
            match rx.try_recv() {
                Ok(msg) => Got::Msg(msg),
                Err(TryRecvError::Empty) => {
                    thread::yield_now();
                    Got::Again
                }
                Err(TryRecvError::Closed) => Got::Closed,
            }
        };
        if got.log_until_closed(&mut seen, &ctx) {
            break;
        }
    }
    seen
}

// ------------------------------------------------------------- running a case

/// Runs `f` on its own thread and fails if it takes longer than `limit`.
///
/// A stuck thread is left behind (the test has failed anyway); `progress`
/// says how far the case got.
fn watchdog<R: Send + 'static>(
    what: String,
    limit: Duration,
    progress: impl Fn() -> String,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    struct Signal(std::sync::mpsc::Sender<()>);
    impl Drop for Signal {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker = thread::Builder::new()
        .name("stress-case".into())
        .spawn(move || {
            let _signal = Signal(done_tx);
            f()
        })
        .expect("spawn the case thread");
    if done_rx.recv_timeout(limit).is_err() {
        panic!("{what}: hang, not finished after {limit:?}; {}", progress());
    }
    join_thread(worker)
}

fn run(case: Case) {
    let tracker = Tracker::new(case.producers, case.messages);
    let progress = {
        let weak: Weak<Tracker> = Arc::downgrade(&tracker);
        move || match weak.upgrade() {
            Some(t) => format!(
                "{} of {} messages sent, {} received",
                t.sent.load(Relaxed),
                t.total(),
                t.received.load(Relaxed)
            ),
            None => "all messages already dropped".to_owned(),
        }
    };
    let what = case.to_string();
    watchdog(what, case.timeout, progress, move || {
        run_case(&case, tracker)
    });
}

fn run_case(case: &Case, tracker: Arc<Tracker>) {
    let mut rng = Rng::new(case.seed);
    let total = tracker.total();
    let (tx, rx) = (case.flavor.make)(case.capacity);

    // Closing modes: who closes, and after how many received messages.
    let close_at = (total / 2).max(1) as u64;
    let close_after = rng.below(close_at) as usize;
    let stop_after = (0..case.consumers)
        .map(|_| match case.mode {
            Mode::Close(CloseBy::ReceiversDropped) => {
                Some(rng.below(2 * (total / case.consumers) as u64 + 1) as usize)
            }
            _ => None,
        })
        .collect();
    let ctx = Arc::new(Ctx {
        tracker,
        mode: case.mode,
        stop_after,
    });

    let rt = match case.runtime {
        Runtime::MultiThread => Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(case.workers)
                .enable_all()
                .build()
                .expect("build a multi-thread runtime"),
        ),
        Runtime::CurrentThread => Some(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a current-thread runtime"),
        ),
        Runtime::Threads => None,
    };
    let spawn_async = |fut| -> tokio::task::JoinHandle<_> { rt.as_ref().unwrap().spawn(fut) };

    let mut producer_threads = Vec::new();
    let mut producer_tasks = Vec::new();
    for p in 0..case.producers {
        let (tx, ctx, prng) = (tx.clone(), Arc::clone(&ctx), rng.fork());
        if case.blocking_producers {
            producer_threads.push(thread::spawn(move || produce_blocking(tx, p, ctx, prng)));
        } else {
            producer_tasks.push(spawn_async(produce_async(tx, p, ctx, prng)));
        }
    }
    let mut consumer_threads = Vec::new();
    let mut consumer_tasks = Vec::new();
    for c in 0..case.consumers {
        let (rx, ctx, crng) = (rx.clone(), Arc::clone(&ctx), rng.fork());
        if case.blocking_consumers {
            consumer_threads.push(thread::spawn(move || consume_blocking(rx, c, ctx, crng)));
        } else {
            let consumer = consume_async(rx, c, ctx, crng);
            consumer_tasks.push(rt.as_ref().unwrap().spawn(consumer));
        }
    }
    let closer = match case.mode {
        Mode::Close(by @ (CloseBy::SenderClose | CloseBy::ReceiverClose)) => {
            let (tx, rx, ctx) = (tx.clone(), rx.clone(), Arc::clone(&ctx));
            Some(thread::spawn(move || {
                while ctx.tracker.received.load(Relaxed) < close_after {
                    thread::sleep(Duration::from_micros(50));
                }
                let first = match by {
                    CloseBy::SenderClose => tx.close(),
                    _ => rx.close(),
                };
                assert!(first, "close() on an open channel returned false");
                assert!(tx.is_closed() && rx.is_closed());
            }))
        }
        _ => None,
    };
    let capacity = tx.capacity();
    drop((tx, rx));

    let (mut producers, mut consumers) = (Vec::new(), Vec::new());
    if let Some(rt) = &rt {
        rt.block_on(async {
            for h in producer_tasks {
                producers.push(join_task(h.await));
            }
            for h in consumer_tasks {
                consumers.push(join_task(h.await));
            }
        });
    }
    producers.extend(producer_threads.into_iter().map(join_thread));
    consumers.extend(consumer_threads.into_iter().map(join_thread));
    if let Some(closer) = closer {
        join_thread(closer);
    }
    drop(rt);

    // Buffered messages can be left behind only when every receiver left
    // early; they are dropped with the channel (all handles are gone now).
    let leftovers_allowed = match case.mode {
        Mode::Close(CloseBy::ReceiversDropped) => capacity.unwrap_or(usize::MAX),
        _ => 0,
    };
    let ctx = Arc::try_unwrap(ctx).unwrap_or_else(|_| panic!("a task still holds the context"));
    let count = |f: fn(&ProducerLog) -> usize| producers.iter().map(f).sum::<usize>();
    eprintln!(
        "  {case}: {} delivered, {} cancelled, {} returned, {} displaced",
        consumers.iter().map(Vec::len).sum::<usize>(),
        count(|l| l.cancelled.len()),
        count(|l| l.returned.len()),
        count(|l| l.displaced.len()),
    );
    verify(&ctx.tracker, &producers, &consumers, leftovers_allowed);
    assert_eq!(
        Arc::strong_count(&ctx.tracker),
        1,
        "some payload outlived its channel"
    );
}

/// A thread's result, its panic passed on.
fn join_thread<R>(h: thread::JoinHandle<R>) -> R {
    h.join().unwrap_or_else(|p| panic::resume_unwind(p))
}

/// A task's result, its panic passed on.
fn join_task<R>(r: Result<R, tokio::task::JoinError>) -> R {
    r.unwrap_or_else(|e| panic::resume_unwind(e.into_panic()))
}

/// Checks exactly-once accounting, per-producer FIFO per consumer, and
/// exactly-once drop.
fn verify(
    tracker: &Tracker,
    producers: &[ProducerLog],
    consumers: &[Vec<u32>],
    leftovers_allowed: usize,
) {
    let n = tracker.messages;
    let describe = |id: u32| {
        format!(
            "message {id} (producer {}, #{})",
            id as usize / n,
            id as usize % n
        )
    };
    let mut problems = Vec::new();

    for (c, seen) in consumers.iter().enumerate() {
        let mut last = vec![None::<u32>; tracker.total() / n];
        for &id in seen {
            let p = id as usize / n;
            if let Some(prev) = last[p] {
                if prev >= id {
                    problems.push(format!(
                        "consumer {c} got {} after {}: per-producer FIFO broken",
                        describe(id),
                        describe(prev)
                    ));
                }
            }
            last[p] = Some(id);
        }
    }

    let mut outcomes = vec![Vec::<String>::new(); tracker.total()];
    for (c, seen) in consumers.iter().enumerate() {
        for &id in seen {
            outcomes[id as usize].push(format!("delivered to consumer {c}"));
        }
    }
    for log in producers {
        for (ids, what) in [
            (&log.cancelled, "dropped with a cancelled send"),
            (&log.returned, "returned in a send error"),
            (&log.displaced, "displaced by force_send"),
        ] {
            for &id in ids {
                outcomes[id as usize].push(what.to_owned());
            }
        }
    }
    let mut leftovers = 0;
    for (id, outcome) in outcomes.iter().enumerate() {
        let id = id as u32;
        match outcome.len() {
            1 => {}
            0 => leftovers += 1,
            _ => problems.push(format!("{}: {}", describe(id), outcome.join(", and "))),
        }
        let drops = tracker.drops[id as usize].load(Relaxed);
        if drops != 1 {
            problems.push(format!("{} dropped {drops} times", describe(id)));
        }
    }
    if leftovers > leftovers_allowed {
        problems.push(format!(
            "{leftovers} messages neither delivered nor returned nor cancelled \
             (at most {leftovers_allowed} may be left in the channel)"
        ));
    }
    if !problems.is_empty() {
        let shown = problems.len().min(20);
        panic!(
            "{} problems, first {shown}:\n  {}",
            problems.len(),
            problems[..shown].join("\n  ")
        );
    }
}

fn run_all(cases: Vec<Case>) {
    for case in cases {
        run(case);
    }
}

// ------------------------------------------------------------- the tests

#[test]
fn exactly_once_fifo_on_multi_thread_runtime() {
    let cfg = config("exactly_once_fifo_on_multi_thread_runtime");
    run_all(cases("multi-thread", &cfg, &[ASYNC], |_| Mode::Plain));
}

#[test]
fn exactly_once_fifo_on_current_thread_runtime() {
    let cfg = config("exactly_once_fifo_on_current_thread_runtime");
    run_all(cases("current-thread", &cfg, &[CURRENT], |_| Mode::Plain));
}

#[test]
fn exactly_once_fifo_on_blocking_threads() {
    let cfg = config("exactly_once_fifo_on_blocking_threads");
    run_all(cases("threads", &cfg, &[THREADS], |_| Mode::Plain));
}

/// Blocking and async waiters on the two ends of one channel.
#[test]
fn exactly_once_fifo_blocking_and_async_mixed() {
    let cfg = config("exactly_once_fifo_blocking_and_async_mixed");
    let runtimes = [
        (Runtime::MultiThread, true, false),
        (Runtime::MultiThread, false, true),
        (Runtime::CurrentThread, true, false),
        (Runtime::CurrentThread, false, true),
    ];
    run_all(cases("mixed", &cfg, &runtimes, |_| Mode::Plain));
}

#[test]
fn cancellation_storm_on_multi_thread_runtime() {
    let cfg = config("cancellation_storm_on_multi_thread_runtime");
    run_all(cases("cancel-multi", &cfg, &[ASYNC], |_| Mode::CancelStorm));
}

#[test]
fn cancellation_storm_on_current_thread_runtime() {
    let cfg = config("cancellation_storm_on_current_thread_runtime");
    run_all(cases("cancel-current", &cfg, &[CURRENT], |_| {
        Mode::CancelStorm
    }));
}

#[test]
fn close_midstream_accounts_for_every_message() {
    let cfg = config("close_midstream_accounts_for_every_message");
    let close_by = [
        CloseBy::SenderClose,
        CloseBy::ReceiverClose,
        CloseBy::ReceiversDropped,
    ];
    let runtimes = [ASYNC, CURRENT, THREADS];
    run_all(cases("close", &cfg, &runtimes, |rng| {
        Mode::Close(close_by[rng.below(3) as usize])
    }));
}

#[test]
fn force_send_storm_accounts_for_every_message() {
    let cfg = config("force_send_storm_accounts_for_every_message");
    run_all(cases("force", &cfg, &[ASYNC, THREADS], |_| Mode::Force));
}

/// `WeakSender::upgrade` and `WeakReceiver::upgrade` race the drop of the
/// last strong handle: an upgrade either fails or yields a handle on an open
/// channel, and once the last handle is gone no upgrade succeeds.
#[test]
fn weak_upgrade_races_last_drop() {
    let cfg = config("weak_upgrade_races_last_drop");
    let mut rng = Rng::new(cfg.seed);
    for flavor in FLAVORS {
        for &capacity in flavor.capacities {
            let seed = rng.next();
            let what = format!(
                "weak_upgrade_races_last_drop [{}({capacity}), seed {seed:#x}]",
                flavor.name
            );
            let messages = cfg.messages;
            let producers = cfg.producers;
            watchdog(what, cfg.timeout, String::new, move || {
                upgrade_race(flavor, capacity, producers, messages, seed)
            });
        }
    }
}

fn upgrade_race(flavor: &Flavor, capacity: usize, producers: usize, messages: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let tracker = Tracker::new(producers + 1, messages);
    let (tx, rx) = (flavor.make)(capacity);
    let (weak_tx, weak_rx) = (tx.downgrade(), rx.downgrade());
    let stop = Arc::new(AtomicBool::new(false));

    // Strong senders, each sending its share and then dropping its handle.
    let holders: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, tracker, mut prng) = (tx.clone(), Arc::clone(&tracker), rng.fork());
            thread::spawn(move || {
                for seq in 0..messages {
                    tx.send_blocking(tracker.msg(p, seq))
                        .expect("open while we hold a sender");
                    if prng.percent(5) {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    drop(tx);

    // The upgrader: sends through upgraded senders until upgrade fails.
    let upgrader = {
        let (tracker, weak_tx) = (Arc::clone(&tracker), weak_tx.clone());
        thread::spawn(move || {
            let mut sent = 0;
            while let Some(tx) = weak_tx.upgrade() {
                assert!(
                    !tx.is_closed(),
                    "upgrade returned a sender to a closed channel"
                );
                if sent < messages {
                    tx.send_blocking(tracker.msg(producers, sent))
                        .expect("upgraded sender: channel closed");
                    sent += 1;
                }
                drop(tx);
                thread::yield_now();
            }
            sent
        })
    };

    // Extra receivers come and go through the weak receiver while the real
    // one drains.
    let weak_consumer = {
        let (weak_rx, stop) = (weak_rx.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let mut got = Vec::new();
            while !stop.load(Relaxed) {
                match weak_rx.upgrade() {
                    Some(rx) => {
                        if let Ok(msg) = rx.try_recv() {
                            got.push(msg.id);
                        }
                    }
                    None => break,
                }
                thread::yield_now();
            }
            got
        })
    };
    let mut got = Vec::new();
    while let Ok(msg) = rx.recv_blocking() {
        got.push(msg.id);
    }
    for h in holders {
        join_thread(h);
    }
    let upgraded_sends = join_thread(upgrader);
    assert!(
        weak_tx.upgrade().is_none(),
        "upgrade succeeded after the last sender was dropped"
    );
    stop.store(true, Relaxed);
    got.extend(join_thread(weak_consumer));
    drop(rx);
    assert!(
        weak_rx.upgrade().is_none(),
        "upgrade succeeded after the last receiver was dropped"
    );
    drop((weak_tx, weak_rx));

    got.sort_unstable();
    let expected: Vec<u32> = (0..producers * messages)
        .chain(producers * messages..producers * messages + upgraded_sends)
        .map(|id| id as u32)
        .collect();
    assert_eq!(got.len(), expected.len(), "lost or duplicated messages");
    assert_eq!(got, expected, "lost or duplicated messages");
    for id in expected {
        assert_eq!(
            tracker.drops[id as usize].load(Relaxed),
            1,
            "message {id} not dropped exactly once"
        );
    }
    assert_eq!(
        Arc::strong_count(&tracker),
        1,
        "some payload outlived its channel"
    );
}
