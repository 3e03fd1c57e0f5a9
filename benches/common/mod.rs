//! Scenario and peer code shared by `benches/channels.rs` (criterion),
//! `benches/latency.rs` and `examples/race.rs` (which includes this directory
//! with `#[path]`), so every scenario and every adapter is written once.
//!
//! - [`flavors`]: one adapter per channel flavour behind small traits.
//! - [`run`]: the timed scenarios and the tables saying which flavour of which
//!   crate plays each row.
//! - here: the payloads, the peers, the scenario list and its knobs.
//!
//! Knobs (environment variables, all optional; defaults suit a 2-core machine):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `RINGCHAN_BENCH_WORKERS` | `2` | worker threads of the multi-thread Tokio runtime |
//! | `RINGCHAN_BENCH_MSGS` | `20000` (race: `100000`) | messages per timed batch (ping-pong: a tenth as many round trips) |
//! | `RINGCHAN_BENCH_CAPS` | `1,16,1024` | capacities of the SPSC rows |
//! | `RINGCHAN_BENCH_PRODUCERS` | `4,64` | producer tasks of the MPSC rows |
//! | `RINGCHAN_BENCH_MPMC` | `4x4` | producers x consumers of the MPMC rows (capacity 1024 and unbounded) |
//! | `RINGCHAN_BENCH_UNBOUNDED` | `1,4` | producer tasks of the unbounded rows (1 consumer) |
//! | `RINGCHAN_BENCH_BATCHES` | `0,1,8,32,256` (race: `0,1,32,256`) | batch sizes of the batch rows; `0` = single `send`/`recv` |
//! | `RINGCHAN_BENCH_THREADS` | `1x1,2x2,4x4` | producer x consumer threads of the blocking rows |
//! | `RINGCHAN_BENCH_BYTES` | `8,64` | message sizes (8 and/or 64) |
//! | `RINGCHAN_BENCH_PEERS` | all | comma-separated peer names, e.g. `ringchan,kanal` |
//!
//! `ringchan::mpsc` (the tokio drop-in) is its own column; the unbounded rows
//! use each crate's unbounded channel, and the batch rows are played only by
//! channels with a batch API (ringchan, ringchan::mpsc, tokio).

pub mod flavors;
pub mod run;

pub use run::Bench;

use std::env;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Capacity of the MPSC, MPMC, batch, blocking and try-pair rows.
pub const BULK_CAP: usize = 1024;
/// The `cap` of an unbounded row.
pub const UNBOUNDED: usize = 0;
/// Ping-pong batches are this many times smaller than `RINGCHAN_BENCH_MSGS`:
/// a round trip costs two wake-ups.
const PINGPONG_DIVISOR: u64 = 10;
/// Try-pair batches are this many times larger: nothing ever waits.
const TRY_PAIR_FACTOR: u64 = 5;

/// A message. `new(seq)` fills every byte, `seq()` reads the number back so
/// receivers can check that each message arrived exactly once. (`Default`
/// and `Clone` for thingbuf, `Unpin` for crossfire's send future.)
pub trait Payload: Default + Clone + Send + Sync + Unpin + 'static {
    fn new(seq: u64) -> Self;
    fn seq(&self) -> u64;
}

impl Payload for u64 {
    #[inline]
    fn new(seq: u64) -> Self {
        seq
    }
    #[inline]
    fn seq(&self) -> u64 {
        *self
    }
}

/// The 64-byte message.
#[derive(Clone, Copy, Default, Debug)]
pub struct Msg64([u64; 8]);

const _: () = assert!(std::mem::size_of::<Msg64>() == 64);

impl Payload for Msg64 {
    #[inline]
    fn new(seq: u64) -> Self {
        Msg64([seq; 8])
    }
    #[inline]
    fn seq(&self) -> u64 {
        self.0[0]
    }
}

/// A column of the comparison: one crate, whichever of its flavours fits the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    Ringchan,
    RingchanMpsc,
    Tokio,
    AsyncChannel,
    Flume,
    Kanal,
    Crossfire,
    Tachyonix,
    Thingbuf,
    Crossbeam,
}

impl Peer {
    pub const ALL: &'static [Peer] = &[
        Peer::Ringchan,
        Peer::RingchanMpsc,
        Peer::Tokio,
        Peer::AsyncChannel,
        Peer::Flume,
        Peer::Kanal,
        Peer::Crossfire,
        Peer::Tachyonix,
        Peer::Thingbuf,
        Peer::Crossbeam,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Peer::Ringchan => "ringchan",
            Peer::RingchanMpsc => "ringchan::mpsc",
            Peer::Tokio => "tokio",
            Peer::AsyncChannel => "async-channel",
            Peer::Flume => "flume",
            Peer::Kanal => "kanal",
            Peer::Crossfire => "crossfire",
            Peer::Tachyonix => "tachyonix",
            Peer::Thingbuf => "thingbuf",
            Peer::Crossbeam => "crossbeam",
        }
    }
}

