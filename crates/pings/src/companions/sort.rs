//! Putting a batch of pings in (person, ts, cell) order.
//!
//! The files are sorted by cell; the sweep wants each person's pings together and in time order.
//! A least-significant-digit radix sort on a packed key `(person − min) << ts_bits | (ts − min)`
//! does that in a few linear passes (no comparisons, no hashing of 64-bit ids); digits on which
//! every key agrees are skipped. Pings of one person at the same second are then ordered by cell,
//! the tie-break the SQL uses (`ORDER BY ts, cell_id`).

/// A ping in the sweep's packed form.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Rec {
    pub key: u64,
    pub cell: i64,
}

/// How to pack and unpack a batch's keys.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Packing {
    pub pid_min: i64,
    pub ts_min: i64,
    pub ts_bits: u32,
}

impl Packing {
    pub fn pid(&self, key: u64) -> i64 {
        self.pid_min.wrapping_add((key >> self.ts_bits) as i64)
    }
    pub fn ts(&self, key: u64) -> i64 {
        self.ts_min
            .wrapping_add((key & ((1u64 << self.ts_bits) - 1)) as i64)
    }
}

fn bits(span: u64) -> u32 {
    64 - span.leading_zeros()
}

const DIGIT: u32 = 8;
const BUCKETS: usize = 1 << DIGIT;

/// A batch in sweep order.
pub(crate) enum Sorted<'a> {
    /// The usual case: keys packed, unpacked on the fly.
    Packed(Packing, &'a [Rec]),
    /// Ids or times too far apart to pack in 64 bits (not seen in real feeds): plain triples.
    Wide(&'a [(i64, i64, i64)]),
}

impl Sorted<'_> {
    pub fn len(&self) -> usize {
        match self {
            Sorted::Packed(_, v) => v.len(),
            Sorted::Wide(v) => v.len(),
        }
    }
    /// (person_id, ts, cell_id) of row `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> (i64, i64, i64) {
        match self {
            Sorted::Packed(pk, v) => (pk.pid(v[i].key), pk.ts(v[i].key), v[i].cell),
            Sorted::Wide(v) => v[i],
        }
    }
}

/// Reusable buffers of the sort.
#[derive(Default)]
pub(crate) struct SortBufs {
    out: Vec<Rec>,
    scratch: Vec<Rec>,
    wide: Vec<(i64, i64, i64)>,
}

/// Decoded pings as three columns.
#[derive(Default, Debug)]
pub(crate) struct Cols {
    pub pid: Vec<i64>,
    pub ts: Vec<i64>,
    pub cell: Vec<i64>,
}

impl Cols {
    #[inline(always)]
    pub fn push(&mut self, p: i64, t: i64, c: i64) {
        self.pid.push(p);
        self.ts.push(t);
        self.cell.push(c);
    }
    pub fn len(&self) -> usize {
        self.pid.len()
    }
    pub fn clear(&mut self) {
        self.pid.clear();
        self.ts.clear();
        self.cell.clear();
    }
}

/// Sorts the pings of `parts` by person, ts, cell.
pub(crate) fn sort_batch<'a>(parts: &[&Cols], bufs: &'a mut SortBufs) -> Sorted<'a> {
    bufs.out.clear();
    bufs.wide.clear();
    let (mut pmin, mut pmax, mut tmin, mut tmax) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
    let n: usize = parts.iter().map(|p| p.len()).sum();
    for part in parts {
        for (&p, &t) in part.pid.iter().zip(&part.ts) {
            pmin = pmin.min(p);
            pmax = pmax.max(p);
            tmin = tmin.min(t);
            tmax = tmax.max(t);
        }
    }
    if n == 0 {
        return Sorted::Wide(&bufs.wide);
    }
    let (pb, tb) = (
        bits(pmax.wrapping_sub(pmin) as u64),
        bits(tmax.wrapping_sub(tmin) as u64),
    );
    if pb + tb > 63 {
        for part in parts {
            bufs.wide.extend(
                part.pid
                    .iter()
                    .zip(&part.ts)
                    .zip(&part.cell)
                    .map(|((&p, &t), &c)| (p, t, c)),
            );
        }
        bufs.wide.sort_unstable();
        return Sorted::Wide(&bufs.wide);
    }
    let packing = Packing {
        pid_min: pmin,
        ts_min: tmin,
        ts_bits: tb,
    };
    bufs.out.reserve(n);
    for part in parts {
        for ((&p, &t), &c) in part.pid.iter().zip(&part.ts).zip(&part.cell) {
            bufs.out.push(Rec {
                key: ((p.wrapping_sub(pmin) as u64) << tb) | t.wrapping_sub(tmin) as u64,
                cell: c,
            });
        }
    }
    radix(&mut bufs.out, &mut bufs.scratch, pb + tb);
    fix_ties(&mut bufs.out);
    Sorted::Packed(packing, &bufs.out)
}

