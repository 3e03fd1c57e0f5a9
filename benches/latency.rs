//! Send-to-receive latency under a steady load: p50, p99 and p99.9 for
//! ringchan beside tokio::mpsc and the other async peers, on a multi-thread
//! and a current-thread Tokio runtime.
//!
//! Producers stamp each message with the time they send it and pace
//! themselves to a fixed total rate (spinning on `yield_now` between sends, so
//! the runtime stays busy the way a loaded service does); one receiver records
//! arrival minus stamp. Each figure is the median over rounds, peers taking
//! turns inside every round.
//!
//! ```text
//! cargo bench --bench latency          # ~15 s on 2 cores
//! RINGCHAN_LAT_RATE=50000 RINGCHAN_BENCH_PEERS=ringchan,tokio cargo bench --bench latency
//! ```
//!
//! Knobs: `RINGCHAN_LAT_RATE` (messages/s offered in total, default 100000),
//! `RINGCHAN_LAT_MSGS` (messages per round, 30000), `RINGCHAN_LAT_PRODUCERS`
//! (4), `RINGCHAN_LAT_ROUNDS` (3), plus `RINGCHAN_BENCH_WORKERS` and
//! `RINGCHAN_BENCH_PEERS` from `benches/common/mod.rs`.

#[allow(dead_code)] // each target uses a different part of the shared code
mod common;

use common::{percentile, var, Bench, Config, Rt, BULK_CAP};

const QUANTILES: [f64; 3] = [0.5, 0.99, 0.999];

fn main() {
    let cfg = Config::from_env();
    // Without `--bench` (as under `cargo test --benches`) only smoke-test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let rate: u64 = var("RINGCHAN_LAT_RATE", 100_000);
    let msgs: u64 = if smoke {
        200
    } else {
        var("RINGCHAN_LAT_MSGS", 30_000)
    };
    let producers: usize = var("RINGCHAN_LAT_PRODUCERS", 4);
    let rounds: usize = if smoke {
        1
    } else {
        var("RINGCHAN_LAT_ROUNDS", 3)
    };
    let bench = Bench::new(&cfg);

    let rts = [(Rt::Multi, "multi-thread"), (Rt::Current, "current-thread")];
    // [runtime][peer][quantile] -> one value per round
    let mut samples = vec![vec![vec![Vec::new(); QUANTILES.len()]; cfg.peers.len()]; rts.len()];
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (r, &(rt, _)) in rts.iter().enumerate() {
            for (p, &peer) in cfg.peers.iter().enumerate() {
                let Some(mut lat) = bench.latency(peer, rt, producers, rate, msgs) else {
                    continue;
                };
                lat.sort_unstable();
                for (q, &quantile) in QUANTILES.iter().enumerate() {
                    samples[r][p][q].push(percentile(&lat, quantile));
                }
            }
        }
    }

    println!(
        "Send-to-receive latency, {producers} producers offering {rate} msg/s in total to 1 receiver, \
         capacity {BULK_CAP}, 8-byte messages; median of {rounds} round(s) of {msgs} messages; \
         {} worker(s) on the multi-thread runtime.\n",
        cfg.workers
    );
    println!("| runtime | channel | p50 µs | p99 µs | p99.9 µs |");
    println!("|---|---|---:|---:|---:|");
    for (r, &(_, rt_name)) in rts.iter().enumerate() {
        for (p, peer) in cfg.peers.iter().enumerate() {
            let cells = &mut samples[r][p];
            if cells[0].is_empty() {
                continue;
            }
            let us: Vec<String> = cells
                .iter_mut()
                .map(|v| {
                    v.sort_unstable();
                    format!("{:.1}", v[v.len() / 2] as f64 / 1e3)
                })
                .collect();
            println!("| {rt_name} | {} | {} |", peer.name(), us.join(" | "));
        }
    }
}