/// Which Tokio runtime an async row runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rt {
    /// Multi-thread, `RINGCHAN_BENCH_WORKERS` workers.
    Multi,
    /// Current-thread: every task on the thread calling `block_on`.
    Current,
}

/// What one row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `senders` tasks split the batch and send it; `receivers` tasks receive
    /// until the channel closes. `cap` [`UNBOUNDED`]: an unbounded channel.
    Async {
        rt: Rt,
        senders: usize,
        receivers: usize,
        cap: usize,
    },
    /// Capacity [`BULK_CAP`], one producer sending in batches of `batch`
    /// (`send_many`), one consumer taking up to `batch` at a time
    /// (`recv_many`); `batch` 0: single `send`/`recv`, the baseline. On the
    /// multi-thread runtime the two tasks may share a worker or not, as
    /// Tokio places them, which moves the single rows between two modes
    /// from run to run; on the current-thread runtime they always share
    /// the thread, so its rows compare batches with single messages at
    /// equal footing.
    Batch { rt: Rt, batch: usize },
    /// Two tasks and two capacity-1 channels; one element is one round trip.
    PingPong { rt: Rt },
    /// `try_send` then `try_recv` on one thread: the channel is never full,
    /// never empty when read, and nobody ever waits.
    TryPair,
    /// OS threads with blocking `send`/`recv`.
    Blocking {
        senders: usize,
        receivers: usize,
        cap: usize,
    },
}

/// One row: a shape, a message size and a batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub shape: Shape,
    /// Message size in bytes: 8 (`u64`) or 64 ([`Msg64`]).
    pub bytes: usize,
    /// Messages (ping-pong: round trips) per timed batch, already a multiple
    /// of the producer count.
    pub msgs: u64,
}

impl Scenario {
    fn new(shape: Shape, bytes: usize, msgs: u64) -> Self {
        let senders = match shape {
            Shape::Async { senders, .. } | Shape::Blocking { senders, .. } => senders as u64,
            Shape::Batch { .. } | Shape::PingPong { .. } | Shape::TryPair => 1,
        };
        let msgs = (msgs / senders).max(1) * senders;
        Scenario { shape, bytes, msgs }
    }

    /// The same row with another batch size.
    pub fn with_msgs(self, msgs: u64) -> Self {
        Scenario::new(self.shape, self.bytes, msgs)
    }
}

/// `async-mt/spsc-cap16/8B`, `blocking/2x2-cap1024/64B`, ...: usable as a
/// criterion group name and filter.
impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rt = |rt| match rt {
            Rt::Multi => "async-mt",
            Rt::Current => "async-ct",
        };
        let cap = |cap| match cap {
            UNBOUNDED => "unbounded".to_owned(),
            cap => format!("cap{cap}"),
        };
        match self.shape {
            Shape::Async {
                rt: r,
                senders: 1,
                receivers: 1,
                cap: c,
            } => write!(f, "{}/spsc-{}", rt(r), cap(c))?,
            Shape::Async {
                rt: r,
                senders,
                receivers: 1,
                cap: c,
            } => write!(f, "{}/mpsc{senders}-{}", rt(r), cap(c))?,
            Shape::Async {
                rt: r,
                senders,
                receivers,
                cap: c,
            } => write!(f, "{}/mpmc{senders}x{receivers}-{}", rt(r), cap(c))?,
            Shape::Batch { rt: r, batch: 0 } => write!(f, "{}/batch-single-cap{BULK_CAP}", rt(r))?,
            Shape::Batch { rt: r, batch } => write!(f, "{}/batch{batch}-cap{BULK_CAP}", rt(r))?,
            Shape::PingPong { rt: r } => write!(f, "{}/pingpong-cap1", rt(r))?,
            Shape::TryPair => write!(f, "sync/try-pair-cap{BULK_CAP}")?,
            Shape::Blocking {
                senders,
                receivers,
                cap,
            } => write!(f, "blocking/{senders}x{receivers}-cap{cap}")?,
        }
        write!(f, "/{}B", self.bytes)
    }
}

/// The knobs, read from the environment (see the module docs).
#[derive(Clone, Debug)]
pub struct Config {
    pub workers: usize,
    pub msgs: u64,
    pub caps: Vec<usize>,
    pub producers: Vec<usize>,
    pub mpmc: Vec<(usize, usize)>,
    pub unbounded: Vec<usize>,
    pub batches: Vec<usize>,
    pub threads: Vec<(usize, usize)>,
    pub bytes: Vec<usize>,
    pub peers: Vec<Peer>,
}

