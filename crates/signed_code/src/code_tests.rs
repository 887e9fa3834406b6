use super::*;

const NOW: i64 = 1_700_000_000;

fn signer() -> CodeSigner {
    CodeSigner::from_secret("CN-13", &[7u8; 32])
}

fn trust() -> TrustList {
    TrustList::new(vec![signer().trusted_key()]).unwrap()
}

fn claims() -> CodeClaims {
    CodeClaims {
        issuer: "CN-13".to_owned(),
        issued_at: NOW,
        expires_at: NOW + 180,
        subject: "K7Q2M9XR4TZPW3HD".to_owned(),
        colour: CodeColour::Yellow,
        popup: true,
        last_negative_sampled_at: Some(NOW - 86_400),
    }
}

/// Decodes a token into its COSE array parts.
fn parts(token: &str) -> Vec<Value> {
    let Some(Value::Tag(18, inner)) = cbor::decode_one(&inflate_token(token)) else {
        panic!("not tagged COSE");
    };
    let Value::Array(items) = *inner else {
        panic!("not an array")
    };
    items
}

fn reassemble(items: Vec<Value>) -> String {
    deflate_token(&cbor::encode(&Value::Tag(
        18,
        Box::new(Value::Array(items)),
    )))
}

#[test]
fn sign_then_verify_roundtrip() {
    let token = signer().sign(&claims());
    assert!(token.starts_with(CODE_PREFIX));
    assert_eq!(verify_code(&trust(), &token, NOW + 10), Ok(claims()));
    let mut green = claims();
    green.colour = CodeColour::Green;
    green.popup = false;
    green.last_negative_sampled_at = None;
    let token = signer().sign(&green);
    assert_eq!(verify_code(&trust(), &token, NOW), Ok(green));
}

#[test]
fn token_is_small_enough_for_a_small_qr() {
    let token = signer().sign(&claims());
    assert!(token.len() < 200, "{} chars: {token}", token.len());
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b" $%*+-./:".contains(&b))
    );
}

#[test]
fn tokens_stay_below_200_chars_whatever_the_key_and_time() {
    let mut longest = 0;
    for i in 0..500u32 {
        let mut secret = [0u8; 32];
        secret[..4].copy_from_slice(&i.to_le_bytes());
        let s = CodeSigner::from_secret("CN-13", &secret);
        let mut c = claims();
        c.issued_at += i64::from(i) * 7919;
        c.expires_at = c.issued_at + 300;
        c.last_negative_sampled_at = Some(c.issued_at - 3 * 86_400);
        c.colour = [CodeColour::Green, CodeColour::Yellow, CodeColour::Red][i as usize % 3];
        longest = longest.max(s.sign(&c).len());
    }
    assert!(longest < 200, "longest token {longest} chars");
}

#[test]
fn trust_list_json_roundtrip_and_checks() {
    let list = TrustList::new(vec![
        signer().trusted_key(),
        CodeSigner::from_secret("CN-11", &[9u8; 32]).trusted_key(),
    ])
    .unwrap();
    let json = list.to_json();
    assert!(json.contains(&hex::encode(signer().kid())));
    let back = TrustList::from_json(&json).unwrap();
    assert_eq!(back.keys(), list.keys());
    assert_eq!(back.get(&signer().kid()).unwrap().issuer, "CN-13");
    let token = signer().sign(&claims());
    assert!(verify_code(&back, &token, NOW).is_ok());

    let mut wrong_kid = signer().trusted_key();
    wrong_kid.kid[0] ^= 1;
    assert!(matches!(
        TrustList::new(vec![wrong_kid]),
        Err(TrustListError::KidMismatch { .. })
    ));
    let mut alg = signer().trusted_key();
    alg.alg = "ES256".into();
    assert!(matches!(
        TrustList::new(vec![alg]),
        Err(TrustListError::Algorithm { .. })
    ));
    assert!(matches!(
        TrustList::new(vec![signer().trusted_key(), signer().trusted_key()]),
        Err(TrustListError::DuplicateKid { .. })
    ));
    assert!(TrustList::from_json("{\"keys\": [{\"kid\": \"zz\"}]}").is_err());
}

#[test]
fn altered_colour_keeps_old_signature_and_is_refused() {
    let mut red = claims();
    red.colour = CodeColour::Red;
    let token = signer().sign(&red);
    let mut items = parts(&token);
    let Value::Bytes(payload) = &items[2] else {
        panic!()
    };
    let Some(Value::Map(mut map)) = cbor::decode_one(payload) else {
        panic!()
    };
    for (k, v) in &mut map {
        if cbor::int(k) == Some(CLAIM_FANGKONG) {
            let Value::Array(private) = v else { panic!() };
            private[0] = Value::from(0u8);
        }
    }
    items[2] = Value::Bytes(cbor::encode(&Value::Map(map)));
    let forged = reassemble(items);
    let err = verify_code(&trust(), &forged, NOW).unwrap_err();
    assert_eq!(err.code(), "bad_signature");
    assert!(err.words_zh().contains("篡改"));
}

