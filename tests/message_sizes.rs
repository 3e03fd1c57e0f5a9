//! The waiting `send`, `recv` and stream paths with messages of several
//! sizes. Messages of up to 16 bytes take a try compiled into the future's
//! poll, larger ones an out-of-line try (`chan.rs`, `inlines_tries`); each
//! size here goes through both waits (full, then empty) many times, on both
//! runtimes and on blocking threads, and through a close that ends a wait;
//! and through an unbounded channel.

mod common;

use futures::StreamExt;

/// A message of `N` bytes whose every byte is derived from its sequence
/// number, so that a torn or mixed-up copy shows.
#[derive(Clone, Debug, PartialEq)]
struct Msg<const N: usize>([u8; N]);

impl<const N: usize> Msg<N> {
    fn new(seq: usize) -> Self {
        let mut bytes = [0u8; N];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seq.wrapping_mul(31).wrapping_add(i * 7) % 251) as u8;
        }
        Msg(bytes)
    }
}

/// Messages per run: enough that every one of them waits on capacity 1.
fn messages() -> usize {
    common::scaled(2_000)
}

/// One producer task and one consumer task through `bounded(cap)` (or,
/// for `None`, `unbounded()`), with `send().await` and either
/// `recv().await` or the stream; checks every message arrives once, in
/// order, intact.
async fn one_to_one<const N: usize>(cap: Option<usize>, as_stream: bool) {
    let n = messages();
    let (tx, rx) = match cap {
        Some(cap) => ringchan::bounded::<Msg<N>>(cap),
        None => ringchan::unbounded::<Msg<N>>(),
    };
    let producer = tokio::spawn(async move {
        for seq in 0..n {
            tx.send(Msg::new(seq)).await.expect("receiver alive");
        }
    });
    let consumer = tokio::spawn(async move {
        let mut got = 0;
        if as_stream {
            let mut rx = rx;
            while let Some(m) = rx.next().await {
                assert_eq!(m, Msg::new(got), "message {got} of {N} bytes");
                got += 1;
            }
        } else {
            while let Ok(m) = rx.recv().await {
                assert_eq!(m, Msg::new(got), "message {got} of {N} bytes");
                got += 1;
            }
        }
        got
    });
    producer.await.expect("producer");
    assert_eq!(consumer.await.expect("consumer"), n);
}

/// The same through blocking threads (`send_blocking`/`recv_blocking`).
fn one_to_one_blocking<const N: usize>(cap: usize) {
    let n = messages();
    let (tx, rx) = ringchan::bounded::<Msg<N>>(cap);
    let producer = std::thread::spawn(move || {
        for seq in 0..n {
            tx.send_blocking(Msg::new(seq)).expect("receiver alive");
        }
    });
    let mut got = 0;
    while let Ok(m) = rx.recv_blocking() {
        assert_eq!(m, Msg::new(got), "message {got} of {N} bytes");
        got += 1;
    }
    producer.join().expect("producer");
    assert_eq!(got, n);
}

/// A send waiting on a full channel gets its message back, intact, when
/// the receiver goes; a receive waiting on an empty one ends when the
/// last sender goes.
async fn close_ends_waits<const N: usize>() {
    let (tx, rx) = ringchan::bounded::<Msg<N>>(1);
    tx.send(Msg::new(0)).await.unwrap();
    let mut send = Box::pin(tx.send(Msg::new(1)));
    assert!(common::poll_once(send.as_mut(), &futures::task::noop_waker()).is_pending());
    drop(rx);
    let back = send.await.expect_err("receiver gone").into_inner();
    assert_eq!(back, Msg::new(1));

    let (tx, rx) = ringchan::bounded::<Msg<N>>(1);
    let mut recv = Box::pin(rx.recv());
    assert!(common::poll_once(recv.as_mut(), &futures::task::noop_waker()).is_pending());
    drop(tx);
    assert!(recv.await.is_err());
}

/// Every scenario for messages of `N` bytes.
fn all_for<const N: usize>() {
    for cap in [Some(1), Some(4), None] {
        for as_stream in [false, true] {
            common::current_thread_rt().block_on(one_to_one::<N>(cap, as_stream));
            common::multi_thread_rt().block_on(one_to_one::<N>(cap, as_stream));
        }
    }
    for cap in [1, 4] {
        one_to_one_blocking::<N>(cap);
    }
    common::current_thread_rt().block_on(close_ends_waits::<N>());
}

/// One test per message size, each running [`all_for`].
macro_rules! sizes {
    ($($name:ident => $n:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                all_for::<$n>();
            }
        )*
    };
}

sizes! {
    one_byte_messages => 1,
    eight_byte_messages => 8,
    sixteen_byte_messages => 16,
    seventeen_byte_messages => 17,
    sixty_four_byte_messages => 64,
    kilobyte_messages => 1024,
}

/// A `send` future polled again after it completed panics with a clear
/// message, and the channel goes on working: the panic comes before the
/// send claims a slot, which would otherwise stay claimed and unwritten,
/// and hang every receive after it.
fn send_polled_after_completion<const N: usize>(cap: Option<usize>) {
    common::watchdog("send polled after completion", move || {
        let (tx, rx) = match cap {
            Some(cap) => ringchan::bounded::<Msg<N>>(cap),
            None => ringchan::unbounded::<Msg<N>>(),
        };
        let mut send = Box::pin(tx.send(Msg::new(0)));
        let waker = futures::task::noop_waker();
        assert!(common::poll_once(send.as_mut(), &waker).is_ready());
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = common::poll_once(send.as_mut(), &waker);
        }));
        let message = again.expect_err("a completed send polled again must panic");
        let text = message
            .downcast_ref::<&str>()
            .copied()
            .or(message.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("");
        assert!(
            text.contains("polled after completion"),
            "panic message: {text:?}"
        );
        drop(send);
        tx.try_send(Msg::new(1)).expect("room left");
        assert_eq!(rx.try_recv(), Ok(Msg::new(0)));
        assert_eq!(rx.try_recv(), Ok(Msg::new(1)));
    });
}

#[test]
fn a_completed_send_polled_again_panics_and_leaves_the_channel_working() {
    for cap in [Some(4), None] {
        send_polled_after_completion::<8>(cap);
        send_polled_after_completion::<64>(cap);
    }
}

/// Several producer and consumer tasks (more than the runtime's workers)
/// through one channel, each message its sequence number and a body derived
/// from it: every message arrives once, intact, and each consumer sees each
/// producer's messages in order. Messages of more than 16 bytes take the
/// waiting sends' claim-then-move path (`Queue::push_from`), here with
/// producers losing claims to each other.
async fn many_to_many<const N: usize>(cap: Option<usize>) {
    let chan = match cap {
        Some(cap) => ringchan::bounded::<(usize, Msg<N>)>(cap),
        None => ringchan::unbounded::<(usize, Msg<N>)>(),
    };
    common::fan_in_fan_out(
        chan,
        (4, 3, messages()),
        |seq| (seq, Msg::new(seq)),
        |(seq, body)| {
            assert_eq!(body, Msg::new(seq), "message {seq} of {N} bytes torn");
            seq
        },
    )
    .await;
}

#[test]
fn many_producers_and_consumers_of_large_messages() {
    for cap in [Some(1), Some(3), Some(64), None] {
        common::multi_thread_rt().block_on(many_to_many::<64>(cap));
        common::current_thread_rt().block_on(many_to_many::<64>(cap));
        common::multi_thread_rt().block_on(many_to_many::<9>(cap));
    }
}
