//! One adapter type per channel flavour, so every scenario is written once,
//! generically, and each crate plays it through its fastest API.
//!
//! A flavour is a zero-sized type implementing [`Chan`] (make the handles) and
//! whichever of [`TryChan`], [`AsyncChan`], [`BatchChan`] and [`BlockingChan`]
//! the crate offers. Unbounded channels are flavours of their own that ignore `cap`.
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

/// Async operations: each returns the crate's own future, unwrapped, so a
/// job awaits it where it is made, as user code does (`tx.send(v).await`).
/// Wrapping it in an adapter future (an `async fn` taking it by value, or
/// an `async` block awaiting one made outside) moved it right after it was
/// built; reading back the fields just written, with wider loads than the
/// stores that wrote them, stalled every crate on each message (a
/// store-forwarding stall, the wrapper's copy being most of some rows'
/// profile): current-thread SPSC 8-byte messages took about twice as long
/// for ringchan, kanal and tachyonix alike.
pub trait AsyncChan: TryChan {
    /// [`Sent::check`] the output: panics if the channel closed.
    fn send(tx: &Self::Tx, v: Self::Item) -> impl Future<Output = impl Sent> + Send + '_;
    /// [`Received::into_option`] the output: `None` once every sender is
    /// gone and the buffer is drained.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = impl Received<Self::Item>> + Send + '_;
}

/// What an async send resolves to: `Result<(), _>`, or `()` for a send that
/// already happened (tokio-shaped unbounded channels send synchronously).
pub trait Sent {
    /// Panics if the send failed (the channel closed under the benchmark).
    fn check(self);
}

impl<E> Sent for Result<(), E> {
    #[inline]
    fn check(self) {
        if self.is_err() {
            closed()
        }
    }
}

impl Sent for () {
    #[inline]
    fn check(self) {}
}

/// Async batch operations, for the channels that have a batch API.
pub trait BatchChan: AsyncChan {
    /// Sends every message of `buf`, oldest first, leaving it empty.
    fn send_batch<'a>(
        tx: &'a Self::Tx,
        buf: &'a mut Vec<Self::Item>,
    ) -> impl Future<Output = ()> + Send + 'a;
    /// Waits for at least one message and appends up to `limit` to `buf`;
    /// returns how many, 0 once every sender is gone and the buffer is drained.
    fn recv_batch<'a>(
        rx: &'a mut Self::Rx,
        buf: &'a mut Vec<Self::Item>,
        limit: usize,
    ) -> impl Future<Output = usize> + Send + 'a;
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

/// What an async receive resolves to: `Result<T, _>` or (tokio, thingbuf)
/// `Option<T>`.
pub trait Received<T> {
    fn into_option(self) -> Option<T>;
}

impl<T, E> Received<T> for Result<T, E> {
    #[inline]
    fn into_option(self) -> Option<T> {
        self.ok()
    }
}

impl<T> Received<T> for Option<T> {
    #[inline]
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
            fn send(tx: &Self::Tx, v: T) -> impl Future<Output = impl Sent> + Send + '_ {
                tx.$send(v)
            }
            fn recv(rx: &mut Self::Rx) -> impl Future<Output = impl Received<T>> + Send + '_ {
                rx.$recv()
            }
        }
    )+};
}

/// [`TryChan`] and [`AsyncChan`] for tokio-shaped unbounded channels, whose
/// `send` is synchronous and never waits.
macro_rules! unbounded_ops {
    ($($name:ident),+ $(,)?) => {$(
        impl<T: Payload> TryChan for $name<T> {
            fn try_send(tx: &Self::Tx, v: T) -> bool {
                tx.send(v).is_ok()
            }
            fn try_recv(rx: &mut Self::Rx) -> Option<T> {
                rx.try_recv().ok()
            }
        }

        impl<T: Payload> AsyncChan for $name<T> {
            fn send(tx: &Self::Tx, v: T) -> impl Future<Output = impl Sent> + Send + '_ {
                std::future::ready(tx.send(v))
            }
            fn recv(rx: &mut Self::Rx) -> impl Future<Output = impl Received<T>> + Send + '_ {
                rx.recv()
            }
        }
    )+};
}

