//! loom models of the crate's private pieces; run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --lib`.

mod chan;
mod list;
mod mpsc;
mod notify;
mod ring;

use crate::queue::{PopError, Queue};

/// The waiter's half of the park protocol's store-buffering pair without
/// `join`'s own fence (a SeqCst RMW on a count, then a pop of the empty
/// queue `make` builds), racing a notifier's half (a push of `value()` or a
/// close, the notifier's fence, a SeqCst load of the count): the pop's
/// `Empty` must not miss the push (or the close) while the notifier misses
/// the count. The queue's own `seqcst_edge` before its SeqCst tail load is
/// what orders the two under loom, which models SeqCst accesses as AcqRel.
/// `preemptions`: the model's bound; `None` leaves loom's default (the
/// `LOOM_MAX_PREEMPTIONS` environment variable, else unbounded).
fn empty_pop_store_buffering<T, Q>(
    make: fn() -> Q,
    value: fn() -> T,
    close: bool,
    preemptions: Option<usize>,
) where
    T: Send + 'static,
    Q: Queue<T> + Send + Sync + 'static,
{
    use crate::sync::{seqcst_edge, Arc, AtomicUsize, Ordering};
    use loom::thread;
    let mut builder = loom::model::Builder::new();
    if preemptions.is_some() {
        builder.preemption_bound = preemptions;
    }
    builder.check(move || {
        let queue = Arc::new(make());
        let waiting = Arc::new(AtomicUsize::new(0));
        let (q, w) = (queue.clone(), waiting.clone());
        let notifier = thread::spawn(move || {
            if close {
                assert!(q.close());
            } else {
                assert!(q.push(value()).is_ok());
            }
            seqcst_edge();
            w.load(Ordering::SeqCst) != 0
        });
        // On a thread of its own: loom does not run the spawned thread
        // before the main thread's first steps.
        let waiter = thread::spawn(move || {
            waiting.fetch_add(1, Ordering::SeqCst);
            matches!(queue.pop(), Err(PopError::Empty))
        });
        let answered_empty = waiter.join().unwrap();
        let saw_waiter = notifier.join().unwrap();
        assert!(
            saw_waiter || !answered_empty,
            "the pop answered Empty and the notifier missed the waiter"
        );
    });
}
