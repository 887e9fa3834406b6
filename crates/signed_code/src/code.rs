//! fangkong's own health-code token: `FK1:` + Base45(DEFLATE(COSE_Sign1(CWT))), signed with
//! Ed25519.
//!
//! The compression is raw DEFLATE (RFC 1951, zlib's algorithm without its 2-byte header, 4-byte
//! dictionary id and 4-byte Adler-32) with a preset dictionary. A token is dominated by the
//! 64-byte signature and 8-byte kid, which do not compress: plain zlib makes it *longer* (about
//! 220 characters), zlib with the dictionary about 200; raw DEFLATE with the dictionary keeps it
//! near 180. The wrapper's checksum is not needed: the signature covers every byte.

use std::collections::HashMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use ciborium::Value;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cbor::{self, Sign1Error};
use crate::zlib;

/// The text every fangkong health-code token starts with (version 1 of the format).
pub const CODE_PREFIX: &str = "FK1:";

/// COSE algorithm id of EdDSA.
const ALG_EDDSA: i64 = -8;
/// CWT claim keys (RFC 8392).
const CLAIM_ISS: i64 = 1;
const CLAIM_SUB: i64 = 2;
const CLAIM_EXP: i64 = 4;
const CLAIM_IAT: i64 = 6;
/// fangkong's private claim (CWT private-use range, below -65536):
/// `[colour: uint, popup: bool, last_negative_sampled_at: int / null]`.
const CLAIM_FANGKONG: i64 = -65537;
/// How far in the future `iat` may lie (clock drift between issuer and checkpoint phone).
const MAX_CLOCK_SKEW: i64 = 5 * 60;

/// The DEFLATE preset dictionary of `FK1:`: the constant CBOR skeleton of a token in the order it
/// is written (tag 18, header {alg: EdDSA, kid: h'…'}, the claim keys, the private claim). With it
/// DEFLATE shrinks a token instead of growing it (the signature and key id do not compress).
/// Changing it changes the format: it belongs to the `FK1:` prefix (the web crate's offline
/// checkpoint page hands the same bytes to the browser).
pub const FK1_DICTIONARY: &[u8] = &[
    0x3a, 0x00, 0x01, 0x00, 0x00, 0x83, 0x00, 0xf4, 0xf6, // -65537: [0, false, null]
    0x3a, 0x00, 0x01, 0x00, 0x00, 0x83, 0x01, 0xf5, 0x1a, // -65537: [1, true, u32]
    0xd2, 0x84, 0x4d, 0xa2, 0x01, 0x27, 0x04, 0x48, // 18([h'{1: -8, 4: h'…8…'
    0xa0, 0x58, 0x3b, // {}, payload bstr of 59 (a 16-character subject)
    0xa5, 0x01, 0x65, b'C', b'N', b'-', b'1', b'3', 0x02, 0x70, // {1: "CN-13", 2: text of 16
    0x06, 0x1a, 0x04, 0x1a, // 6: u32, 4: u32
    0x58, 0x40, // signature bstr of 64
];

/// Health-code colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeColour {
    Green,
    Yellow,
    Red,
}

impl CodeColour {
    /// Stable code for APIs: `green`, `yellow`, `red`.
    pub fn code(self) -> &'static str {
        match self {
            CodeColour::Green => "green",
            CodeColour::Yellow => "yellow",
            CodeColour::Red => "red",
        }
    }

    /// 绿码 / 黄码 / 红码.
    pub fn label_zh(self) -> &'static str {
        match self {
            CodeColour::Green => "绿码",
            CodeColour::Yellow => "黄码",
            CodeColour::Red => "红码",
        }
    }

    /// The number written in the token: 0 green, 1 yellow, 2 red.
    pub fn number(self) -> u8 {
        match self {
            CodeColour::Green => 0,
            CodeColour::Yellow => 1,
            CodeColour::Red => 2,
        }
    }

    pub fn from_number(n: i64) -> Option<Self> {
        match n {
            0 => Some(CodeColour::Green),
            1 => Some(CodeColour::Yellow),
            2 => Some(CodeColour::Red),
            _ => None,
        }
    }
}

/// What a health-code token says. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeClaims {
    /// CWT `iss` (1): the issuing authority, e.g. `CN-13` (Hebei). Must equal the issuer the
    /// trust list gives the signing key.
    pub issuer: String,
    /// CWT `iat` (6).
    pub issued_at: i64,
    /// CWT `exp` (4): a few minutes after `issued_at`.
    pub expires_at: i64,
    /// CWT `sub` (2): a pseudonymous subject, never the ID number. Keep it short (≤ 16 ASCII
    /// characters keeps the token below 200 characters).
    pub subject: String,
    pub colour: CodeColour,
    /// 弹窗: the checkpoint must stop the holder and look closer.
    pub popup: bool,
    /// Unix seconds of the last negative PCR sampling, if any.
    pub last_negative_sampled_at: Option<i64>,
}

