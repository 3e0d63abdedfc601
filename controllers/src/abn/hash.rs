//! Rendezvous hashing of users to tracks: each (user, version) pair gets a score and the user
//! goes to the track whose version scores highest (ties: the larger version name). A user stays
//! on a track while the versions are unchanged; when one version changes, only users moving to
//! or from that version change track.
//!
//! Unlike Iter8 v0.13 (Go's `hash/maphash`, seeded at random per process), the score is a fixed
//! function (64-bit FNV-1a over `user`, a separator, `version`, then a SplitMix64 finaliser), so
//! assignments survive restarts and agree between replicas.

use std::collections::BTreeMap;

/// The score of `version` for `user`.
pub fn score(user: &str, version: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in user
        .bytes()
        .chain(std::iter::once(0xff))
        .chain(version.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    // SplitMix64 finaliser: spreads FNV's weak low bits over the whole word.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The track for `user` among `tracks` (track → version); `None` when there are none.
pub fn choose<'a>(tracks: &'a BTreeMap<String, String>, user: &str) -> Option<&'a str> {
    tracks
        .iter()
        .map(|(t, v)| ((score(user, v), v.as_str()), t.as_str()))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracks(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(t, v)| (t.to_string(), v.to_string()))
            .collect()
    }

    /// Users spread over two tracks about evenly; a changed candidate version moves only users
    /// to or from the candidate, never between two unchanged versions (three tracks).
    #[test]
    fn spread_and_stability() {
        let two = tracks(&[("b", "v1"), ("b-candidate-1", "v2")]);
        let users: Vec<String> = (0..10_000).map(|i| format!("user-{i}")).collect();
        let on_candidate = users
            .iter()
            .filter(|u| choose(&two, u) == Some("b-candidate-1"))
            .count();
        assert!((4_500..=5_500).contains(&on_candidate), "{on_candidate}");

        let before = tracks(&[
            ("b", "v1"),
            ("b-candidate-1", "v2"),
            ("b-candidate-2", "v3"),
        ]);
        let after = tracks(&[
            ("b", "v1"),
            ("b-candidate-1", "v2"),
            ("b-candidate-2", "v4"),
        ]);
        let mut moved = 0;
        for u in &users {
            let (x, y) = (choose(&before, u), choose(&after, u));
            if x != y {
                moved += 1;
                assert!(
                    x == Some("b-candidate-2") || y == Some("b-candidate-2"),
                    "{u}"
                );
            }
        }
        assert!(moved > 0);
        assert_eq!(choose(&BTreeMap::new(), "u"), None);
    }
}
