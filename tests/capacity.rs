//! Capacity is exact for any `cap >= 1`, not only powers of two: the `cap`-th
//! message fits, the `cap + 1`-th is refused, lap after lap.

mod common;

use common::{scaled, Polled};
use ringchan::{bounded, TryRecvError, TrySendError};

const CAPACITIES: [usize; 6] = [1, 2, 3, 7, 64, 1000];

#[test]
fn the_message_after_cap_is_refused_as_full() {
    for cap in CAPACITIES {
        let (tx, rx) = bounded(cap);
        for i in 0..cap {
            assert!(tx.try_send(i).is_ok(), "cap {cap}: message {i} refused");
        }
        assert_eq!(tx.try_send(cap), Err(TrySendError::Full(cap)), "cap {cap}");
        assert!(tx.is_full(), "cap {cap}");
        assert_eq!(rx.len(), cap);
    }
}

#[test]
fn capacity_stays_exact_when_filled_and_drained_lap_after_lap() {
    for cap in CAPACITIES {
        let (tx, rx) = bounded(cap);
        for lap in 0..4 {
            for i in 0..cap {
                assert!(
                    tx.try_send(i).is_ok(),
                    "cap {cap}, lap {lap}: message {i} refused"
                );
            }
            assert!(
                tx.try_send(cap).unwrap_err().is_full(),
                "cap {cap}, lap {lap}"
            );
            for i in 0..cap {
                assert_eq!(rx.try_recv(), Ok(i), "cap {cap}, lap {lap}");
            }
            assert_eq!(
                rx.try_recv(),
                Err(TryRecvError::Empty),
                "cap {cap}, lap {lap}"
            );
        }
    }
}

#[test]
fn capacity_stays_exact_while_the_positions_creep_forward() {
    // Keep the ring one short of full and move it one slot at a time, so
    // every slot is seen at the full/not-full edge in every lap.
    for cap in CAPACITIES {
        let (tx, rx) = bounded(cap);
        for i in 0..cap - 1 {
            tx.try_send(i).unwrap();
        }
        let (mut next_in, mut next_out) = (cap - 1, 0);
        for _ in 0..scaled(3 * cap + 10) {
            assert!(
                tx.try_send(next_in).is_ok(),
                "cap {cap}: refused at {next_in}"
            );
            next_in += 1;
            assert!(
                tx.try_send(next_in).unwrap_err().is_full(),
                "cap {cap}: over-filled"
            );
            assert_eq!(rx.try_recv(), Ok(next_out), "cap {cap}");
            next_out += 1;
        }
        assert_eq!(rx.len(), cap - 1);
    }
}

#[test]
fn send_parks_exactly_at_capacity() {
    for cap in CAPACITIES {
        let (tx, rx) = bounded(cap);
        for i in 0..cap {
            assert_eq!(
                Polled::new(tx.send(i)).ready(),
                Ok(()),
                "cap {cap}: send {i} parked"
            );
        }
        let mut extra = Polled::new(tx.send(cap));
        assert!(
            extra.poll().is_pending(),
            "cap {cap}: send {cap} did not park"
        );
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(extra.ready(), Ok(()));
        assert_eq!(rx.len(), cap);
    }
}

#[test]
fn force_send_keeps_exactly_cap_messages() {
    for cap in CAPACITIES {
        let (tx, rx) = bounded(cap);
        for i in 0..2 * cap {
            let replaced = tx.force_send(i).unwrap();
            assert_eq!(replaced, i.checked_sub(cap), "cap {cap}");
            assert_eq!(rx.len(), (i + 1).min(cap), "cap {cap}");
        }
        for i in cap..2 * cap {
            assert_eq!(rx.try_recv(), Ok(i), "cap {cap}");
        }
        assert!(rx.is_empty());
    }
}
