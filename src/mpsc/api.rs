//! The public methods both flavours share, written once: `sender_api!`
//! for the senders and their weak senders, `receiver_api!` for the
//! receivers (with their `Debug` and `Stream` impls). Each flavour's file
//! instantiates them for its own types; only what differs (sending,
//! capacity, permits, `close`) is written there.
//!
//! The doc examples are written once too: the macros take the expression
//! that makes a channel of the flavour and the name of its non-waiting send,
//! so every example runs against both flavours.

/// The sender methods of both flavours, and their weak senders'.
///
/// `$Tx`, `$Weak`, `$Rx`: the flavour's types; `new`: an expression making
/// a channel of it; `send`: its non-waiting send method.
macro_rules! sender_api {
    ($Tx:ident, $Weak:ident, $Rx:ident, new = $new:literal, send = $send:literal) => {
        impl<T> $Tx<T> {
            /// Completes when the receiver has dropped or closed.
            ///
            /// Lets a producer stop working as soon as nobody will read its
            /// results, even without anything to send. Other senders
            /// dropping does not complete it.
            ///
            /// # Cancel safety
            ///
            /// This method is cancel safe: once the channel is closed, it
            /// stays closed forever and all future calls to `closed`
            /// complete at once.
            ///
            /// # Examples
            ///
            /// ```
            /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
            #[doc = concat!("let (tx1, rx) = ", $new, ";")]
            /// let tx2 = tx1.clone();
            /// let tx3 = tx1.clone();
            /// drop(tx3); // another sender going does not close the channel
            #[doc = concat!("tx1.", $send, "(()).unwrap();")]
            /// assert!(!tx1.is_closed());
            /// tokio::spawn(async move { drop(rx) });
            /// futures::join!(tx1.closed(), tx2.closed());
            /// assert!(tx1.is_closed());
            /// # });
            /// ```
            pub async fn closed(&self) {
                self.chan.closed().await;
            }

            /// Checks if the channel has been closed: the receiver has
            #[doc = concat!("dropped or called [`", stringify!($Rx), "::close`]. Other")]
            /// senders dropping does not close it.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(1).unwrap();")]
            /// drop(tx.clone());
            /// assert!(!tx.is_closed());
            /// rx.close();
            /// assert!(tx.is_closed());
            /// ```
            pub fn is_closed(&self) -> bool {
                self.chan.is_closed()
            }

            /// Returns `true` if senders belong to the same channel.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, _rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// assert!(tx.same_channel(&tx.clone()));
            #[doc = concat!("let (other, _orx) = ", $new, ";")]
            #[doc = concat!("other.", $send, "(()).unwrap();")]
            /// assert!(!tx.same_channel(&other));
            /// ```
            pub fn same_channel(&self, other: &Self) -> bool {
                self.chan.same_channel(&other.chan)
            }

            #[doc = concat!("Converts the `", stringify!($Tx), "` to a [`", stringify!($Weak), "`]")]
            /// that does not count towards the number of senders keeping the
            /// channel open.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, _rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// let weak = tx.downgrade();
            /// assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
            /// drop(tx);
            /// assert!(weak.upgrade().is_none()); // it kept nothing open
            /// ```
            #[must_use = "Downgrade creates a WeakSender without destroying the original non-weak sender."]
            pub fn downgrade(&self) -> $Weak<T> {
                $Weak {
                    chan: self.chan.downgrade(),
                }
            }

            #[doc = concat!("Returns the number of [`", stringify!($Tx), "`] handles.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, _rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// let tx2 = tx.clone();
            /// assert_eq!(tx.strong_count(), 2);
            /// drop(tx2);
            /// assert_eq!(tx.strong_count(), 1);
            /// ```
            pub fn strong_count(&self) -> usize {
                self.chan.strong_count()
            }

            #[doc = concat!("Returns the number of [`", stringify!($Weak), "`] handles.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, _rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// let weak = tx.downgrade();
            /// assert_eq!(tx.weak_count(), 1);
            /// drop(weak);
            /// assert_eq!(tx.weak_count(), 0);
            /// ```
            pub fn weak_count(&self) -> usize {
                self.chan.weak_count()
            }
        }

        impl<T> Clone for $Tx<T> {
            fn clone(&self) -> Self {
                $Tx {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> fmt::Debug for $Tx<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Tx))
                    .field("chan", &self.chan)
                    .finish()
            }
        }

        impl<T> $Weak<T> {
            #[doc = concat!("Tries to convert a `", stringify!($Weak), "` into a [`", stringify!($Tx), "`]:")]
            /// `Some` while any sender is alive (the receiver may be gone:
            /// the new sender then sees the channel closed).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, _rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// let weak = tx.downgrade();
            /// assert!(weak.upgrade().is_some());
            /// drop(tx);
            /// assert!(weak.upgrade().is_none());
            /// ```
            pub fn upgrade(&self) -> Option<$Tx<T>> {
                self.chan.upgrade().map(|chan| $Tx { chan })
            }

            #[doc = concat!("Returns the number of [`", stringify!($Tx), "`] handles.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, _rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// let weak = tx.downgrade();
            /// assert_eq!(weak.strong_count(), 1);
            /// drop(tx);
            /// assert_eq!(weak.strong_count(), 0);
            /// ```
            pub fn strong_count(&self) -> usize {
                self.chan.strong_count()
            }

            #[doc = concat!("Returns the number of `", stringify!($Weak), "` handles.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, _rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// let weak = tx.downgrade();
            /// let weak2 = weak.clone();
            /// assert_eq!(weak.weak_count(), 2);
            /// drop(weak2);
            /// assert_eq!(weak.weak_count(), 1);
            /// ```
            pub fn weak_count(&self) -> usize {
                self.chan.weak_count()
            }
        }

        impl<T> Clone for $Weak<T> {
            fn clone(&self) -> Self {
                $Weak {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> fmt::Debug for $Weak<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Weak)).finish()
            }
        }
    };
}

