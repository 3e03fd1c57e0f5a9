//! Static assertions on the public types: what is `Send`, `Sync`, `Unpin`,
//! `Clone`, `Debug` and `Error`, and under which bounds on `T`. A broken
//! assertion fails to compile.

use std::cell::Cell;
use std::error::Error;
use std::fmt::Debug;
use std::future::Future;

use futures_core::stream::{FusedStream, Stream};
use ringchan::{
    Closed, Receiver, Recv, RecvError, RecvMany, SendError, Sender, TryRecvError, TrySendError,
    WeakReceiver, WeakSender,
};

/// `Send` but not `Sync`: the weakest payload a channel between threads needs.
type SendOnly = Cell<u8>;

/// Neither `Debug` nor `Clone`.
struct Opaque;

fn send_sync_unpin<T: Send + Sync + Unpin>() {}
fn send_unpin<T: Send + Unpin>() {}
fn thread_safe_error<T: Error + Send + Sync + 'static>() {}
fn debug_clone<T: Debug + Clone>() {}
fn fused_unpin_stream<S: Stream<Item = u8> + FusedStream + Unpin>() {}
fn spawnable<F: Future + Send + 'static>(_: F) {}

#[test]
fn handles_are_send_sync_and_unpin_when_t_is_only_send() {
    send_sync_unpin::<Sender<SendOnly>>();
    send_sync_unpin::<Receiver<SendOnly>>();
    send_sync_unpin::<WeakSender<SendOnly>>();
    send_sync_unpin::<WeakReceiver<SendOnly>>();
}

#[test]
fn futures_are_send_and_unpin_when_t_is_send() {
    send_sync_unpin::<Recv<'static, SendOnly>>();
    send_sync_unpin::<Closed<'static, SendOnly>>();
    // `RecvMany` holds `&mut Vec<T>`, so it too is `Sync` only when `T` is.
    send_unpin::<RecvMany<'static, SendOnly>>();
    send_sync_unpin::<RecvMany<'static, String>>();
    // A send future owns its message but reaches it only through
    // `&mut self`, so it is `Sync` whenever `T` is `Send`.
    send_sync_unpin::<ringchan::Send<'static, SendOnly>>();
    // `SendMany` holds `&mut Vec<T>`, as `RecvMany` does.
    send_unpin::<ringchan::SendMany<'static, SendOnly>>();
    send_sync_unpin::<ringchan::SendMany<'static, String>>();
    // `SendIter` owns its iterator and the run it took from it, and shares
    // neither: `Sync` when both are `Send`, and `Unpin` whatever the
    // iterator (it is never pinned).
    send_sync_unpin::<ringchan::SendIter<'static, SendOnly, std::vec::IntoIter<SendOnly>>>();
    send_sync_unpin::<ringchan::SendIter<'static, u8, PinnedIter>>();
}

/// An iterator that is not `Unpin`.
struct PinnedIter(std::marker::PhantomPinned);

impl Iterator for PinnedIter {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        None
    }
}

#[test]
fn tasks_using_the_channel_are_spawnable_when_t_is_only_send() {
    let (tx, rx) = ringchan::bounded::<SendOnly>(1);
    spawnable(async move {
        tx.send(Cell::new(1)).await.unwrap();
        let _ = rx.recv().await;
        drop(rx);
        tx.closed().await;
    });
}

#[test]
fn receiver_is_a_fused_unpin_stream() {
    fused_unpin_stream::<Receiver<u8>>();
}

#[test]
fn errors_are_thread_safe_errors() {
    thread_safe_error::<SendError<String>>();
    thread_safe_error::<TrySendError<String>>();
    thread_safe_error::<RecvError>();
    thread_safe_error::<TryRecvError>();
    send_unpin::<SendError<SendOnly>>();
    send_unpin::<TrySendError<SendOnly>>();
}

#[test]
fn errors_are_debug_and_error_without_t_debug() {
    thread_safe_error::<SendError<Opaque>>();
    thread_safe_error::<TrySendError<Opaque>>();
}

#[test]
fn handles_are_debug_and_clone_without_t_debug_or_clone() {
    debug_clone::<Sender<Opaque>>();
    debug_clone::<Receiver<Opaque>>();
    debug_clone::<WeakSender<Opaque>>();
    debug_clone::<WeakReceiver<Opaque>>();
}

#[test]
fn errors_convert_into_boxed_errors_with_question_mark() {
    fn relay(
        tx: &Sender<String>,
        rx: &Receiver<String>,
    ) -> Result<String, Box<dyn Error + Send + Sync>> {
        tx.try_send(String::from("hi"))?;
        Ok(rx.try_recv()?)
    }
    let (tx, rx) = ringchan::bounded(1);
    assert_eq!(relay(&tx, &rx).unwrap(), "hi");
    rx.close();
    let err = relay(&tx, &rx).unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}

fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}

/// As async-channel's: a handle or future can cross `catch_unwind`
/// whatever the payload (`Cell` is neither `RefUnwindSafe` nor `Sync`).
#[test]
fn handles_and_futures_are_unwind_safe_whatever_t() {
    unwind_safe::<Sender<SendOnly>>();
    unwind_safe::<Receiver<SendOnly>>();
    unwind_safe::<WeakSender<SendOnly>>();
    unwind_safe::<WeakReceiver<SendOnly>>();
    unwind_safe::<ringchan::Send<'static, SendOnly>>();
    unwind_safe::<Recv<'static, SendOnly>>();
    unwind_safe::<Closed<'static, SendOnly>>();
    let (tx, rx) = ringchan::bounded::<SendOnly>(1);
    assert!(std::panic::catch_unwind(|| tx.try_send(Cell::new(1))).is_ok());
    assert_eq!(
        std::panic::catch_unwind(|| rx.try_recv().map(Cell::into_inner)).unwrap(),
        Ok(1)
    );
}
