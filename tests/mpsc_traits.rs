//! Trait implementations and signatures of every public `mpsc` item, as
//! `tokio::sync::mpsc` 1.x has them: auto traits (`Send`, `Sync`, `Unpin`,
//! `UnwindSafe`, `RefUnwindSafe`), `Clone`, `Debug`, the error types'
//! `Display`/`Error`/`PartialEq`/`From`, and the exact function signatures.
//!
//! Most checks here are static: if an impl or a signature differs from
//! tokio's, this file stops compiling. The runtime tests pin the text of
//! `Display` and `Debug`.
//!
//! The tests run against `ringchan::mpsc`; `--features tokio-mpsc` runs the
//! very same tests against tokio's module, which is how they were validated.
#![allow(dead_code, clippy::type_complexity)]

#[cfg(not(feature = "tokio-mpsc"))]
use ringchan::mpsc;
#[cfg(feature = "tokio-mpsc")]
use tokio::sync::mpsc;

use mpsc::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use mpsc::{
    OwnedPermit, Permit, PermitIterator, Receiver, Sender, UnboundedReceiver, UnboundedSender,
    WeakSender, WeakUnboundedSender,
};
use std::cell::Cell;
use std::error::Error;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Fails to compile unless `$t` implements every listed trait.
macro_rules! assert_impl {
    ($t:ty: $($tr:path),+ $(,)?) => {
        const _: fn() = || {
            fn check<T: ?Sized $(+ $tr)+>() {}
            check::<$t>();
        };
    };
}

/// Fails to compile if `$t` implements `$tr` (the method lookup becomes
/// ambiguous between the blanket impl and the bounded one).
macro_rules! assert_not_impl {
    ($t:ty: $tr:path) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn some_item() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            struct Invalid;
            impl<T: ?Sized + $tr> AmbiguousIfImpl<Invalid> for T {}
            let _ = <$t as AmbiguousIfImpl<_>>::some_item;
        };
    };
}

/// `Send + Sync`.
type YY = u8;
/// `Send + !Sync`.
type YN = Cell<u8>;
/// `!Send + !Sync`.
type NN = Rc<u8>;
/// `!UnwindSafe` (but `RefUnwindSafe`).
type NotUnwindSafe = &'static mut u8;
/// `!RefUnwindSafe` (but `UnwindSafe`).
type NotRefUnwindSafe = Cell<u8>;
/// `!Unpin`.
type NotUnpin = std::marker::PhantomPinned;
/// Implements no traits at all.
struct Bare;

// ===== auto traits of the handles =====
//
// Every handle is Send + Sync exactly when T: Send (the shared channel is
// behind an Arc; T never needs Sync), and always Unpin.

macro_rules! handles_follow_t_send {
    ($($t:ident),+) => {$(
        assert_impl!($t<YY>: Send, Sync, Unpin);
        assert_impl!($t<YN>: Send, Sync, Unpin);
        assert_impl!($t<NN>: Unpin);
        assert_not_impl!($t<NN>: Send);
        assert_not_impl!($t<NN>: Sync);
        assert_impl!($t<Bare>: Unpin);
        assert_impl!($t<NotUnpin>: Unpin);
    )+};
}
handles_follow_t_send!(
    Sender,
    Receiver,
    UnboundedSender,
    UnboundedReceiver,
    WeakSender,
    WeakUnboundedSender,
    OwnedPermit
);

