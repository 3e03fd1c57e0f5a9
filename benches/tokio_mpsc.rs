//! tokio's own benchmark of its mpsc channel, played by `tokio::sync::mpsc`
//! and by `ringchan::mpsc`, its drop-in: the same scenario code, written once
//! and compiled twice, one `use` apart.
//!
//! The scenarios are the ones of `benches/sync_mpsc.rs` in the tokio
//! repository (reimplemented here, not copied), with its sizes:
//!
//! | group | scenario | what one iteration does |
//! |---|---|---|
//! | `create_medium` | `1`, `100`, `100000` | create and drop a channel of 512-byte messages with that buffer |
//! | `send` | `medium_1000`, `large_1000` | create a channel of 1000, `block_on` one send of a 512-byte (32 KiB) message, `block_on` its receive |
//! | `contention` | `bounded` | 5 spawned producers send 1000 messages each into a channel of 1,000,000; the receiver (in `block_on`) takes all 5000 |
//! | | `bounded_full` | the same through a channel of 100, so producers wait |
//! | | `unbounded` | the same through an unbounded channel |
//! | | `*_recv_many` | the same, the receiver taking up to 5000 per `recv_many` |
//! | `uncontented` | `bounded`, `unbounded`, `*_recv_many` | one task sends 5000 messages, then receives them |
//!
//! Every group runs on one multi-thread runtime of 6 workers, the size of
//! tokio's (`RINGCHAN_TOKIO_BENCH_WORKERS` changes that), shared by both
//! sides; tokio plays each row first. tokio's own benchmark builds a runtime
//! per scenario and none for `create_medium`, which needs none. A row reads
//! `contention/bounded/ringchan` beside `contention/bounded/tokio`.
//!
//! ```text
//! cargo bench --bench tokio_mpsc             # about 5 minutes on 2 cores
//! cargo bench --bench tokio_mpsc -- contention
//! ```

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;

/// tokio's medium message: 512 bytes.
#[derive(Clone, Copy)]
struct Medium(#[allow(dead_code)] [usize; 64]);

impl Default for Medium {
    fn default() -> Self {
        Medium([0; 64])
    }
}

/// tokio's large message: 64 medium ones, 32 KiB.
#[derive(Clone, Copy)]
struct Large(#[allow(dead_code)] [Medium; 64]);

impl Default for Large {
    fn default() -> Self {
        Large([Medium::default(); 64])
    }
}

/// Producer tasks of the contention scenarios.
const PRODUCERS: usize = 5;
/// Messages each producer sends; the uncontended task sends
/// `PRODUCERS * PER_PRODUCER`.
const PER_PRODUCER: usize = 1000;
/// The buffer of the `bounded` scenarios: room for every message.
const ROOMY: usize = 1_000_000;
/// The buffer of the `bounded_full` scenarios: producers wait.
const TIGHT: usize = 100;
/// `recv_many`'s limit: every message, as in tokio's benchmark.
const MANY: usize = PRODUCERS * PER_PRODUCER;

/// One scenario; each side's `run` plays it once.
#[derive(Clone, Copy)]
enum Scenario {
    /// Create and drop a channel of [`Medium`] with this buffer.
    Create(usize),
    /// One send and one receive of a [`Medium`] through a new channel of 1000.
    SendMedium,
    /// The same with a [`Large`].
    SendLarge,
    /// [`PRODUCERS`] spawned tasks send into a channel with this buffer
    /// (`None`: unbounded); `block_on` receives, `recv_many` if `many`.
    Contention { buffer: Option<usize>, many: bool },
    /// One task sends every message, then receives them.
    Uncontended { buffer: Option<usize>, many: bool },
}

/// Takes `n` messages from `rx` inside an async block: one `recv` each, or
/// `recv_many` calls of up to [`MANY`] into one buffer.
macro_rules! take {
    ($rx:ident, $n:expr, $many:expr) => {
        if $many {
            let mut buf = Vec::with_capacity(MANY);
            let mut got = 0;
            while got < $n {
                got += $rx.recv_many(&mut buf, MANY).await;
            }
        } else {
            for _ in 0..$n {
                std::hint::black_box($rx.recv().await);
            }
        }
    };
}

/// Every scenario against the mpsc module at `$mpsc`.
macro_rules! scenarios {
    ($($mpsc:ident)::+) => {
        use $($mpsc)::+ as mpsc;

        use super::*;

        pub fn run(rt: &Runtime, scenario: Scenario) {
            match scenario {
                Scenario::Create(buffer) => {
                    std::hint::black_box(&mpsc::channel::<Medium>(buffer));
                }
                Scenario::SendMedium => send_one::<Medium>(rt),
                Scenario::SendLarge => send_one::<Large>(rt),
                Scenario::Contention { buffer: Some(buffer), many } => rt.block_on(async {
                    let (tx, mut rx) = mpsc::channel(buffer);
                    for _ in 0..PRODUCERS {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for i in 0..PER_PRODUCER {
                                tx.send(i).await.unwrap();
                            }
                        });
                    }
                    take!(rx, PRODUCERS * PER_PRODUCER, many);
                }),
                Scenario::Contention { buffer: None, many } => rt.block_on(async {
                    let (tx, mut rx) = mpsc::unbounded_channel();
                    for _ in 0..PRODUCERS {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for i in 0..PER_PRODUCER {
                                tx.send(i).unwrap();
                            }
                        });
                    }
                    take!(rx, PRODUCERS * PER_PRODUCER, many);
                }),
                Scenario::Uncontended { buffer: Some(buffer), many } => rt.block_on(async {
                    let (tx, mut rx) = mpsc::channel(buffer);
                    for i in 0..PRODUCERS * PER_PRODUCER {
                        tx.send(i).await.unwrap();
                    }
                    take!(rx, PRODUCERS * PER_PRODUCER, many);
                }),
                Scenario::Uncontended { buffer: None, many } => rt.block_on(async {
                    let (tx, mut rx) = mpsc::unbounded_channel();
                    for i in 0..PRODUCERS * PER_PRODUCER {
                        tx.send(i).unwrap();
                    }
                    take!(rx, PRODUCERS * PER_PRODUCER, many);
                }),
            }
        }

        // Out of line: inlined, the 32 KiB message made `run`'s stack frame
        // that large, and every scenario paid for probing it.
        #[inline(never)]
        fn send_one<T: Default>(rt: &Runtime) {
            let (tx, mut rx) = mpsc::channel::<T>(1000);
            let _ = rt.block_on(tx.send(T::default()));
            std::hint::black_box(rt.block_on(rx.recv()).unwrap());
        }
    };
}