/// A key the checkpoints trust. In JSON: `kid` as hex, `public_key` as standard Base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    #[serde(with = "hex_kid")]
    pub kid: [u8; 8],
    pub issuer: String,
    /// Always `EdDSA`.
    pub alg: String,
    #[serde(with = "base64_key")]
    pub public_key: [u8; 32],
}

/// The first 8 bytes of SHA-256 of an Ed25519 public key.
fn kid_of(public_key: &[u8; 32]) -> [u8; 8] {
    let digest = Sha256::digest(public_key);
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

/// Signs health codes for one issuer.
pub struct CodeSigner {
    key: SigningKey,
    kid: [u8; 8],
    issuer: String,
    protected: Vec<u8>,
}

impl fmt::Debug for CodeSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeSigner")
            .field("issuer", &self.issuer)
            .field("kid", &hex::encode(self.kid))
            .finish_non_exhaustive()
    }
}

impl CodeSigner {
    /// The signer of `issuer` whose Ed25519 secret key is `secret32` (from the installation's
    /// key store; this crate never makes randomness).
    pub fn from_secret(issuer: &str, secret32: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(secret32);
        let kid = kid_of(key.verifying_key().as_bytes());
        let protected = cbor::encode(&Value::Map(vec![
            (Value::from(1), Value::from(ALG_EDDSA)),
            (Value::from(4), Value::Bytes(kid.to_vec())),
        ]));
        CodeSigner {
            key,
            kid,
            issuer: issuer.to_owned(),
            protected,
        }
    }

