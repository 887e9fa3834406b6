//! Signed QR codes: fangkong's own health-code token (`FK1:`) and the EU Digital COVID
//! Certificate (`HC1:`) that travellers show at ports of entry.
//!
//! Both follow the same pipeline, one way for signing and the other way for checking:
//! claims → CBOR map (a CWT) → COSE_Sign1 → DEFLATE (zlib for `HC1:`, raw DEFLATE with a
//! preset dictionary for `FK1:`, see [`CODE_PREFIX`]) → Base45 → text prefix. Verification undoes
//! each step and checks it, so a rejection names the step that failed ([`CodeRejection::code`],
//! [`DccRejection::code`]) and says in Chinese what a checkpoint worker should do
//! ([`CodeRejection::words_zh`], [`DccRejection::words_zh`]).
//!
//! The crate is pure: no IO, no async, no database and no clock. The current time is always an
//! argument (`now_unix`, Unix seconds) and the signing secret comes from the caller.
//!
//! # Why each dependency is there
//!
//! - `ciborium`: CBOR (RFC 8949) reading and writing as a generic `Value`; the COSE_Sign1
//!   structure (RFC 9052) and the CWT claims (RFC 8392) are small enough to walk by hand, which
//!   keeps the lenient parts (kid in either header, CWT tag 61) under our control.
//! - `base45`: the QR alphanumeric encoding of RFC 9285 used by both prefixes.
//! - `flate2` (zlib-rs backend, needed for preset dictionaries): zlib / DEFLATE with a bounded
//!   inflate (zip bombs); for `FK1:` a preset dictionary holding the constant CBOR skeleton keeps
//!   the token below 200 characters.
//! - `ed25519-dalek`: Ed25519 signing and `verify_strict` for `FK1:` (EdDSA, 64-byte signatures).
//! - `p256`: ECDSA P-256/SHA-256 (COSE ES256) verification of DCC signatures.
//! - `rsa`: RSASSA-PSS/SHA-256 (COSE PS256) verification of DCC signatures (public-key
//!   operations only, so the crate's timing advisory on private-key decryption does not apply).
//! - `x509-cert`: reading the DCC signer certificates (key, validity, extended key usage).
//! - `sha2`, `hex`, `base64`: key ids (first 8 bytes of SHA-256), and their text forms in trust
//!   lists; `chrono` writes times in Beijing time for the Chinese messages.
//! - `serde`, `serde_json`, `thiserror`: trust-list JSON, the DCC payload as JSON, error types.

mod cbor;
mod code;
mod dcc;
mod pass;
mod zlib;

pub use code::{
    CODE_PREFIX, CodeClaims, CodeColour, CodeRejection, CodeSigner, FK1_DICTIONARY, TrustList,
    TrustListError, TrustedKey, verify_code,
};
pub use dcc::{
    DCC_PREFIX, DccCertificate, DccInspection, DccKind, DccRejection, DccStep, DscTrustList,
    inspect_dcc, verify_dcc,
};
pub use pass::{PASS_PREFIX, PassClaims, PassRejection, verify_pass};

/// Beijing time (UTC+8) of a Unix second, for the Chinese messages.
fn beijing(unix: i64) -> String {
    use chrono::{FixedOffset, TimeZone};
    let tz = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    match tz.timestamp_opt(unix, 0) {
        chrono::LocalResult::Single(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        _ => format!("Unix 时间 {unix}"),
    }
}

/// A validation clock in the ISO 8601 forms certificates and test vectors use, as Unix seconds:
/// `2021-06-01T10:00:00Z`, `…+00:00`, `…+0000` (with or without fractions), or no offset at all,
/// which is read as UTC. A space may stand for the `T`. `None` for anything else.
pub fn parse_clock(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() > 64 {
        return None;
    }
    let text = match text.as_bytes().get(10) {
        Some(b' ') => format!("{}T{}", &text[..10], &text[11..]),
        _ => text.to_string(),
    };
    chrono::DateTime::parse_from_rfc3339(&text)
        .or_else(|_| chrono::DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.timestamp())
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp())
        })
}

#[cfg(test)]
mod clock_tests {
    use super::parse_clock;

    #[test]
    fn the_usual_iso_8601_clocks_are_read() {
        let t = 1_622_541_600; // 2021-06-01T10:00:00Z
        for text in [
            "2021-06-01T10:00:00Z",
            "2021-06-01T10:00:00z",
            "2021-06-01T10:00:00+00:00",
            "2021-06-01T10:00:00+0000",
            "2021-06-01T10:00:00.000+0000",
            "2021-06-01T10:00:00",
            "2021-06-01 10:00:00",
            "2021-06-01T18:00:00+08:00",
            "2021-06-01T18:00:00+0800",
        ] {
            assert_eq!(parse_clock(text), Some(t), "{text}");
        }
        for text in [
            "",
            "2021-06-01",
            "yesterday",
            "2021-13-01T10:00:00Z",
            "2021-06-01T10:00:00+25:00",
        ] {
            assert_eq!(parse_clock(text), None, "{text}");
        }
    }
}