mod on_tokio {
    scenarios!(tokio::sync::mpsc);
}

mod on_ringchan {
    scenarios!(ringchan::mpsc);
}

/// One side's `run`: plays a scenario once.
type Run = fn(&Runtime, Scenario);

/// The two players; every other row runs them in the reverse order (see
/// [`group`]).
const SIDES: [(&str, Run); 2] = [("tokio", on_tokio::run), ("ringchan", on_ringchan::run)];

/// tokio's runtime for these scenarios: multi-thread, 6 workers unless
/// `RINGCHAN_TOKIO_BENCH_WORKERS` says otherwise.
fn runtime() -> Runtime {
    let workers = std::env::var("RINGCHAN_TOKIO_BENCH_WORKERS")
        .ok()
        .map(|w| w.parse().expect("RINGCHAN_TOKIO_BENCH_WORKERS: a number"))
        .unwrap_or(6);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("a Tokio runtime")
}

/// Benchmarks `rows` in `group`, each row once per side.
fn group(c: &mut Criterion, group: &str, rows: &[(&str, Scenario)]) {
    let rt = runtime();
    let mut g = c.benchmark_group(group);
    g.measurement_time(Duration::from_secs(3));
    for (i, &(row, scenario)) in rows.iter().enumerate() {
        // Each row's first side warms the runtime's threads and the
        // allocator for the second; alternating which goes first keeps
        // that from favouring one crate in every row.
        let mut sides = SIDES;
        if i % 2 == 1 {
            sides.reverse();
        }
        for (side, run) in sides {
            g.bench_function(format!("{row}/{side}"), |b| b.iter(|| run(&rt, scenario)));
        }
    }
    g.finish();
}

fn tokio_mpsc(c: &mut Criterion) {
    group(
        c,
        "create_medium",
        &[
            ("1", Scenario::Create(1)),
            ("100", Scenario::Create(100)),
            ("100000", Scenario::Create(100_000)),
        ],
    );
    group(
        c,
        "send",
        &[
            ("medium_1000", Scenario::SendMedium),
            ("large_1000", Scenario::SendLarge),
        ],
    );
    let contention = |buffer, many| Scenario::Contention { buffer, many };
    group(
        c,
        "contention",
        &[
            ("bounded", contention(Some(ROOMY), false)),
            ("bounded_recv_many", contention(Some(ROOMY), true)),
            ("bounded_full", contention(Some(TIGHT), false)),
            ("bounded_full_recv_many", contention(Some(TIGHT), true)),
            ("unbounded", contention(None, false)),
            ("unbounded_recv_many", contention(None, true)),
        ],
    );
    let uncontended = |buffer, many| Scenario::Uncontended { buffer, many };
    group(
        c,
        "uncontented",
        &[
            ("bounded", uncontended(Some(ROOMY), false)),
            ("bounded_recv_many", uncontended(Some(ROOMY), true)),
            ("unbounded", uncontended(None, false)),
            ("unbounded_recv_many", uncontended(None, true)),
        ],
    );
}

criterion_group!(benches, tokio_mpsc);
criterion_main!(benches);
