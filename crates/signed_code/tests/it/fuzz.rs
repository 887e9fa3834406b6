//! Mutation fuzzing with a fixed seed: over 200,000 mangled FK1 and HC1 texts, verification
//! never panics, and it accepts a text only if it yields exactly what was signed (a mutation
//! can land in the unused padding bits of the last DEFLATE byte and change nothing).

use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ciborium::Value;
use fangkong_signed_code::{
    CodeClaims, CodeColour, CodeSigner, DscTrustList, TrustList, verify_code, verify_dcc,
};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/dcc-testdata"
);
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const NOW: i64 = 1_700_000_000;

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
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn b45_char(&mut self) -> char {
        ALPHABET[self.below(ALPHABET.len())] as char
    }
}

fn deflate(data: &[u8], zlib: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if zlib {
        let mut e = flate2::write::ZlibEncoder::new(&mut out, flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap();
    } else {
        let mut e = flate2::write::DeflateEncoder::new(&mut out, flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap();
    }
    out
}

fn random_cbor(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 3 { 5 } else { 8 }) {
        0 => Value::from(rng.next() as i64),
        1 => {
            let n = rng.below(80);
            Value::Bytes(rng.bytes(n))
        }
        2 => Value::Text("CN-13".into()),
        3 => Value::Bool(rng.below(2) == 0),
        4 => Value::Null,
        5 => Value::Array(
            (0..rng.below(5))
                .map(|_| random_cbor(rng, depth + 1))
                .collect(),
        ),
        6 => Value::Map(
            (0..rng.below(5))
                .map(|_| {
                    (
                        Value::from(rng.below(8) as i64 - 4),
                        random_cbor(rng, depth + 1),
                    )
                })
                .collect(),
        ),
        _ => Value::Tag(18, Box::new(random_cbor(rng, depth + 1))),
    }
}

/// A COSE_Sign1-shaped item with random contents, so mutations reach the later steps.
fn random_sign1(rng: &mut Rng, kid: &[u8]) -> Vec<u8> {
    let mut protected = Vec::new();
    let header = Value::Map(vec![
        (Value::from(1), Value::from([-8i64, -7, -37][rng.below(3)])),
        (Value::from(4), Value::Bytes(kid.to_vec())),
    ]);
    ciborium::ser::into_writer(&header, &mut protected).unwrap();
    let sig_len = [64, 96, 256][rng.below(3)];
    let item = Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(vec![]),
            Value::Bytes({
                let mut p = Vec::new();
                ciborium::ser::into_writer(&random_cbor(rng, 0), &mut p).unwrap();
                p
            }),
            Value::Bytes(rng.bytes(sig_len)),
        ])),
    );
    let mut out = Vec::new();
    ciborium::ser::into_writer(&item, &mut out).unwrap();
    out
}

fn mutate(rng: &mut Rng, original: &str, prefix: &str, kid: &[u8], zlib: bool) -> String {
    let mut chars: Vec<char> = original.chars().collect();
    match rng.below(9) {
        0 => {
            let i = rng.below(chars.len());
            chars[i] = rng.b45_char();
        }
        1 => {
            let i = rng.below(chars.len());
            chars[i] = char::from_u32(rng.below(0x3000) as u32).unwrap_or('?');
        }
        2 => {
            let i = rng.below(chars.len() + 1);
            chars.insert(i, rng.b45_char());
        }
        3 => {
            let i = rng.below(chars.len());
            chars.remove(i);
        }
        4 => chars.truncate(rng.below(chars.len())),
        5 => {
            let n = rng.below(300);
            return format!(
                "{prefix}{}",
                (0..n).map(|_| rng.b45_char()).collect::<String>()
            );
        }
        6 => {
            let n = rng.below(200);
            let bytes = rng.bytes(n);
            return format!("{prefix}{}", base45::encode(deflate(&bytes, zlib)));
        }
        7 => {
            let mut bytes = Vec::new();
            ciborium::ser::into_writer(&random_cbor(rng, 0), &mut bytes).unwrap();
            return format!("{prefix}{}", base45::encode(deflate(&bytes, zlib)));
        }
        _ => {
            let sign1 = random_sign1(rng, kid);
            return format!("{prefix}{}", base45::encode(deflate(&sign1, zlib)));
        }
    }
    // Several mutations at once now and then.
    if rng.below(4) == 0 {
        let i = rng.below(chars.len() + 1);
        chars.insert(i, rng.b45_char());
    }
    chars.into_iter().collect()
}

fn load_vector(file: &str) -> (DscTrustList, String, i64) {
    let path = format!("{DATA}/common/2DCode/raw/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "DCC test vector {path} missing ({e}): the repository is checked out beside `shared/`"
        )
    });
    let case: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut trust = DscTrustList::new();
    trust
        .add_certificate_base64(case["TESTCTX"]["CERTIFICATE"].as_str().unwrap())
        .unwrap();
    let now =
        chrono::DateTime::parse_from_rfc3339(case["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap())
            .unwrap()
            .timestamp();
    (trust, case["PREFIX"].as_str().unwrap().to_owned(), now)
}

#[test]
fn mutated_codes_are_refused_and_never_panic() {
    let signer = CodeSigner::from_secret("CN-13", &[42u8; 32]);
    let trust = TrustList::new(vec![signer.trusted_key()]).unwrap();
    let claims = CodeClaims {
        issuer: "CN-13".into(),
        issued_at: NOW,
        expires_at: NOW + 300,
        subject: "P3K9QW7M2XR5TZ8D".into(),
        colour: CodeColour::Red,
        popup: true,
        last_negative_sampled_at: Some(NOW - 7200),
    };
    let token = signer.sign(&claims);
    assert_eq!(verify_code(&trust, &token, NOW).as_ref(), Ok(&claims));

    // EC (CO3) and RSA-2048 (CO1) DCCs.
    let dccs = [load_vector("CO3.json"), load_vector("CO1.json")];
    let originals: Vec<_> = dccs
        .iter()
        .map(|(t, text, now)| verify_dcc(t, text, *now).expect("vector verifies"))
        .collect();

    let mut rng = Rng(0x5eed_f00d_cafe_d00d);
    let (mut total, mut accepted_same) = (0u32, 0u32);
    for round in 0..100_000u32 {
        let text = mutate(&mut rng, &token, "FK1:", &signer.kid(), false);
        let result = catch_unwind(AssertUnwindSafe(|| verify_code(&trust, &text, NOW)))
            .unwrap_or_else(|_| panic!("verify_code panicked on {text:?}"));
        if let Ok(got) = result {
            assert_eq!(got, claims, "accepted a changed code: {text:?}");
            accepted_same += 1;
        }
        total += 1;

        let (dsc, hc1, now) = &dccs[(round % 2) as usize];
        let text = mutate(&mut rng, hc1, "HC1:", &[], true);
        let result = catch_unwind(AssertUnwindSafe(|| verify_dcc(dsc, &text, *now)))
            .unwrap_or_else(|_| panic!("verify_dcc panicked on {text:?}"));
        if let Ok(got) = result {
            assert_eq!(
                got,
                originals[(round % 2) as usize],
                "accepted a changed DCC: {text:?}"
            );
            accepted_same += 1;
        }
        total += 1;
    }
    assert!(total >= 200_000);
    eprintln!(
        "{total} mutated inputs, {accepted_same} decoded to the original (unchanged text, or only DEFLATE padding bits changed)"
    );
    // Unchanged input still passes after all that.
    assert!(verify_code(&trust, &token, NOW).is_ok());
}
