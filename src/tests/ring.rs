//! loom models of the ring alone: every interleaving of a few producers and
//! consumers, at capacities 1 and 2, with positions that cross `usize::MAX`.

use crate::queue::{PopError, PushError, Queue};
use crate::ring::Ring;
use crate::sync::Arc;
use loom::thread;

/// The rings of these models: values are (producer, index) pairs.
type TestRing = Ring<(usize, usize)>;

/// A ring whose positions are one lap below the wrap of `usize`.
fn near_wrap(cap: usize) -> TestRing {
    let one_lap = (cap + 1).next_power_of_two() * 2;
    let start = (usize::MAX & !(one_lap - 1)).wrapping_sub(one_lap);
    Ring::with_start(cap, start, "loom")
}

/// `producers` threads push up to `per` values each (a producer stops at its
/// first `Full`, to keep its values in order), `consumers` threads (the main
/// thread among them) each try a few pops meanwhile; then the main thread
/// drains the rest. Whatever the interleaving, every pushed value must come
/// out exactly once, and each consumer must see each producer's values in
/// order. Bounded attempts instead of spin loops keep the model finite.
///
/// Each scenario runs twice. First the main thread is one of the consumers,
/// at `preemptions`; but its pops are its first steps after the spawns, and
/// loom never scheduled a producer before them (counted: they got no value
/// in any execution; a pop of an empty ring only loads). So it runs again
/// with every consumer on a thread of its own and the main thread only
/// joining, where pops do meet pushes; there the pops' spins on a slot
/// being written cost so many schedules that only one preemption is
/// affordable.
fn model(cap: usize, producers: usize, consumers: usize, per: usize, preemptions: usize) {
    model_once(cap, producers, consumers, per, preemptions, true);
    model_once(cap, producers, consumers, per, 1, false);
}

/// One run of [`model`]: `main_consumes` says whether the main thread is
/// one of the consumers.
fn model_once(
    cap: usize,
    producers: usize,
    consumers: usize,
    per: usize,
    preemptions: usize,
    main_consumes: bool,
) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(move || {
        let ring = Arc::new(near_wrap(cap));
        let pushers: Vec<_> = (0..producers)
            .map(|p| {
                let ring = ring.clone();
                thread::spawn(move || {
                    (0..per)
                        .take_while(|&i| match ring.push((p, i)) {
                            Ok(()) => true,
                            Err(PushError::Full(_)) => false,
                            Err(PushError::Closed(_)) => panic!("closed"),
                        })
                        .count()
                })
            })
            .collect();
        let consume = {
            let ring = ring.clone();
            move || -> Vec<(usize, usize)> { (0..per).filter_map(|_| ring.pop().ok()).collect() }
        };
        let spawned = if main_consumes { 1 } else { 0 };
        let others: Vec<_> = (spawned..consumers)
            .map(|_| thread::spawn(consume.clone()))
            .collect();
        let mut all = if main_consumes {
            vec![consume()]
        } else {
            Vec::new()
        };
        all.extend(others.into_iter().map(|h| h.join().unwrap()));
        let pushed: Vec<usize> = pushers.into_iter().map(|h| h.join().unwrap()).collect();
        all.push(std::iter::from_fn(|| ring.pop().ok()).collect());
        for got in &all {
            for p in 0..producers {
                let mine: Vec<_> = got.iter().filter(|v| v.0 == p).map(|v| v.1).collect();
                assert!(
                    mine.windows(2).all(|w| w[0] < w[1]),
                    "producer {p} reordered"
                );
            }
        }
        let mut flat: Vec<_> = all.concat();
        flat.sort_unstable();
        let expected: Vec<_> = (0..producers)
            .flat_map(|p| (0..pushed[p]).map(move |i| (p, i)))
            .collect();
        assert_eq!(flat, expected);
        assert_eq!(ring.pop(), Err(PopError::Empty));
    });
}

#[test]
fn two_producers_one_consumer_cap1() {
    model(1, 2, 1, 2, 2);
}

