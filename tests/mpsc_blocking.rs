//! `blocking_send`, `blocking_recv` and `blocking_recv_many` on both
//! flavours: they bridge sync and async code, and panic, as tokio's do, when
//! called on a thread that is driving a runtime.
//!
//! The tests run against `ringchan::mpsc`; `--features tokio-mpsc` runs the
//! very same tests against tokio's module, which is how they were validated.
#[cfg(not(feature = "tokio-mpsc"))]
use ringchan::mpsc;
#[cfg(feature = "tokio-mpsc")]
use tokio::sync::mpsc;

mod common;
mod mpsc_util;

use common::{current_thread_rt, guard, multi_thread_rt, scaled};
use mpsc::error::SendError;
use mpsc_util::{panic_file, panic_message};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;

/// The message of tokio's panic for blocking inside a runtime.
const IN_RUNTIME: &str = "Cannot block the current thread from within a runtime. \
    This happens because a function attempted to block the current thread \
    while the thread is being used to drive asynchronous tasks.";

/// Runs `f` inside `block_on` and returns its panic message.
fn panic_inside_block_on(f: impl FnOnce()) -> String {
    let rt = current_thread_rt();
    let payload = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { f() })))
        .expect_err("expected a panic inside the runtime");
    panic_message(&*payload)
}

// ===== bridging sync and async =====

#[test]
fn blocking_send_from_a_thread_to_an_async_receiver() {
    let n = scaled(1000);
    let (tx, mut rx) = mpsc::channel(1);
    let producer = thread::spawn(move || {
        for i in 0..n {
            tx.blocking_send(i).unwrap();
        }
    });
    let got = current_thread_rt().block_on(async {
        let mut got = Vec::new();
        while let Some(v) = guard(rx.recv()).await {
            got.push(v);
        }
        got
    });
    producer.join().unwrap();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

#[test]
fn blocking_recv_on_a_thread_from_an_async_sender() {
    let n = scaled(1000);
    let (tx, mut rx) = mpsc::channel(2);
    let consumer = thread::spawn(move || {
        let mut got = Vec::new();
        while let Some(v) = rx.blocking_recv() {
            got.push(v);
        }
        got
    });
    current_thread_rt().block_on(async move {
        for i in 0..n {
            guard(tx.send(i)).await.unwrap();
        }
    });
    assert_eq!(consumer.join().unwrap(), (0..n).collect::<Vec<_>>());
}

#[test]
fn blocking_calls_work_with_no_runtime_anywhere() {
    let (tx, mut rx) = mpsc::channel(1);
    let producer = thread::spawn(move || {
        // With capacity 1 the second send blocks until the first is taken.
        tx.blocking_send(1).unwrap();
        tx.blocking_send(2).unwrap();
        tx.blocking_send(3).unwrap();
    });
    assert_eq!(rx.blocking_recv(), Some(1));
    assert_eq!(rx.blocking_recv(), Some(2));
    assert_eq!(rx.blocking_recv(), Some(3));
    assert_eq!(rx.blocking_recv(), None);
    producer.join().unwrap();
}

#[test]
fn blocking_send_fails_with_the_value_once_the_receiver_is_gone() {
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    assert_eq!(tx.blocking_send(4), Err(SendError(4)));
}

#[test]
fn blocked_send_fails_when_the_receiver_drops() {
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let sender = thread::spawn(move || {
        ready_tx.send(()).unwrap();
        tx.blocking_send(1)
    });
    ready_rx.recv().unwrap();
    // Whether or not the thread is parked yet, it must end with the error.
    drop(rx);
    assert_eq!(sender.join().unwrap(), Err(SendError(1)));
}

#[test]
fn blocking_recv_returns_none_once_closed_and_drained() {
    let (tx, mut rx) = mpsc::channel(4);
    tx.try_send(1).unwrap();
    let permit = tx.clone().try_reserve_owned().unwrap();
    rx.close();
    let sender = thread::spawn(move || {
        // The outstanding permit may still send after close().
        let _tx = permit.send(2);
    });
    assert_eq!(rx.blocking_recv(), Some(1));
    assert_eq!(rx.blocking_recv(), Some(2));
    assert_eq!(rx.blocking_recv(), None);
    sender.join().unwrap();
    drop(tx);
}

#[test]
fn blocking_recv_many_takes_up_to_limit() {
    let (tx, mut rx) = mpsc::channel(8);
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    let mut buf = vec![-1];
    assert_eq!(rx.blocking_recv_many(&mut buf, 0), 0);
    assert_eq!(rx.blocking_recv_many(&mut buf, 3), 3);
    assert_eq!(rx.blocking_recv_many(&mut buf, 3), 2);
    assert_eq!(buf, [-1, 0, 1, 2, 3, 4]);
    let producer = thread::spawn(move || {
        tx.blocking_send(5).unwrap();
    });
    assert_eq!(rx.blocking_recv_many(&mut buf, 3), 1);
    producer.join().unwrap();
    assert_eq!(rx.blocking_recv_many(&mut buf, 3), 0);
    assert_eq!(buf, [-1, 0, 1, 2, 3, 4, 5]);
}

#[test]
fn unbounded_blocking_recv_and_recv_many() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let producer = thread::spawn(move || {
        for i in 0..10 {
            tx.send(i).unwrap();
        }
    });
    let mut got = Vec::new();
    while let Some(v) = rx.blocking_recv() {
        got.push(v);
        if got.len() == 4 {
            break;
        }
    }
    let mut buf = Vec::new();
    while rx.blocking_recv_many(&mut buf, 3) > 0 {
        assert!(buf.len() <= 6);
        got.append(&mut buf);
    }
    producer.join().unwrap();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert_eq!(rx.blocking_recv(), None);
}