assert_impl!(Permit<'static, YY>: Send, Sync, Unpin);
assert_impl!(Permit<'static, YN>: Send, Sync, Unpin);
assert_not_impl!(Permit<'static, NN>: Send);
assert_not_impl!(Permit<'static, NN>: Sync);
assert_impl!(Permit<'static, NotUnpin>: Unpin);
assert_impl!(PermitIterator<'static, NotUnpin>: Unpin);
assert_impl!(PermitIterator<'static, YY>: Send, Sync, Unpin);
assert_impl!(PermitIterator<'static, YN>: Send, Sync, Unpin);
assert_not_impl!(PermitIterator<'static, NN>: Send);
assert_not_impl!(PermitIterator<'static, NN>: Sync);

// Unwind safety does not depend on T for any handle.
macro_rules! handles_unwind_safe_for_any_t {
    ($($t:ty),+) => {$(
        assert_impl!($t: UnwindSafe, RefUnwindSafe);
    )+};
}
handles_unwind_safe_for_any_t!(
    Sender<NotUnwindSafe>,
    Sender<NotRefUnwindSafe>,
    Receiver<NotUnwindSafe>,
    Receiver<NotRefUnwindSafe>,
    UnboundedSender<NotUnwindSafe>,
    UnboundedSender<NotRefUnwindSafe>,
    UnboundedReceiver<NotUnwindSafe>,
    UnboundedReceiver<NotRefUnwindSafe>,
    WeakSender<NotUnwindSafe>,
    WeakSender<NotRefUnwindSafe>,
    WeakUnboundedSender<NotUnwindSafe>,
    WeakUnboundedSender<NotRefUnwindSafe>,
    OwnedPermit<NotUnwindSafe>,
    OwnedPermit<NotRefUnwindSafe>,
    Permit<'static, NotUnwindSafe>,
    Permit<'static, NotRefUnwindSafe>,
    PermitIterator<'static, NotUnwindSafe>,
    PermitIterator<'static, NotRefUnwindSafe>,
    Sender<NN>,
    Receiver<NN>
);

// ===== auto traits of the errors: they follow T =====

assert_impl!(SendError<YY>: Send, Sync, Unpin, UnwindSafe, RefUnwindSafe);
assert_impl!(SendError<YN>: Send, Unpin);
assert_not_impl!(SendError<YN>: Sync);
assert_not_impl!(SendError<NN>: Send);
assert_impl!(TrySendError<YY>: Send, Sync, Unpin, UnwindSafe, RefUnwindSafe);
assert_impl!(TrySendError<YN>: Send, Unpin);
assert_not_impl!(TrySendError<YN>: Sync);
assert_not_impl!(TrySendError<NN>: Send);
assert_impl!(SendTimeoutError<YY>: Send, Sync, Unpin, UnwindSafe, RefUnwindSafe);
assert_impl!(SendTimeoutError<YN>: Send, Unpin);
assert_not_impl!(SendTimeoutError<YN>: Sync);
assert_not_impl!(SendTimeoutError<NN>: Send);
assert_impl!(TryRecvError: Send, Sync, Unpin, UnwindSafe, RefUnwindSafe);

// ===== Clone, Copy, Debug on the handles =====

// The senders are Clone for every T, not only T: Clone.
assert_impl!(Sender<Bare>: Clone);
assert_impl!(UnboundedSender<Bare>: Clone);
assert_impl!(WeakSender<Bare>: Clone);
assert_impl!(WeakUnboundedSender<Bare>: Clone);
// Single consumer; a permit is a unique claim on capacity.
assert_not_impl!(Receiver<u8>: Clone);
assert_not_impl!(UnboundedReceiver<u8>: Clone);
assert_not_impl!(Permit<'static, u8>: Clone);
assert_not_impl!(PermitIterator<'static, u8>: Clone);
assert_not_impl!(OwnedPermit<u8>: Clone);
assert_not_impl!(Sender<u8>: Copy);
assert_not_impl!(WeakSender<u8>: Copy);

// Debug for every T, not only T: Debug.
assert_impl!(Sender<Bare>: std::fmt::Debug);
assert_impl!(Receiver<Bare>: std::fmt::Debug);
assert_impl!(UnboundedSender<Bare>: std::fmt::Debug);
assert_impl!(UnboundedReceiver<Bare>: std::fmt::Debug);
assert_impl!(WeakSender<Bare>: std::fmt::Debug);
assert_impl!(WeakUnboundedSender<Bare>: std::fmt::Debug);
assert_impl!(Permit<'static, Bare>: std::fmt::Debug);
assert_impl!(PermitIterator<'static, Bare>: std::fmt::Debug);
assert_impl!(OwnedPermit<Bare>: std::fmt::Debug);

// PermitIterator is an exact-size, fused iterator of Permits.
assert_impl!(
    PermitIterator<'static, Bare>:
    Iterator<Item = Permit<'static, Bare>>,
    ExactSizeIterator,
    std::iter::FusedIterator
);

// ===== the errors' traits =====

// Debug, Display and Error without any bound on T.
assert_impl!(SendError<Bare>: std::fmt::Debug, std::fmt::Display, Error);
assert_impl!(TrySendError<Bare>: std::fmt::Debug, std::fmt::Display, Error);
assert_impl!(SendTimeoutError<Bare>: std::fmt::Debug, std::fmt::Display, Error);
assert_impl!(TryRecvError: std::fmt::Debug, std::fmt::Display, Error);
// PartialEq/Eq/Clone/Copy follow T.
assert_impl!(SendError<u8>: PartialEq, Eq, Clone, Copy);
assert_impl!(TrySendError<u8>: PartialEq, Eq, Clone, Copy);
assert_impl!(SendTimeoutError<u8>: PartialEq, Eq, Clone, Copy);
assert_impl!(TryRecvError: PartialEq, Eq, Clone, Copy);
assert_impl!(SendError<String>: Clone, Eq);
assert_not_impl!(SendError<String>: Copy);
assert_not_impl!(SendError<Bare>: Clone);
assert_not_impl!(SendError<Bare>: PartialEq);
assert_impl!(TrySendError<u8>: From<SendError<u8>>);

// Errors convert into boxed errors with `?`, the way tokio users write it.
fn boxed_send_error() -> Result<(), Box<dyn Error + Send + Sync + 'static>> {
    Err(SendError(1u8))?;
    Ok(())
}
fn boxed_try_send_error() -> Result<(), Box<dyn Error + Send + Sync + 'static>> {
    Err(TrySendError::Full(1u8))?;
    Ok(())
}
fn boxed_send_timeout_error() -> Result<(), Box<dyn Error + Send + Sync + 'static>> {
    Err(SendTimeoutError::Timeout(1u8))?;
    Ok(())
}
fn boxed_try_recv_error() -> Result<(), Box<dyn Error + Send + Sync + 'static>> {
    Err(TryRecvError::Empty)?;
    Ok(())
}

// ===== the futures =====
//
// tokio's futures are Send (and Sync where shown) under these bounds; being
// more permissive (e.g. Unpin) would still be a drop-in, so only the
// positive side is pinned.

fn require_send<T: Send>(_: &T) {}
fn require_send_sync<T: Send + Sync>(_: &T) {}

fn futures_are_send(
    tx: Sender<YY>,
    mut rx: Receiver<YY>,
    utx: UnboundedSender<YY>,
    mut urx: UnboundedReceiver<YY>,
    tx_yn: Sender<YN>,
    mut rx_yn: Receiver<YN>,
) {
    require_send_sync(&tx.send(1));
    require_send_sync(&tx.reserve());
    require_send_sync(&tx.reserve_many(2));
    require_send_sync(&tx.clone().reserve_owned());
    require_send_sync(&tx.closed());
    require_send_sync(&tx.send_timeout(1, Duration::ZERO));
    require_send_sync(&utx.closed());
    require_send_sync(&tx_yn.reserve());
    require_send_sync(&tx_yn.closed());
    require_send(&tx_yn.send(Cell::new(1)));
    let mut buf = Vec::new();
    require_send_sync(&rx.recv_many(&mut buf, 1));
    require_send_sync(&rx.recv());
    require_send_sync(&urx.recv());
    require_send_sync(&rx_yn.recv());
    let mut ubuf = Vec::new();
    require_send_sync(&urx.recv_many(&mut ubuf, 1));
}

// ===== signatures, item by item =====
//
// Plain functions are coerced to fn pointers of tokio's exact signature.
// Async methods are called through their paths with the argument types
// tokio's take and their results bound to tokio's output types.

const _: fn(usize) -> (Sender<u8>, Receiver<u8>) = mpsc::channel::<u8>;
const _: fn() -> (UnboundedSender<u8>, UnboundedReceiver<u8>) = mpsc::unbounded_channel::<u8>;

// The receive API both receivers share, checked once per receiver type.
macro_rules! receiver_signatures {
    ($rx:ident, $async_check:ident) => {
        const _: fn(&mut $rx<u8>) -> Result<u8, TryRecvError> = $rx::<u8>::try_recv;
        const _: fn(&mut $rx<u8>) -> Option<u8> = $rx::<u8>::blocking_recv;
        const _: fn(&mut $rx<u8>, &mut Vec<u8>, usize) -> usize = $rx::<u8>::blocking_recv_many;
        const _: fn(&mut $rx<u8>) = $rx::<u8>::close;
        const _: fn(&$rx<u8>) -> bool = $rx::<u8>::is_closed;
        const _: fn(&$rx<u8>) -> bool = $rx::<u8>::is_empty;
        const _: fn(&$rx<u8>) -> usize = $rx::<u8>::len;
        const _: for<'a, 'b> fn(&'a mut $rx<u8>, &'a mut Context<'b>) -> Poll<Option<u8>> =
            $rx::<u8>::poll_recv;
        const _: for<'a, 'b> fn(
            &'a mut $rx<u8>,
            &'a mut Context<'b>,
            &'a mut Vec<u8>,
            usize,
        ) -> Poll<usize> = $rx::<u8>::poll_recv_many;
        const _: fn(&$rx<u8>) -> usize = $rx::<u8>::sender_strong_count;
        const _: fn(&$rx<u8>) -> usize = $rx::<u8>::sender_weak_count;

        async fn $async_check(rx: &mut $rx<u8>, buf: &mut Vec<u8>) {
            let _: Option<u8> = $rx::recv(rx).await;
            let _: usize = $rx::recv_many(rx, buf, 1usize).await;
        }
    };
}
receiver_signatures!(Receiver, receiver_async_signatures);
receiver_signatures!(UnboundedReceiver, unbounded_receiver_async_signatures);
// Only the bounded receiver has capacities.
const _: fn(&Receiver<u8>) -> usize = Receiver::<u8>::capacity;
const _: fn(&Receiver<u8>) -> usize = Receiver::<u8>::max_capacity;

// The sender API both senders share, and their weak senders.
macro_rules! sender_signatures {
    ($tx:ident, $weak:ident, $async_check:ident) => {
        const _: fn(&$tx<u8>) -> bool = $tx::<u8>::is_closed;
        const _: fn(&$tx<u8>, &$tx<u8>) -> bool = $tx::<u8>::same_channel;
        const _: fn(&$tx<u8>) -> $weak<u8> = $tx::<u8>::downgrade;
        const _: fn(&$tx<u8>) -> usize = $tx::<u8>::strong_count;
        const _: fn(&$tx<u8>) -> usize = $tx::<u8>::weak_count;
        const _: fn(&$weak<u8>) -> Option<$tx<u8>> = $weak::<u8>::upgrade;
        const _: fn(&$weak<u8>) -> usize = $weak::<u8>::strong_count;
        const _: fn(&$weak<u8>) -> usize = $weak::<u8>::weak_count;

        async fn $async_check(tx: &$tx<u8>) {
            let _: () = $tx::closed(tx).await;
        }
    };
}
sender_signatures!(Sender, WeakSender, sender_closed_signature);
sender_signatures!(
    UnboundedSender,
    WeakUnboundedSender,
    unbounded_sender_closed_signature
);

// Sender<T> (besides the shared API above)
const _: fn(&Sender<u8>, u8) -> Result<(), TrySendError<u8>> = Sender::<u8>::try_send;
const _: fn(&Sender<u8>, u8) -> Result<(), SendError<u8>> = Sender::<u8>::blocking_send;
const _: for<'a> fn(&'a Sender<u8>) -> Result<Permit<'a, u8>, TrySendError<()>> =
    Sender::<u8>::try_reserve;
const _: for<'a> fn(&'a Sender<u8>, usize) -> Result<PermitIterator<'a, u8>, TrySendError<()>> =
    Sender::<u8>::try_reserve_many;
const _: fn(Sender<u8>) -> Result<OwnedPermit<u8>, TrySendError<Sender<u8>>> =
    Sender::<u8>::try_reserve_owned;
const _: fn(&Sender<u8>) -> usize = Sender::<u8>::capacity;
const _: fn(&Sender<u8>) -> usize = Sender::<u8>::max_capacity;

async fn sender_async_signatures(tx: &Sender<u8>) {
    let _: Result<(), SendError<u8>> = Sender::send(tx, 1u8).await;
    let _: Result<(), SendTimeoutError<u8>> =
        Sender::send_timeout(tx, 1u8, Duration::from_secs(1)).await;
    let _: Result<Permit<'_, u8>, SendError<()>> = Sender::reserve(tx).await;
    let _: Result<PermitIterator<'_, u8>, SendError<()>> = Sender::reserve_many(tx, 2usize).await;
    let owned: Sender<u8> = tx.clone();
    let _: Result<OwnedPermit<u8>, SendError<()>> = Sender::reserve_owned(owned).await;
}

// Permit, PermitIterator, OwnedPermit
const _: fn(Permit<'static, u8>, u8) = Permit::<'static, u8>::send;
const _: fn(OwnedPermit<u8>, u8) -> Sender<u8> = OwnedPermit::<u8>::send;
const _: fn(OwnedPermit<u8>) -> Sender<u8> = OwnedPermit::<u8>::release;
const _: fn(&OwnedPermit<u8>, &OwnedPermit<u8>) -> bool = OwnedPermit::<u8>::same_channel;
const _: fn(&OwnedPermit<u8>, &Sender<u8>) -> bool = OwnedPermit::<u8>::same_channel_as_sender;

// UnboundedSender<T>
const _: fn(&UnboundedSender<u8>, u8) -> Result<(), SendError<u8>> = UnboundedSender::<u8>::send;

// The errors' inherent API and public shape.
const _: fn(TrySendError<u8>) -> u8 = TrySendError::<u8>::into_inner;
const _: fn(SendTimeoutError<u8>) -> u8 = SendTimeoutError::<u8>::into_inner;

fn error_shapes(e: SendError<u8>, t: TrySendError<u8>, s: SendTimeoutError<u8>, r: TryRecvError) {
    let SendError(_field_is_public) = e;
    match t {
        TrySendError::Full(_) | TrySendError::Closed(_) => {}
    }
    match s {
        SendTimeoutError::Timeout(_) | SendTimeoutError::Closed(_) => {}
    }
    match r {
        TryRecvError::Empty | TryRecvError::Disconnected => {}
    }
}

// `error::RecvError` is `#[doc(hidden)]` and deprecated in tokio, but public:
// code naming it must still build.
#[allow(deprecated)]
const _: fn() = || {
    fn check<T: std::fmt::Debug + std::fmt::Display + Error + Clone + Send + Sync>() {}
    check::<mpsc::error::RecvError>();
};

// ===== Display and Debug text =====

#[test]
fn send_error_text() {
    let e = SendError(Bare);
    assert_eq!(e.to_string(), "channel closed");
    assert_eq!(format!("{e:?}"), "SendError { .. }");
    assert!(e.source().is_none());
    assert_eq!(SendError(3).0, 3);
}

#[test]
fn try_send_error_text() {
    let full = TrySendError::Full(Bare);
    let closed = TrySendError::Closed(Bare);
    assert_eq!(full.to_string(), "no available capacity");
    assert_eq!(closed.to_string(), "channel closed");
    // tokio formats the variant name through `str`'s Debug, quotes
    // included: `unwrap()` on a full channel prints `Err value: "Full(..)"`.
    assert_eq!(format!("{full:?}"), r#""Full(..)""#);
    assert_eq!(format!("{closed:?}"), r#""Closed(..)""#);
    assert!(full.source().is_none());
    assert_eq!(TrySendError::Full(1).into_inner(), 1);
    assert_eq!(TrySendError::Closed(2).into_inner(), 2);
}

#[test]
fn send_timeout_error_text() {
    let timeout = SendTimeoutError::Timeout(Bare);
    let closed = SendTimeoutError::Closed(Bare);
    assert_eq!(timeout.to_string(), "timed out waiting on send operation");
    assert_eq!(closed.to_string(), "channel closed");
    assert_eq!(format!("{timeout:?}"), r#""Timeout(..)""#);
    assert_eq!(format!("{closed:?}"), r#""Closed(..)""#);
    assert_eq!(SendTimeoutError::Timeout(1).into_inner(), 1);
    assert_eq!(SendTimeoutError::Closed(2).into_inner(), 2);
}

#[test]
fn try_recv_error_text() {
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    assert_eq!(
        TryRecvError::Disconnected.to_string(),
        "receiving on a closed channel"
    );
    assert_eq!(format!("{:?}", TryRecvError::Empty), "Empty");
    assert_eq!(format!("{:?}", TryRecvError::Disconnected), "Disconnected");
    assert_ne!(TryRecvError::Empty, TryRecvError::Disconnected);
}

#[test]
fn alternate_debug_is_the_same_text() {
    assert_eq!(format!("{:#?}", SendError(Bare)), "SendError { .. }");
    assert_eq!(format!("{:#?}", TrySendError::Full(Bare)), r#""Full(..)""#);
    assert_eq!(
        format!("{:#?}", SendTimeoutError::Closed(Bare)),
        r#""Closed(..)""#
    );
    assert_eq!(format!("{:#?}", TryRecvError::Empty), "Empty");
}

#[test]
fn unwrap_on_an_error_shows_the_debug_text() {
    let (tx, _rx) = mpsc::channel(1);
    tx.try_send(1u8).unwrap();
    let payload = std::panic::catch_unwind(|| tx.try_send(2u8).unwrap()).unwrap_err();
    let msg = payload.downcast_ref::<String>().unwrap();
    assert!(msg.ends_with(r#"Err` value: "Full(..)""#), "{msg}");
}

#[test]
fn send_error_converts_into_try_send_closed() {
    let e: TrySendError<u8> = SendError(7).into();
    assert_eq!(e, TrySendError::Closed(7));
    assert_eq!(TrySendError::from(SendError(8)), TrySendError::Closed(8));
}

#[test]
fn errors_compare_and_copy_by_value() {
    let a = TrySendError::Full(1);
    let b = a; // Copy
    assert_eq!(a, b);
    assert_ne!(TrySendError::Full(1), TrySendError::Closed(1));
    assert_ne!(SendError(1), SendError(2));
    assert_ne!(SendTimeoutError::Timeout(1), SendTimeoutError::Closed(1));
    let s = SendError(String::from("x"));
    assert_eq!(s.clone(), s);
}

#[test]
fn errors_box_into_dyn_error() {
    for (result, text) in [
        (boxed_send_error(), "channel closed"),
        (boxed_try_send_error(), "no available capacity"),
        (
            boxed_send_timeout_error(),
            "timed out waiting on send operation",
        ),
        (boxed_try_recv_error(), "receiving on an empty channel"),
    ] {
        assert_eq!(result.unwrap_err().to_string(), text);
    }
}

#[test]
fn handles_clone_and_debug_without_bounds_on_t() {
    let (tx, rx) = mpsc::channel::<Bare>(1);
    let tx2 = tx.clone();
    assert!(tx.same_channel(&tx2));
    let weak = tx.downgrade().clone();
    assert_eq!(format!("{weak:?}"), "WeakSender");
    assert!(format!("{rx:?}").starts_with("Receiver"));
    let (utx, urx) = mpsc::unbounded_channel::<Bare>();
    assert!(utx.clone().same_channel(&utx));
    assert_eq!(
        format!("{:?}", utx.downgrade().clone()),
        "WeakUnboundedSender"
    );
    assert!(format!("{urx:?}").starts_with("UnboundedReceiver"));
}
