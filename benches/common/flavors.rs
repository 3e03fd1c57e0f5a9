//! One adapter type per channel flavour, so every scenario is written once,
//! generically, and each crate plays it through its fastest API.
//!
//! A flavour is a zero-sized type implementing [`Chan`] (make the handles) and
//! whichever of [`TryChan`], [`AsyncChan`] and [`BlockingChan`] the crate offers.
//! Where a crate has specialised constructors (crossfire's `spsc`/`mpsc`/`mpmc`)
//! each one is its own flavour and `run.rs` picks the narrowest that fits the row.
//!
//! Adding a channel is a `flavour!` block in the catalogue below, its name in
//! the `*_ops!` lists that match its method names, and one line per dispatch
//! table in `run.rs`.

use std::future::Future;
use std::marker::PhantomData;

use super::Payload;

/// Makes the handles of one channel.
pub trait Chan: 'static {
    type Item: Payload;
    type Tx: Send + 'static;
    type Rx: Send + 'static;

    /// One channel of capacity `cap` with `senders` sender handles and
    /// `receivers` receiver handles. Panics if the flavour cannot have that many.
    fn make(cap: usize, senders: usize, receivers: usize) -> (Vec<Self::Tx>, Vec<Self::Rx>);

    /// One channel with a single sender and a single receiver.
    fn pair(cap: usize) -> (Self::Tx, Self::Rx) {
        let (mut tx, mut rx) = Self::make(cap, 1, 1);
        (tx.pop().unwrap(), rx.pop().unwrap())
    }
}

/// Non-blocking operations.
pub trait TryChan: Chan {
    /// `true` if the message went in.
    fn try_send(tx: &Self::Tx, v: Self::Item) -> bool;
    fn try_recv(rx: &mut Self::Rx) -> Option<Self::Item>;
}

/// Async operations. `recv` gives `None` once every sender is gone and the
/// buffer is drained.
pub trait AsyncChan: TryChan {
    fn send(tx: &Self::Tx, v: Self::Item) -> impl Future<Output = ()> + Send + '_;
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<Self::Item>> + Send + '_;
}

/// Thread-blocking operations, same contract as [`AsyncChan`].
pub trait BlockingChan: Chan {
    fn send_blocking(tx: &Self::Tx, v: Self::Item);
    fn recv_blocking(rx: &mut Self::Rx) -> Option<Self::Item>;
}

/// `n` handles to one channel: `n - 1` clones, then `h` itself.
fn fan<H: Clone>(h: H, n: usize) -> Vec<H> {
    assert!(n >= 1, "a channel needs at least one handle per side");
    let mut v: Vec<H> = (1..n).map(|_| h.clone()).collect();
    v.push(h);
    v
}

/// The handles of a side that cannot be cloned: there must be exactly one.
fn one<H>(h: H, n: usize) -> Vec<H> {
    assert_eq!(n, 1, "this flavour has a single handle on that side");
    vec![h]
}

#[cold]
#[inline(never)]
fn closed() -> ! {
    panic!("channel closed while the benchmark was still sending")
}

/// A send future that panics on a closed channel (it never is, in a benchmark).
async fn sent<E>(f: impl Future<Output = Result<(), E>>) {
    if f.await.is_err() {
        closed()
    }
}

/// What an async receive resolves to: `Result<T, _>` or (tokio, thingbuf)
/// `Option<T>`.
trait Received<T> {
    fn into_option(self) -> Option<T>;
}

impl<T, E> Received<T> for Result<T, E> {
    fn into_option(self) -> Option<T> {
        self.ok()
    }
}

impl<T> Received<T> for Option<T> {
    fn into_option(self) -> Option<T> {
        self
    }
}

