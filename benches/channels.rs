//! Side-by-side throughput of ringchan and its peers (issue #5), in one process.
//!
//! Rows: SPSC at capacity 1/16/1024, MPSC with 4 and 64 producers, MPMC 4x4,
//! unbounded SPSC, MPSC with 4 producers and MPMC 4x4, ping-pong at capacity
//! 1 (all on a 2-worker multi-thread and on a current-thread Tokio runtime);
//! batches of 1/8/32/256 through `send_many`/`recv_many` and single
//! `send`/`recv` as the baseline (multi-thread, 1 producer, 1 consumer,
//! capacity 1024); an uncontended `try_send`+`try_recv` pair; and blocking
//! threads 1x1/2x2/4x4; each with 8- and 64-byte messages. Each criterion
//! group is one row, each function in it one channel, and the throughput is
//! in messages (ping-pong: round trips). Peers sit out rows their API
//! cannot play (tokio, ringchan::mpsc, tachyonix and thingbuf have one
//! receiver; crossbeam has no async API; only ringchan, ringchan::mpsc and
//! tokio have `recv_many`, and only crossfire, tachyonix and thingbuf among
//! the async peers are left out of the unbounded rows).
//!
//! ```text
//! cargo bench --bench channels                         # everything, ~10 min on 2 cores
//! cargo bench --bench channels -- 'async-mt/spsc'      # a regex over "<row>/<peer>"
//! RINGCHAN_BENCH_BYTES=8 RINGCHAN_BENCH_PEERS=ringchan,kanal cargo bench --bench channels
//! ```
//!
//! Each row starts with the next peer in the list, so no channel always runs
//! first. Task/thread counts, batch size, sizes and peers are environment
//! variables, listed in `benches/common/mod.rs`. For one quick table use
//! `cargo run --release --example race` instead.

#[allow(dead_code)] // each target uses a different part of the shared code
mod common;

use std::time::Duration;

use common::{Bench, Config};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn channels(c: &mut Criterion) {
    let mut cfg = Config::from_env();
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` runs each benchmark once, unoptimised.
        cfg.msgs = cfg.msgs.min(1_000);
    }
    let bench = Bench::new(&cfg);
    for (r, row) in cfg.scenarios().into_iter().enumerate() {
        let mut group = c.benchmark_group(row.to_string());
        group.throughput(Throughput::Elements(row.msgs));
        // Each row starts with another peer, so that no channel always runs
        // right after the previous row's last one (whose tasks and threads
        // the runtime and the allocator have just served).
        let start = r % cfg.peers.len();
        let peers = cfg.peers[start..].iter().chain(&cfg.peers[..start]);
        for &peer in peers {
            if !bench.plays(peer, &row) {
                continue;
            }
            group.bench_function(peer.name(), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| bench.run(peer, &row).unwrap())
                        .sum::<Duration>()
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .without_plots();
    targets = channels
}
criterion_main!(benches);
