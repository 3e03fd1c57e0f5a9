//! loom models of the unbounded block list (`src/list.rs`): block hand-over
//! across the bridge, block reclamation, and `close` racing pushes.
//!
//! Under loom a block has 3 slots (`LAP = 4`), so a handful of values crosses
//! a block. Values are `loom::alloc::Track`ed and so are blocks: a value or a
//! block that is never dropped fails the model ("Allocation leaked"), and the
//! free of a block `with_mut`s each slot, so loom checks that it happens
//! after every read and write of the block.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --lib tests::list`.

use loom::alloc::Track;
use loom::sync::Arc;
use loom::thread;

use crate::list::List;
use crate::queue::{PopError, PushError, Queue};

/// A value that loom reports if it is leaked; `(producer, sequence)`.
type Value = Track<(usize, usize)>;

fn model(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.max_branches = 100_000;
    builder.check(f);
}

/// Checks that `popped` holds every `(p, i)` for `i < per_producer[p]`
/// exactly once, each producer's values in order.
fn assert_exactly_once_in_order(popped: &[(usize, usize)], per_producer: &[usize]) {
    let mut next = vec![0; per_producer.len()];
    for &(p, i) in popped {
        assert_eq!(i, next[p], "producer {p}: got {i}, expected {}", next[p]);
        next[p] += 1;
    }
    assert_eq!(next, per_producer, "values lost");
}

/// Pops everything left (after all other threads joined) and checks the list
/// is then empty.
fn drain(list: &List<Value>, out: &mut Vec<(usize, usize)>) {
    while let Ok(v) = list.pop() {
        out.push(*v.get_ref());
    }
    assert_eq!(list.len(), 0);
}

/// `producers` threads push `per_producer` values each while the main thread
/// pops `pops` times (an `Empty` counts as a pop); `prefill` values (of
/// producer 0) are queued first and popped by the main thread first, so the
/// concurrent pushes start at offset `prefill` and the bridge falls among
/// them. Exactly-once and per-producer order are checked on all values.
fn producers_cross_a_block(
    producers: usize,
    per_producer: usize,
    prefill: usize,
    pops: usize,
    preemption_bound: usize,
) {
    model(preemption_bound, move || {
        let list = Arc::new(List::new());
        for i in 0..prefill {
            list.push(Track::new((0, i))).unwrap();
        }
        let threads: Vec<_> = (0..producers)
            .map(|p| {
                let list = list.clone();
                // Producer 0's sequence continues after the prefill.
                let first = if p == 0 { prefill } else { 0 };
                thread::spawn(move || {
                    for i in first..first + per_producer {
                        assert!(list.push(Track::new((p, i))).is_ok());
                    }
                })
            })
            .collect();
        let mut popped = Vec::new();
        for _ in 0..pops {
            match list.pop() {
                Ok(v) => popped.push(*v.get_ref()),
                Err(e) => assert_eq!(e, PopError::Empty),
            }
        }
        for t in threads {
            t.join().unwrap();
        }
        drain(&list, &mut popped);
        let mut expected = vec![per_producer; producers];
        expected[0] += prefill;
        assert_exactly_once_in_order(&popped, &expected);
    });
}

/// Sizes of an MPMC model: `producers` threads push `per_producer` values
/// each while `consumers` threads pop `pops` times each (an `Empty` counts as
/// a pop). Before the threads start, `skip` values are pushed and popped, so
/// the race starts at offset `skip`, and `prefill` values (of producer 0) are
/// queued. Blocks are freed by whichever consumer finishes last in them
/// (directly or by the DESTROY hand-over); a leaked block, a leaked value or
/// a free racing a slot access fails the model. Each consumer must see each
/// producer's values in order; all consumers and a final drain together see
/// every value exactly once; the rest is dropped with the list.
struct Mpmc {
    skip: usize,
    prefill: usize,
    producers: usize,
    per_producer: usize,
    consumers: usize,
    pops: usize,
}