/// Declares a flavour: its constructor and handle types; `fan` or `one` says
/// whether a side's handle can be cloned.
macro_rules! flavour {
    (
        $(#[$doc:meta])*
        $name:ident = |$cap:ident| $make:expr;
        Tx = $tx:ty, $fan_tx:ident;
        Rx = $rx:ty, $fan_rx:ident;
    ) => {
        $(#[$doc])*
        pub struct $name<T>(PhantomData<T>);

        impl<T: Payload> Chan for $name<T> {
            type Item = T;
            type Tx = $tx;
            type Rx = $rx;
            fn make($cap: usize, senders: usize, receivers: usize) -> (Vec<$tx>, Vec<$rx>) {
                let (tx, rx) = $make;
                ($fan_tx(tx, senders), $fan_rx(rx, receivers))
            }
        }
    };
}

/// [`TryChan`] for flavours whose `try_send`/`try_recv` return `Result`s.
macro_rules! try_ops {
    ($($name:ident),+ $(,)?) => {$(
        impl<T: Payload> TryChan for $name<T> {
            fn try_send(tx: &Self::Tx, v: T) -> bool {
                tx.try_send(v).is_ok()
            }
            fn try_recv(rx: &mut Self::Rx) -> Option<T> {
                rx.try_recv().ok()
            }
        }
    )+};
}

/// [`AsyncChan`] through the methods named `$send` and `$recv`.
macro_rules! async_ops {
    ($send:ident, $recv:ident: $($name:ident),+ $(,)?) => {$(
        impl<T: Payload> AsyncChan for $name<T> {
            fn send(tx: &Self::Tx, v: T) -> impl Future<Output = ()> + Send + '_ {
                sent(tx.$send(v))
            }
            fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<T>> + Send + '_ {
                // The crate's future is made out here so ours holds only it:
                // crossfire's single-consumer handle is `Send` but not `Sync`.
                let fut = rx.$recv();
                async move { fut.await.into_option() }
            }
        }
    )+};
}

/// [`BlockingChan`] through the methods named `$send` and `$recv`.
macro_rules! blocking_ops {
    ($send:ident, $recv:ident: $($name:ident),+ $(,)?) => {$(
        impl<T: Payload> BlockingChan for $name<T> {
            fn send_blocking(tx: &Self::Tx, v: T) {
                if tx.$send(v).is_err() {
                    closed()
                }
            }
            fn recv_blocking(rx: &mut Self::Rx) -> Option<T> {
                rx.$recv().ok()
            }
        }
    )+};
}

// ---------------------------------------------------------------- catalogue

flavour! {
    /// `ringchan::bounded`.
    Ringchan = |cap| ringchan::bounded(cap);
    Tx = ringchan::Sender<T>, fan;
    Rx = ringchan::Receiver<T>, fan;
}

// RINGCHAN_MPSC: uncomment once `ringchan::mpsc` exists.
// flavour! {
//     /// `ringchan::mpsc::channel`, the tokio drop-in.
//     RingchanMpsc = |cap| ringchan::mpsc::channel(cap);
//     Tx = ringchan::mpsc::Sender<T>, fan;
//     Rx = ringchan::mpsc::Receiver<T>, one;
// }
// try_ops! { RingchanMpsc }
// async_ops! { send, recv: RingchanMpsc }

flavour! {
    /// `tokio::sync::mpsc::channel`.
    TokioMpsc = |cap| tokio::sync::mpsc::channel(cap);
    Tx = tokio::sync::mpsc::Sender<T>, fan;
    Rx = tokio::sync::mpsc::Receiver<T>, one;
}

flavour! {
    /// `async_channel::bounded`.
    AsyncChannel = |cap| async_channel::bounded(cap);
    Tx = async_channel::Sender<T>, fan;
    Rx = async_channel::Receiver<T>, fan;
}

flavour! {
    /// `flume::bounded`.
    Flume = |cap| flume::bounded(cap);
    Tx = flume::Sender<T>, fan;
    Rx = flume::Receiver<T>, fan;
}

flavour! {
    /// `kanal::bounded_async`.
    Kanal = |cap| kanal::bounded_async(cap);
    Tx = kanal::AsyncSender<T>, fan;
    Rx = kanal::AsyncReceiver<T>, fan;
}

flavour! {
    /// `kanal::bounded`, the blocking handles.
    KanalSync = |cap| kanal::bounded(cap);
    Tx = kanal::Sender<T>, fan;
    Rx = kanal::Receiver<T>, fan;
}