    /// First 8 bytes of SHA-256 of the public key.
    pub fn kid(&self) -> [u8; 8] {
        self.kid
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The trust-list entry for this signer.
    pub fn trusted_key(&self) -> TrustedKey {
        TrustedKey {
            kid: self.kid,
            issuer: self.issuer.clone(),
            alg: "EdDSA".to_owned(),
            public_key: self.key.verifying_key().to_bytes(),
        }
    }

    /// The token text (`FK1:…`). The claims are written as given: a token whose issuer is not
    /// the signer's is refused by [`verify_code`] (`wrong_issuer`).
    pub fn sign(&self, claims: &CodeClaims) -> String {
        let private = Value::Array(vec![
            Value::from(claims.colour.number()),
            Value::Bool(claims.popup),
            claims
                .last_negative_sampled_at
                .map_or(Value::Null, Value::from),
        ]);
        let payload = cbor::encode(&Value::Map(vec![
            (Value::from(CLAIM_ISS), Value::Text(claims.issuer.clone())),
            (Value::from(CLAIM_SUB), Value::Text(claims.subject.clone())),
            (Value::from(CLAIM_IAT), Value::from(claims.issued_at)),
            (Value::from(CLAIM_EXP), Value::from(claims.expires_at)),
            (Value::from(CLAIM_FANGKONG), private),
        ]));
        let signature = self
            .key
            .sign(&cbor::sig_structure(&self.protected, &payload));
        let cose = Value::Tag(
            18,
            Box::new(Value::Array(vec![
                Value::Bytes(self.protected.clone()),
                Value::Map(vec![]),
                Value::Bytes(payload),
                Value::Bytes(signature.to_bytes().to_vec()),
            ])),
        );
        let compressed = zlib::deflate(&cbor::encode(&cose), Some(FK1_DICTIONARY), false);
        let mut text = String::with_capacity(CODE_PREFIX.len() + compressed.len() * 3 / 2 + 2);
        text.push_str(CODE_PREFIX);
        text.push_str(&base45::encode(compressed));
        text
    }
}

impl CodeSigner {
    /// A COSE_Sign1 (tag 18) over `payload` with this signer's protected header, as CBOR bytes:
    /// the envelope other signed tokens of the same key (the supply pass `FP1:`) share.
    pub(crate) fn sign_cose(&self, payload: Vec<u8>) -> Vec<u8> {
        let signature = self
            .key
            .sign(&cbor::sig_structure(&self.protected, &payload));
        cbor::encode(&Value::Tag(
            18,
            Box::new(Value::Array(vec![
                Value::Bytes(self.protected.clone()),
                Value::Map(vec![]),
                Value::Bytes(payload),
                Value::Bytes(signature.to_bytes().to_vec()),
            ])),
        ))
    }
}

/// Checks a COSE_Sign1's signature against the trust list: the payload and the issuer the trust
/// list gives its key (the caller compares it with the issuer the payload names).
pub(crate) fn verify_cose(
    trust: &TrustList,
    cose: &[u8],
) -> Result<(Vec<u8>, String), CodeRejection> {
    let value = cbor::decode_one(cose).ok_or(CodeRejection::Cbor)?;
    let sign1 = cbor::parse_sign1(value, false).map_err(|e| match e {
        Sign1Error::Structure | Sign1Error::NotSign1 => CodeRejection::NotCose,
    })?;
    let kid = sign1.protected.kid.as_deref().unwrap_or_default();
    let loaded = <[u8; 8]>::try_from(kid)
        .ok()
        .and_then(|kid| trust.index.get(&kid))
        .ok_or_else(|| CodeRejection::UnknownKey {
            kid: hex::encode(kid),
        })?;
    if sign1.protected.alg != Some(ALG_EDDSA) {
        return Err(CodeRejection::BadSignature);
    }
    let signature =
        Signature::from_slice(&sign1.signature).map_err(|_| CodeRejection::BadSignature)?;
    loaded
        .key
        .verify_strict(
            &cbor::sig_structure(&sign1.protected_bytes, &sign1.payload),
            &signature,
        )
        .map_err(|_| CodeRejection::BadSignature)?;
    Ok((sign1.payload, loaded.issuer.clone()))
}

/// A trust-list entry ready for checking: the point is decompressed once, at load.
#[derive(Debug, Clone)]
struct LoadedKey {
    issuer: String,
    key: VerifyingKey,
}

/// The keys checkpoints trust, indexed by kid. JSON: `{"keys": [TrustedKey, …]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "TrustListJson", into = "TrustListJson")]
pub struct TrustList {
    keys: Vec<TrustedKey>,
    index: HashMap<[u8; 8], LoadedKey>,
}

#[derive(Serialize, Deserialize)]
struct TrustListJson {
    keys: Vec<TrustedKey>,
}

impl TryFrom<TrustListJson> for TrustList {
    type Error = TrustListError;
    fn try_from(json: TrustListJson) -> Result<Self, Self::Error> {
        TrustList::new(json.keys)
    }
}

impl From<TrustList> for TrustListJson {
    fn from(list: TrustList) -> Self {
        TrustListJson { keys: list.keys }
    }
}

/// A trust list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustListError {
    #[error("信任列表格式错误：{0}")]
    Json(String),
    #[error("信任列表中的密钥 {kid} 算法为 {alg}，只支持 EdDSA")]
    Algorithm { kid: String, alg: String },
    #[error("信任列表中的密钥 {kid} 不是有效的 Ed25519 公钥")]
    BadKey { kid: String },
    #[error("信任列表中的密钥标识 {kid} 与公钥不符（应为公钥 SHA-256 的前 8 字节）")]
    KidMismatch { kid: String },
    #[error("信任列表中密钥标识 {kid} 重复")]
    DuplicateKid { kid: String },
}

impl TrustList {
    /// Checks every key (algorithm, a valid Ed25519 point, kid = SHA-256 prefix, no duplicate).
    pub fn new(keys: Vec<TrustedKey>) -> Result<Self, TrustListError> {
        let mut index = HashMap::with_capacity(keys.len());
        for k in &keys {
            let kid = hex::encode(k.kid);
            if k.alg != "EdDSA" {
                return Err(TrustListError::Algorithm {
                    kid,
                    alg: k.alg.clone(),
                });
            }
            let key = VerifyingKey::from_bytes(&k.public_key)
                .map_err(|_| TrustListError::BadKey { kid: kid.clone() })?;
            if key.is_weak() {
                return Err(TrustListError::BadKey { kid });
            }
            if kid_of(&k.public_key) != k.kid {
                return Err(TrustListError::KidMismatch { kid });
            }
            let loaded = LoadedKey {
                issuer: k.issuer.clone(),
                key,
            };
            if index.insert(k.kid, loaded).is_some() {
                return Err(TrustListError::DuplicateKid { kid });
            }
        }
        Ok(TrustList { keys, index })
    }