#[test]
fn two_producers_one_consumer_cap2() {
    model(2, 2, 1, 2, 2);
}

#[test]
fn one_producer_two_consumers_cap1() {
    model(1, 1, 2, 2, 2);
}

#[test]
fn one_producer_two_consumers_cap2() {
    model(2, 1, 2, 3, 2);
}

/// `force_push` racing a `pop`: the oldest value goes to exactly one of them.
#[test]
fn force_push_races_pop() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let ring = Arc::new(near_wrap(1));
        ring.push((0, 0)).unwrap();
        let r = ring.clone();
        let forcer = thread::spawn(move || r.force_push((0, 1)).unwrap());
        let popped = ring.pop().ok();
        let replaced = forcer.join().unwrap();
        let rest = ring.pop().ok();
        // (0,0) comes out exactly once: popped first, or replaced.
        let zeros = [popped, replaced, rest]
            .iter()
            .filter(|v| **v == Some((0, 0)))
            .count();
        let ones = [popped, rest]
            .iter()
            .filter(|v| **v == Some((0, 1)))
            .count();
        assert_eq!((zeros, ones), (1, 1), "{popped:?} {replaced:?} {rest:?}");
    });
}

/// `len` while a `force_push` replaces the oldest value of a full ring: the
/// ring is full throughout (its tail moves a slot before its head does).
/// With the head on index 0, and on the last index, where the tail's next
/// slot starts a lap after the head's.
#[test]
fn len_during_a_force_push_reads_full() {
    for head_index in [0, 1] {
        len_during_a_force_push_model(head_index);
    }
}

fn len_during_a_force_push_model(head_index: usize) {
    loom::model(move || {
        let ring = Arc::new(near_wrap(2));
        for _ in 0..head_index {
            ring.push((9, 9)).unwrap();
            assert_eq!(ring.pop(), Ok((9, 9)));
        }
        ring.push((0, 0)).unwrap();
        ring.push((0, 1)).unwrap();
        let r = ring.clone();
        let forcer = thread::spawn(move || r.force_push((0, 2)).unwrap());
        // Without this yield loom ran the model once, `len` first: it did
        // not schedule the forcer before `len`'s loads.
        thread::yield_now();
        assert_eq!(ring.len(), 2);
        assert_eq!(forcer.join().unwrap(), Some((0, 0)));
    });
}

/// `close` racing a `push`: the value is either popped or handed back.
#[test]
fn close_races_push() {
    loom::model(|| {
        let ring = Arc::new(near_wrap(2));
        let r = ring.clone();
        let pusher = thread::spawn(move || r.push((0, 0)).is_ok());
        assert!(ring.close());
        let pushed = pusher.join().unwrap();
        assert_eq!(ring.pop().is_ok(), pushed);
        assert_eq!(ring.pop(), Err(PopError::Closed));
    });
}

/// A thread that takes one run of at most `limit` values with `pop_many`.
fn spawn_taker(
    ring: &Arc<Ring<(usize, usize)>>,
    limit: usize,
) -> thread::JoinHandle<Vec<(usize, usize)>> {
    let ring = ring.clone();
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = ring.pop_many(&mut out, limit);
        out
    })
}

/// The batch paths: one producer moves `per` values in with `push_many`
/// (at most two attempts, so the model stays finite) while a consumer takes
/// runs with `pop_many` and the main thread single values with `pop`. The
/// ring starts one slot before the end of its slot array, so runs straddle
/// the wrap of the index (and, near `usize::MAX`, of the lap). Every value
/// sent comes out exactly once, each consumer sees them in order, and what
/// `push_many` did not send stays in its vector, in order.
///
/// As in [`model`], it runs twice: with the single `pop` on the main thread
/// (where it never met a value), then on a thread of its own at one
/// preemption.
fn batch_model(cap: usize, per: usize, limit: usize, preemptions: usize) {
    batch_model_once(cap, per, limit, preemptions, true);
    batch_model_once(cap, per, limit, 1, false);
}