// Crossfire 3: one flavour per concurrency module, async and blocking handles.
// Capacity 1 selects its dedicated `One` ring inside `Array::new`.
use crossfire as cf;

flavour! {
    /// `crossfire::spsc::bounded_async`.
    CrossfireSpsc = |cap| cf::spsc::bounded_async(cap);
    Tx = cf::AsyncTx<cf::spsc::Array<T>>, one;
    Rx = cf::AsyncRx<cf::spsc::Array<T>>, one;
}

flavour! {
    /// `crossfire::mpsc::bounded_async`.
    CrossfireMpsc = |cap| cf::mpsc::bounded_async(cap);
    Tx = cf::MAsyncTx<cf::mpsc::Array<T>>, fan;
    Rx = cf::AsyncRx<cf::mpsc::Array<T>>, one;
}

flavour! {
    /// `crossfire::mpmc::bounded_async`.
    CrossfireMpmc = |cap| cf::mpmc::bounded_async(cap);
    Tx = cf::MAsyncTx<cf::mpmc::Array<T>>, fan;
    Rx = cf::MAsyncRx<cf::mpmc::Array<T>>, fan;
}

flavour! {
    /// `crossfire::spsc::bounded_blocking`.
    CrossfireSpscBlocking = |cap| cf::spsc::bounded_blocking(cap);
    Tx = cf::Tx<cf::spsc::Array<T>>, one;
    Rx = cf::Rx<cf::spsc::Array<T>>, one;
}

flavour! {
    /// `crossfire::mpsc::bounded_blocking`.
    CrossfireMpscBlocking = |cap| cf::mpsc::bounded_blocking(cap);
    Tx = cf::MTx<cf::mpsc::Array<T>>, fan;
    Rx = cf::Rx<cf::mpsc::Array<T>>, one;
}

flavour! {
    /// `crossfire::mpmc::bounded_blocking`.
    CrossfireMpmcBlocking = |cap| cf::mpmc::bounded_blocking(cap);
    Tx = cf::MTx<cf::mpmc::Array<T>>, fan;
    Rx = cf::MRx<cf::mpmc::Array<T>>, fan;
}

flavour! {
    /// `tachyonix::channel`.
    Tachyonix = |cap| tachyonix::channel(cap);
    Tx = tachyonix::Sender<T>, fan;
    Rx = tachyonix::Receiver<T>, one;
}

flavour! {
    /// `thingbuf::mpsc::channel` (its by-value API).
    Thingbuf = |cap| thingbuf::mpsc::channel(cap);
    Tx = thingbuf::mpsc::Sender<T>, fan;
    Rx = thingbuf::mpsc::Receiver<T>, one;
}

flavour! {
    /// `crossbeam_channel::bounded`.
    Crossbeam = |cap| crossbeam_channel::bounded(cap);
    Tx = crossbeam_channel::Sender<T>, fan;
    Rx = crossbeam_channel::Receiver<T>, fan;
}

try_ops! {
    Ringchan, TokioMpsc, AsyncChannel, Flume, CrossfireSpsc, CrossfireMpsc, CrossfireMpmc,
    Tachyonix, Thingbuf, Crossbeam,
}

/// Kanal's `try_send` says `Ok(false)` when full, `try_recv` `Ok(None)` when empty.
impl<T: Payload> TryChan for Kanal<T> {
    fn try_send(tx: &Self::Tx, v: T) -> bool {
        matches!(tx.try_send(v), Ok(true))
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<T> {
        rx.try_recv().ok().flatten()
    }
}

async_ops! { send, recv:
    Ringchan, TokioMpsc, AsyncChannel, Kanal, CrossfireSpsc, CrossfireMpsc, CrossfireMpmc,
    Tachyonix, Thingbuf,
}
async_ops! { send_async, recv_async: Flume }

blocking_ops! { send_blocking, recv_blocking: Ringchan, AsyncChannel }
blocking_ops! { send, recv:
    Flume, KanalSync, CrossfireSpscBlocking, CrossfireMpscBlocking, CrossfireMpmcBlocking,
    Crossbeam,
}
