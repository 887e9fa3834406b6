//! The electronic supply pass (电子通行证, the 2022 national 《重点物资运输车辆通行证》): `FP1:` +
//! Base45(DEFLATE(COSE_Sign1(CWT))), signed with the same Ed25519 keys and checked against the same
//! trust list as the health code (`FK1:`), so a checkpoint phone that holds the trust list checks a
//! pass from its QR alone, offline. What the QR carries is what the post must compare: the pass
//! number, the plate (for an articulated lorry the tractor's), the route as county codes (origin
//! first, destination last), the validity and the goods. Revocation needs the server (online).

use ciborium::Value;
use serde::{Deserialize, Serialize};

use crate::code::{CodeRejection, CodeSigner, FK1_DICTIONARY, TrustList, verify_cose};
use crate::{cbor, zlib};

/// The text every electronic supply pass starts with (version 1 of the format).
pub const PASS_PREFIX: &str = "FP1:";

const CLAIM_ISS: i64 = 1;
const CLAIM_SUB: i64 = 2;
const CLAIM_EXP: i64 = 4;
const CLAIM_IAT: i64 = 6;
/// The pass's private claim: `[kind, plate, [county…], valid_from, goods, people]`.
const CLAIM_PASS: i64 = -65538;
/// The longest route a pass may carry (counties), and the longest text field.
const MAX_ROUTE: usize = 16;
const MAX_TEXT: usize = 64;

/// What an electronic pass says. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassClaims {
    /// The issuing authority of the key (as the trust list names it, e.g. `CN-13`).
    pub issuer: String,
    /// The 12-digit pass number (county code + serial).
    pub number: String,
    /// `vehicle` or `staff`.
    pub kind: String,
    /// The vehicle's plate ('' on a staff pass).
    pub plate: String,
    /// County codes of the route, origin first and destination last.
    pub route: Vec<String>,
    pub valid_from: i64,
    pub valid_until: i64,
    /// The goods category's code ('' on a staff pass).
    pub goods: String,
    /// People bound to the vehicle (or 1 on a staff pass).
    pub people: u32,
    pub issued_at: i64,
}

/// Why an electronic pass is refused, in words checkpoint staff act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassRejection {
    #[error("不是通行证二维码")]
    NoPrefix,
    #[error("{0}")]
    Code(CodeRejection),
    #[error("通行证内容不完整：{what}")]
    BadClaims { what: &'static str },
    #[error("通行证尚未生效")]
    NotYetValid { valid_from: i64 },
    #[error("通行证已过期")]
    Expired { valid_until: i64 },
}

impl PassRejection {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            PassRejection::NoPrefix => "no_prefix",
            PassRejection::Code(c) => c.code(),
            PassRejection::BadClaims { .. } => "bad_claims",
            PassRejection::NotYetValid { .. } => "not_yet_valid",
            PassRejection::Expired { .. } => "expired",
        }
    }

    /// A sentence for the checkpoint worker.
    pub fn words_zh(&self) -> String {
        match self {
            PassRejection::NoPrefix => {
                "不是通行证二维码，请出示电子通行证或输入通行证编号和车牌".to_owned()
            }
            PassRejection::Code(
                CodeRejection::Base45 | CodeRejection::Compression | CodeRejection::Cbor,
            ) => "通行证二维码损坏或不完整，请重新扫描或输入通行证编号".to_owned(),
            PassRejection::Code(CodeRejection::UnknownKey { kid }) => format!(
                "通行证签发密钥未知（kid {kid}）：可能是伪造的通行证，不能放行，请核实后上报"
            ),
            PassRejection::Code(CodeRejection::WrongIssuer { .. })
            | PassRejection::Code(CodeRejection::BadSignature)
            | PassRejection::Code(CodeRejection::NotCose) => {
                "通行证签名不符：二维码被篡改或伪造，不能放行，请核实车辆和司机证件并上报"
                    .to_owned()
            }
            PassRejection::Code(other) => format!("通行证无效：{other}"),
            PassRejection::BadClaims { what } => {
                format!("通行证内容不完整（{what}），不能放行")
            }
            PassRejection::NotYetValid { valid_from } => format!(
                "通行证尚未生效（自 {} 起有效），不能放行",
                crate::beijing(*valid_from)
            ),
            PassRejection::Expired { valid_until } => format!(
                "通行证已过期（有效期至 {}），不能放行，请到县指挥部重新申领",
                crate::beijing(*valid_until)
            ),
        }
    }
}