impl Config {
    pub fn from_env() -> Self {
        let peers = match env::var("RINGCHAN_BENCH_PEERS") {
            Ok(names) => names
                .split(',')
                .map(|n| {
                    let n = n.trim();
                    *Peer::ALL
                        .iter()
                        .find(|p| p.name() == n)
                        .unwrap_or_else(|| panic!("RINGCHAN_BENCH_PEERS: unknown peer {n:?}"))
                })
                .collect(),
            Err(_) => Peer::ALL.to_vec(),
        };
        let bytes = list("RINGCHAN_BENCH_BYTES", "8,64");
        assert!(
            bytes.iter().all(|b| matches!(b, 8 | 64)),
            "RINGCHAN_BENCH_BYTES: sizes are 8 and 64"
        );
        Config {
            workers: var("RINGCHAN_BENCH_WORKERS", 2),
            msgs: var("RINGCHAN_BENCH_MSGS", 20_000),
            caps: list("RINGCHAN_BENCH_CAPS", "1,16,1024"),
            producers: list("RINGCHAN_BENCH_PRODUCERS", "4,64"),
            mpmc: pairs("RINGCHAN_BENCH_MPMC", "4x4"),
            unbounded: list("RINGCHAN_BENCH_UNBOUNDED", "1,4"),
            batches: list("RINGCHAN_BENCH_BATCHES", "0,1,8,32,256"),
            threads: pairs("RINGCHAN_BENCH_THREADS", "1x1,2x2,4x4"),
            bytes,
            peers,
        }
    }

    /// Every row, grouped by message size: async rows on both runtimes, then
    /// the batch rows, the try pair, and the blocking rows.
    pub fn scenarios(&self) -> Vec<Scenario> {
        let mut rows = Vec::new();
        for &bytes in &self.bytes {
            let row = |shape| Scenario::new(shape, bytes, self.msgs);
            for rt in [Rt::Multi, Rt::Current] {
                let async_row = |senders, receivers, cap| {
                    row(Shape::Async {
                        rt,
                        senders,
                        receivers,
                        cap,
                    })
                };
                for &cap in &self.caps {
                    rows.push(async_row(1, 1, cap));
                }
                for &senders in &self.producers {
                    rows.push(async_row(senders, 1, BULK_CAP));
                }
                for &(senders, receivers) in &self.mpmc {
                    rows.push(async_row(senders, receivers, BULK_CAP));
                }
                for &senders in &self.unbounded {
                    rows.push(async_row(senders, 1, UNBOUNDED));
                }
                for &(senders, receivers) in &self.mpmc {
                    rows.push(async_row(senders, receivers, UNBOUNDED));
                }
                rows.push(Scenario::new(
                    Shape::PingPong { rt },
                    bytes,
                    self.msgs / PINGPONG_DIVISOR,
                ));
            }
            for rt in [Rt::Multi, Rt::Current] {
                for &batch in &self.batches {
                    rows.push(row(Shape::Batch { rt, batch }));
                }
            }
            rows.push(Scenario::new(
                Shape::TryPair,
                bytes,
                self.msgs * TRY_PAIR_FACTOR,
            ));
            for &(senders, receivers) in &self.threads {
                rows.push(row(Shape::Blocking {
                    senders,
                    receivers,
                    cap: BULK_CAP,
                }));
            }
        }
        rows
    }
}

/// Environment variable `name` parsed, or `default` if unset.
pub fn var<T: FromStr>(name: &str, default: T) -> T {
    match env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: cannot parse {v:?}")),
        Err(_) => default,
    }
}

/// `"1,16,1024"` -> `[1, 16, 1024]`.
fn list(name: &str, default: &str) -> Vec<usize> {
    let v = env::var(name).unwrap_or_else(|_| default.to_owned());
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}: cannot parse {s:?}"))
        })
        .collect()
}

/// `"2x2,4x4"` -> `[(2, 2), (4, 4)]`.
fn pairs(name: &str, default: &str) -> Vec<(usize, usize)> {
    let v = env::var(name).unwrap_or_else(|_| default.to_owned());
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let parse = |n: &str| n.trim().parse().ok();
            match s.split_once('x') {
                Some((a, b)) => parse(a).zip(parse(b)),
                None => None,
            }
            .unwrap_or_else(|| panic!("{name}: expected PxC, got {s:?}"))
        })
        .collect()
}

/// The median of a non-empty sample (sorts it).
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// The `q`-quantile (0..=1) of sorted, non-empty samples, nearest rank.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
