//! Throughput of `verify_code` on one core: `cargo run --release -p fangkong-signed-code --example verify_speed`.

use std::hint::black_box;
use std::time::Instant;

use fangkong_signed_code::{CodeClaims, CodeColour, CodeSigner, TrustList, verify_code};

fn main() {
    const NOW: i64 = 1_700_000_000;
    // A trust list of 200 issuers' keys, as a national list might hold.
    let signers: Vec<CodeSigner> = (0..200u8)
        .map(|i| CodeSigner::from_secret(&format!("CN-{i:02}"), &[i; 32]))
        .collect();
    let trust = TrustList::new(signers.iter().map(CodeSigner::trusted_key).collect()).unwrap();
    let tokens: Vec<String> = signers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.sign(&CodeClaims {
                issuer: s.issuer().to_owned(),
                issued_at: NOW,
                expires_at: NOW + 300,
                subject: format!("P3K9QW7M2XR5{i:04}"),
                colour: CodeColour::Green,
                popup: false,
                last_negative_sampled_at: Some(NOW - 86_400),
            })
        })
        .collect();
    let n = 100_000;
    for t in &tokens {
        verify_code(&trust, t, NOW).unwrap();
    }
    let start = Instant::now();
    for i in 0..n {
        black_box(verify_code(&trust, black_box(&tokens[i % tokens.len()]), NOW).unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    let lengths: Vec<usize> = tokens.iter().map(String::len).collect();
    println!(
        "verify_code: {n} tokens in {secs:.3} s = {:.0} per second on one core ({:.1} µs each); token length {}–{} chars",
        n as f64 / secs,
        secs * 1e6 / n as f64,
        lengths.iter().min().unwrap(),
        lengths.iter().max().unwrap()
    );
}
