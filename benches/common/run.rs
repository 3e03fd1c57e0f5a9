//! The timed scenarios, each written once over the flavour traits, and the
//! four tables (async, batch, blocking, try) saying which flavour of which crate
//! plays a row of a given shape.
//!
//! Every run checks what it received: the count and the sum of sequence
//! numbers must match what was sent, so a lost or doubled message fails loudly
//! instead of looking fast.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};

use super::flavors::*;
use super::{Config, Msg64, Payload, Peer, Rt, Scenario, Shape, BULK_CAP, UNBOUNDED};

/// A scenario written against [`AsyncChan`]; the table picks `C`.
pub trait AsyncJob {
    type Out;
    fn run<C: AsyncChan>(&self) -> Self::Out;
}

/// A scenario written against [`BatchChan`].
pub trait BatchJob {
    type Out;
    fn run<C: BatchChan>(&self) -> Self::Out;
}

/// A scenario written against [`BlockingChan`].
pub trait BlockingJob {
    type Out;
    fn run<C: BlockingChan>(&self) -> Self::Out;
}

/// A scenario written against [`TryChan`].
pub trait TryJob {
    type Out;
    fn run<C: TryChan>(&self) -> Self::Out;
}

/// Async table: the narrowest flavour of `peer` that has `senders` senders
/// and `receivers` receivers (and is unbounded if `unbounded`), or `None` if
/// it has none.
fn with_async<T: Payload, J: AsyncJob>(
    peer: Peer,
    senders: usize,
    receivers: usize,
    unbounded: bool,
    job: &J,
) -> Option<J::Out> {
    let spsc = senders == 1 && receivers == 1;
    let single_rx = receivers == 1;
    Some(match peer {
        Peer::Ringchan if unbounded => job.run::<RingchanUnbounded<T>>(),
        Peer::RingchanMpsc if unbounded && single_rx => job.run::<RingchanMpscUnbounded<T>>(),
        Peer::Tokio if unbounded && single_rx => job.run::<TokioUnbounded<T>>(),
        Peer::AsyncChannel if unbounded => job.run::<AsyncChannelUnbounded<T>>(),
        Peer::Flume if unbounded => job.run::<FlumeUnbounded<T>>(),
        Peer::Kanal if unbounded => job.run::<KanalUnbounded<T>>(),
        _ if unbounded => return None,
        Peer::Ringchan => job.run::<Ringchan<T>>(),
        Peer::RingchanMpsc if single_rx => job.run::<RingchanMpsc<T>>(),
        Peer::Tokio if single_rx => job.run::<TokioMpsc<T>>(),
        Peer::AsyncChannel => job.run::<AsyncChannel<T>>(),
        Peer::Flume => job.run::<Flume<T>>(),
        Peer::Kanal => job.run::<Kanal<T>>(),
        Peer::Crossfire if spsc => job.run::<CrossfireSpsc<T>>(),
        Peer::Crossfire if single_rx => job.run::<CrossfireMpsc<T>>(),
        Peer::Crossfire => job.run::<CrossfireMpmc<T>>(),
        Peer::Tachyonix if single_rx => job.run::<Tachyonix<T>>(),
        Peer::Thingbuf if single_rx => job.run::<Thingbuf<T>>(),
        _ => return None,
    })
}

/// Batch table: the channels with a batch API.
fn with_batch<T: Payload, J: BatchJob>(peer: Peer, job: &J) -> Option<J::Out> {
    Some(match peer {
        Peer::Ringchan => job.run::<Ringchan<T>>(),
        Peer::RingchanMpsc => job.run::<RingchanMpsc<T>>(),
        Peer::Tokio => job.run::<TokioMpsc<T>>(),
        _ => return None,
    })
}

/// Blocking table.
fn with_blocking<T: Payload, J: BlockingJob>(
    peer: Peer,
    senders: usize,
    receivers: usize,
    job: &J,
) -> Option<J::Out> {
    let spsc = senders == 1 && receivers == 1;
    let single_rx = receivers == 1;
    Some(match peer {
        Peer::Ringchan => job.run::<Ringchan<T>>(),
        Peer::AsyncChannel => job.run::<AsyncChannel<T>>(),
        Peer::Flume => job.run::<Flume<T>>(),
        Peer::Kanal => job.run::<KanalSync<T>>(),
        Peer::Crossfire if spsc => job.run::<CrossfireSpscBlocking<T>>(),
        Peer::Crossfire if single_rx => job.run::<CrossfireMpscBlocking<T>>(),
        Peer::Crossfire => job.run::<CrossfireMpmcBlocking<T>>(),
        Peer::Crossbeam => job.run::<Crossbeam<T>>(),
        _ => return None,
    })
}

