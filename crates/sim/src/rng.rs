//! A tiny deterministic random source.
//!
//! The demo data must be identical for the same seed on every machine and
//! every version of our dependencies, and it must be fast enough for eleven
//! million residents. `rand`'s `StdRng` promises neither stability across
//! releases nor this speed, so we use SplitMix64 (Steele, Lea & Flood 2014),
//! which is small, fast and statistically good enough for synthetic data.

#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        // Discard a few outputs so that nearby seeds diverge immediately.
        for _ in 0..4 {
            rng.next_u64();
        }
        rng
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-32).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        debug_assert!(lo <= hi);
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller; one of the pair is dropped for simplicity).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }

    /// Index drawn with the given cumulative weights (last = total).
    pub(crate) fn weighted(&mut self, cumulative: &[u32]) -> usize {
        let total = *cumulative.last().expect("non-empty weights");
        let x = self.below(total);
        cumulative.partition_point(|&c| c <= x)
    }
}

/// Cumulative sums of weights, for [`Rng::weighted`].
pub(crate) fn cumulative(weights: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut sum = 0;
    weights
        .into_iter()
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_sequence_and_other_seeds_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(8, 1);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn weighted_choice_follows_the_weights() {
        let mut r = Rng::new(1, 2);
        let cum = cumulative([1, 0, 3]);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[r.weighted(&cum)] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = f64::from(counts[2]) / f64::from(counts[0]);
        assert!((2.8..3.2).contains(&ratio), "{counts:?}");
    }

    #[test]
    fn range_stays_within_bounds_and_reaches_both_ends() {
        let mut r = Rng::new(3, 4);
        let draws: Vec<u32> = (0..10_000).map(|_| r.range(5, 9)).collect();
        assert!(draws.iter().all(|d| (5..=9).contains(d)));
        assert!(draws.contains(&5) && draws.contains(&9));
    }
}
