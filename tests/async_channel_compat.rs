//! A program written against `async-channel` 2 compiles against `ringchan`
//! with only the crate name changed, and behaves the same.
//!
//! Every test below is written once, in `compat_tests!`, and refers to the
//! crate only as `chan`; the macro is instantiated for `async_channel` (the
//! reference, which validates each assertion) and for `ringchan`. Only items
//! that exist in async-channel 2.5 are used.
//!
//! Left out on purpose, because the two crates differ: the `Display` text of
//! every error type, the `Debug` text of `SendError`, `TrySendError` and the
//! handles, and the panic message of `bounded(0)` (only the panic is shared).

mod common;

macro_rules! compat_tests {
    ($krate:ident) => {
        #[doc = concat!("The shared tests, run against `", stringify!($krate), "`.")]
        mod $krate {
            use super::common::{guard, scaled};
            use ::$krate as chan;
            use futures::StreamExt;
            use std::thread;

            /// Capacity of the bounded flavour: small, so tests that fill it stay small.
            const CAP: usize = 4;

            /// A bounded and an unbounded channel, for tests that hold for both.
            fn flavours<T>() -> [(chan::Sender<T>, chan::Receiver<T>); 2] {
                [chan::bounded(CAP), chan::unbounded()]
            }

            #[tokio::test]
            async fn send_and_recv_await_deliver_in_order() {
                for (tx, rx) in flavours::<usize>() {
                    for i in 0..CAP {
                        let send: chan::Send<'_, usize> = tx.send(i);
                        assert_eq!(send.await, Ok(()));
                    }
                    for i in 0..CAP {
                        let recv: chan::Recv<'_, usize> = rx.recv();
                        assert_eq!(recv.await, Ok(i));
                    }
                    assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Empty));
                }
            }

            #[tokio::test]
            async fn send_waits_for_room_and_recv_waits_for_a_message() {
                let (tx, rx) = chan::bounded(1);
                tx.send(1).await.unwrap();
                // `send` finds the channel full and parks until `recv` makes room.
                let (sent, got) = guard(async { tokio::join!(tx.send(2), rx.recv()) }).await;
                assert_eq!((sent, got), (Ok(()), Ok(1)));
                assert_eq!(rx.try_recv(), Ok(2));
                // `recv` finds the channel empty and parks until `send` fills it.
                let (got, sent) = guard(async { tokio::join!(rx.recv(), tx.send(3)) }).await;
                assert_eq!((got, sent), (Ok(3), Ok(())));
            }

            #[test]
            fn try_send_hands_the_value_back_when_full_or_closed() {
                let (tx, _rx) = chan::bounded(2);
                assert_eq!(tx.try_send(1), Ok(()));
                assert_eq!(tx.try_send(2), Ok(()));
                let full = tx.try_send(3).unwrap_err();
                assert_eq!(full, chan::TrySendError::Full(3));
                assert_eq!((full.is_full(), full.is_closed()), (true, false));
                assert_eq!(full.into_inner(), 3);

                assert!(tx.close());
                let closed = tx.try_send(4).unwrap_err();
                assert_eq!(closed, chan::TrySendError::Closed(4));
                assert_eq!((closed.is_full(), closed.is_closed()), (false, true));
                assert_eq!(closed.into_inner(), 4);
            }

            #[test]
            fn unbounded_try_send_is_never_full() {
                let (tx, rx) = chan::unbounded();
                for i in 0..100 {
                    assert_eq!(tx.try_send(i), Ok(()));
                }
                assert_eq!((tx.len(), tx.is_full(), tx.capacity()), (100, false, None));
                assert_eq!((rx.len(), rx.is_full(), rx.capacity()), (100, false, None));
                assert!((0..100).all(|i| rx.try_recv() == Ok(i)));
            }

            #[tokio::test]
            async fn try_recv_reports_empty_then_drains_then_reports_closed() {
                for (tx, rx) in flavours() {
                    let empty = rx.try_recv().unwrap_err();
                    assert_eq!(empty, chan::TryRecvError::Empty);
                    assert_eq!((empty.is_empty(), empty.is_closed()), (true, false));

                    tx.try_send(1).unwrap();
                    tx.try_send(2).unwrap();
                    drop(tx);
                    assert!(rx.is_closed());
                    assert_eq!(rx.try_recv(), Ok(1));
                    assert_eq!(rx.recv().await, Ok(2));

                    let closed = rx.try_recv().unwrap_err();
                    assert_eq!(closed, chan::TryRecvError::Closed);
                    assert_eq!((closed.is_empty(), closed.is_closed()), (false, true));
                    assert_eq!(rx.recv().await, Err(chan::RecvError));
                }
            }

            #[test]
            fn send_blocking_and_recv_blocking_cross_threads() {
                let n = scaled(1_000);
                for (tx, rx) in flavours() {
                    let producer = thread::spawn(move || {
                        for i in 0..n {
                            tx.send_blocking(i).unwrap();
                        }
                    });
                    let got: Vec<usize> = (0..n).map(|_| rx.recv_blocking().unwrap()).collect();
                    producer.join().unwrap();
                    assert!(got.iter().copied().eq(0..n));
                    assert_eq!(rx.recv_blocking(), Err(chan::RecvError));
                }
            }

            #[test]
            fn send_blocking_into_a_closed_channel_hands_the_value_back() {
                for (tx, rx) in flavours() {
                    drop(rx);
                    assert_eq!(tx.send_blocking(6), Err(chan::SendError(6)));
                }
            }

            #[test]
            fn force_send_displaces_the_oldest_message_only_when_full() {
                let (tx, rx) = chan::bounded(2);
                assert_eq!(tx.force_send(1), Ok(None));
                assert_eq!(tx.force_send(2), Ok(None));
                assert_eq!(tx.force_send(3), Ok(Some(1)));
                assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(2), Ok(3)));

                let (tx, rx) = chan::unbounded();
                assert!((0..10).all(|i| tx.force_send(i) == Ok(None)));
                assert_eq!(rx.len(), 10);

                rx.close();
                let err = tx.force_send(10).unwrap_err();
                assert_eq!(err, chan::SendError(10));
                assert_eq!(err.into_inner(), 10);
            }

            #[test]
            fn close_returns_true_only_for_the_call_that_closed() {
                for (tx, rx) in flavours::<u8>() {
                    assert!(!tx.is_closed() && !rx.is_closed());
                    assert!(tx.close());
                    assert!(!tx.close());
                    assert!(!rx.close());
                    assert!(tx.is_closed() && rx.is_closed());
                }
                let (tx, rx) = chan::bounded::<u8>(1);
                assert!(rx.close());
                assert!(!tx.close());
                // Dropping the last sender closed the channel already.
                let (tx, rx) = chan::unbounded::<u8>();
                drop(tx);
                assert!(!rx.close());
            }

            #[test]
            fn len_is_empty_is_full_and_capacity_agree_on_both_handles() {
                let (tx, rx) = chan::bounded(2);
                let state = || (tx.len(), tx.is_empty(), tx.is_full(), tx.capacity());
                let rx_state = || (rx.len(), rx.is_empty(), rx.is_full(), rx.capacity());
                assert_eq!(state(), (0, true, false, Some(2)));
                tx.try_send('a').unwrap();
                assert_eq!(rx_state(), (1, false, false, Some(2)));
                tx.try_send('b').unwrap();
                assert_eq!(state(), (2, false, true, Some(2)));
                assert_eq!(rx_state(), (2, false, true, Some(2)));
                rx.try_recv().unwrap();
                assert_eq!(state(), (1, false, false, Some(2)));

                let (tx, rx) = chan::unbounded();
                assert_eq!((tx.len(), tx.is_empty(), tx.capacity()), (0, true, None));
                tx.try_send('a').unwrap();
                assert_eq!((rx.len(), rx.is_empty(), rx.is_full()), (1, false, false));
            }

            #[test]
            fn handle_counts_follow_clones_drops_and_upgrades() {
                let (tx, rx) = chan::bounded::<u8>(1);
                let counts = |tx: &chan::Sender<u8>| (tx.sender_count(), tx.receiver_count());
                assert_eq!(counts(&tx), (1, 1));
                let tx2 = tx.clone();
                let rx2 = rx.clone();
                let rx3 = rx2.clone();
                assert_eq!(counts(&tx), (2, 3));
                assert_eq!((rx.sender_count(), rx.receiver_count()), (2, 3));

                let (weak_tx, weak_rx) = (tx.downgrade(), rx.downgrade());
                assert_eq!(counts(&tx), (2, 3), "weak handles are not counted");
                let tx3 = weak_tx.upgrade().unwrap();
                let rx4 = weak_rx.upgrade().unwrap();
                assert_eq!(counts(&tx), (3, 4));

                drop((tx2, tx3, rx2, rx3, rx4));
                assert_eq!(counts(&tx), (1, 1));
                assert!(!tx.is_closed());
            }

            #[test]
            fn weak_handles_upgrade_only_while_the_channel_is_open() {
                let (tx, rx) = chan::unbounded();
                let weak_tx: chan::WeakSender<i32> = tx.downgrade();
                let weak_rx: chan::WeakReceiver<i32> = rx.downgrade();
                let (weak_tx2, weak_rx2) = (weak_tx.clone(), weak_rx.clone());

                weak_tx.upgrade().unwrap().try_send(1).unwrap();
                assert_eq!(weak_rx2.upgrade().unwrap().try_recv(), Ok(1));
                assert!(weak_tx2.upgrade().unwrap().same_channel(&tx));
                assert!(weak_rx.upgrade().unwrap().same_channel(&rx));

                tx.close();
                assert!(weak_tx.upgrade().is_none(), "closed");
                assert!(weak_rx.upgrade().is_none(), "closed");

                let (tx, rx) = chan::bounded::<i32>(1);
                let (weak_tx, weak_rx) = (tx.downgrade(), rx.downgrade());
                drop(tx);
                assert!(weak_tx.upgrade().is_none());
                assert!(weak_rx.upgrade().is_none());
            }

            #[test]
            fn same_channel_tells_channels_apart() {
                let (tx, rx) = chan::bounded::<()>(1);
                let (other_tx, other_rx) = chan::unbounded::<()>();
                assert!(tx.same_channel(&tx.clone()) && rx.same_channel(&rx.clone()));
                assert!(!tx.same_channel(&other_tx) && !rx.same_channel(&other_rx));
            }

            #[tokio::test]
            async fn dropping_the_last_sender_closes_after_the_buffer_drains() {
                for (tx, rx) in flavours() {
                    let tx2 = tx.clone();
                    tx.send(1).await.unwrap();
                    tx2.send(2).await.unwrap();
                    drop(tx);
                    assert!(!rx.is_closed(), "a sender remains");
                    drop(tx2);
                    assert!(rx.is_closed());
                    assert_eq!(rx.recv().await, Ok(1));
                    assert_eq!(rx.recv().await, Ok(2));
                    assert_eq!(rx.recv().await, Err(chan::RecvError));
                }
            }

            #[tokio::test]
            async fn dropping_the_last_receiver_makes_send_hand_the_value_back() {
                for (tx, rx) in flavours() {
                    let rx2 = rx.clone();
                    drop(rx);
                    assert_eq!(tx.send(4).await, Ok(()), "a receiver remains");
                    drop(rx2);
                    assert!(tx.is_closed());
                    let err = tx.send(5).await.unwrap_err();
                    assert_eq!(err, chan::SendError(5));
                    assert_eq!(err.0, 5);
                    assert_eq!(tx.try_send(7), Err(chan::TrySendError::Closed(7)));
                }
            }

            #[tokio::test]
            async fn closing_wakes_a_parked_recv_and_a_parked_send() {
                let (tx, rx) = chan::bounded::<u8>(1);
                let (got, closed) =
                    guard(async { tokio::join!(rx.recv(), async { tx.close() }) }).await;
                assert_eq!((got, closed), (Err(chan::RecvError), true));

                let (tx, rx) = chan::bounded(1);
                tx.send(1).await.unwrap();
                let (sent, closed) =
                    guard(async { tokio::join!(tx.send(2), async { rx.close() }) }).await;
                assert_eq!((sent, closed), (Err(chan::SendError(2)), true));
                assert_eq!(rx.recv().await, Ok(1), "buffer kept");
            }

            #[tokio::test]
            async fn closed_future_completes_when_the_last_receiver_goes() {
                for (tx, rx) in flavours::<u8>() {
                    let closed: chan::Closed<'_, u8> = tx.closed();
                    guard(async { tokio::join!(closed, async move { drop(rx) }) }).await;
                    assert!(tx.is_closed());
                }
            }

            #[tokio::test]
            async fn receiver_stream_yields_every_message_then_ends() {
                for (tx, rx) in flavours() {
                    for i in 0..CAP {
                        tx.send(i).await.unwrap();
                    }
                    drop(tx);
                    assert_eq!(rx.collect::<Vec<_>>().await, [0, 1, 2, 3]);
                }
                // The stream waits for a producer on another task.
                let n = scaled(200);
                let (tx, rx) = chan::bounded(2);
                let producer = tokio::spawn(async move {
                    for i in 0..n {
                        tx.send(i).await.unwrap();
                    }
                });
                let got: Vec<usize> = guard(rx.collect()).await;
                producer.await.unwrap();
                assert!(got.into_iter().eq(0..n));
            }

            #[tokio::test]
            async fn stream_is_terminated_only_once_closed_and_drained() {
                use futures::stream::FusedStream;
                let (tx, rx) = chan::unbounded();
                let mut rx = std::pin::pin!(rx);
                tx.send(1).await.unwrap();
                assert!(!rx.is_terminated());
                drop(tx);
                assert!(!rx.is_terminated(), "a message is still buffered");
                assert_eq!(rx.next().await, Some(1));
                assert!(rx.is_terminated());
                assert_eq!(rx.next().await, None);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn many_senders_and_receivers_deliver_each_message_once() {
                let (per_sender, senders) = (scaled(500), 4);
                for (tx, rx) in flavours() {
                    let consumers: Vec<_> = (0..3)
                        .map(|_| tokio::spawn(rx.clone().collect::<Vec<usize>>()))
                        .collect();
                    drop(rx);
                    for s in 0..senders {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for i in 0..per_sender {
                                tx.send(s * per_sender + i).await.unwrap();
                            }
                        });
                    }
                    drop(tx);
                    let mut all = Vec::new();
                    for consumer in consumers {
                        all.extend(guard(consumer).await.unwrap());
                    }
                    all.sort_unstable();
                    assert!(all.into_iter().eq(0..senders * per_sender));
                }
            }

            #[test]
            fn errors_compare_convert_and_implement_error() {
                fn is_error<E: std::error::Error + Send + Sync + Copy>(e: E) -> String {
                    e.to_string()
                }
                let err = chan::SendError("msg");
                assert_eq!((err.0, err.into_inner()), ("msg", "msg"));
                assert_eq!(chan::TrySendError::Full(1).into_inner(), 1);
                assert_ne!(chan::TrySendError::Full(1), chan::TrySendError::Closed(1));
                assert_eq!(format!("{:?}", chan::RecvError), "RecvError");
                assert_eq!(format!("{:?}", chan::TryRecvError::Empty), "Empty");
                assert_eq!(format!("{:?}", chan::TryRecvError::Closed), "Closed");
                // Both print something; what they print differs (module docs).
                assert!(!is_error(err).is_empty() && !is_error(chan::RecvError).is_empty());
                assert!(!is_error(chan::TrySendError::Full(())).is_empty());
                assert!(!is_error(chan::TryRecvError::Empty).is_empty());
            }

            #[test]
            #[should_panic]
            fn bounded_with_zero_capacity_panics() {
                let _ = chan::bounded::<u8>(0);
            }

            #[test]
            fn handles_and_futures_are_send_sync_and_debug() {
                fn send_sync<T: Send + Sync + std::fmt::Debug>() {}
                send_sync::<chan::Sender<String>>();
                send_sync::<chan::Receiver<String>>();
                send_sync::<chan::WeakSender<String>>();
                send_sync::<chan::WeakReceiver<String>>();
                send_sync::<chan::Send<'static, String>>();
                send_sync::<chan::Recv<'static, String>>();
                send_sync::<chan::Closed<'static, String>>();
            }
        }
    };
}

compat_tests!(async_channel);
compat_tests!(ringchan);