// ===== where blocking is allowed inside a runtime =====

#[test]
fn blocking_calls_work_inside_spawn_blocking() {
    multi_thread_rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        let producer = tokio::task::spawn_blocking(move || {
            for i in 0..3 {
                tx.blocking_send(i).unwrap();
            }
        });
        let consumer = tokio::task::spawn_blocking(move || {
            let mut got = Vec::new();
            while let Some(v) = rx.blocking_recv() {
                got.push(v);
            }
            got
        });
        guard(producer).await.unwrap();
        assert_eq!(guard(consumer).await.unwrap(), [0, 1, 2]);
    });
}

#[test]
fn blocking_calls_work_inside_block_in_place() {
    multi_thread_rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        let handle = tokio::spawn(async move {
            tokio::task::block_in_place(|| {
                tx.blocking_send(1).unwrap();
                tx.blocking_send(2).unwrap();
            })
        });
        assert_eq!(guard(rx.recv()).await, Some(1));
        assert_eq!(guard(rx.recv()).await, Some(2));
        guard(handle).await.unwrap();
        let (utx, mut urx) = mpsc::unbounded_channel();
        utx.send(3).unwrap();
        let got = guard(tokio::spawn(async move {
            tokio::task::block_in_place(|| urx.blocking_recv())
        }))
        .await
        .unwrap();
        assert_eq!(got, Some(3));
    });
}

#[test]
fn blocking_calls_work_under_a_handle_enter_guard() {
    // `Runtime::enter` sets the current handle but does not make this
    // thread a runtime thread, so blocking is allowed.
    let rt = multi_thread_rt();
    let _guard = rt.enter();
    let (tx, mut rx) = mpsc::channel(1);
    tx.blocking_send(1).unwrap();
    assert_eq!(rx.blocking_recv(), Some(1));
}

// ===== panics inside a runtime =====

#[test]
fn blocking_send_panics_inside_a_runtime_even_with_capacity() {
    let (tx, _rx) = mpsc::channel(8);
    let msg = panic_inside_block_on(|| {
        let _ = tx.blocking_send(1);
    });
    assert_eq!(msg, IN_RUNTIME);
    assert_eq!(tx.capacity(), 8, "nothing was sent");
}

#[test]
fn blocking_recv_panics_inside_a_runtime_even_with_a_message_ready() {
    let (tx, mut rx) = mpsc::channel(8);
    tx.try_send(1).unwrap();
    let msg = panic_inside_block_on(|| {
        let _ = rx.blocking_recv();
    });
    assert_eq!(msg, IN_RUNTIME);
    assert_eq!(rx.try_recv(), Ok(1), "nothing was received");
}

#[test]
fn blocking_recv_many_panics_inside_a_runtime() {
    let (tx, mut rx) = mpsc::channel(8);
    tx.try_send(1).unwrap();
    let msg = panic_inside_block_on(|| {
        let _ = rx.blocking_recv_many(&mut Vec::new(), 4);
    });
    assert_eq!(msg, IN_RUNTIME);
    assert_eq!(rx.len(), 1);
}

#[test]
fn unbounded_blocking_recvs_panic_inside_a_runtime() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tx.send(1).unwrap();
    let msg = panic_inside_block_on(|| {
        let _ = rx.blocking_recv();
    });
    assert_eq!(msg, IN_RUNTIME);
    let msg = panic_inside_block_on(|| {
        let _ = rx.blocking_recv_many(&mut Vec::new(), 4);
    });
    assert_eq!(msg, IN_RUNTIME);
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn blocking_send_panics_inside_a_worker_task() {
    let rt = multi_thread_rt();
    let (tx, _rx) = mpsc::channel(8);
    let handle = rt.spawn(async move {
        let _ = tx.blocking_send(1);
    });
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(panic_message(&*err.into_panic()), IN_RUNTIME);
}

#[test]
fn blocking_panics_point_at_the_caller() {
    // The blocking methods are `#[track_caller]`.
    let rt = current_thread_rt();
    let (tx, mut rx) = mpsc::channel::<i32>(8);
    let (utx, mut urx) = mpsc::unbounded_channel::<i32>();
    let _keep = utx;
    let in_runtime = |f: &mut dyn FnMut()| panic_file(|| rt.block_on(async { f() }));
    let files = [
        in_runtime(&mut || {
            let _ = tx.blocking_send(1);
        }),
        in_runtime(&mut || {
            let _ = rx.blocking_recv();
        }),
        in_runtime(&mut || {
            let _ = rx.blocking_recv_many(&mut Vec::new(), 1);
        }),
        in_runtime(&mut || {
            let _ = urx.blocking_recv();
        }),
        in_runtime(&mut || {
            let _ = urx.blocking_recv_many(&mut Vec::new(), 1);
        }),
    ];
    for file in files {
        assert!(
            file.ends_with("mpsc_blocking.rs"),
            "panic located in {file}"
        );
    }
}
