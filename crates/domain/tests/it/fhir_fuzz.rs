//! Mutation fuzzing of the FHIR reader with a fixed seed: byte flips, cuts, splices and deep
//! nesting of the example documents never panic, and every answer is a list of items or one
//! error. `FANGKONG_FUZZ_CASES` raises the number of cases (default 3,000) for a longer run.

use std::panic::{AssertUnwindSafe, catch_unwind};

use fangkong_domain::lab_result::NaaCodes;
use fangkong_domain::lab_result::fhir::parse_observations;

/// xorshift64*: deterministic on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: [&str; 12] = [
    "{",
    "}",
    "[",
    "]",
    "\"resourceType\":\"Observation\"",
    "\"hasMember\":[{\"reference\":\"urn:uuid:x\"}]",
    "\"component\":[{}]",
    "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"94500-6\"}]}",
    "\"specimen\":{\"reference\":\"#a\"}",
    "1e999999",
    "\"\\ud800\"",
    "null",
];

#[test]
fn mangled_fhir_documents_never_panic() {
    let cases: usize = std::env::var("FANGKONG_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fhir");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 8);
    let codes = NaaCodes::standard();
    let mut rng = Rng(0x5eed_f4ee);
    for case in 0..cases {
        let mut doc = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(4) {
            match rng.below(4) {
                0 => {
                    let i = rng.below(doc.len());
                    doc[i] = rng.next() as u8;
                }
                1 => {
                    let i = rng.below(doc.len());
                    doc.truncate(i.max(1));
                }
                2 => {
                    let i = rng.below(doc.len());
                    let piece = PIECES[rng.below(PIECES.len())].as_bytes();
                    doc.splice(i..i, piece.iter().copied());
                }
                _ => {
                    let i = rng.below(doc.len());
                    let depth = rng.below(300);
                    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
                    doc.splice(i..i, nested.bytes());
                }
            }
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| parse_observations(&doc, &codes)));
        assert!(
            outcome.is_ok(),
            "case {case} panicked: {}",
            String::from_utf8_lossy(&doc)
        );
    }
}
