//! Bad capacities get a clear panic naming `ringchan::bounded`, never an
//! abort or undefined behaviour. Its own test binary, so that an abort here
//! cannot take other tests down with it.

use std::panic::catch_unwind;

/// Calls `bounded::<T>(cap)` and returns its panic message, failing the test
/// if it does not panic.
fn panic_message_of_bounded<T>(cap: usize) -> String {
    let payload = catch_unwind(|| {
        let _ = ringchan::bounded::<T>(cap);
    })
    .expect_err(&format!("bounded({cap}) did not panic"));
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn bounded_zero_panics_naming_the_function_and_the_capacity() {
    let message = panic_message_of_bounded::<u32>(0);
    assert!(message.contains("ringchan::bounded"), "{message:?}");
    assert!(message.contains("capacity"), "{message:?}");
}

#[test]
fn capacities_whose_size_overflows_panic_naming_the_function() {
    for cap in [
        usize::MAX,
        usize::MAX / 2,
        usize::MAX / 2 + 1,
        isize::MAX as usize,
    ] {
        for message in [
            panic_message_of_bounded::<()>(cap),
            panic_message_of_bounded::<u8>(cap),
            panic_message_of_bounded::<[u8; 64]>(cap),
        ] {
            assert!(
                message.contains("ringchan::bounded"),
                "cap {cap}: {message:?}"
            );
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri stops at an allocation this large instead of failing it"
)]
fn capacities_too_large_to_allocate_panic_naming_the_function() {
    // 2^50 slots of 64 bytes: the size is representable, the memory is not there.
    for cap in [1usize << 50, 1 << 44] {
        let message = panic_message_of_bounded::<[u8; 64]>(cap);
        assert!(
            message.contains("ringchan::bounded"),
            "cap {cap}: {message:?}"
        );
    }
}

#[test]
fn the_largest_ordinary_capacities_still_work() {
    let (tx, rx) = ringchan::bounded::<u8>(1 << 16);
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.capacity(), Some(1 << 16));
}