/// One run of [`batch_model`]: `main_pops` says whether the single `pop`
/// is the main thread's.
fn batch_model_once(cap: usize, per: usize, limit: usize, preemptions: usize, main_pops: bool) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(move || {
        let ring = Arc::new(near_wrap(cap));
        for _ in 0..cap - 1 {
            ring.push((9, 9)).unwrap();
            assert_eq!(ring.pop(), Ok((9, 9)));
        }
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut src: Vec<_> = (0..per).map(|i| (0, i)).collect();
                for _ in 0..2 {
                    match ring.push_many(&mut src) {
                        Ok(_) | Err(PushError::Full(())) => {}
                        Err(PushError::Closed(())) => panic!("closed"),
                    }
                }
                let sent = per - src.len();
                assert_eq!(src, (sent..per).map(|i| (0, i)).collect::<Vec<_>>());
                sent
            })
        };
        let taker = spawn_taker(&ring, limit);
        let mine: Vec<_> = if main_pops {
            ring.pop().ok().into_iter().collect()
        } else {
            let ring = ring.clone();
            thread::spawn(move || ring.pop().ok().into_iter().collect::<Vec<_>>())
                .join()
                .unwrap()
        };
        let sent = pusher.join().unwrap();
        let taken = taker.join().unwrap();
        let mut rest = Vec::new();
        while ring.pop_many(&mut rest, limit).is_ok() {}
        for got in [&mine, &taken, &rest] {
            assert!(
                got.windows(2).all(|w| w[0].1 < w[1].1),
                "reordered: {got:?}"
            );
        }
        let mut all = [mine, taken, rest].concat();
        all.sort_unstable();
        assert_eq!(all, (0..sent).map(|i| (0, i)).collect::<Vec<_>>());
    });
}

/// Checks that `got`, everything the consumers took, is each producer's
/// values `0..sent[p]` exactly once, and that each of `takes` (one per
/// consumer) has each producer's values in order.
fn exactly_once_in_order(takes: &[&[(usize, usize)]], sent: &[(usize, usize)]) {
    for got in takes {
        for &(p, _) in sent {
            let seq: Vec<_> = got.iter().filter(|v| v.0 == p).map(|v| v.1).collect();
            assert!(seq.windows(2).all(|w| w[0] < w[1]), "reordered: {got:?}");
        }
    }
    let mut all = takes.concat();
    all.sort_unstable();
    let mut want: Vec<_> = sent
        .iter()
        .flat_map(|&(p, n)| (0..n).map(move |i| (p, i)))
        .collect();
    want.sort_unstable();
    assert_eq!(all, want);
}

/// A run claimed while its slots' last values are still being read: the
/// ring starts full, a `pop` and a `pop_many` race to read it while
/// `push_many` refills it. The producer may claim slots whose consumer has
/// moved the head on but not finished reading (a run whose last slot is
/// read is claimed whole), and must wait for exactly those before it
/// writes. Capacity 3 with `limit` 2 is the smallest ring where a run's
/// last slot is read while an earlier one is not (without the wait, loom
/// reports the write racing the read). The pusher is spawned after the
/// consumers: as the main thread's first step, its run never met a read
/// under way in loom's schedules.
fn run_claimed_during_reads_model(cap: usize, limit: usize, preemptions: usize) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(move || {
        let ring = Arc::new(near_wrap(cap));
        for i in 0..cap {
            ring.push((0, i)).unwrap();
        }
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || ring.pop().ok().into_iter().collect::<Vec<_>>())
        };
        let taker = spawn_taker(&ring, limit);
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut src: Vec<_> = (cap..2 * cap).map(|i| (0, i)).collect();
                let _ = ring.push_many(&mut src);
                2 * cap - src.len()
            })
        };
        let sent = pusher.join().unwrap();
        let popped = popper.join().unwrap();
        let taken = taker.join().unwrap();
        let mut rest = Vec::new();
        while ring.pop_many(&mut rest, cap).is_ok() {}
        exactly_once_in_order(&[&popped, &taken, &rest], &[(0, sent)]);
    });
}