impl CodeSigner {
    /// The electronic pass text (`FP1:…`).
    pub fn sign_pass(&self, claims: &PassClaims) -> String {
        let private = Value::Array(vec![
            Value::Text(claims.kind.clone()),
            Value::Text(claims.plate.clone()),
            Value::Array(claims.route.iter().cloned().map(Value::Text).collect()),
            Value::from(claims.valid_from),
            Value::Text(claims.goods.clone()),
            Value::from(claims.people),
        ]);
        let payload = cbor::encode(&Value::Map(vec![
            (Value::from(CLAIM_ISS), Value::Text(claims.issuer.clone())),
            (Value::from(CLAIM_SUB), Value::Text(claims.number.clone())),
            (Value::from(CLAIM_IAT), Value::from(claims.issued_at)),
            (Value::from(CLAIM_EXP), Value::from(claims.valid_until)),
            (Value::from(CLAIM_PASS), private),
        ]));
        let cose = self.sign_cose(payload);
        let compressed = zlib::deflate(&cose, Some(FK1_DICTIONARY), false);
        let mut text = String::with_capacity(PASS_PREFIX.len() + compressed.len() * 3 / 2 + 2);
        text.push_str(PASS_PREFIX);
        text.push_str(&base45::encode(compressed));
        text
    }
}

/// Checks a scanned pass: format, signature against the trust list, issuer, and validity at
/// `now_unix`. Plate and route are the caller's (they need the vehicle and the checkpoint).
pub fn verify_pass(
    trust: &TrustList,
    text: &str,
    now_unix: i64,
) -> Result<PassClaims, PassRejection> {
    let body = text
        .trim()
        .strip_prefix(PASS_PREFIX)
        .ok_or(PassRejection::NoPrefix)?;
    if body.len() > 2_000 {
        return Err(PassRejection::Code(CodeRejection::Base45));
    }
    let compressed =
        base45::decode(body).map_err(|_| PassRejection::Code(CodeRejection::Base45))?;
    let cose = zlib::inflate(&compressed, Some(FK1_DICTIONARY), false)
        .map_err(|_| PassRejection::Code(CodeRejection::Compression))?;
    let (payload, trusted_issuer) = verify_cose(trust, &cose).map_err(PassRejection::Code)?;
    let claims = parse_claims(&payload)?;
    if claims.issuer != trusted_issuer {
        return Err(PassRejection::Code(CodeRejection::WrongIssuer {
            signed: claims.issuer,
            trusted: trusted_issuer,
        }));
    }
    if now_unix < claims.valid_from {
        return Err(PassRejection::NotYetValid {
            valid_from: claims.valid_from,
        });
    }
    if now_unix > claims.valid_until {
        return Err(PassRejection::Expired {
            valid_until: claims.valid_until,
        });
    }
    Ok(claims)
}