/// Radix sort on the low `key_bits` bits: one most-significant pass on the top 8 bits spreads the
/// records into 256 buckets (one pass over memory, 256 write streams that stay in cache); each
/// bucket, small enough for the core's L2, is then sorted by least-significant 8-bit passes.
/// Digits on which every key of a (sub)array agrees are skipped.
fn radix(v: &mut Vec<Rec>, scratch: &mut Vec<Rec>, key_bits: u32) {
    let n = v.len();
    if key_bits == 0 || n < 2 {
        return;
    }
    scratch.clear();
    scratch.resize(n, Rec::default());
    if key_bits <= DIGIT || n <= SMALL {
        lsd(v, scratch, key_bits);
        return;
    }
    let shift = key_bits - DIGIT;
    let mut counts = [0usize; BUCKETS];
    for r in v.iter() {
        counts[((r.key >> shift) as usize) & (BUCKETS - 1)] += 1;
    }
    let mut starts = [0usize; BUCKETS + 1];
    for d in 0..BUCKETS {
        starts[d + 1] = starts[d] + counts[d];
    }
    let mut offs = starts;
    for r in v.iter() {
        let d = ((r.key >> shift) as usize) & (BUCKETS - 1);
        scratch[offs[d]] = *r;
        offs[d] += 1;
    }
    std::mem::swap(v, scratch);
    for d in 0..BUCKETS {
        let (lo, hi) = (starts[d], starts[d + 1]);
        if hi - lo > 1 {
            lsd(&mut v[lo..hi], &mut scratch[lo..hi], shift);
        }
    }
}

/// Below this many records a plain least-significant-digit sort is as good.
const SMALL: usize = 1 << 16;

/// Least-significant-digit radix sort of `v` on its low `key_bits` bits; `scratch` has `v`'s length.
fn lsd(v: &mut [Rec], scratch: &mut [Rec], key_bits: u32) {
    let passes = key_bits.div_ceil(DIGIT) as usize;
    let n = v.len();
    let mut hist = [[0usize; BUCKETS]; 8];
    for r in v.iter() {
        for (p, h) in hist.iter_mut().enumerate().take(passes) {
            h[((r.key >> (p as u32 * DIGIT)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    // Data moves between `v` and `scratch`; `in_scratch` says where it is now.
    let mut in_scratch = false;
    for (p, h) in hist.iter().enumerate().take(passes) {
        if h.contains(&n) {
            continue; // every key has this digit: the pass would not move anything
        }
        let mut offs = [0usize; BUCKETS];
        let mut sum = 0;
        for (o, &c) in offs.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c;
        }
        let shift = p as u32 * DIGIT;
        let (src, dst): (&[Rec], &mut [Rec]) = if in_scratch {
            (&*scratch, &mut *v)
        } else {
            (&*v, &mut *scratch)
        };
        for r in src {
            let d = ((r.key >> shift) as usize) & (BUCKETS - 1);
            dst[offs[d]] = *r;
            offs[d] += 1;
        }
        in_scratch = !in_scratch;
    }
    if in_scratch {
        v.copy_from_slice(scratch);
    }
}

/// Orders pings with the same key (same person, same second) by cell.
fn fix_ties(v: &mut [Rec]) {
    let mut i = 0;
    while i + 1 < v.len() {
        if v[i].key == v[i + 1].key {
            let mut j = i + 1;
            while j + 1 < v.len() && v[j + 1].key == v[i].key {
                j += 1;
            }
            v[i..=j].sort_unstable_by_key(|r| r.cell);
            i = j + 1;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pid: Vec<i64>, ts: Vec<i64>, cell: Vec<i64>) {
        let mut want: Vec<(i64, i64, i64)> = pid
            .iter()
            .zip(&ts)
            .zip(&cell)
            .map(|((&p, &t), &c)| (p, t, c))
            .collect();
        want.sort_unstable();
        let mut bufs = SortBufs::default();
        // Two parts, as two decoding threads give them.
        let half = pid.len() / 2;
        let a = Cols {
            pid: pid[..half].to_vec(),
            ts: ts[..half].to_vec(),
            cell: cell[..half].to_vec(),
        };
        let b = Cols {
            pid: pid[half..].to_vec(),
            ts: ts[half..].to_vec(),
            cell: cell[half..].to_vec(),
        };
        let sorted = sort_batch(&[&a, &b], &mut bufs);
        let got: Vec<(i64, i64, i64)> = (0..sorted.len()).map(|i| sorted.get(i)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn sorts_by_person_time_cell() {
        let mut s = 12345u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        // Small (plain LSD) and large (the MSD pass first) batches.
        for (n, people, secs) in [(5_000, 300, 200), (200_000, 50_000, 86_400)] {
            let pid: Vec<i64> = (0..n)
                .map(|_| 13_000_000_000 + (next() % people) as i64 * 7919)
                .collect();
            let ts: Vec<i64> = (0..n)
                .map(|_| 1_608_393_600 + (next() % secs) as i64)
                .collect();
            let cell: Vec<i64> = (0..n).map(|_| (next() % 5) as i64).collect();
            check(pid, ts, cell);
        }
        check(vec![5], vec![7], vec![1]);
        check(vec![], vec![], vec![]);
        check(vec![3, 3, 3], vec![9, 9, 9], vec![2, 1, 2]);
        // Spans that do not pack into 64 bits.
        check(
            vec![i64::MIN, i64::MAX, 0],
            vec![i64::MAX, i64::MIN, 0],
            vec![1, 2, 3],
        );
    }
}
