//! loom models of the unbounded block list (`src/list.rs`): block hand-over
//! across the bridge, block reclamation, and `close` racing pushes.
//!
//! Under loom a block has 3 slots (`LAP = 4`: offsets 0-2 are slots, 3 is the
//! bridge), so a handful of values crosses a block. Values are
//! `loom::alloc::Track`ed and so are blocks: a value or a block that is never
//! dropped fails the model ("Allocation leaked"), and freeing a block
//! `with_mut`s each slot, so loom checks that the free happens after every
//! read and write of the block.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --lib tests::list`.

use loom::alloc::Track;
use loom::sync::Arc;
use loom::thread;

use crate::list::List;
use crate::queue::{PopError, PushError, Queue};

/// A value that loom reports if it is leaked: `(producer, sequence)`.
type Value = Track<(usize, usize)>;

fn model(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.max_branches = 100_000;
    builder.check(f);
}

/// One step of a thread in an [`Mpmc`] model.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Push this thread's next value.
    Push,
    /// Pop once; `Empty` is allowed.
    Pop,
}
use Op::{Pop, Push};

/// An MPMC model: one thread per script in `threads`, the last script run by
/// the model's main thread (one loom thread fewer). Before they start, `skip`
/// values are pushed and popped, so the race begins at offset `skip`, and
/// `prefill` values are queued.
///
/// Checked: pushes never fail; each thread pops each producer's values in
/// order; the pops, a final partial drain and the values left to the list's
/// `Drop` account for every value exactly once; no value or block leaks and
/// no block is freed while a slot of it is in use.
struct Mpmc {
    skip: usize,
    prefill: usize,
    threads: &'static [&'static [Op]],
}

impl Mpmc {
    fn check(self, preemption_bound: usize) {
        self.check_with(preemption_bound, true);
    }

