//! An async service on a Tokio multi-thread runtime: producers turn requests
//! into jobs on a bounded ringchan channel, a pool of workers takes jobs from
//! it (many consumers on one channel), and a collector gathers the results.
//!
//! Run it with `cargo run --release --example pipeline`; optional arguments
//! are `producers workers jobs_per_producer capacity`.

use std::time::Instant;

#[derive(Debug)]
struct Job {
    producer: usize,
    seq: u64,
    payload: u64,
}

#[derive(Debug)]
struct Done {
    producer: usize,
    seq: u64,
    checksum: u64,
}

/// Some work per job: a few rounds of an integer hash.
fn work(mut x: u64) -> u64 {
    for _ in 0..32 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    }
    x
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .map(|a| a.parse().expect("arguments are whole numbers"))
        .unwrap_or(default)
}

fn main() {
    let producers = arg(1, 4);
    let workers = arg(2, 4);
    let per_producer = arg(3, 250_000) as u64;
    let capacity = arg(4, 256);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a Tokio runtime");

    runtime.block_on(async move {
        let (jobs_tx, jobs_rx) = ringchan::bounded::<Job>(capacity);
        let (done_tx, done_rx) = ringchan::bounded::<Done>(capacity);
        let start = Instant::now();

        for producer in 0..producers {
            let jobs_tx = jobs_tx.clone();
            tokio::spawn(async move {
                for seq in 0..per_producer {
                    let job = Job { producer, seq, payload: seq ^ (producer as u64) << 40 };
                    jobs_tx.send(job).await.expect("workers outlive producers");
                }
            });
        }
        drop(jobs_tx); // the job channel closes when the last producer is done

        for _ in 0..workers {
            let (jobs_rx, done_tx) = (jobs_rx.clone(), done_tx.clone());
            tokio::spawn(async move {
                while let Ok(job) = jobs_rx.recv().await {
                    let done = Done { producer: job.producer, seq: job.seq, checksum: work(job.payload) };
                    done_tx.send(done).await.expect("the collector outlives workers");
                }
            });
        }
        drop((jobs_rx, done_tx));

        // The collector: count results, check each producer's jobs came back
        // exactly once, and fold a checksum.
        let mut seen = vec![0u64; producers];
        let mut checksum = 0u64;
        let mut results = 0u64;
        while let Ok(done) = done_rx.recv().await {
            seen[done.producer] += 1;
            checksum = checksum.wrapping_add(done.checksum ^ done.seq);
            results += 1;
        }
        let elapsed = start.elapsed();

        let expected: u64 = (0..producers)
            .flat_map(|p| (0..per_producer).map(move |seq| work(seq ^ (p as u64) << 40) ^ seq))
            .fold(0u64, u64::wrapping_add);
        assert!(seen.iter().all(|&n| n == per_producer), "a job was lost or duplicated");
        assert_eq!(checksum, expected, "a result was corrupted");

        println!("ringchan pipeline: {producers} producers -> bounded({capacity}) -> {workers} workers -> collector");
        println!("  jobs done:     {results} (each producer's {per_producer} jobs came back exactly once)");
        println!("  checksum:      {checksum:#018x} (matches the sequential result)");
        println!("  elapsed:       {:.3} s", elapsed.as_secs_f64());
        println!(
            "  throughput:    {:.2} M jobs/s ({:.0} ns per job, two channel hops each)",
            results as f64 / elapsed.as_secs_f64() / 1e6,
            elapsed.as_nanos() as f64 / results as f64
        );
    });
}
