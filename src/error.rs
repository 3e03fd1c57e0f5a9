//! Error types shared by the native API and [`mpsc`](crate::mpsc).
//!
//! Shaped like tokio's: every variant that failed to deliver hands the message
//! back, `Debug` and `Error` need no `T: Debug`, and `Display` reads the way
//! tokio's does ("channel closed").

use std::error::Error;
use std::fmt;

/// The channel was closed: the message could not be sent and comes back.
///
/// Returned by [`Sender::send`](crate::Sender::send) and
/// [`Sender::send_blocking`](crate::Sender::send_blocking).
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringchan::bounded::<u32>(1);
/// drop(rx);
/// let err = tx.send_blocking(7).unwrap_err();
/// assert_eq!(err.to_string(), "channel closed");
/// assert_eq!(err.into_inner(), 7);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Takes the message back.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = ringchan::SendError("hi");
    /// assert_eq!(err.into_inner(), "hi");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed")
    }
}

impl<T> Error for SendError<T> {}

/// Why a `try_send` did not send: the channel is full or closed. Both hand
/// the message back.
///
/// # Examples
///
/// ```
/// use ringchan::TrySendError;
///
/// let (tx, rx) = ringchan::bounded(1);
/// tx.try_send(1).unwrap();
/// let full = tx.try_send(2).unwrap_err();
/// assert!(full.is_full());
/// assert_eq!(full, TrySendError::Full(2));
/// assert_eq!(full.to_string(), "no available capacity");
///
/// drop(rx);
/// let closed = tx.try_send(3).unwrap_err();
/// assert!(closed.is_closed());
/// assert_eq!(closed.into_inner(), 3);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel holds as many messages as its capacity.
    Full(T),
    /// Every receiver is gone, or the channel was closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// Takes the message back.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = ringchan::TrySendError::Full(5);
    /// assert_eq!(err.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(value) | Self::Closed(value) => value,
        }
    }

    /// `true` for [`TrySendError::Full`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ringchan::TrySendError::Full(()).is_full());
    /// assert!(!ringchan::TrySendError::Closed(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// `true` for [`TrySendError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ringchan::TrySendError::Closed(()).is_closed());
    /// assert!(!ringchan::TrySendError::Full(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Quoted, as tokio prints it (`Debug` of a `str`).
        fmt::Debug::fmt(
            match self {
                Self::Full(_) => "Full(..)",
                Self::Closed(_) => "Closed(..)",
            },
            f,
        )
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "no available capacity",
            Self::Closed(_) => "channel closed",
        })
    }
}

impl<T> Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(err: SendError<T>) -> Self {
        Self::Closed(err.0)
    }
}

/// The channel is closed and drained: no message will ever arrive.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringchan::bounded::<u32>(1);
/// drop(tx);
/// let err = rx.recv_blocking().unwrap_err();
/// assert_eq!(err, ringchan::RecvError);
/// assert_eq!(err.to_string(), "channel closed");
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed")
    }
}

impl Error for RecvError {}

/// Why a `try_recv` returned nothing.
///
/// # Examples
///
/// ```
/// use ringchan::TryRecvError;
///
/// let (tx, rx) = ringchan::bounded::<u32>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// let err = rx.try_recv().unwrap_err();
/// assert!(err.is_closed());
/// assert_eq!(err.to_string(), "receiving on a closed channel");
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// No message right now; senders remain.
    Empty,
    /// No message, and the channel is closed: none will come.
    Closed,
}

impl TryRecvError {
    /// `true` for [`TryRecvError::Empty`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ringchan::TryRecvError::Empty.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// `true` for [`TryRecvError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ringchan::TryRecvError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "receiving on an empty channel",
            Self::Closed => "receiving on a closed channel",
        })
    }
}

impl Error for TryRecvError {}