    /// With `main_runs_last` false, every script runs on a spawned thread
    /// and the main thread only joins: loom never scheduled a producer
    /// before a main thread whose first steps only load (pops of an empty
    /// list), so those pops never met a push (counted over every
    /// execution).
    fn check_with(self, preemption_bound: usize, main_runs_last: bool) {
        let Mpmc {
            skip,
            prefill,
            threads,
        } = self;
        // Producer ids: thread `t` is producer `t`; the prefill is producer
        // `threads.len()`.
        let prefiller = threads.len();
        model(preemption_bound, move || {
            let list = Arc::new(List::new());
            for _ in 0..skip {
                list.push(Track::new((usize::MAX, 0))).unwrap();
                drop(list.pop().unwrap());
            }
            for i in 0..prefill {
                list.push(Track::new((prefiller, i))).unwrap();
            }
            let run = |list: &List<Value>, me: usize, script: &[Op]| {
                let (mut next, mut got) = (0, Vec::new());
                for op in script {
                    match op {
                        Push => {
                            assert!(list.push(Track::new((me, next))).is_ok());
                            next += 1;
                        }
                        Pop => match list.pop() {
                            Ok(v) => got.push(v.into_inner()),
                            Err(e) => assert_eq!(e, PopError::Empty),
                        },
                    }
                }
                got
            };
            let (last, spawned) = threads.split_last().expect("at least one thread");
            let on_threads = if main_runs_last { spawned } else { threads };
            let handles: Vec<_> = on_threads
                .iter()
                .enumerate()
                .map(|(me, script)| {
                    let list = list.clone();
                    thread::spawn(move || run(&list, me, script))
                })
                .collect();
            let mut pops = if main_runs_last {
                vec![run(&list, threads.len() - 1, last)]
            } else {
                Vec::new()
            };
            pops.extend(handles.into_iter().map(|h| h.join().unwrap()));

            for got in &pops {
                for p in 0..=prefiller {
                    let from_p: Vec<_> = got.iter().filter(|v| v.0 == p).collect();
                    assert!(
                        from_p.windows(2).all(|w| w[0] < w[1]),
                        "out of order: {got:?}"
                    );
                }
            }
            let mut all: Vec<_> = pops.into_iter().flatten().collect();
            // Pop half of what is left; the rest goes to the list's `Drop`.
            let left = list.len();
            for _ in 0..left / 2 {
                all.push(list.pop().unwrap().into_inner());
            }
            assert_eq!(list.len(), left - left / 2);

            let pushed = |t: usize| threads[t].iter().filter(|op| matches!(op, Push)).count();
            let expected = prefill + (0..threads.len()).map(pushed).sum::<usize>();
            all.sort_unstable();
            all.dedup();
            assert_eq!(
                all.len() + list.len(),
                expected,
                "a value lost or popped twice"
            );
            let was_pushed = |&(p, i): &(usize, usize)| match p {
                p if p == prefiller => i < prefill,
                p => i < pushed(p),
            };
            assert!(all.iter().all(was_pushed), "a value never pushed: {all:?}");
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
            list.push(Track::new(i)).unwrap();
        }
        let producer = {
            let list = list.clone();
            thread::spawn(move || {
                let mut accepted = prefill;
                for i in prefill..prefill + pushes {
                    match list.push(Track::new(i)) {
                        Ok(()) => {
                            assert_eq!(accepted, i, "a push succeeded after one failed");
                            accepted += 1;
                        }
                        Err(PushError::Closed(v)) => assert_eq!(*v.get_ref(), i),
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
                Ok(v) => popped.push(v.into_inner()),
                Err(PopError::Empty) => thread::yield_now(),
                Err(PopError::Closed) => break,
            }
        }
        let accepted = producer.join().unwrap();
        closer.join().unwrap();
        // Once `Closed`, nothing more can arrive.
        assert_eq!(list.pop().unwrap_err(), PopError::Closed);
        assert!(list.is_closed());
        assert_eq!(popped, (0..accepted).collect::<Vec<_>>());
    });
}

// Sizes and bounds below: each model takes a few seconds on one core
// (`--release`), about 15 s for the file. One more preemption multiplies the
// time by about 3 to 8 (`reclaim_races_the_block_link` by over 100: it has
// the most waiting in it).

#[test]
fn two_producers_one_consumer_cross_a_block() {
    // 1 + 2 * 3 = 7 values over positions 0..=8: three blocks (bridges at 3
    // and 7), both crossed while the pushes race each other and the pops.
    Mpmc {
        skip: 0,
        prefill: 1,
        threads: &[&[Push; 3], &[Push; 3], &[Pop; 4]],
    }
    .check(5);
}

/// The same with the consumer on a thread of its own: in the model above
/// the main thread's pops never get more than the prefill (they only load
/// an empty list, and loom runs them before either producer).
#[test]
fn two_producers_one_consumer_cross_a_block_consumer_on_a_thread() {
    Mpmc {
        skip: 0,
        prefill: 1,
        threads: &[&[Push; 3], &[Push; 3], &[Pop; 4]],
    }
    .check_with(1, false);
}

#[test]
fn one_producer_two_consumers_reclaim_blocks() {
    // The first block is full before the threads start; the two consumers
    // race over its three slots and the next block's first, so the reader
    // of its last slot retires it, recycled at once or through limbo (freed
    // by the list's `Drop`), while head crosses the bridge and the producer
    // pushes.
    Mpmc {
        skip: 0,
        prefill: 3,
        threads: &[&[Push], &[Pop, Pop], &[Pop, Pop]],
    }
    .check(4);
}

#[test]
fn reclaim_races_the_block_link() {
    // Prefill 2: the producer's first push takes the first block's last slot
    // and links the next block while the consumers may already wait on it
    // (on the slot's WRITE, or on the bridge for `next`).
    Mpmc {
        skip: 0,
        prefill: 2,
        threads: &[&[Push, Push], &[Pop, Pop], &[Pop, Pop]],
    }
    .check(2);
}

#[test]
fn block_freed_before_a_slot_is_written() {
    // Offset 0 is used up. Thread 0 claims offset 1 and the main thread the
    // last slot, offset 2; thread 1 claims offset 1 for reading and the main
    // thread offset 2. The main thread may read its slot and retire the
    // block before thread 0 has written offset 1: the block must wait in
    // limbo, not be reused or freed under the late write and read, and the
    // list's `Drop` must free it.
    Mpmc {
        skip: 1,
        prefill: 0,
        threads: &[&[Push], &[Pop], &[Push, Pop]],
    }
    .check(4);
}

#[test]
fn a_block_in_limbo_is_freed_by_the_next_retire() {
    // Two full blocks (positions 0-2 and 4-6) before the threads start.
    // Thread 0's pop may still be reading offset 0 when the main thread
    // reads offset 2 and retires the first block into limbo; the main
    // thread's pops of the second block then retire it, which retries
    // limbo: the first block must be recycled or freed only after thread
    // 0's read, wherever that falls.
    Mpmc {
        skip: 0,
        prefill: 6,
        threads: &[&[Pop], &[Pop; 5]],
    }
    .check(3);
}

#[test]
fn close_races_a_push_across_the_bridge() {
    // Prefill 2 so the producer's first push takes the last slot (links the
    // next block and steps tail over the bridge) and its later pushes start
    // the next block, while `close` sets the mark somewhere in between.
    close_races_push(2, 3, 3);
}

// The same races in a recycled block: `skip` 6 runs two laps before the
// threads start, so the block they use is the first one, emptied into the
// spare slot and taken again. Its `written` and `read` flags must have been
// reset: a stale READ would let the block be retired under a reader's feet,
// and a stale WRITE would hand out an old value.

#[test]
fn a_recycled_block_is_freed_before_a_slot_is_written() {
    Mpmc {
        skip: 7,
        prefill: 0,
        threads: &[&[Push], &[Pop], &[Push, Pop]],
    }
    .check(4);
}

#[test]
fn two_consumers_empty_a_recycled_block() {
    Mpmc {
        skip: 6,
        prefill: 3,
        threads: &[&[Push], &[Pop, Pop], &[Pop, Pop]],
    }
    .check(4);
}

// The inline first try of `push`.

/// Two producers race over an inline slot (offset 1) and the block's last
/// slot (offset 2, the loop's: links the next block), then over the next
/// block's inline slots, while a consumer pops across the bridge.
#[test]
fn two_producers_race_the_inline_push_into_the_last_slot() {
    Mpmc {
        skip: 1,
        prefill: 0,
        threads: &[&[Push, Push], &[Push], &[Pop; 3]],
    }
    .check_with(1, false);
}

/// `close` racing inline pushes (offsets 0 and 1) and one into the last slot.
#[test]
fn close_races_inline_pushes() {
    close_races_push(0, 3, 3);
}

// `pop`'s answers. The models above let any pop answer `Empty`, so they
// cannot tell a pop that answers `Empty` on a lost claim or on the bridge
// (instead of retrying in `pop_slow`) from a right one.

/// Two consumers and no producer, with more values queued than pops (five
/// values: offsets 0-2 of the first block and 0-1 of the second): no pop may
/// answer `Empty`, whether it loses its claim to the other consumer (inline
/// or in `pop_slow`) or finds head on the bridge while the reader of the
/// last slot moves it onto the next block. Each consumer gets the values in
/// order, none twice, and the one left goes to the list's `Drop`.
#[test]
fn pops_of_a_list_never_empty_never_answer_empty() {
    const QUEUED: usize = 5;
    model(5, || {
        let list = Arc::new(List::new());
        for i in 0..QUEUED {
            list.push(Track::new(i)).unwrap();
        }
        let pop_two = |list: &List<Track<usize>>| -> Vec<usize> {
            (0..2)
                .map(|_| match list.pop() {
                    Ok(v) => v.into_inner(),
                    Err(e) => panic!("{e:?} with values still queued"),
                })
                .collect()
        };
        let other = {
            let list = list.clone();
            thread::spawn(move || pop_two(&list))
        };
        let mine = pop_two(&list);
        let theirs = other.join().unwrap();
        for got in [&mine, &theirs] {
            assert!(got[0] < got[1], "out of order: {got:?}");
        }
        let mut all: Vec<_> = mine.into_iter().chain(theirs).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 4, "a value popped twice");
        assert_eq!(list.len(), QUEUED - 4);
    });
}

// The park protocol's store-buffering pair on the list's side.

/// The waiter's half of the store-buffering pair against a push or a close
/// (see `super::empty_pop_store_buffering`), on the list. Only the
/// `seqcst_edge` before the SeqCst tail load in `claimable` orders the two
/// under loom; the models above never pair a pop with a waiter count (and
/// `tests/chan.rs` runs the ring alone), so a `claimable` without it passed
/// them all, as would one whose tail load was weakened to Acquire (the
/// ring's `inline_empty_pop_*` models pin the same pair there).
fn empty_pop_store_buffering(close: bool) {
    super::empty_pop_store_buffering(List::new, || Track::new((0, 0)), close, Some(3));
}

#[test]
fn empty_pop_of_a_list_sees_a_push_or_is_seen() {
    empty_pop_store_buffering(false);
}

#[test]
fn empty_pop_of_a_list_sees_a_close_or_is_seen() {
    empty_pop_store_buffering(true);
}
