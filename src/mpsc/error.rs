//! Channel error types, as in `tokio::sync::mpsc::error`.
//!
//! [`SendError`] and [`TrySendError`] are the crate's shared error types
//! (the same types the native API returns); [`TryRecvError`],
//! [`SendTimeoutError`] and the deprecated `RecvError` are this module's own,
//! with tokio's variants and messages.

use std::error::Error;
use std::fmt;

pub use crate::error::{SendError, TrySendError};

/// Error returned by [`Receiver::try_recv`](super::Receiver::try_recv) and
/// [`UnboundedReceiver::try_recv`](super::UnboundedReceiver::try_recv).
///
/// # Examples
///
/// ```
/// use ringchan::mpsc::{self, error::TryRecvError};
///
/// let (tx, mut rx) = mpsc::channel::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// assert_eq!(TryRecvError::Empty.to_string(), "receiving on an empty channel");
///
/// drop(tx);
/// let err = rx.try_recv().unwrap_err();
/// assert_eq!(err, TryRecvError::Disconnected);
/// assert_eq!(err.to_string(), "receiving on a closed channel");
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// This **channel** is currently empty, but the **Sender**(s) have not
    /// yet disconnected, so data may yet become available.
    Empty,
    /// The **channel**'s sending half has become disconnected (or the
    /// receiver was closed and every permit is back), and there will never
    /// be any more data received on it.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt.write_str(match self {
            TryRecvError::Empty => "receiving on an empty channel",
            TryRecvError::Disconnected => "receiving on a closed channel",
        })
    }
}

impl Error for TryRecvError {}

/// Error returned by [`Sender::send_timeout`](super::Sender::send_timeout):
/// the message comes back either way.
///
/// `Debug` prints the variant as a quoted string (`"Timeout(..)"`), exactly
/// as tokio does, without needing `T: Debug`.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use ringchan::mpsc::{self, error::SendTimeoutError};
///
/// let (tx, rx) = mpsc::channel(1);
/// tx.send(1).await.unwrap();
/// let err = tx.send_timeout(2, Duration::from_millis(5)).await.unwrap_err();
/// assert_eq!(err, SendTimeoutError::Timeout(2));
/// assert_eq!(err.to_string(), "timed out waiting on send operation");
/// assert_eq!(format!("{err:?}"), r#""Timeout(..)""#);
///
/// drop(rx);
/// let err = tx.send_timeout(3, Duration::from_secs(1)).await.unwrap_err();
/// assert_eq!(err.to_string(), "channel closed");
/// assert_eq!(err.into_inner(), 3);
/// # });
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The data could not be sent on the channel because the channel is
    /// full, and the timeout to send has elapsed.
    Timeout(T),
    /// The receive half of the channel was explicitly closed or has been
    /// dropped.
    Closed(T),
}

impl<T> SendTimeoutError<T> {
    /// Consumes the `SendTimeoutError`, returning the unsent value.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringchan::mpsc::error::SendTimeoutError;
    ///
    /// assert_eq!(SendTimeoutError::Timeout("a").into_inner(), "a");
    /// assert_eq!(SendTimeoutError::Closed("b").into_inner(), "b");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(val) | SendTimeoutError::Closed(val) => val,
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Quoted, as tokio prints it (`Debug` of a `str`).
        fmt::Debug::fmt(
            match self {
                SendTimeoutError::Timeout(..) => "Timeout(..)",
                SendTimeoutError::Closed(..) => "Closed(..)",
            },
            f,
        )
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt.write_str(match self {
            SendTimeoutError::Timeout(..) => "timed out waiting on send operation",
            SendTimeoutError::Closed(..) => "channel closed",
        })
    }
}

impl<T> Error for SendTimeoutError<T> {}

/// Error returned by `Receiver::recv` in tokio 0.x; kept because tokio 1.x
/// keeps it public (hidden and deprecated) and code may still name it.
///
/// # Examples
///
/// ```
/// #[allow(deprecated)]
/// fn name_it(_: Option<ringchan::mpsc::error::RecvError>) {}
/// name_it(None);
/// ```
#[derive(Debug, Clone)]
#[doc(hidden)]
#[deprecated(note = "This type is unused because recv returns an Option.")]
pub struct RecvError(());

#[allow(deprecated)]
impl fmt::Display for RecvError {
    fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt.write_str("channel closed")
    }
}

#[allow(deprecated)]
impl Error for RecvError {}
