//! The ring's state inspector, reached through `{:#?}` on a `Sender`: it
//! shows the head and tail positions, works in every state, needs no
//! `T: Debug`, and stays readable for a large ring.

mod common;

use std::thread;

use common::scaled;
use ringchan::bounded;

#[track_caller]
fn assert_shows_positions(text: &str) {
    assert!(text.contains("head"), "no head position in {text}");
    assert!(text.contains("tail"), "no tail position in {text}");
}

#[test]
fn pretty_debug_of_a_sender_shows_head_and_tail() {
    let (tx, rx) = bounded::<u32>(4);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    rx.try_recv().unwrap();
    assert_shows_positions(&format!("{tx:#?}"));
    assert!(!format!("{rx:#?}").is_empty());
}

#[test]
fn debug_works_empty_full_and_after_wrapping() {
    for cap in [1, 2, 3, 7] {
        let (tx, rx) = bounded(cap);
        assert_shows_positions(&format!("{tx:#?}"));
        for i in 0..cap {
            tx.try_send(i).unwrap();
        }
        assert_shows_positions(&format!("{tx:#?}"));
        for _ in 0..cap + 1 {
            rx.try_recv().unwrap();
            tx.try_send(0).unwrap();
            assert_shows_positions(&format!("{tx:#?}"));
            let _ = format!("{tx:?} {rx:?} {rx:#?}");
        }
        drop(rx);
        assert_shows_positions(&format!("{tx:#?}"));
    }
}

#[test]
fn debug_needs_no_debug_payload() {
    struct Opaque;
    let (tx, _rx) = bounded(2);
    tx.try_send(Opaque).unwrap();
    assert_shows_positions(&format!("{tx:#?}"));
}

#[test]
fn debug_of_a_large_ring_is_capped() {
    let cap = if cfg!(miri) { 10_000 } else { 1_000_000 };
    let (tx, _rx) = bounded::<u64>(cap);
    for i in 0..1000 {
        tx.try_send(i).unwrap();
    }
    let text = format!("{tx:#?}");
    assert_shows_positions(&text);
    assert!(
        text.len() < 10_000,
        "{} bytes of debug output for a ring of {cap}",
        text.len()
    );
}

#[test]
fn debug_while_other_threads_send_and_receive_does_not_panic() {
    let n = scaled(20_000);
    let (tx, rx) = bounded::<usize>(3);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..n {
                tx.send_blocking(i).unwrap();
            }
        });
        s.spawn(|| {
            for i in 0..n {
                assert_eq!(rx.recv_blocking(), Ok(i));
            }
        });
        for _ in 0..scaled(2_000) {
            assert_shows_positions(&format!("{tx:#?}"));
        }
    });
}
