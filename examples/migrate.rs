//! Migrating from `tokio::sync::mpsc` to `ringchan::mpsc`: the `use` line is
//! the only change. This one program builds against either module and
//! prints the same lines:
//!
//! ```text
//! cargo run --example migrate                        # ringchan::mpsc
//! cargo run --example migrate --features tokio-mpsc  # tokio::sync::mpsc
//! diff <(cargo run -q --example migrate) \
//!      <(cargo run -q --example migrate --features tokio-mpsc)
//! ```
//!
//! It runs a small ingest pipeline (producers using `send`, `reserve`,
//! `reserve_many` and `reserve_owned`; a consumer batching with
//! `recv_many`), a clean shutdown with `close` while a permit is held,
//! sync/async bridging with the `blocking_*` methods, and the error cases.
//! Everything printed follows from the channel's documented semantics, never
//! from scheduling, so the output is the same on every run.

#[cfg(not(feature = "tokio-mpsc"))]
use ringchan::mpsc;
#[cfg(feature = "tokio-mpsc")]
use tokio::sync::mpsc;

use mpsc::error::{SendTimeoutError, TryRecvError, TrySendError};
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PRODUCERS: usize = 4;
const JOBS_PER_PRODUCER: u32 = 25;
const BATCH: usize = 16;

#[derive(Debug)]
struct Job {
    producer: usize,
    seq: u32,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    // On stderr, so that stdout is byte-for-byte the same under both modules.
    eprintln!("using {}", module_name());
    pipeline().await?;
    shutdown().await?;
    bridge_sync_and_async().await?;
    error_cases().await?;
    Ok(())
}

fn module_name() -> &'static str {
    if cfg!(feature = "tokio-mpsc") {
        "tokio::sync::mpsc"
    } else {
        "ringchan::mpsc"
    }
}

/// Four producers, four ways of sending, one batching consumer.
async fn pipeline() -> Result<(), BoxError> {
    println!("\n== pipeline ==");
    let (tx, mut rx) = mpsc::channel::<Job>(8);
    println!("capacity {} of {}", tx.capacity(), tx.max_capacity());

    // A monitor that must not keep the channel open.
    let monitor = tx.downgrade();

    let mut producers = Vec::new();
    for producer in 0..PRODUCERS {
        let tx = tx.clone();
        producers.push(tokio::spawn(async move {
            let jobs = (0..JOBS_PER_PRODUCER).map(|seq| Job { producer, seq });
            match producer {
                // Plain send: waits for room, hands the job back on error.
                0 => {
                    for job in jobs {
                        tx.send(job).await?;
                    }
                }
                // Reserve first, build the message once room is guaranteed.
                1 => {
                    for job in jobs {
                        let permit = tx.reserve().await?;
                        permit.send(job);
                    }
                }
                // Reserve room for five at a time.
                2 => {
                    let mut jobs = jobs.peekable();
                    while jobs.peek().is_some() {
                        let chunk: Vec<Job> = jobs.by_ref().take(5).collect();
                        let permits = tx.reserve_many(chunk.len()).await?;
                        for (permit, job) in permits.zip(chunk) {
                            permit.send(job);
                        }
                    }
                }
                // Owned permits move the sender in and hand it back.
                _ => {
                    let mut tx = tx;
                    for job in jobs {
                        let permit = tx.reserve_owned().await?;
                        tx = permit.send(job);
                    }
                }
            }
            Ok::<(), BoxError>(())
        }));
    }
    drop(tx);

    let mut next_seq = [0u32; PRODUCERS];
    let mut in_order = [true; PRODUCERS];
    let mut largest_batch = 0;
    let mut total = 0;
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        largest_batch = largest_batch.max(batch.len());
        for job in batch.drain(..) {
            in_order[job.producer] &= job.seq == next_seq[job.producer];
            next_seq[job.producer] += 1;
            total += 1;
        }
    }
    for producer in producers {
        producer.await??;
    }

    println!("received {total} jobs");
    for p in 0..PRODUCERS {
        let order = if in_order[p] {
            "in order"
        } else {
            "OUT OF ORDER"
        };
        println!("producer {p}: {} jobs, {order}", next_seq[p]);
    }
    println!("every batch at most {BATCH}: {}", largest_batch <= BATCH);
    println!(
        "monitor can upgrade after shutdown: {}",
        monitor.upgrade().is_some()
    );
    println!("senders left: {}", rx.sender_strong_count());
    Ok(())
}