/// A run claimed while some of its values are still being written: a
/// `push_many` and a `push` race to fill the ring while `pop_many` takes
/// what they have claimed (a run whose last value is written is claimed
/// whole) and must wait for exactly the writes still under way. Capacity 3 holds all three values,
/// so no producer spins on a full ring (at capacity 2 those spins alone
/// exceed loom's branch limit).
fn run_claimed_during_writes_model(cap: usize, preemptions: usize) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(move || {
        let ring = Arc::new(near_wrap(cap));
        let taker = spawn_taker(&ring, cap);
        let single = {
            let ring = ring.clone();
            thread::spawn(move || usize::from(ring.push((1, 0)).is_ok()))
        };
        let mut src = vec![(0, 0), (0, 1)];
        let _ = ring.push_many(&mut src);
        let sent = [(0, 2 - src.len()), (1, single.join().unwrap())];
        let taken = taker.join().unwrap();
        let mut rest = Vec::new();
        while ring.pop_many(&mut rest, cap).is_ok() {}
        exactly_once_in_order(&[&taken, &rest], &sent);
    });
}

#[test]
fn a_run_claimed_during_reads_waits_for_them_cap3() {
    run_claimed_during_reads_model(3, 2, 2);
}

#[test]
fn a_run_claimed_during_writes_waits_for_them_cap3() {
    run_claimed_during_writes_model(3, 2);
}

#[test]
fn batches_race_single_ops_cap2() {
    batch_model(2, 3, 2, 3);
}

#[test]
fn batches_race_single_ops_cap3() {
    batch_model(3, 4, 3, 3);
}

// The inline empty/closed answer of `pop_inline`.

/// The waiter's half of the store-buffering pair against a push or a close
/// (see `super::empty_pop_store_buffering`), on the ring: only
/// `pop_inline`'s `seqcst_edge` orders the two under loom.
fn inline_empty_pop_store_buffering(close: bool) {
    super::empty_pop_store_buffering(|| near_wrap(1), || (0, 0), close, None);
}

#[test]
fn inline_empty_pop_sees_a_push_or_is_seen() {
    inline_empty_pop_store_buffering(false);
}

#[test]
fn inline_empty_pop_sees_a_close_or_is_seen() {
    inline_empty_pop_store_buffering(true);
}

/// One pop of an empty ring racing a push and a close: `Closed` only if the
/// push failed, a value only if it succeeded, and whatever the pop missed
/// is there for the drain.
#[test]
fn inline_pop_races_a_push_and_a_close() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let ring = Arc::new(near_wrap(2));
        let r = ring.clone();
        let pusher = thread::spawn(move || r.push((0, 0)).is_ok());
        let r = ring.clone();
        let closer = thread::spawn(move || assert!(r.close()));
        let r = ring.clone();
        let popped = thread::spawn(move || r.pop()).join().unwrap();
        let pushed = pusher.join().unwrap();
        closer.join().unwrap();
        match popped {
            Ok(v) => assert!(pushed && v == (0, 0)),
            Err(PopError::Closed) => {
                assert!(!pushed, "Closed before a value pushed before the close")
            }
            Err(PopError::Empty) => assert_eq!(ring.pop().is_ok(), pushed),
        }
        assert_eq!(ring.pop(), Err(PopError::Closed));
    });
}

// Queue operations that must not give up: every model above accepts
// `Empty` from any pop and stops a producer at its first `Full`, so a pop or
// push (single or batch) that answered so on a claim lost to another thread
// passed them all.

