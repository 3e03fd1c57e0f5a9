//! Waiters are woken in the order they started waiting: a task that is
//! woken, finishes and waits again goes behind the ones still waiting, so
//! a busy sender (or receiver) cannot starve a patient one. Futures are
//! polled by hand, each with a waker that counts its wake-ups, so each step
//! is exact. (A future that is polled retries its operation whether it was
//! woken or not, as an executor only polls it when woken; so the tests look
//! at who is woken, not at what a poll returns.)

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use ringchan::bounded;

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A task: one waker, and how often it has been woken.
struct Task {
    count: Arc<Count>,
    waker: Waker,
}

impl Task {
    fn new() -> Self {
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        Self { count, waker }
    }

    fn poll<F: Future + Unpin>(&self, fut: &mut F) -> Poll<F::Output> {
        Pin::new(fut).poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls `fut` until it waits in line: the first `Pending` only yields
    /// (the park protocol's step 2, which wakes the task at once), the
    /// second one has joined the waiters.
    fn wait_in_line<F: Future + Unpin>(&self, fut: &mut F) {
        assert!(self.poll(fut).is_pending(), "the operation should wait");
        assert!(self.poll(fut).is_pending(), "the operation should wait");
        self.count.0.store(0, Ordering::Relaxed); // forget the yield's wake-up
    }

    /// Wake-ups since the last `wait_in_line`.
    fn woken(&self) -> usize {
        self.count.0.load(Ordering::Relaxed)
    }
}

#[test]
fn a_sender_that_waits_again_goes_behind_the_one_still_waiting() {
    let (tx, rx) = bounded(1);
    let (a, b) = (Task::new(), Task::new());
    tx.try_send("x").unwrap();
    let mut a1 = tx.send("a1");
    a.wait_in_line(&mut a1);
    let mut b1 = tx.send("b1");
    b.wait_in_line(&mut b1);

    assert_eq!(rx.try_recv(), Ok("x")); // room for the first in line
    assert_eq!((a.woken(), b.woken()), (1, 0));
    assert_eq!(a.poll(&mut a1), Poll::Ready(Ok(())));
    let mut a2 = tx.send("a2");
    a.wait_in_line(&mut a2); // a is back, behind b

    assert_eq!(rx.try_recv(), Ok("a1")); // room for b, not for a again
    assert_eq!((a.woken(), b.woken()), (0, 1), "a overtook b");
    assert_eq!(b.poll(&mut b1), Poll::Ready(Ok(())));

    assert_eq!(rx.try_recv(), Ok("b1")); // now a's turn
    assert_eq!(a.woken(), 1);
    assert_eq!(a.poll(&mut a2), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok("a2"));
}

#[test]
fn a_receiver_that_waits_again_goes_behind_the_one_still_waiting() {
    let (tx, rx) = bounded(1);
    let rx2 = rx.clone();
    let (r, s) = (Task::new(), Task::new());
    let mut r1 = rx.recv();
    r.wait_in_line(&mut r1);
    let mut s1 = rx2.recv();
    s.wait_in_line(&mut s1);

    tx.try_send(1).unwrap(); // for the first in line
    assert_eq!((r.woken(), s.woken()), (1, 0));
    assert_eq!(r.poll(&mut r1), Poll::Ready(Ok(1)));
    let mut r2 = rx.recv();
    r.wait_in_line(&mut r2); // r is back, behind s

    tx.try_send(2).unwrap(); // for s, not for r again
    assert_eq!((r.woken(), s.woken()), (0, 1), "r overtook s");
    assert_eq!(s.poll(&mut s1), Poll::Ready(Ok(2)));

    tx.try_send(3).unwrap(); // now r's turn
    assert_eq!(r.woken(), 1);
    assert_eq!(r.poll(&mut r2), Poll::Ready(Ok(3)));
}