/// Try table: one sender, one receiver, everyone with non-blocking calls.
fn with_try<T: Payload, J: TryJob>(peer: Peer, job: &J) -> Option<J::Out> {
    Some(match peer {
        Peer::Ringchan => job.run::<Ringchan<T>>(),
        Peer::RingchanMpsc => job.run::<RingchanMpsc<T>>(),
        Peer::Tokio => job.run::<TokioMpsc<T>>(),
        Peer::AsyncChannel => job.run::<AsyncChannel<T>>(),
        Peer::Flume => job.run::<Flume<T>>(),
        Peer::Kanal => job.run::<Kanal<T>>(),
        // mpmc, not spsc: its try pair measured about twice as fast here.
        Peer::Crossfire => job.run::<CrossfireMpmc<T>>(),
        Peer::Tachyonix => job.run::<Tachyonix<T>>(),
        Peer::Thingbuf => job.run::<Thingbuf<T>>(),
        Peer::Crossbeam => job.run::<Crossbeam<T>>(),
    })
}

/// The runtimes, built once and reused by every run.
pub struct Bench {
    multi: Runtime,
    current: Runtime,
}

impl Bench {
    pub fn new(cfg: &Config) -> Self {
        // Crossfire's documented set-up call (tunes its backoff on 1-core hosts).
        crossfire::detect_backoff_cfg();
        Bench {
            multi: Builder::new_multi_thread()
                .worker_threads(cfg.workers)
                .enable_all()
                .build()
                .expect("multi-thread runtime"),
            current: Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("current-thread runtime"),
        }
    }

    fn rt(&self, rt: Rt) -> &Runtime {
        match rt {
            Rt::Multi => &self.multi,
            Rt::Current => &self.current,
        }
    }

    /// Whether `peer` has a flavour for row `s` (found by running a token
    /// batch of one message per sender).
    pub fn plays(&self, peer: Peer, s: &Scenario) -> bool {
        self.run(peer, &s.with_msgs(0)).is_some()
    }

    /// Times one batch of row `s` on `peer`; `None` if `peer` does not play it.
    pub fn run(&self, peer: Peer, s: &Scenario) -> Option<Duration> {
        match s.bytes {
            8 => self.run_as::<u64>(peer, s),
            64 => self.run_as::<Msg64>(peer, s),
            b => panic!("no {b}-byte payload"),
        }
    }

    fn run_as<T: Payload>(&self, peer: Peer, s: &Scenario) -> Option<Duration> {
        let msgs = s.msgs;
        match s.shape {
            Shape::Async {
                rt,
                senders,
                receivers,
                cap,
            } => {
                let job = Throughput {
                    rt: self.rt(rt),
                    senders,
                    receivers,
                    cap,
                    msgs,
                };
                with_async::<T, _>(peer, senders, receivers, cap == UNBOUNDED, &job)
            }
            Shape::Batch { rt, batch } => with_batch::<T, _>(
                peer,
                &Batches {
                    rt: self.rt(rt),
                    batch,
                    msgs,
                },
            ),
            Shape::PingPong { rt } => with_async::<T, _>(
                peer,
                1,
                1,
                false,
                &PingPong {
                    rt: self.rt(rt),
                    msgs,
                },
            ),
            Shape::TryPair => with_try::<T, _>(peer, &TryPair { msgs }),
            Shape::Blocking {
                senders,
                receivers,
                cap,
            } => with_blocking::<T, _>(
                peer,
                senders,
                receivers,
                &Threads {
                    senders,
                    receivers,
                    cap,
                    msgs,
                },
            ),
        }
    }

    /// Send-to-receive latencies in nanoseconds, unsorted: `senders` tasks
    /// together offer `rate` messages per second for `msgs` messages to one
    /// receiver through a channel of capacity [`BULK_CAP`]. `None` if `peer`
    /// has no async multi-producer flavour.
    pub fn latency(
        &self,
        peer: Peer,
        rt: Rt,
        senders: usize,
        rate: u64,
        msgs: u64,
    ) -> Option<Vec<u64>> {
        let job = Latency {
            rt: self.rt(rt),
            senders,
            rate,
            msgs,
        };
        with_async::<u64, _>(peer, senders, 1, false, &job)
    }
}

/// What receivers saw: count and sum of sequence numbers.
#[derive(Clone, Copy, Default)]
struct Tally {
    n: u64,
    sum: u64,
}

impl Tally {
    #[inline]
    fn add<T: Payload>(&mut self, v: &T) {
        self.n += 1;
        self.sum = self.sum.wrapping_add(v.seq());
    }

