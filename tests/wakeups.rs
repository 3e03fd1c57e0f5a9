//! Lost wake-ups hang a channel instead of failing a check, so these run
//! the shapes that have hung one (the race's one-producer, one-consumer
//! rows on two Tokio workers: single messages, and batches of one) many
//! times, each round under a timeout that turns a hang into a failure.
//!
//! A notifier that marked the first place while a task was taking it used
//! to wake nobody (fixed in `First::take`, notify.rs). With that fix undone,
//! one of three runs of this file failed (the capacity-1 shape hung in
//! round 1,361): a sampling test, beside the loom model
//! `a_place_marked_while_taken_wakes_its_taker`, which finds it every time.
//!
//! `RINGCHAN_WAKEUP_ROUNDS` (default 3,000) sets the rounds per shape.

mod common;

use std::future::Future;
use std::time::Duration;

use common::multi_thread_rt;

/// Rounds per shape unless `RINGCHAN_WAKEUP_ROUNDS` says otherwise.
const ROUNDS: usize = 3_000;
/// Messages per round.
const MESSAGES: u64 = 2_000;

fn rounds() -> usize {
    std::env::var("RINGCHAN_WAKEUP_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROUNDS)
}

/// Runs `round` `rounds()` times on two workers, each under a 20 s timeout
/// (a round takes milliseconds).
fn each_round<F: Future<Output = u64> + Send + 'static>(
    shape: &str,
    mut round: impl FnMut(usize) -> F,
) {
    let rt = multi_thread_rt();
    for r in 0..rounds() {
        let got = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(20), round(r)).await })
            .unwrap_or_else(|_| panic!("{shape}: round {r} hung (a lost wake-up)"));
        assert_eq!(got, MESSAGES * (MESSAGES - 1) / 2, "{shape}: round {r}");
    }
}

/// Runs `producer` and `consumer` as two tasks, so that the runtime may
/// place them on either worker, and returns what the consumer returns.
async fn two_tasks(
    producer: impl Future<Output = ()> + Send + 'static,
    consumer: impl Future<Output = u64> + Send + 'static,
) -> u64 {
    let producer = tokio::spawn(producer);
    let consumer = tokio::spawn(consumer);
    producer.await.unwrap();
    consumer.await.unwrap()
}

#[test]
fn single_messages_through_a_channel_of_one_never_hang() {
    each_round("send/recv, capacity 1", |_| async {
        let (tx, rx) = ringchan::bounded(1);
        let producer = async move {
            for i in 0..MESSAGES {
                tx.send(i).await.unwrap();
            }
        };
        let consumer = async move {
            let mut sum = 0;
            while let Ok(v) = rx.recv().await {
                sum += v;
            }
            sum
        };
        two_tasks(producer, consumer).await
    });
}

#[test]
fn batches_of_one_never_hang() {
    each_round("send_many/recv_many of 1, capacity 1024", |_| async {
        let (tx, rx) = ringchan::bounded(1024);
        let producer = async move {
            for i in 0..MESSAGES {
                let mut one = vec![i];
                tx.send_many(&mut one).await.unwrap();
            }
        };
        let consumer = async move {
            let (mut sum, mut buf) = (0, Vec::with_capacity(1));
            while let Ok(n) = rx.recv_many(&mut buf, 1).await {
                assert_eq!(n, 1);
                sum += buf.pop().unwrap();
            }
            sum
        };
        two_tasks(producer, consumer).await
    });
}
