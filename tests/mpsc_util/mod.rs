//! Panic-inspection helpers for the `mpsc_*` tests (the general helpers are
//! in `tests/common`).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

/// The text of a panic payload caught with `catch_unwind`.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic payload>")
    }
}

/// Runs `f`, which must panic, and returns the file of the panic location,
/// to check `#[track_caller]`. Panics on other threads still reach the
/// previous hook; a lock keeps concurrent tests from swapping hooks at once.
pub fn panic_file(f: impl FnOnce()) -> String {
    static HOOK_LOCK: Mutex<()> = Mutex::new(());
    let _lock = HOOK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (file_tx, file_rx) = std::sync::mpsc::channel();
    let file_tx = Mutex::new(file_tx);
    let me = std::thread::current().id();
    let prev = Arc::new(std::panic::take_hook());
    let fallback = prev.clone();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == me {
            let file = info.location().map(|l| l.file().to_string());
            let _ = file_tx.lock().unwrap().send(file);
        } else {
            fallback(info);
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    drop(std::panic::take_hook());
    std::panic::set_hook(Box::new(move |info| prev(info)));
    assert!(result.is_err(), "expected a panic");
    file_rx.recv().unwrap().expect("the panic has a location")
}

/// Pins "try_recv never returns `Empty` spuriously": each of `senders` runs
/// on its own thread sending `0..per` and counting every send that has
/// returned; meanwhile `try_recv` must yield a message whenever fewer have
/// been received than that count, even while other sends are half done.
pub fn assert_try_recv_never_spuriously_empty<T, E: std::fmt::Debug>(
    senders: Vec<impl FnMut(usize) + Send + 'static>,
    per: usize,
    mut try_recv: impl FnMut() -> Result<T, E>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let total = senders.len() * per;
    let sent = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = senders
        .into_iter()
        .map(|mut send| {
            let sent = sent.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    send(i);
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let mut received = 0;
    while received < total {
        if received < sent.load(Ordering::SeqCst) {
            match try_recv() {
                Ok(_) => received += 1,
                Err(e) => panic!(
                    "{e:?} with {received} received of at least {} sent",
                    received + 1
                ),
            }
        } else {
            std::thread::yield_now();
        }
    }
    for t in threads {
        t.join().unwrap();
    }
}