#[test]
fn expired_and_not_yet_valid() {
    let token = signer().sign(&claims());
    let err = verify_code(&trust(), &token, NOW + 181).unwrap_err();
    assert_eq!(err.code(), "expired");
    let words = err.words_zh();
    assert!(
        words.contains("已过期") && words.contains("2023-11-15 06:13:20"),
        "{words}"
    );
    assert!(verify_code(&trust(), &token, NOW + 180).is_ok());
    assert!(verify_code(&trust(), &token, NOW - 300).is_ok());
    let err = verify_code(&trust(), &token, NOW - 301).unwrap_err();
    assert_eq!(err.code(), "not_yet_valid");
}

#[test]
fn unknown_kid_and_wrong_issuer() {
    let other = CodeSigner::from_secret("CN-13", &[8u8; 32]);
    let err = verify_code(&trust(), &other.sign(&claims()), NOW).unwrap_err();
    assert_eq!(err.code(), "unknown_key");
    assert!(err.words_zh().contains(&hex::encode(other.kid())));

    let mut beijing = claims();
    beijing.issuer = "CN-11".into();
    let err = verify_code(&trust(), &signer().sign(&beijing), NOW).unwrap_err();
    assert_eq!(err.code(), "wrong_issuer");
    assert!(err.words_zh().contains("CN-11") && err.words_zh().contains("CN-13"));
}

#[test]
fn malformed_layers_name_their_step() {
    let token = signer().sign(&claims());
    let t = trust();
    let code = |text: &str| verify_code(&t, text, NOW).unwrap_err().code();
    assert_eq!(code(&token[4..]), "no_prefix");
    assert_eq!(code("HC1:NCF"), "no_prefix");
    assert_eq!(code(&format!("{token}a")), "base45");
    assert_eq!(code("FK1:::::"), "base45");
    assert_eq!(code("FK1:GGW"), "base45"); // 65535 + 1
    // The COSE bytes Base45-encoded without compression.
    let raw = format!("{CODE_PREFIX}{}", base45::encode(inflate_token(&token)));
    assert_eq!(code(&raw), "compression");
    // Well-formed zlib around bytes that are not CBOR, then CBOR that is not COSE.
    assert_eq!(code(&deflate_token(&[0xff, 0x00])), "cbor");
    assert_eq!(
        code(&deflate_token(&cbor::encode(&Value::from(5)))),
        "not_cose"
    );
    let mut items = parts(&token);
    items.pop();
    assert_eq!(code(&reassemble(items)), "not_cose");
    // Untagged COSE_Sign1 is not ours.
    let untagged = deflate_token(&cbor::encode(&Value::Array(parts(&token))));
    assert_eq!(code(&untagged), "not_cose");
    // A kid moved to the unprotected header does not count.
    let mut items = parts(&token);
    items[0] = Value::Bytes(cbor::encode(&Value::Map(vec![(
        Value::from(1),
        Value::from(-8),
    )])));
    items[1] = Value::Map(vec![(
        Value::from(4),
        Value::Bytes(signer().kid().to_vec()),
    )]);
    assert_eq!(code(&reassemble(items)), "unknown_key");
    // Truncated signature.
    let mut items = parts(&token);
    items[3] = Value::Bytes(vec![0; 63]);
    assert_eq!(code(&reassemble(items)), "bad_signature");
}

#[test]
fn signed_but_malformed_claims_are_bad_claims() {
    let s = signer();
    let payload = cbor::encode(&Value::Map(vec![(
        Value::from(1),
        Value::Text("CN-13".into()),
    )]));
    let sig = s.key.sign(&cbor::sig_structure(&s.protected, &payload));
    let token = reassemble(vec![
        Value::Bytes(s.protected.clone()),
        Value::Map(vec![]),
        Value::Bytes(payload),
        Value::Bytes(sig.to_bytes().to_vec()),
    ]);
    let err = verify_code(&trust(), &token, NOW).unwrap_err();
    assert_eq!(err.code(), "bad_claims");
    assert!(err.words_zh().contains("持码人"));
}

#[test]
fn every_rejection_has_words() {
    let all = [
        CodeRejection::NoPrefix,
        CodeRejection::Base45,
        CodeRejection::Compression,
        CodeRejection::Cbor,
        CodeRejection::NotCose,
        CodeRejection::UnknownKey {
            kid: "0011223344556677".into(),
        },
        CodeRejection::BadSignature,
        CodeRejection::Expired {
            issued_at: NOW,
            expires_at: NOW + 60,
            now: NOW + 100,
        },
        CodeRejection::NotYetValid {
            issued_at: NOW,
            now: NOW - 1000,
        },
        CodeRejection::BadClaims {
            what: "缺少码色"
        },
        CodeRejection::WrongIssuer {
            signed: "CN-11".into(),
            trusted: "CN-13".into(),
        },
    ];
    let codes: std::collections::HashSet<_> = all.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), all.len());
    for r in &all {
        assert!(!r.words_zh().is_empty());
    }
    assert_eq!(CodeColour::Red.label_zh(), "红码");
    assert_eq!(CodeColour::Green.code(), "green");
}