/// Clean shutdown: close, let held permits finish, drain to `None`.
async fn shutdown() -> Result<(), BoxError> {
    println!("\n== shutdown ==");
    let (tx, mut rx) = mpsc::channel::<&'static str>(2);
    tx.send("queued before close").await?;
    let permit = tx.reserve().await?;
    println!("free slots while a permit is held: {}", tx.capacity());
    if let Err(e) = tx.try_send("no room") {
        println!("try_send on a full channel: {e} / {e:?}");
    }

    rx.close();
    println!(
        "receiver closed: {}, sender sees closed: {}",
        rx.is_closed(),
        tx.is_closed()
    );
    match tx.try_send("too late") {
        Err(TrySendError::Closed(msg)) => println!("try_send after close hands back {msg:?}"),
        other => println!("unexpected: {other:?}"),
    }
    if let Err(e) = tx.send("also too late").await {
        println!("send after close: {e}, returned {:?}", e.0);
    }

    // The permit taken before the close may still send.
    permit.send("sent on a held permit");
    while let Some(msg) = rx.recv().await {
        println!("drained: {msg}");
    }
    println!("after drain: {}", rx.try_recv().unwrap_err());
    println!(
        "capacity restored: {} of {}",
        rx.capacity(),
        rx.max_capacity()
    );
    Ok(())
}

/// Sync threads and async tasks on one channel.
async fn bridge_sync_and_async() -> Result<(), BoxError> {
    println!("\n== sync <-> async ==");
    // A thread feeds an async consumer; capacity 1 makes it wait each time.
    let (tx, mut rx) = mpsc::channel::<u64>(1);
    let feeder = std::thread::spawn(move || {
        for i in 1..=10 {
            tx.blocking_send(i).expect("consumer alive");
        }
    });
    let mut sum = 0;
    while let Some(v) = rx.recv().await {
        sum += v;
    }
    feeder.join().expect("feeder thread");
    println!("async side summed {sum}");

    // An async producer feeds a thread that batches with blocking_recv_many.
    let (utx, mut urx) = mpsc::unbounded_channel::<u64>();
    let drain = tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        while urx.blocking_recv_many(&mut all, 4) > 0 {}
        all
    });
    for i in 1..=10 {
        utx.send(i * i)?;
    }
    drop(utx);
    let squares = drain.await?;
    println!(
        "thread got {} squares, sum {}",
        squares.len(),
        squares.iter().sum::<u64>()
    );
    Ok(())
}

/// The failure edges, with tokio's messages.
async fn error_cases() -> Result<(), BoxError> {
    println!("\n== errors ==");
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    tx.send(1).await?;
    match tx.send_timeout(2, Duration::from_millis(10)).await {
        Err(SendTimeoutError::Timeout(v)) => {
            println!("send_timeout on a full channel: timed out, got {v} back")
        }
        other => println!("unexpected: {other:?}"),
    }
    println!("{}", SendTimeoutError::Timeout(()));
    println!(
        "try_reserve on a full channel: {}",
        tx.try_reserve().unwrap_err()
    );
    assert_eq!(rx.recv().await, Some(1));
    println!(
        "try_recv on an empty channel: {}",
        rx.try_recv().unwrap_err()
    );
    match rx.try_recv() {
        Err(TryRecvError::Empty) => println!("still empty: {:?}", TryRecvError::Empty),
        other => println!("unexpected: {other:?}"),
    }
    drop(rx);
    let err = tx.try_reserve_owned().unwrap_err();
    println!("try_reserve_owned on a closed channel: {err}");
    let tx = err.into_inner();
    println!("closed() resolves at once: {}", {
        tx.closed().await;
        true
    });

    let (utx, urx) = mpsc::unbounded_channel::<String>();
    drop(urx);
    let lost = utx.send(String::from("undelivered")).unwrap_err();
    println!(
        "unbounded send after receiver drop: {lost} ({:?} returned)",
        lost.0
    );
    Ok(())
}