/// The receiver methods of both flavours, with their `Debug` and `Stream`
/// impls. `close` is the flavour's own (what it lets through differs).
///
/// `$Rx`, `$Tx`, `$Weak`: the flavour's types; `new`: an expression making
/// a channel of it; `send`: its non-waiting send method.
macro_rules! receiver_api {
    ($Rx:ident, $Tx:ident, $Weak:ident, new = $new:literal, send = $send:literal) => {
        impl<T> $Rx<T> {
            /// Receives the next value, waiting until one is there.
            ///
            /// Returns `None` once the channel is closed and drained: every
            #[doc = concat!("[`", stringify!($Tx), "`] is gone, or [`close`](Self::close) was called")]
            /// (and, on a bounded channel, every permit taken before it was
            /// used or dropped), and every buffered message was received.
            ///
            /// Takes part in Tokio's cooperative scheduling: a task
            /// receiving in a loop from an always-ready channel yields now
            /// and then.
            ///
            /// # Cancel safety
            ///
            /// This method is cancel safe. If `recv` is used as the event in
            /// a `tokio::select!` and another branch completes first, it is
            /// guaranteed that no messages were received on this channel.
            ///
            /// # Examples
            ///
            /// ```
            /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            /// tokio::spawn(async move {
            #[doc = concat!("    tx.", $send, "(\"hello\").unwrap();")]
            /// });
            /// assert_eq!(Some("hello"), rx.recv().await);
            /// assert_eq!(None, rx.recv().await); // the sender is gone
            /// # });
            /// ```
            pub async fn recv(&mut self) -> Option<T> {
                self.chan.recv().await
            }

            /// Receives up to `limit` values into `buffer`, waiting until
            /// there is at least one.
            ///
            /// Appends to `buffer` (never clears it) and returns how many were
            /// added: between 1 and `limit` while the channel is open, `0`
            /// once it is closed and drained (as [`recv`](Self::recv)
            /// returning `None`), and `0` at once when `limit` is 0.
            ///
            /// # Cancel safety
            ///
            /// This method is cancel safe: if it is cancelled, no messages
            /// were received and `buffer` is unchanged.
            ///
            /// # Examples
            ///
            /// ```
            /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            /// for i in 0..5 {
            #[doc = concat!("    tx.", $send, "(i).unwrap();")]
            /// }
            /// drop(tx);
            /// let mut buf = Vec::with_capacity(4);
            /// assert_eq!(rx.recv_many(&mut buf, 4).await, 4);
            /// assert_eq!(rx.recv_many(&mut buf, 4).await, 1);
            /// assert_eq!(buf, [0, 1, 2, 3, 4]);
            /// assert_eq!(rx.recv_many(&mut buf, 4).await, 0); // closed and drained
            /// # });
            /// ```
            pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
                self.chan.recv_many(buffer, limit).await
            }

            /// Receives a value if one is there now, without waiting.
            ///
            /// Never returns `Empty` while a message whose send has completed
            /// is unreceived, even if another send into an earlier position
            /// is still in progress (it waits for that send).
            ///
            /// # Errors
            ///
            /// [`TryRecvError::Empty`] if nothing is buffered but the channel
            /// may still get messages, and [`TryRecvError::Disconnected`]
            /// once it is closed and drained.
            ///
            /// # Examples
            ///
            /// ```
            /// use ringchan::mpsc::error::TryRecvError;
            ///
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            #[doc = concat!("tx.", $send, "(\"hello\").unwrap();")]
            /// drop(tx);
            /// assert_eq!(rx.try_recv(), Ok("hello"));
            /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
            /// ```
            pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
                self.chan.try_recv()
            }

            /// Blocking receive to call outside of asynchronous contexts:
            /// waits on the thread for the next value, or `None` when closed
            /// and drained.
            ///
            /// # Panics
            ///
            /// If called on a thread that drives a Tokio runtime (inside
            /// `block_on`, a worker thread, a task), with tokio's message,
            /// before looking at the channel. It is fine in a plain thread,
            /// in `spawn_blocking`, in `block_in_place` and under a
            /// `Runtime::enter` guard.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            /// let consumer = std::thread::spawn(move || {
            ///     assert_eq!(rx.blocking_recv(), Some(10));
            ///     assert_eq!(rx.blocking_recv(), None); // the sender is gone
            /// });
            #[doc = concat!("tx.", $send, "(10).unwrap();")]
            /// drop(tx);
            /// consumer.join().unwrap();
            /// ```
            ///
            /// ```should_panic
            /// // Panics with: Cannot block the current thread from within a runtime
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(1).unwrap();")]
            /// tokio::runtime::Runtime::new().unwrap().block_on(async {
            ///     let _ = rx.blocking_recv(); // this thread drives the runtime
            /// });
            /// ```
            #[track_caller]
            #[doc(alias = "recv_blocking")]
            pub fn blocking_recv(&mut self) -> Option<T> {
                assert_may_block();
                self.chan.recv_blocking()
            }

            /// Variant of [`recv_many`](Self::recv_many) that blocks the
            /// thread, for use outside of asynchronous contexts.
            ///
            /// # Panics
            ///
            /// As [`blocking_recv`](Self::blocking_recv), inside a runtime.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            /// for i in 0..3 {
            #[doc = concat!("    tx.", $send, "(i).unwrap();")]
            /// }
            /// drop(tx);
            /// let mut buf = Vec::new();
            /// assert_eq!(rx.blocking_recv_many(&mut buf, 2), 2);
            /// assert_eq!(rx.blocking_recv_many(&mut buf, 2), 1);
            /// assert_eq!(rx.blocking_recv_many(&mut buf, 2), 0);
            /// assert_eq!(buf, [0, 1, 2]);
            /// ```
            #[track_caller]
            #[doc(alias = "recv_many_blocking")]
            pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
                assert_may_block();
                self.chan.recv_many_blocking(buffer, limit)
            }

            /// Checks if the channel has been closed:
            /// [`close`](Self::close) was called, or every sender is gone
            /// (even if messages are still buffered).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, rx) = ", $new, ";")]
            /// assert!(!rx.is_closed());
            #[doc = concat!("tx.", $send, "(1).unwrap();")]
            /// drop(tx);
            /// assert!(rx.is_closed()); // closed, with a message still to receive
            /// assert_eq!(rx.len(), 1);
            /// ```
            pub fn is_closed(&self) -> bool {
                self.chan.is_closed()
            }

            /// Checks if the channel has no buffered messages.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, rx) = ", $new, ";")]
            /// assert!(rx.is_empty());
            #[doc = concat!("tx.", $send, "(0).unwrap();")]
            /// assert!(!rx.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Returns the number of messages in the channel (reserved
            /// permits are not messages).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, rx) = ", $new, ";")]
            /// assert_eq!(rx.len(), 0);
            #[doc = concat!("tx.", $send, "(0).unwrap();")]
            #[doc = concat!("tx.", $send, "(1).unwrap();")]
            /// assert_eq!(rx.len(), 2);
            /// ```
            pub fn len(&self) -> usize {
                self.chan.len()
            }

            /// Polls to receive the next message on this channel.
            ///
            /// - `Poll::Pending` if no message is available but the channel
            ///   is not closed, or on a spurious failure (including Tokio's
            ///   coop budget running out).
            /// - `Poll::Ready(Some(message))` if a message is available.
            /// - `Poll::Ready(None)` if the channel has been closed and every
            ///   message sent before it was closed has been received.
            ///
            /// When `Pending` is returned, the waker in `cx` is scheduled to
            /// be woken when a message arrives or the channel closes. Only
            /// the waker from the most recent call is scheduled.
            ///
            /// # Examples
            ///
            /// ```
            /// use std::task::{Context, Poll};
            /// use futures::task::noop_waker_ref;
            ///
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            /// let mut cx = Context::from_waker(noop_waker_ref());
            /// assert!(rx.poll_recv(&mut cx).is_pending());
            #[doc = concat!("tx.", $send, "(1).unwrap();")]
            /// assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
            /// drop(tx);
            /// assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
            /// ```
            pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.chan.poll_recv(cx)
            }

            /// Polls to receive up to `limit` messages into `buffer`.
            ///
            /// - `Poll::Pending` if no message is available but the channel
            ///   is not closed, or on a spurious failure (including Tokio's
            ///   coop budget running out).
            /// - `Poll::Ready(n)` with `1 <= n <= limit` after appending `n`
            ///   messages to `buffer`.
            /// - `Poll::Ready(0)` if `limit` is 0, or the channel is closed
            ///   and drained.
            ///
            /// Only the waker from the most recent call is scheduled.
            ///
            /// # Examples
            ///
            /// ```
            /// use std::task::{Context, Poll};
            /// use futures::task::noop_waker_ref;
            ///
            #[doc = concat!("let (tx, mut rx) = ", $new, ";")]
            /// let mut cx = Context::from_waker(noop_waker_ref());
            /// let mut buf = Vec::new();
            /// assert!(rx.poll_recv_many(&mut cx, &mut buf, 2).is_pending());
            /// for i in 0..3 {
            #[doc = concat!("    tx.", $send, "(i).unwrap();")]
            /// }
            /// assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 2), Poll::Ready(2));
            /// drop(tx);
            /// assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 2), Poll::Ready(1));
            /// assert_eq!(rx.poll_recv_many(&mut cx, &mut buf, 2), Poll::Ready(0));
            /// assert_eq!(buf, [0, 1, 2]);
            /// ```
            pub fn poll_recv_many(
                &mut self,
                cx: &mut Context<'_>,
                buffer: &mut Vec<T>,
                limit: usize,
            ) -> Poll<usize> {
                self.chan.poll_recv_many(cx, buffer, limit)
            }

            #[doc = concat!("Returns the number of [`", stringify!($Tx), "`] handles.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// let _tx2 = tx.clone();
            /// assert_eq!(rx.sender_strong_count(), 2);
            /// ```
            pub fn sender_strong_count(&self) -> usize {
                self.chan.sender_strong_count()
            }

            #[doc = concat!("Returns the number of [`", stringify!($Weak), "`] handles.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let (tx, rx) = ", $new, ";")]
            #[doc = concat!("tx.", $send, "(()).unwrap();")]
            /// let _weak = tx.downgrade();
            /// assert_eq!(rx.sender_weak_count(), 1);
            /// ```
            pub fn sender_weak_count(&self) -> usize {
                self.chan.sender_weak_count()
            }
        }

        impl<T> fmt::Debug for $Rx<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Rx))
                    .field("chan", &self.chan)
                    .finish()
            }
        }

        /// The receiver is a stream of the messages, ending when `recv`
        /// would return `None`: code that wrapped tokio's receiver in
        /// `tokio_stream::wrappers::ReceiverStream::new(rx)` (or
        /// `UnboundedReceiverStream`) uses `rx` itself. `poll_next` is
        /// `poll_recv`, so it takes part in Tokio's coop too.
        impl<T> Stream for $Rx<T> {
            type Item = T;

            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.get_mut().poll_recv(cx)
            }
        }
    };
}