fn parse_claims(payload: &[u8]) -> Result<PassClaims, PassRejection> {
    let bad = |what| PassRejection::BadClaims { what };
    let Some(Value::Map(map)) = cbor::decode_one(payload) else {
        return Err(bad("载荷不是 CWT"));
    };
    let text = |key, what| match cbor::map_get(&map, key) {
        Some(Value::Text(s)) if s.len() <= MAX_TEXT => Ok(s.clone()),
        _ => Err(bad(what)),
    };
    let issuer = text(CLAIM_ISS, "缺少签发机构")?;
    let number = text(CLAIM_SUB, "缺少通行证编号")?;
    let issued_at = cbor::map_get(&map, CLAIM_IAT)
        .and_then(cbor::int)
        .ok_or(bad("缺少签发时间"))?;
    let valid_until = cbor::map_get(&map, CLAIM_EXP)
        .and_then(cbor::int)
        .ok_or(bad("缺少有效期"))?;
    let Some(Value::Array(private)) = cbor::map_get(&map, CLAIM_PASS) else {
        return Err(bad("缺少车辆和线路"));
    };
    let [
        Value::Text(kind),
        Value::Text(plate),
        Value::Array(route),
        valid_from,
        Value::Text(goods),
        people,
    ] = private.as_slice()
    else {
        return Err(bad("车辆和线路字段格式错误"));
    };
    if route.is_empty() || route.len() > MAX_ROUTE {
        return Err(bad("线路无效"));
    }
    let route = route
        .iter()
        .map(|v| match v {
            Value::Text(s) if s.len() <= 12 => Ok(s.clone()),
            _ => Err(bad("线路无效")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let valid_from = cbor::int(valid_from).ok_or(bad("缺少生效时间"))?;
    if valid_until < valid_from {
        return Err(bad("有效期早于生效时间"));
    }
    let people = cbor::int(people)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(bad("随车人数无效"))?;
    Ok(PassClaims {
        issuer,
        number,
        kind: kind.clone(),
        plate: plate.clone(),
        route,
        valid_from,
        valid_until,
        goods: goods.clone(),
        people,
        issued_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn signer() -> CodeSigner {
        CodeSigner::from_secret("CN-13", &[7u8; 32])
    }

    fn trust() -> TrustList {
        TrustList::new(vec![signer().trusted_key()]).unwrap()
    }

    fn claims() -> PassClaims {
        PassClaims {
            issuer: "CN-13".into(),
            number: "130109000007".into(),
            kind: "vehicle".into(),
            plate: "冀A12345".into(),
            route: vec!["130109".into(), "131002".into(), "110115".into()],
            valid_from: NOW - 3_600,
            valid_until: NOW + 7 * 86_400,
            goods: "living".into(),
            people: 2,
            issued_at: NOW - 3_600,
        }
    }

    #[test]
    fn a_signed_pass_verifies_offline_with_the_trust_list_alone() {
        let text = signer().sign_pass(&claims());
        assert!(text.starts_with(PASS_PREFIX));
        assert!(text.len() < 400, "{} characters", text.len());
        assert_eq!(verify_pass(&trust(), &text, NOW), Ok(claims()));
    }

    #[test]
    fn expired_not_yet_valid_forged_and_foreign_passes_are_refused() {
        let text = signer().sign_pass(&claims());
        let late = verify_pass(&trust(), &text, NOW + 8 * 86_400).unwrap_err();
        assert_eq!(late.code(), "expired");
        assert!(late.words_zh().contains("已过期"));
        let early = verify_pass(&trust(), &text, NOW - 7_200).unwrap_err();
        assert_eq!(early.code(), "not_yet_valid");
        // A stranger's key: unknown to the trust list.
        let forger = CodeSigner::from_secret("CN-13", &[9u8; 32]);
        let forged = verify_pass(&trust(), &forger.sign_pass(&claims()), NOW).unwrap_err();
        assert_eq!(forged.code(), "unknown_key");
        assert!(forged.words_zh().contains("伪造"));
        // One character changed inside the Base45 body.
        let mut chars: Vec<char> = text.chars().collect();
        let i = chars.len() / 2;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(verify_pass(&trust(), &tampered, NOW).is_err());
        // A health code is not a pass.
        assert_eq!(
            verify_pass(&trust(), "FK1:ABC", NOW).unwrap_err().code(),
            "no_prefix"
        );
    }
}