    pub fn from_json(json: &str) -> Result<Self, TrustListError> {
        serde_json::from_str(json).map_err(|e| TrustListError::Json(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a trust list always serialises")
    }

    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    pub fn get(&self, kid: &[u8; 8]) -> Option<&TrustedKey> {
        self.index
            .contains_key(kid)
            .then(|| self.keys.iter().find(|k| &k.kid == kid))
            .flatten()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Why a health-code token is refused. [`CodeRejection::code`] is stable for APIs and logs;
/// [`CodeRejection::words_zh`] is what the checkpoint worker reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeRejection {
    #[error("不是健康码二维码（缺少 FK1: 前缀）")]
    NoPrefix,
    #[error("二维码内容损坏（Base45 解码失败）")]
    Base45,
    #[error("二维码内容损坏（解压失败）")]
    Compression,
    #[error("二维码内容损坏（CBOR 解析失败）")]
    Cbor,
    #[error("二维码结构不是签名数据（COSE_Sign1）")]
    NotCose,
    #[error("签发机构密钥未知（kid {kid}）")]
    UnknownKey { kid: String },
    #[error("签名不符")]
    BadSignature,
    #[error("二维码已过期")]
    Expired {
        issued_at: i64,
        expires_at: i64,
        now: i64,
    },
    #[error("二维码生成时间晚于当前时间")]
    NotYetValid { issued_at: i64, now: i64 },
    #[error("健康码内容不完整：{what}")]
    BadClaims { what: &'static str },
    #[error("签发机构不符：二维码写 {signed}，密钥属于 {trusted}")]
    WrongIssuer { signed: String, trusted: String },
}

impl CodeRejection {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            CodeRejection::NoPrefix => "no_prefix",
            CodeRejection::Base45 => "base45",
            CodeRejection::Compression => "compression",
            CodeRejection::Cbor => "cbor",
            CodeRejection::NotCose => "not_cose",
            CodeRejection::UnknownKey { .. } => "unknown_key",
            CodeRejection::BadSignature => "bad_signature",
            CodeRejection::Expired { .. } => "expired",
            CodeRejection::NotYetValid { .. } => "not_yet_valid",
            CodeRejection::BadClaims { .. } => "bad_claims",
            CodeRejection::WrongIssuer { .. } => "wrong_issuer",
        }
    }

    /// A sentence for the checkpoint worker, with the time or key involved.
    pub fn words_zh(&self) -> String {
        match self {
            CodeRejection::NoPrefix => {
                "不是健康码二维码，请让对方打开健康码页面重新出示".to_owned()
            }
            CodeRejection::Base45 | CodeRejection::Compression | CodeRejection::Cbor => {
                "二维码内容损坏或不完整，请让对方刷新健康码后重新扫描".to_owned()
            }
            CodeRejection::NotCose => {
                "不是有效的健康码：二维码中没有签名数据，请让对方出示本系统的健康码".to_owned()
            }
            CodeRejection::UnknownKey { kid } => format!(
                "签发机构密钥未知（kid {kid}），不在信任列表中：可能是伪造的健康码，或本机信任列表未更新"
            ),
            CodeRejection::BadSignature => {
                "签名不符：二维码被篡改或伪造，不能放行，请核验身份证件并上报".to_owned()
            }
            CodeRejection::Expired {
                issued_at,
                expires_at,
                ..
            } => format!(
                "二维码已过期（生成于 {}，有效期至 {}），请让对方刷新健康码",
                crate::beijing(*issued_at),
                crate::beijing(*expires_at)
            ),
            CodeRejection::NotYetValid { issued_at, now } => format!(
                "二维码生成时间（{}）晚于本机时间（{}）：请检查本机时间是否准确，或让对方刷新健康码",
                crate::beijing(*issued_at),
                crate::beijing(*now)
            ),
            CodeRejection::BadClaims { what } => {
                format!("健康码内容不完整（{what}），请让对方刷新健康码")
            }
            CodeRejection::WrongIssuer { signed, trusted } => format!(
                "签发机构不符：二维码写明由 {signed} 签发，但所用密钥属于 {trusted}，可能是伪造的健康码"
            ),
        }
    }
}

/// Checks a scanned text and returns its claims; every step of the pipeline is checked.
pub fn verify_code(
    trust: &TrustList,
    text: &str,
    now_unix: i64,
) -> Result<CodeClaims, CodeRejection> {
    let body = text
        .strip_prefix(CODE_PREFIX)
        .ok_or(CodeRejection::NoPrefix)?;
    let compressed = base45::decode(body).map_err(|_| CodeRejection::Base45)?;
    let cose = zlib::inflate(&compressed, Some(FK1_DICTIONARY), false)
        .map_err(|_| CodeRejection::Compression)?;
    let value = cbor::decode_one(&cose).ok_or(CodeRejection::Cbor)?;
    let sign1 = cbor::parse_sign1(value, false).map_err(|e| match e {
        Sign1Error::Structure | Sign1Error::NotSign1 => CodeRejection::NotCose,
    })?;
    // Only the protected (signed) header counts: an unprotected kid or alg could be swapped.
    let kid = sign1.protected.kid.as_deref().unwrap_or_default();
    let loaded = <[u8; 8]>::try_from(kid)
        .ok()
        .and_then(|kid| trust.index.get(&kid))
        .ok_or_else(|| CodeRejection::UnknownKey {
            kid: hex::encode(kid),
        })?;
    if sign1.protected.alg != Some(ALG_EDDSA) {
        return Err(CodeRejection::BadSignature);
    }
    let signature =
        Signature::from_slice(&sign1.signature).map_err(|_| CodeRejection::BadSignature)?;
    loaded
        .key
        .verify_strict(
            &cbor::sig_structure(&sign1.protected_bytes, &sign1.payload),
            &signature,
        )
        .map_err(|_| CodeRejection::BadSignature)?;

    let claims = parse_claims(&sign1.payload)?;
    if claims.issuer != loaded.issuer {
        return Err(CodeRejection::WrongIssuer {
            signed: claims.issuer,
            trusted: loaded.issuer.clone(),
        });
    }
    if claims.expires_at < now_unix {
        return Err(CodeRejection::Expired {
            issued_at: claims.issued_at,
            expires_at: claims.expires_at,
            now: now_unix,
        });
    }
    if claims.issued_at > now_unix.saturating_add(MAX_CLOCK_SKEW) {
        return Err(CodeRejection::NotYetValid {
            issued_at: claims.issued_at,
            now: now_unix,
        });
    }
    Ok(claims)
}

fn parse_claims(payload: &[u8]) -> Result<CodeClaims, CodeRejection> {
    let bad = |what| CodeRejection::BadClaims { what };
    let Some(Value::Map(map)) = cbor::decode_one(payload) else {
        return Err(bad("载荷不是 CWT"));
    };
    let text = |key, what| match cbor::map_get(&map, key) {
        Some(Value::Text(s)) => Ok(s.clone()),
        _ => Err(bad(what)),
    };
    let issuer = text(CLAIM_ISS, "缺少签发机构")?;
    let subject = text(CLAIM_SUB, "缺少持码人标识")?;
    let issued_at = cbor::map_get(&map, CLAIM_IAT)
        .and_then(cbor::int)
        .ok_or(bad("缺少生成时间"))?;
    let expires_at = cbor::map_get(&map, CLAIM_EXP)
        .and_then(cbor::int)
        .ok_or(bad("缺少有效期"))?;
    if expires_at < issued_at {
        return Err(bad("有效期早于生成时间"));
    }
    let Some(Value::Array(private)) = cbor::map_get(&map, CLAIM_FANGKONG) else {
        return Err(bad("缺少码色"));
    };
    let [colour, popup, last_negative] = private.as_slice() else {
        return Err(bad("码色字段格式错误"));
    };
    let colour = cbor::int(colour)
        .and_then(CodeColour::from_number)
        .ok_or(bad("码色无效"))?;
    let Value::Bool(popup) = *popup else {
        return Err(bad("弹窗标记无效"));
    };
    let last_negative_sampled_at = match last_negative {
        Value::Null => None,
        v => Some(cbor::int(v).ok_or(bad("核酸采样时间无效"))?),
    };
    Ok(CodeClaims {
        issuer,
        issued_at,
        expires_at,
        subject,
        colour,
        popup,
        last_negative_sampled_at,
    })
}

mod hex_kid {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(kid: &[u8; 8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(kid))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 8], D::Error> {
        let text = String::deserialize(d)?;
        let mut kid = [0u8; 8];
        hex::decode_to_slice(&text, &mut kid)
            .map_err(|_| D::Error::custom("kid must be 16 hex digits"))?;
        Ok(kid)
    }
}

mod base64_key {
    use super::BASE64;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(key: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(key))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = BASE64
            .decode(text.as_bytes())
            .map_err(|_| D::Error::custom("public_key must be Base64"))?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| D::Error::custom("public_key must be 32 bytes"))
    }
}

/// Re-exported for the tests of this crate: the token's CBOR before compression.
#[cfg(test)]
pub(crate) fn inflate_token(text: &str) -> Vec<u8> {
    let body = text.strip_prefix(CODE_PREFIX).unwrap();
    zlib::inflate(&base45::decode(body).unwrap(), Some(FK1_DICTIONARY), false).unwrap()
}

#[cfg(test)]
pub(crate) fn deflate_token(cose: &[u8]) -> String {
    format!(
        "{CODE_PREFIX}{}",
        base45::encode(zlib::deflate(cose, Some(FK1_DICTIONARY), false))
    )
}

#[cfg(test)]
#[path = "code_tests.rs"]
mod tests;
