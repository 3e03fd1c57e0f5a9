//! The quick race: ringchan (and its tokio drop-in ringchan::mpsc) against
//! tokio::mpsc, async-channel, flume, kanal,
//! crossfire, tachyonix, thingbuf and crossbeam on the main rows of
//! `benches/channels.rs`, printed as one Markdown table of nanoseconds per
//! message (median of several rounds) with each channel's ratio to ringchan.
//!
//! ```text
//! cargo run --release --example race                      # ~30 s on a busy 2-core box
//! RINGCHAN_RACE_ROUNDS=9 RINGCHAN_RACE_FULL=1 cargo run --release --example race
//! ```
//!
//! Rows: every 8-byte row (including the unbounded rows and the batch rows,
//! here with batches of 1, 32 and 256 beside single `send`/`recv`), plus
//! 64-byte SPSC and 4-producer MPSC on the multi-thread runtime
//! (`RINGCHAN_RACE_FULL=1`: every row of the criterion suite). Peers take
//! turns inside each round so a noisy neighbour hurts everyone alike; each
//! row starts with one untimed warm-up run per peer.
//! `RINGCHAN_RACE_ROUNDS` (default 5) sets the rounds; `RINGCHAN_RACE_ROWS`
//! (comma-separated substrings, e.g. `batch,pingpong`) keeps only the rows
//! whose name contains one of them; the other knobs are in
//! `benches/common/mod.rs`. A `-` means the channel cannot play that row.

#[allow(dead_code)] // each target uses a different part of the shared code
#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{median, var, Bench, Config, Peer, Rt, Scenario, Shape, BULK_CAP};

/// Messages per timed batch unless `RINGCHAN_BENCH_MSGS` says otherwise.
const RACE_MSGS: u64 = 100_000;

/// The rows of the default race.
fn in_race(s: &Scenario) -> bool {
    s.bytes == 8
        || matches!(
            s.shape,
            Shape::Async {
                rt: Rt::Multi,
                senders: 1 | 4,
                receivers: 1,
                cap: BULK_CAP
            }
        )
}

fn main() {
    let mut cfg = Config::from_env();
    // Bigger batches than the criterion suite's: one timed run per sample here.
    cfg.msgs = var("RINGCHAN_BENCH_MSGS", RACE_MSGS);
    if std::env::var_os("RINGCHAN_BENCH_BATCHES").is_none() {
        cfg.batches = vec![0, 1, 32, 256];
    }
    let rounds: usize = var("RINGCHAN_RACE_ROUNDS", 5);
    let full: bool = var("RINGCHAN_RACE_FULL", 0u8) != 0;
    let only: Vec<String> = std::env::var("RINGCHAN_RACE_ROWS")
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let picked = |s: &Scenario| {
        let name = s.to_string();
        only.is_empty() || only.iter().any(|o| name.contains(o.as_str()))
    };
    let bench = Bench::new(&cfg);
    let started = Instant::now();

    // One line per row: ns per message for each of `cfg.peers`.
    let mut lines: Vec<(Scenario, Vec<Option<f64>>)> = Vec::new();
    for row in cfg
        .scenarios()
        .into_iter()
        .filter(|s| (full || in_race(s)) && picked(s))
    {
        let players: Vec<Peer> = cfg
            .peers
            .iter()
            .copied()
            .filter(|&p| bench.plays(p, &row))
            .collect();
        for &p in &players {
            bench.run(p, &row);
        }
        let mut times = vec![Vec::with_capacity(rounds); players.len()];
        for _ in 0..rounds {
            for (t, &p) in times.iter_mut().zip(&players) {
                t.push(bench.run(p, &row).unwrap());
            }
        }
        let ns = cfg
            .peers
            .iter()
            .map(|p| {
                let i = players.iter().position(|q| q == p)?;
                Some(median(&mut times[i]).as_nanos() as f64 / row.msgs as f64)
            })
            .collect();
        eprintln!("{row} ({:.0?})", started.elapsed());
        lines.push((row, ns));
    }

    print_table(&cfg, rounds, &lines);
    eprintln!("total {:.1?}", started.elapsed());
}

fn print_table(cfg: &Config, rounds: usize, lines: &[(Scenario, Vec<Option<f64>>)]) {
    let base = cfg.peers.iter().position(|&p| p == Peer::Ringchan);
    let mut header: Vec<String> = vec!["scenario".into()];
    header.extend(cfg.peers.iter().map(|p| p.name().to_string()));
    header.push("fastest".into());
    let mut body: Vec<Vec<String>> = Vec::new();
    for (row, ns) in lines {
        let ringchan = base.and_then(|b| ns[b]);
        let mut cells = vec![row.to_string()];
        for (i, t) in ns.iter().enumerate() {
            cells.push(match (t, ringchan) {
                (None, _) => "-".into(),
                (Some(t), Some(r)) if Some(i) != base => format!("{t:.1} ({:.2}x)", t / r),
                (Some(t), _) => format!("{t:.1}"),
            });
        }
        let fastest = ns
            .iter()
            .zip(&cfg.peers)
            .filter_map(|(t, p)| Some(((*t)?, p)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or("-", |(_, p)| p.name());
        cells.push(fastest.into());
        body.push(cells);
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "ns per message (ping-pong: per round trip), median of {rounds} rounds; (x) = that channel's \
         time / ringchan's, above 1.00x ringchan is faster. {cores} cores, {} Tokio workers.\n",
        cfg.workers
    );
    let width: Vec<usize> = (0..header.len())
        .map(|c| {
            body.iter()
                .chain([&header])
                .map(|r| r[c].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let print_row = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&width)
            .enumerate()
            .map(|(c, (s, &w))| {
                if c == 0 {
                    format!("{s:<w$}")
                } else {
                    format!("{s:>w$}")
                }
            })
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    print_row(&header);
    let rule: Vec<String> = width
        .iter()
        .enumerate()
        .map(|(c, &w)| {
            if c == 0 {
                "-".repeat(w + 2)
            } else {
                format!("{}:", "-".repeat(w + 1))
            }
        })
        .collect();
    println!("|{}|", rule.join("|"));
    for cells in &body {
        print_row(cells);
    }
}