impl Mpmc {
    fn check(self, preemption_bound: usize) {
        let Mpmc { skip, prefill, producers, per_producer, consumers, pops } = self;
        model(preemption_bound, move || {
            let list = Arc::new(List::new());
            for _ in 0..skip {
                list.push(Track::new((producers, 0))).unwrap();
                drop(list.pop().unwrap());
            }
            for i in 0..prefill {
                list.push(Track::new((0, i))).unwrap();
            }
            let producer_threads: Vec<_> = (0..producers)
                .map(|p| {
                    let list = list.clone();
                    let first = if p == 0 { prefill } else { 0 };
                    thread::spawn(move || {
                        for i in first..first + per_producer {
                            assert!(list.push(Track::new((p, i))).is_ok());
                        }
                    })
                })
                .collect();
            let consumer_threads: Vec<_> = (0..consumers)
                .map(|_| {
                    let list = list.clone();
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        for _ in 0..pops {
                            match list.pop() {
                                Ok(v) => got.push(v.into_inner()),
                                Err(e) => assert_eq!(e, PopError::Empty),
                            }
                        }
                        got
                    })
                })
                .collect();
            for t in producer_threads {
                t.join().unwrap();
            }
            let mut all = Vec::new();
            for t in consumer_threads {
                let got = t.join().unwrap();
                for p in 0..producers {
                    let mine: Vec<_> = got.iter().filter(|v| v.0 == p).collect();
                    assert!(mine.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
                }
                all.extend(got);
            }
            // Leave about half of what is left to the list's `Drop`.
            let left = list.len();
            for _ in 0..left / 2 {
                all.push(list.pop().unwrap().into_inner());
            }
            assert_eq!(list.len(), left - left / 2);
            all.sort_unstable();
            let expected: Vec<_> = (0..producers)
                .flat_map(|p| {
                    let n = per_producer + if p == 0 { prefill } else { 0 };
                    (0..n).map(move |i| (p, i))
                })
                .collect();
            // Sorted, so `all` must be a duplicate-free prefix-per-producer
            // subset of `expected`, of the right size.
            assert_eq!(all.len() + list.len(), expected.len());
            all.dedup();
            assert_eq!(all.len() + list.len(), expected.len(), "a value popped twice");
            assert!(all.iter().all(|v| expected.contains(v)));
        });
    }
}

/// A producer pushes `pushes` values (after `prefill`) while another thread
/// closes the list and the main thread pops until it sees `Closed`. Every
/// push is either before the close (popped before `Closed`, in order) or
/// after it (the value handed back, and every later push fails too).
fn close_races_push(prefill: usize, pushes: usize, preemption_bound: usize) {
    model(preemption_bound, move || {
        let list = Arc::new(List::new());
        for i in 0..prefill {
            list.push(Track::new((0, i))).unwrap();
        }
        let producer = {
            let list = list.clone();
            thread::spawn(move || {
                let mut accepted = prefill;
                for i in prefill..prefill + pushes {
                    match list.push(Track::new((0, i))) {
                        Ok(()) => {
                            assert_eq!(accepted, i, "a push succeeded after one failed");
                            accepted += 1;
                        }
                        Err(PushError::Closed(v)) => assert_eq!(*v.get_ref(), (0, i)),
                        Err(PushError::Full(_)) => unreachable!("an unbounded list is never full"),
                    }
                }
                accepted
            })
        };
        let closer = {
            let list = list.clone();
            thread::spawn(move || assert!(list.close()))
        };
        let mut popped = Vec::new();
        loop {
            match list.pop() {
                Ok(v) => popped.push(*v.get_ref()),
                Err(PopError::Empty) => thread::yield_now(),
                Err(PopError::Closed) => break,
            }
        }
        let accepted = producer.join().unwrap();
        closer.join().unwrap();
        // Once `Closed`, nothing more can arrive.
        assert_eq!(list.pop().unwrap_err(), PopError::Closed);
        assert!(list.is_closed());
        assert_exactly_once_in_order(&popped, &[accepted]);
    });
}

// Sizes below: what loom finishes in seconds on a laptop core
// (`--release`; about 45 s for the whole file). Raising a preemption bound by
// one multiplies the time by roughly 5 to 40.

#[test]
fn two_producers_one_consumer_cross_a_block() {
    // 1 + 2 * 3 = 7 values over positions 0..=8: three blocks (bridges at 3
    // and 7), both crossed while the pushes race each other and the pops.
    producers_cross_a_block(2, 3, 1, 4, 4);
}

#[test]
fn one_producer_two_consumers_reclaim_blocks() {
    // The first block is full before the threads start; the two consumers
    // race over its three slots and the next block's first, so whichever
    // reads last in the first block frees it, directly or by the DESTROY
    // hand-over, while head crosses the bridge and the producer pushes.
    Mpmc { skip: 0, prefill: 3, producers: 1, per_producer: 1, consumers: 2, pops: 2 }.check(3);
}

#[test]
fn reclaim_races_the_block_link() {
    // Prefill 2: the producer's first push takes the first block's last slot
    // and links the next block while the consumers may already wait on it
    // (on the slot's WRITE, or on the bridge for `next`).
    Mpmc { skip: 0, prefill: 2, producers: 1, per_producer: 2, consumers: 2, pops: 2 }.check(2);
}

#[test]
fn block_freed_before_a_slot_is_written() {
    // Two producers claim the first block's last two slots (offsets 1 and
    // 2) and two consumers claim them; the producer of the last slot may
    // finish, and its consumer start freeing the block, before the other
    // producer has written: the freer must leave DESTROY in that slot, and
    // the late WRITE must keep it.
    Mpmc { skip: 1, prefill: 0, producers: 2, per_producer: 1, consumers: 2, pops: 1 }.check(3);
}

#[test]
fn close_races_a_push_across_the_bridge() {
    // Prefill 2 so the producer's first push takes the last slot (links the
    // next block and steps tail over the bridge) and its later pushes start
    // the next block, while `close` sets the mark somewhere in between.
    close_races_push(2, 3, 3);
}