    fn merge(self, o: Tally) -> Tally {
        Tally {
            n: self.n + o.n,
            sum: self.sum.wrapping_add(o.sum),
        }
    }

    /// Each of `senders` senders sent sequence numbers `0..per`.
    fn check(self, senders: usize, per: u64) {
        let expect_sum = (per * per.saturating_sub(1) / 2).wrapping_mul(senders as u64);
        assert_eq!(self.n, per * senders as u64, "message count");
        assert_eq!(self.sum, expect_sum, "message checksum");
    }
}

/// Async throughput: producers split `msgs`, consumers drain until closed.
struct Throughput<'a> {
    rt: &'a Runtime,
    senders: usize,
    receivers: usize,
    cap: usize,
    msgs: u64,
}

impl AsyncJob for Throughput<'_> {
    type Out = Duration;
    fn run<C: AsyncChan>(&self) -> Duration {
        let per = self.msgs / self.senders as u64;
        let start = Instant::now();
        let tally = self.rt.block_on(async {
            let (txs, rxs) = C::make(self.cap, self.senders, self.receivers);
            let consumers: Vec<_> = rxs
                .into_iter()
                .map(|mut rx| {
                    tokio::spawn(async move {
                        let mut t = Tally::default();
                        while let Some(v) = C::recv(&mut rx).await.into_option() {
                            t.add(&v);
                        }
                        t
                    })
                })
                .collect();
            let producers: Vec<_> = txs
                .into_iter()
                .map(|tx| {
                    tokio::spawn(async move {
                        for i in 0..per {
                            C::send(&tx, C::Item::new(i)).await.check();
                        }
                    })
                })
                .collect();
            for p in producers {
                p.await.expect("producer task");
            }
            let mut total = Tally::default();
            for c in consumers {
                total = total.merge(c.await.expect("consumer task"));
            }
            total
        });
        let elapsed = start.elapsed();
        tally.check(self.senders, per);
        elapsed
    }
}

/// Batch throughput: one producer, one consumer, capacity [`BULK_CAP`];
/// `batch` 0 uses single `send`/`recv`.
struct Batches<'a> {
    rt: &'a Runtime,
    batch: usize,
    msgs: u64,
}

impl BatchJob for Batches<'_> {
    type Out = Duration;
    fn run<C: BatchChan>(&self) -> Duration {
        let (n, b) = (self.msgs, self.batch);
        let start = Instant::now();
        let tally = self.rt.block_on(async {
            let (tx, mut rx) = C::pair(BULK_CAP);
            let consumer = tokio::spawn(async move {
                let mut t = Tally::default();
                if b == 0 {
                    while let Some(v) = C::recv(&mut rx).await.into_option() {
                        t.add(&v);
                    }
                } else {
                    let mut buf = Vec::with_capacity(b);
                    while C::recv_batch(&mut rx, &mut buf, b).await > 0 {
                        assert!(buf.len() <= b, "recv_many exceeded its limit");
                        buf.drain(..).for_each(|v| t.add(&v));
                    }
                }
                t
            });
            let producer = tokio::spawn(async move {
                if b == 0 {
                    for i in 0..n {
                        C::send(&tx, C::Item::new(i)).await.check();
                    }
                } else {
                    let mut buf = Vec::with_capacity(b);
                    for i in 0..n {
                        buf.push(C::Item::new(i));
                        if buf.len() == b || i + 1 == n {
                            C::send_batch(&tx, &mut buf).await;
                            assert!(buf.is_empty(), "send_many left messages behind");
                        }
                    }
                }
            });
            producer.await.expect("producer task");
            consumer.await.expect("consumer task")
        });
        let elapsed = start.elapsed();
        tally.check(1, n);
        elapsed
    }
}

/// Ping-pong: one task sends, the other echoes on a second channel.
struct PingPong<'a> {
    rt: &'a Runtime,
    msgs: u64,
}

impl AsyncJob for PingPong<'_> {
    type Out = Duration;
    fn run<C: AsyncChan>(&self) -> Duration {
        let n = self.msgs;
        let start = Instant::now();
        self.rt.block_on(async {
            let (ping_tx, mut ping_rx) = C::pair(1);
            let (pong_tx, mut pong_rx) = C::pair(1);
            let echo = tokio::spawn(async move {
                while let Some(v) = C::recv(&mut ping_rx).await.into_option() {
                    C::send(&pong_tx, v).await.check();
                }
            });
            let ping = tokio::spawn(async move {
                for i in 0..n {
                    C::send(&ping_tx, C::Item::new(i)).await.check();
                    let v = C::recv(&mut pong_rx)
                        .await
                        .into_option()
                        .expect("echo task ended early");
                    assert_eq!(v.seq(), i, "ping-pong order");
                }
            });
            ping.await.expect("ping task");
            echo.await.expect("echo task");
        });
        start.elapsed()
    }
}