/// [`BatchChan`] for tokio-shaped receivers (`recv_many` gives 0 when closed)
/// whose senders have no batch send: one `send` per message.
macro_rules! tokio_batch_ops {
    ($($name:ident),+ $(,)?) => {$(
        impl<T: Payload> BatchChan for $name<T> {
            async fn send_batch(tx: &Self::Tx, buf: &mut Vec<T>) {
                for v in buf.drain(..) {
                    if tx.send(v).await.is_err() {
                        closed()
                    }
                }
            }
            async fn recv_batch(rx: &mut Self::Rx, buf: &mut Vec<T>, limit: usize) -> usize {
                rx.recv_many(buf, limit).await
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

flavour! {
    /// `ringchan::unbounded`.
    RingchanUnbounded = |_cap| ringchan::unbounded();
    Tx = ringchan::Sender<T>, fan;
    Rx = ringchan::Receiver<T>, fan;
}

/// `send_many` and `recv_many`, each a run of slots per atomic operation.
impl<T: Payload> BatchChan for Ringchan<T> {
    async fn send_batch(tx: &Self::Tx, buf: &mut Vec<T>) {
        if tx.send_many(buf).await.is_err() {
            closed()
        }
    }
    fn recv_batch<'a>(
        rx: &'a mut Self::Rx,
        buf: &'a mut Vec<T>,
        limit: usize,
    ) -> impl Future<Output = usize> + Send + 'a {
        let fut = rx.recv_many(buf, limit);
        async move { fut.await.unwrap_or(0) }
    }
}

flavour! {
    /// `ringchan::mpsc::channel`, the tokio drop-in.
    RingchanMpsc = |cap| ringchan::mpsc::channel(cap);
    Tx = ringchan::mpsc::Sender<T>, fan;
    Rx = ringchan::mpsc::Receiver<T>, one;
}

flavour! {
    /// `ringchan::mpsc::unbounded_channel`.
    RingchanMpscUnbounded = |_cap| ringchan::mpsc::unbounded_channel();
    Tx = ringchan::mpsc::UnboundedSender<T>, fan;
    Rx = ringchan::mpsc::UnboundedReceiver<T>, one;
}

flavour! {
    /// `tokio::sync::mpsc::channel`.
    TokioMpsc = |cap| tokio::sync::mpsc::channel(cap);
    Tx = tokio::sync::mpsc::Sender<T>, fan;
    Rx = tokio::sync::mpsc::Receiver<T>, one;
}

flavour! {
    /// `tokio::sync::mpsc::unbounded_channel`.
    TokioUnbounded = |_cap| tokio::sync::mpsc::unbounded_channel();
    Tx = tokio::sync::mpsc::UnboundedSender<T>, fan;
    Rx = tokio::sync::mpsc::UnboundedReceiver<T>, one;
}

flavour! {
    /// `async_channel::unbounded`.
    AsyncChannelUnbounded = |_cap| async_channel::unbounded();
    Tx = async_channel::Sender<T>, fan;
    Rx = async_channel::Receiver<T>, fan;
}

flavour! {
    /// `async_channel::bounded`.
    AsyncChannel = |cap| async_channel::bounded(cap);
    Tx = async_channel::Sender<T>, fan;
    Rx = async_channel::Receiver<T>, fan;
}

flavour! {
    /// `flume::unbounded`.
    FlumeUnbounded = |_cap| flume::unbounded();
    Tx = flume::Sender<T>, fan;
    Rx = flume::Receiver<T>, fan;
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
    /// `kanal::unbounded_async`.
    KanalUnbounded = |_cap| kanal::unbounded_async();
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
    Ringchan, RingchanUnbounded, RingchanMpsc, TokioMpsc, AsyncChannel, AsyncChannelUnbounded,
    Flume, FlumeUnbounded, CrossfireSpsc, CrossfireMpsc, CrossfireMpmc, Tachyonix, Thingbuf,
    Crossbeam,
}

/// Kanal's `try_send` says `Ok(false)` when full, `try_recv` `Ok(None)` when empty.
macro_rules! kanal_try_ops {
    ($($name:ident),+) => {$(
        impl<T: Payload> TryChan for $name<T> {
            fn try_send(tx: &Self::Tx, v: T) -> bool {
                matches!(tx.try_send(v), Ok(true))
            }
            fn try_recv(rx: &mut Self::Rx) -> Option<T> {
                rx.try_recv().ok().flatten()
            }
        }
    )+};
}
kanal_try_ops! { Kanal, KanalUnbounded }

async_ops! { send, recv:
    Ringchan, RingchanUnbounded, RingchanMpsc, TokioMpsc, AsyncChannel, AsyncChannelUnbounded,
    Kanal, KanalUnbounded, CrossfireSpsc, CrossfireMpsc, CrossfireMpmc, Tachyonix, Thingbuf,
}
async_ops! { send_async, recv_async: Flume, FlumeUnbounded }
unbounded_ops! { RingchanMpscUnbounded, TokioUnbounded }
tokio_batch_ops! { RingchanMpsc, TokioMpsc }

blocking_ops! { send_blocking, recv_blocking: Ringchan, AsyncChannel }
blocking_ops! { send, recv:
    Flume, KanalSync, CrossfireSpscBlocking, CrossfireMpscBlocking, CrossfireMpmcBlocking,
    Crossbeam,
}