/// Two consumers and no producer, with five values queued in a ring of
/// eight and fewer taken: `take` (two pops, or one run of up to two) must
/// not answer `Empty` (it panics if it does), whether it wins its claim or
/// loses it to the other consumer, inline or again in the loop. Every value
/// comes out exactly once, each consumer's in order, the rest drained after.
fn two_consumers_of_five(take: fn(&TestRing) -> Vec<(usize, usize)>) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let ring = Arc::new(near_wrap(8));
        for i in 0..5 {
            ring.push((0, i)).unwrap();
        }
        let other = {
            let ring = ring.clone();
            thread::spawn(move || take(&ring))
        };
        let mine = take(&ring);
        let theirs = other.join().unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| ring.pop().ok()).collect();
        exactly_once_in_order(&[&mine, &theirs, &rest], &[(0, 5)]);
    });
}

/// Two producers, into a ring of eight with room for all: `push_two(ring,
/// p)` moves `(p, 0)` and `(p, 1)` in and must not answer `Full` (it panics
/// if it does), whether it wins its claim or loses it to the other
/// producer. Every value comes out exactly once, each producer's in order.
fn two_producers_with_room(push_two: fn(&TestRing, usize)) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let ring = Arc::new(near_wrap(8));
        let other = {
            let ring = ring.clone();
            thread::spawn(move || push_two(&ring, 1))
        };
        push_two(&ring, 0);
        other.join().unwrap();
        let drained: Vec<_> = std::iter::from_fn(|| ring.pop().ok()).collect();
        exactly_once_in_order(&[&drained], &[(0, 2), (1, 2)]);
    });
}

/// Two pops each: the second may lose its claim in `pop_slow` to the other
/// consumer's second pop.
#[test]
fn pops_of_a_ring_never_empty_never_answer_empty() {
    two_consumers_of_five(|ring| {
        (0..2)
            .map(|_| match ring.pop() {
                Ok(v) => v,
                Err(e) => panic!("{e:?} with values still queued"),
            })
            .collect()
    });
}

/// One run of up to two each, through `pop_many`.
#[test]
fn batch_pops_of_a_ring_never_empty_never_answer_empty() {
    two_consumers_of_five(|ring| {
        let mut out = Vec::new();
        if let Err(e) = ring.pop_many(&mut out, 2) {
            panic!("{e:?} with values still queued");
        }
        out
    });
}

/// Two pushes each: the second may lose its claim in `push_or_else`.
#[test]
fn pushes_into_a_ring_with_room_never_answer_full() {
    two_producers_with_room(|ring, p| {
        for i in 0..2 {
            if let Err(e) = ring.push((p, i)) {
                panic!("{e:?} with room for every push");
            }
        }
    });
}

/// Through `push_many`, until both values are in.
#[test]
fn batch_pushes_into_a_ring_with_room_never_answer_full() {
    two_producers_with_room(|ring, p| {
        let mut src = vec![(p, 0), (p, 1)];
        while !src.is_empty() {
            if let Err(e) = ring.push_many(&mut src) {
                panic!("{e:?} with room for every push");
            }
        }
    });
}

/// A batch that finds the slot at tail still holding the last lap's value
/// while a consumer has already claimed it (head moved on, the read under
/// way) must wait for the read, not answer `Full`: a full ring of one slot,
/// a consumer pops its value, and a producer that has seen the room
/// (`len`, from head and tail) moves two values in with `push_many` (its
/// batch path: one fits). `push_or_else` waits there; the batch models
/// above accept `Full` from `push_many`, so a batch that answered `Full`
/// on the old value alone, without the SeqCst head check, passed them all.
#[test]
fn a_batch_push_after_a_claimed_pop_never_answers_full() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let ring = Arc::new(near_wrap(1));
        ring.push((0, 0)).unwrap();
        let consumer = {
            let ring = ring.clone();
            thread::spawn(move || ring.pop())
        };
        while ring.len() == 1 {
            thread::yield_now();
        }
        let mut src = vec![(1, 0), (1, 1)];
        assert_eq!(ring.push_many(&mut src), Ok(1), "room was seen");
        assert_eq!(src, [(1, 1)]);
        assert_eq!(consumer.join().unwrap(), Ok((0, 0)));
        assert_eq!(ring.pop(), Ok((1, 0)));
    });
}