/// Uncontended `try_send` + `try_recv` on the calling thread.
struct TryPair {
    msgs: u64,
}

impl TryJob for TryPair {
    type Out = Duration;
    fn run<C: TryChan>(&self) -> Duration {
        let (tx, mut rx) = C::pair(BULK_CAP);
        let mut t = Tally::default();
        let start = Instant::now();
        for i in 0..self.msgs {
            assert!(
                C::try_send(&tx, C::Item::new(i)),
                "try_send failed on an empty channel"
            );
            let v = C::try_recv(&mut rx).expect("try_recv failed right after a send");
            t.add(black_box(&v));
        }
        let elapsed = start.elapsed();
        t.check(1, self.msgs);
        elapsed
    }
}

/// Blocking throughput on OS threads: from the first thread leaving the start
/// barrier to the last consumer seeing the channel close, each thread reading
/// the clock itself (the spawning thread may well be descheduled meanwhile).
struct Threads {
    senders: usize,
    receivers: usize,
    cap: usize,
    msgs: u64,
}

impl BlockingJob for Threads {
    type Out = Duration;
    fn run<C: BlockingChan>(&self) -> Duration {
        let per = self.msgs / self.senders as u64;
        let (txs, rxs) = C::make(self.cap, self.senders, self.receivers);
        let go = Barrier::new(self.senders + self.receivers);
        let (starts, ends, tally) = thread::scope(|s| {
            let go = &go;
            let consumers: Vec<_> = rxs
                .into_iter()
                .map(|mut rx| {
                    s.spawn(move || {
                        go.wait();
                        let start = Instant::now();
                        let mut t = Tally::default();
                        while let Some(v) = C::recv_blocking(&mut rx) {
                            t.add(&v);
                        }
                        (start, Instant::now(), t)
                    })
                })
                .collect();
            let producers: Vec<_> = txs
                .into_iter()
                .map(|tx| {
                    s.spawn(move || {
                        go.wait();
                        let start = Instant::now();
                        for i in 0..per {
                            C::send_blocking(&tx, C::Item::new(i));
                        }
                        start
                    })
                })
                .collect();
            let mut starts: Vec<Instant> = producers
                .into_iter()
                .map(|p| p.join().expect("producer thread"))
                .collect();
            let (mut ends, mut total) = (Vec::new(), Tally::default());
            for c in consumers {
                let (start, end, t) = c.join().expect("consumer thread");
                starts.push(start);
                ends.push(end);
                total = total.merge(t);
            }
            (starts, ends, total)
        });
        tally.check(self.senders, per);
        let first = starts.into_iter().min().unwrap();
        ends.into_iter().max().unwrap() - first
    }
}

/// Paced producers stamp each message with the time it was sent; the
/// receiver records how long it took to arrive.
struct Latency<'a> {
    rt: &'a Runtime,
    senders: usize,
    rate: u64,
    msgs: u64,
}

impl AsyncJob for Latency<'_> {
    type Out = Vec<u64>;
    fn run<C: AsyncChan>(&self) -> Vec<u64> {
        let senders = self.senders as u64;
        let per = self.msgs / senders;
        // Each producer sends every `gap_ns`; producers are staggered evenly.
        let gap_ns = 1_000_000_000 * senders / self.rate.max(1);
        self.rt.block_on(async {
            let (txs, mut rxs) = C::make(BULK_CAP, self.senders, 1);
            let mut rx = rxs.pop().unwrap();
            let epoch = Instant::now();
            let since = move || epoch.elapsed().as_nanos() as u64;
            let consumer = tokio::spawn(async move {
                let mut lat = Vec::with_capacity((per * senders) as usize);
                while let Some(v) = C::recv(&mut rx).await.into_option() {
                    lat.push(since().saturating_sub(v.seq()));
                }
                lat
            });
            for (k, tx) in txs.into_iter().enumerate() {
                let first = epoch + Duration::from_nanos(gap_ns * k as u64 / senders);
                tokio::spawn(async move {
                    for i in 0..per {
                        let due = first + Duration::from_nanos(gap_ns * i);
                        while Instant::now() < due {
                            tokio::task::yield_now().await;
                        }
                        C::send(&tx, C::Item::new(since())).await.check();
                    }
                });
            }
            consumer.await.expect("latency consumer")
        })
    }
}
