//! Every public method of the native MPMC API, its success and its failure
//! edge, and every way a channel closes.

mod common;

use std::thread;

use common::{guard, parked, scaled, woken_only_by, CloseBy, Polled, CLOSE_PATHS};
use ringchan::{bounded, RecvError, SendError, TryRecvError, TrySendError};

// ---------------------------------------------------------------- bounded

#[test]
fn bounded_returns_two_handles_of_one_channel() {
    let (tx, rx) = bounded::<u8>(4);
    let (other_tx, other_rx) = bounded::<u8>(4);

    assert!(tx.same_channel(&tx.clone()));
    assert!(rx.same_channel(&rx.clone()));
    assert!(!tx.same_channel(&other_tx));
    assert!(!rx.same_channel(&other_rx));
    assert_eq!((tx.sender_count(), tx.receiver_count()), (1, 1));
    assert!(!tx.is_closed() && !rx.is_closed());

    tx.try_send(7).unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(other_rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn capacity_is_reported_by_both_handles() {
    for cap in [1, 2, 3, 7, 64] {
        let (tx, rx) = bounded::<()>(cap);
        assert_eq!(tx.capacity(), Some(cap));
        assert_eq!(rx.capacity(), Some(cap));
    }
}

#[test]
fn len_is_empty_and_is_full_follow_the_buffer_on_both_handles() {
    let (tx, rx) = bounded(3);
    let state = || (tx.len(), tx.is_empty(), tx.is_full());
    let rx_state = || (rx.len(), rx.is_empty(), rx.is_full());

    assert_eq!(state(), (0, true, false));
    tx.try_send(1).unwrap();
    assert_eq!(state(), (1, false, false));
    tx.try_send(2).unwrap();
    tx.try_send(3).unwrap();
    assert_eq!(state(), (3, false, true));
    assert_eq!(rx_state(), (3, false, true));
    rx.try_recv().unwrap();
    assert_eq!(rx_state(), (2, false, false));
    rx.try_recv().unwrap();
    rx.try_recv().unwrap();
    assert_eq!(rx_state(), (0, true, false));
    assert_eq!(state(), (0, true, false));
}

// ---------------------------------------------------------------- try_send / try_recv

#[test]
fn try_send_and_try_recv_are_fifo() {
    let (tx, rx) = bounded(5);
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    for i in 0..5 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
}

#[test]
fn try_send_into_a_full_channel_hands_the_message_back_as_full() {
    let (tx, rx) = bounded(2);
    tx.try_send(String::from("a")).unwrap();
    tx.try_send(String::from("b")).unwrap();

    let err = tx.try_send(String::from("c")).unwrap_err();
    assert!(err.is_full());
    assert!(!err.is_closed());
    assert_eq!(err, TrySendError::Full(String::from("c")));
    assert_eq!(err.into_inner(), "c");

    // The refused message did not get in or disturb the others.
    assert_eq!(rx.try_recv().as_deref(), Ok("a"));
    assert_eq!(rx.try_recv().as_deref(), Ok("b"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn try_recv_from_an_empty_open_channel_is_empty() {
    let (tx, rx) = bounded::<u8>(1);
    let err = rx.try_recv().unwrap_err();
    assert_eq!(err, TryRecvError::Empty);
    assert!(err.is_empty());
    assert!(!err.is_closed());
    drop(tx);
    let err = rx.try_recv().unwrap_err();
    assert_eq!(err, TryRecvError::Closed);
    assert!(err.is_closed());
    assert!(!err.is_empty());
}

// ---------------------------------------------------------------- send / recv

#[tokio::test]
async fn send_and_recv_complete_at_once_when_not_full_or_empty() {
    let (tx, rx) = bounded(2);
    assert_eq!(tx.send(1).await, Ok(()));
    assert_eq!(tx.send(2).await, Ok(()));
    assert_eq!(rx.recv().await, Ok(1));
    assert_eq!(rx.recv().await, Ok(2));
}

#[test]
fn send_parks_when_full_and_completes_after_a_receive() {
    let (tx, rx) = bounded(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();

    let mut send = parked(tx.send(3));
    assert_eq!(
        rx.len(),
        2,
        "a parked send must not have entered the channel"
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(send.woken(), "a receive must wake the parked sender");
    assert_eq!(send.ready(), Ok(()));

    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn recv_parks_when_empty_and_completes_after_each_kind_of_send() {
    let (tx, rx) = bounded(2);
    let sends: [(&str, &dyn Fn(u32)); 3] = [
        ("try_send", &|v| tx.try_send(v).unwrap()),
        ("force_send", &|v| assert_eq!(tx.force_send(v), Ok(None))),
        ("send", &|v| {
            assert_eq!(Polled::new(tx.send(v)).ready(), Ok(()))
        }),
    ];
    for (i, (name, send)) in sends.into_iter().enumerate() {
        let mut recv = parked(rx.recv());
        send(i as u32);
        assert!(recv.woken(), "{name} must wake the parked receiver");
        assert_eq!(recv.ready(), Ok(i as u32), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn send_and_recv_deliver_every_message_once_in_per_sender_order() {
    common::fan_in_fan_out(
        bounded::<usize>(7),
        (4, 4, scaled(5_000)),
        |seq| seq,
        |seq| seq,
    )
    .await;
}

// ---------------------------------------------------------------- blocking

#[test]
fn send_blocking_and_recv_blocking_pass_messages_between_threads_in_order() {
    let n = scaled(2_000);
    let (tx, rx) = bounded(1);
    let producer = thread::spawn(move || {
        for i in 0..n {
            tx.send_blocking(i).unwrap();
        }
    });
    for i in 0..n {
        assert_eq!(rx.recv_blocking(), Ok(i));
    }
    producer.join().unwrap();
    assert_eq!(rx.recv_blocking(), Err(RecvError));
}

#[test]
fn blocking_calls_on_a_closed_channel_return_at_once() {
    let (tx, rx) = bounded(1);
    tx.send_blocking(1).unwrap();
    tx.close();
    assert_eq!(tx.send_blocking(2), Err(SendError(2)));
    assert_eq!(rx.recv_blocking(), Ok(1));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
}

#[test]
fn futures_wait_blocks_the_thread_until_ready() {
    let (tx, rx) = bounded(1);
    assert_eq!(tx.send(1).wait(), Ok(()));
    assert_eq!(rx.recv().wait(), Ok(1));

    thread::scope(|s| {
        let waiter = s.spawn(|| rx.recv().wait());
        tx.send(2).wait().unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(2));

        let closed = s.spawn(|| tx.closed().wait());
        rx.close();
        closed.join().unwrap();
    });
    assert_eq!(tx.send(3).wait(), Err(SendError(3)));
    assert_eq!(rx.recv().wait(), Err(RecvError));
}

// ---------------------------------------------------------------- force_send

#[test]
fn force_send_with_room_adds_the_message_and_returns_none() {
    let (tx, rx) = bounded(2);
    assert_eq!(tx.force_send(1), Ok(None));
    assert_eq!(tx.force_send(2), Ok(None));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn force_send_into_a_full_channel_replaces_the_oldest_message() {
    let (tx, rx) = bounded(3);
    for i in 1..=3 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(tx.force_send(4), Ok(Some(1)));
    assert_eq!(tx.force_send(5), Ok(Some(2)));
    assert_eq!(tx.len(), 3);
    assert!(tx.is_full());
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_pending_closed_is_woken_only_by_the_close() {
    for (tx, rx) in [bounded::<u8>(1), ringchan::unbounded::<u8>()] {
        woken_only_by(tx.closed(), || {
            rx.close();
        });
    }
}

#[test]
fn force_send_into_a_closed_channel_hands_the_message_back() {
    let (tx, rx) = bounded(1);
    tx.try_send(1).unwrap();
    rx.close();
    assert_eq!(tx.force_send(2), Err(SendError(2)));
    // Closing did not let force_send evict the buffered message.
    assert_eq!(rx.try_recv(), Ok(1));
}

// ---------------------------------------------------------------- close

#[test]
fn close_reports_true_only_for_the_call_that_closed() {
    let (tx, rx) = bounded::<u8>(1);
    assert!(tx.close());
    assert!(!tx.close());
    assert!(!rx.close());

    let (tx, rx) = bounded::<u8>(1);
    assert!(rx.close());
    assert!(!rx.close());
    assert!(!tx.close());
}

#[test]
fn every_close_path_is_seen_by_both_sides() {
    for how in CLOSE_PATHS {
        let (tx, rx) = bounded::<u8>(1);
        let (tx2, rx2) = (tx.clone(), rx.clone());
        match how {
            CloseBy::SenderClose => assert!(tx.close()),
            CloseBy::ReceiverClose => assert!(rx.close()),
            CloseBy::DroppingLastHandle => {
                drop((tx, tx2));
                assert!(rx2.is_closed());
                assert_eq!(rx2.sender_count(), 0);
                continue;
            }
        }
        assert!(rx2.is_closed(), "{how:?}");
        assert!(tx2.is_closed(), "{how:?}");
    }
}

#[test]
fn dropping_one_of_several_senders_keeps_the_channel_open() {
    let (tx, rx) = bounded(2);
    let tx2 = tx.clone();
    drop(tx);
    assert!(!rx.is_closed());
    assert_eq!(rx.sender_count(), 1);
    tx2.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn dropping_one_of_several_receivers_keeps_the_channel_open() {
    let (tx, rx) = bounded(2);
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed());
    assert_eq!(tx.receiver_count(), 1);
    tx.try_send(1).unwrap();
    assert_eq!(rx2.try_recv(), Ok(1));
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
}

#[tokio::test]
async fn receivers_drain_buffered_messages_before_seeing_closed() {
    for how in [
        CloseBy::SenderClose,
        CloseBy::ReceiverClose,
        CloseBy::DroppingLastHandle,
    ] {
        let (tx, rx) = bounded(3);
        for i in 0..3 {
            tx.try_send(i).unwrap();
        }
        match how {
            CloseBy::SenderClose => assert!(tx.close()),
            CloseBy::ReceiverClose => assert!(rx.close()),
            CloseBy::DroppingLastHandle => drop(tx),
        }
        assert!(rx.is_closed(), "{how:?}");
        assert_eq!(rx.len(), 3, "{how:?}: closing must not discard messages");
        assert_eq!(rx.try_recv(), Ok(0), "{how:?}");
        assert_eq!(rx.recv().await, Ok(1), "{how:?}");
        assert_eq!(rx.recv_blocking(), Ok(2), "{how:?}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed), "{how:?}");
        assert_eq!(rx.recv().await, Err(RecvError), "{how:?}");
    }
}

#[tokio::test]
async fn every_send_into_a_closed_channel_hands_the_message_back() {
    for how in CLOSE_PATHS {
        let (tx, rx) = bounded(4);
        match how {
            CloseBy::SenderClose => assert!(tx.close()),
            CloseBy::ReceiverClose => assert!(rx.close()),
            CloseBy::DroppingLastHandle => drop(rx),
        }
        let err = tx.try_send(String::from("try")).unwrap_err();
        assert!(err.is_closed() && !err.is_full(), "{how:?}");
        assert_eq!(err.into_inner(), "try");
        assert_eq!(tx.send(String::from("send")).await.unwrap_err().0, "send");
        let SendError(back) = tx.send_blocking(String::from("blocking")).unwrap_err();
        assert_eq!(back, "blocking");
        assert_eq!(
            tx.force_send(String::from("force"))
                .unwrap_err()
                .into_inner(),
            "force"
        );
        assert!(tx.is_empty(), "{how:?}: nothing may enter a closed channel");
    }
}

#[test]
fn every_close_path_wakes_every_parked_receiver() {
    for how in CLOSE_PATHS {
        let (tx, rx) = bounded::<u32>(2);
        let rx2 = rx.clone();
        let mut waiting = [parked(rx.recv()), parked(rx.recv()), parked(rx2.recv())];
        match how {
            CloseBy::SenderClose => assert!(tx.close()),
            CloseBy::ReceiverClose => assert!(rx2.close()),
            CloseBy::DroppingLastHandle => drop(tx),
        }
        for (i, recv) in waiting.iter_mut().enumerate() {
            assert!(recv.woken(), "{how:?}: receiver {i} was not woken");
            assert_eq!(recv.ready(), Err(RecvError), "{how:?}: receiver {i}");
        }
    }
}

#[test]
fn every_close_path_wakes_every_parked_sender() {
    for how in CLOSE_PATHS {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(0).unwrap();
        let tx2 = tx.clone();
        let mut waiting = [parked(tx.send(1)), parked(tx.send(2)), parked(tx2.send(3))];
        match how {
            CloseBy::SenderClose => assert!(tx2.close()),
            CloseBy::ReceiverClose => assert!(rx.close()),
            CloseBy::DroppingLastHandle => drop(rx),
        }
        for (i, send) in waiting.iter_mut().enumerate() {
            assert!(send.woken(), "{how:?}: sender {i} was not woken");
            assert_eq!(
                send.ready(),
                Err(SendError(i as u32 + 1)),
                "{how:?}: sender {i}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_releases_tasks_parked_on_other_threads() {
    let (full_tx, full_rx) = bounded::<u32>(1);
    full_tx.try_send(0).unwrap();
    let (_empty_tx, empty_rx) = bounded::<u32>(1);

    let mut tasks = Vec::new();
    for i in 0..4 {
        let tx = full_tx.clone();
        tasks.push(tokio::spawn(async move {
            assert_eq!(tx.send(i).await, Err(SendError(i)));
        }));
        let rx = empty_rx.clone();
        tasks.push(tokio::spawn(async move {
            assert_eq!(rx.recv().await, Err(RecvError));
        }));
    }
    tokio::task::yield_now().await;
    full_rx.close();
    empty_rx.close();
    guard(async {
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await;
}

// ---------------------------------------------------------------- closed()

#[test]
fn closed_completes_when_the_last_receiver_is_dropped() {
    let (tx, rx) = bounded::<u8>(1);
    let rx2 = rx.clone();
    let mut closed = parked(tx.closed());
    drop(rx);
    assert!(closed.poll().is_pending(), "one receiver is still alive");
    drop(rx2);
    assert!(closed.woken());
    assert!(closed.poll().is_ready());
}

#[test]
fn closed_completes_on_an_explicit_close_from_either_side() {
    let (tx, rx) = bounded::<u8>(1);
    let mut closed = parked(tx.closed());
    tx.close();
    assert!(closed.woken());
    assert!(closed.poll().is_ready());

    let (tx, rx2) = bounded::<u8>(1);
    let mut closed = parked(tx.closed());
    rx2.close();
    assert!(closed.woken());
    assert!(closed.poll().is_ready());
    drop(rx);
}

#[test]
fn closed_is_ready_at_once_on_a_closed_channel() {
    let (tx, rx) = bounded::<u8>(1);
    drop(rx);
    assert!(Polled::new(tx.closed()).poll().is_ready());
    assert!(
        Polled::new(tx.closed()).poll().is_ready(),
        "closed() can be awaited again"
    );
}

// ---------------------------------------------------------------- counts

#[test]
fn sender_and_receiver_counts_follow_clones_and_drops_on_both_handles() {
    let (tx, rx) = bounded::<u8>(1);
    let counts = || {
        let c = (tx.sender_count(), tx.receiver_count());
        assert_eq!(c, (rx.sender_count(), rx.receiver_count()));
        c
    };
    assert_eq!(counts(), (1, 1));
    let tx2 = tx.clone();
    let tx3 = tx2.clone();
    assert_eq!(counts(), (3, 1));
    let rx2 = rx.clone();
    assert_eq!(counts(), (3, 2));
    drop(tx2);
    assert_eq!(counts(), (2, 2));
    drop(rx2);
    drop(tx3);
    assert_eq!(counts(), (1, 1));
    let weak_tx = tx.downgrade();
    let weak_rx = rx.downgrade();
    assert_eq!(counts(), (1, 1), "weak handles are not counted");
    let (tx4, rx4) = (weak_tx.upgrade().unwrap(), weak_rx.upgrade().unwrap());
    assert_eq!(counts(), (2, 2), "upgraded handles are counted");
    drop((tx4, rx4));
    assert_eq!(counts(), (1, 1));
}

// ---------------------------------------------------------------- weak handles

#[test]
fn weak_sender_upgrades_to_a_working_sender_while_a_sender_lives() {
    let (tx, rx) = bounded(2);
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    let upgraded = weak2.upgrade().expect("a sender is alive");
    assert!(upgraded.same_channel(&tx));
    upgraded.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    drop(upgraded);
    assert!(weak.upgrade().is_some());
}

#[test]
fn weak_sender_does_not_keep_the_channel_open_and_then_fails_to_upgrade() {
    let (tx, rx) = bounded::<u8>(2);
    let weak = tx.downgrade();
    drop(tx);
    assert!(
        rx.is_closed(),
        "a weak sender must not keep the channel open"
    );
    assert_eq!(rx.sender_count(), 0);
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.sender_count(), 0, "a failed upgrade must not count");
}

#[test]
fn weak_sender_fails_to_upgrade_once_the_channel_is_closed() {
    let (tx, rx) = bounded::<u8>(2);
    let weak = tx.downgrade();
    rx.close();
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.sender_count(), 1);
}

#[test]
fn weak_receiver_upgrades_to_a_working_receiver_while_a_receiver_lives() {
    let (tx, rx) = bounded(2);
    let weak = rx.downgrade();
    let weak2 = weak.clone();
    let upgraded = weak2.upgrade().expect("a receiver is alive");
    assert!(upgraded.same_channel(&rx));
    tx.try_send(1).unwrap();
    assert_eq!(upgraded.try_recv(), Ok(1));
    drop(upgraded);
    assert!(weak.upgrade().is_some());
}

#[test]
fn weak_receiver_does_not_keep_the_channel_open_and_then_fails_to_upgrade() {
    let (tx, rx) = bounded(2);
    let weak = rx.downgrade();
    drop(rx);
    assert!(
        tx.is_closed(),
        "a weak receiver must not keep the channel open"
    );
    assert_eq!(tx.receiver_count(), 0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    assert!(weak.upgrade().is_none());
    assert_eq!(tx.receiver_count(), 0, "a failed upgrade must not count");
}

#[test]
fn weak_receiver_fails_to_upgrade_once_the_channel_is_closed() {
    let (tx, rx) = bounded::<u8>(2);
    let weak = rx.downgrade();
    tx.close();
    assert!(weak.upgrade().is_none());
    assert_eq!(tx.receiver_count(), 1);
}

// ---------------------------------------------------------------- errors

#[test]
fn error_helpers_return_the_message_and_classify_the_failure() {
    assert_eq!(SendError(5).into_inner(), 5);
    assert_eq!(SendError(6).0, 6);
    let full = TrySendError::Full(1);
    let closed = TrySendError::Closed(2);
    assert!(full.is_full() && !full.is_closed());
    assert!(closed.is_closed() && !closed.is_full());
    assert_eq!((full.into_inner(), closed.into_inner()), (1, 2));
    assert!(TryRecvError::Empty.is_empty() && !TryRecvError::Empty.is_closed());
    assert!(TryRecvError::Closed.is_closed() && !TryRecvError::Closed.is_empty());
}

#[test]
fn send_error_converts_into_try_send_error_closed() {
    let err: TrySendError<u8> = SendError(3).into();
    assert_eq!(err, TrySendError::Closed(3));
}

#[test]
fn errors_display_what_went_wrong() {
    let text = |e: &dyn std::error::Error| e.to_string().to_lowercase();
    assert!(text(&SendError(1)).contains("closed"));
    assert!(text(&TrySendError::Closed(1)).contains("closed"));
    let full = text(&TrySendError::Full(1));
    assert!(!full.is_empty() && !full.contains("closed"), "{full:?}");
    assert!(text(&RecvError).contains("closed"));
    assert!(text(&TryRecvError::Empty).contains("empty"));
    assert!(text(&TryRecvError::Closed).contains("closed"));
}

// ---------------------------------------------------------------- Debug

#[test]
fn every_handle_and_error_formats_with_debug() {
    let (tx, rx) = bounded::<u8>(2);
    tx.try_send(1).unwrap();
    for text in [
        format!("{tx:?}"),
        format!("{rx:?}"),
        format!("{:?}", tx.downgrade()),
        format!("{:?}", rx.downgrade()),
        format!("{:?}", SendError(1)),
        format!("{:?}", TrySendError::Full(1)),
        format!("{RecvError:?}"),
        format!("{:?}", TryRecvError::Empty),
    ] {
        assert!(!text.is_empty());
    }
}
