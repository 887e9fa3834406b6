//! EU Digital COVID Certificate (`HC1:`) verification for ports of entry.
//!
//! `HC1:` + Base45(zlib(COSE_Sign1(CWT {1: iss, 4: exp, 6: iat, -260: {1: DCC}}))), signed ES256
//! or PS256 by a Document Signer Certificate (DSC) whose kid is the first 8 bytes of SHA-256 of
//! the certificate's DER.
//!
//! Longer than 800 lines: the EU DCC verifier with its schema rules kept in one file, next to the
//! vectors' test that exercises all of it.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ciborium::Value;
use p256::ecdsa::signature::Verifier as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::ExtendedKeyUsage;

use crate::cbor::{self, Sign1Error};
use crate::zlib;

/// The text every DCC QR starts with.
pub const DCC_PREFIX: &str = "HC1:";

const ALG_ES256: i64 = -7;
const ALG_PS256: i64 = -37;
const CLAIM_ISS: i64 = 1;
const CLAIM_EXP: i64 = 4;
const CLAIM_IAT: i64 = 6;
const CLAIM_HCERT: i64 = -260;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// The DCC extended key usages (eHealth Network, "may sign" test / vaccination / recovery),
/// with the variant that has the stray `.0` some early certificates carry.
const DCC_USAGES: [(&str, DccKind); 6] = [
    ("1.3.6.1.4.1.1847.2021.1.1", DccKind::Test),
    ("1.3.6.1.4.1.1847.2021.1.2", DccKind::Vaccination),
    ("1.3.6.1.4.1.1847.2021.1.3", DccKind::Recovery),
    ("1.3.6.1.4.1.0.1847.2021.1.1", DccKind::Test),
    ("1.3.6.1.4.1.0.1847.2021.1.2", DccKind::Vaccination),
    ("1.3.6.1.4.1.0.1847.2021.1.3", DccKind::Recovery),
];

/// What a DCC certifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DccKind {
    Vaccination,
    Test,
    Recovery,
}

impl DccKind {
    pub fn code(self) -> &'static str {
        match self {
            DccKind::Vaccination => "vaccination",
            DccKind::Test => "test",
            DccKind::Recovery => "recovery",
        }
    }

    /// 疫苗接种 / 核酸检测 / 康复.
    pub fn label_zh(self) -> &'static str {
        match self {
            DccKind::Vaccination => "疫苗接种",
            DccKind::Test => "核酸检测",
            DccKind::Recovery => "康复",
        }
    }

    /// The member of the DCC payload that holds this kind: `v`, `t` or `r`.
    fn member(self) -> &'static str {
        match self {
            DccKind::Vaccination => "v",
            DccKind::Test => "t",
            DccKind::Recovery => "r",
        }
    }
}

/// A verified DCC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DccCertificate {
    /// CWT `iss` (the issuing country), or the entry's `co` when `iss` is absent.
    pub issuer_country: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub kind: DccKind,
    /// `nam.fn`, or `nam.fnt` when the former is absent.
    pub family_name: String,
    /// `nam.gn`, or `nam.gnt`, or empty.
    pub given_name: String,
    pub date_of_birth: String,
    /// The hcert claim (-260 → 1) as JSON.
    pub payload: serde_json::Value,
}

/// The public key of a DSC.
#[derive(Clone)]
enum DscKey {
    Ec(p256::ecdsa::VerifyingKey),
    /// A P-384 key signing "ES256" (ECDSA over SHA-256), as Spain's test DSCs do.
    Ec384(p384::ecdsa::VerifyingKey),
    Rsa(rsa::pss::VerifyingKey<Sha256>),
}

#[derive(Clone)]
struct Dsc {
    kid: [u8; 8],
    key: DscKey,
    not_before: i64,
    not_after: i64,
    /// The DCC kinds the certificate's extended key usage allows; `None` when it names none of
    /// the DCC usages (then it may sign every kind).
    allowed: Option<Vec<DccKind>>,
}

/// The Document Signer Certificates a port of entry trusts, indexed by kid.
#[derive(Clone, Default)]
pub struct DscTrustList {
    certs: Vec<Dsc>,
    by_kid: HashMap<[u8; 8], Vec<usize>>,
}

impl fmt::Debug for DscTrustList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.certs.iter().map(|c| hex::encode(c.kid)))
            .finish()
    }
}

impl DscTrustList {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// Adds an X.509 DSC (DER). Keys must be EC P-256 or RSA; the kid is the first 8 bytes of
    /// SHA-256 of the DER.
    pub fn add_certificate_der(&mut self, der: &[u8]) -> Result<(), DccRejection> {
        let bad = |detail: &str| DccRejection::BadCertificate {
            detail: detail.to_owned(),
        };
        let cert = Certificate::from_der(der).map_err(|e| bad(&format!("X.509 解析失败：{e}")))?;
        let tbs = &cert.tbs_certificate;
        let spki = &tbs.subject_public_key_info;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("公钥位串不完整"))?;
        let key = match spki.algorithm.oid {
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                match curve {
                    Some(OID_P256) => DscKey::Ec(
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                            .map_err(|_| bad("P-256 公钥无效"))?,
                    ),
                    Some(OID_P384) => DscKey::Ec384(
                        p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                            .map_err(|_| bad("P-384 公钥无效"))?,
                    ),
                    _ => return Err(bad("椭圆曲线不是 P-256 或 P-384")),
                }
            }
            OID_RSA | OID_RSA_PSS => {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                let key = rsa::RsaPublicKey::from_pkcs1_der(key_bytes)
                    .map_err(|_| bad("RSA 公钥无效"))?;
                DscKey::Rsa(rsa::pss::VerifyingKey::new(key))
            }
            other => return Err(bad(&format!("不支持的公钥算法 {other}"))),
        };
        let mut allowed: Option<Vec<DccKind>> = None;
        for ext in tbs.extensions.iter().flatten() {
            if ext.extn_id != OID_EXT_KEY_USAGE {
                continue;
            }
            let usage = ExtendedKeyUsage::from_der(ext.extn_value.as_bytes())
                .map_err(|_| bad("扩展密钥用途无法解析"))?;
            for oid in &usage.0 {
                let oid = oid.to_string();
                if let Some((_, kind)) = DCC_USAGES.iter().find(|(o, _)| *o == oid) {
                    let kinds = allowed.get_or_insert_with(Vec::new);
                    if !kinds.contains(kind) {
                        kinds.push(*kind);
                    }
                }
            }
        }
        let unix = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        // Re-encode to hash exactly the DER we were given, even if the caller's slice had
        // trailing bytes (`from_der` refuses those, so this is the same bytes).
        let canonical = cert.to_der().map_err(|_| bad("证书无法重新编码"))?;
        let digest = Sha256::digest(if canonical == der { der } else { &canonical });
        let mut kid = [0u8; 8];
        kid.copy_from_slice(&digest[..8]);
        let dsc = Dsc {
            kid,
            key,
            not_before: unix(tbs.validity.not_before),
            not_after: unix(tbs.validity.not_after),
            allowed,
        };
        if self.certs.iter().any(|c| c.kid == kid) {
            return Ok(());
        }
        self.by_kid.entry(kid).or_default().push(self.certs.len());
        self.certs.push(dsc);
        Ok(())
    }

    /// Adds a DSC given as standard Base64 of its DER (as trust-list services publish them).
    pub fn add_certificate_base64(&mut self, b64: &str) -> Result<(), DccRejection> {
        let cleaned: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
        let der = BASE64
            .decode(cleaned.as_bytes())
            .map_err(|_| DccRejection::BadCertificate {
                detail: "证书不是 Base64".to_owned(),
            })?;
        self.add_certificate_der(&der)
    }
}

/// The steps of checking a DCC, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DccStep {
    /// The `HC1:` prefix.
    Unprefix,
    Base45,
    /// zlib inflate.
    Compression,
    /// CBOR, COSE_Sign1 and the CWT claims.
    Decode,
    /// The key (kid) and the signature.
    Verify,
    /// `iat` / `exp` against now, and the DSC's validity at `iat`.
    Expiration,
    /// The DSC's extended key usage covers the kind of certificate.
    KeyUsage,
    /// The payload's structure (the EU DCC JSON schema: types, patterns, lengths, dates).
    Schema,
    /// The coded fields against the EU value sets, and fangkong's own entry policy.
    ValueSets,
}

/// Why a DCC (or a DSC) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DccRejection {
    #[error("缺少 HC1: 前缀")]
    NoPrefix,
    #[error("Base45 解码失败")]
    Base45,
    #[error("解压失败")]
    Compression,
    #[error("CBOR 解析失败")]
    Cbor,
    #[error("不是 COSE_Sign1 签名结构")]
    NotCose,
    #[error("CWT 声明不完整：{what}")]
    BadClaims { what: &'static str },
    #[error("签名证书未知（kid {kid}）")]
    UnknownKey { kid: String },
    #[error("不支持的签名算法 {alg:?}")]
    UnsupportedAlgorithm { alg: Option<i64> },
    #[error("签名不符")]
    BadSignature,
    #[error("证书已过期")]
    Expired { expires_at: i64, now: i64 },
    #[error("证书签发时间晚于当前时间")]
    NotYetValid { issued_at: i64, now: i64 },
    #[error("签发时签名证书不在有效期内")]
    SignerNotValidAtIssue {
        issued_at: i64,
        not_before: i64,
        not_after: i64,
    },
    #[error("签名证书无权签发{}证书", kind.label_zh())]
    KeyUsage {
        kind: DccKind,
        allowed: Vec<DccKind>,
    },
    #[error("证书内容不符合格式：{detail}")]
    SchemaInvalid { detail: String },
    #[error("{field} 的值“{value}”不在欧盟取值集内")]
    NotInValueSet { field: &'static str, value: String },
    #[error("{detail}")]
    Policy { detail: String },
    #[error("签名证书无效：{detail}")]
    BadCertificate { detail: String },
}

impl DccRejection {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            DccRejection::NoPrefix => "no_prefix",
            DccRejection::Base45 => "base45",
            DccRejection::Compression => "compression",
            DccRejection::Cbor => "cbor",
            DccRejection::NotCose => "not_cose",
            DccRejection::BadClaims { .. } => "bad_claims",
            DccRejection::UnknownKey { .. } => "unknown_key",
            DccRejection::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            DccRejection::BadSignature => "bad_signature",
            DccRejection::Expired { .. } => "expired",
            DccRejection::NotYetValid { .. } => "not_yet_valid",
            DccRejection::SignerNotValidAtIssue { .. } => "signer_not_valid",
            DccRejection::KeyUsage { .. } => "key_usage",
            DccRejection::SchemaInvalid { .. } => "schema",
            DccRejection::NotInValueSet { .. } => "value_set",
            DccRejection::Policy { .. } => "policy",
            DccRejection::BadCertificate { .. } => "bad_certificate",
        }
    }

    /// The step this rejection belongs to (`None` for a bad trust-list certificate).
    pub fn step(&self) -> Option<DccStep> {
        Some(match self {
            DccRejection::NoPrefix => DccStep::Unprefix,
            DccRejection::Base45 => DccStep::Base45,
            DccRejection::Compression => DccStep::Compression,
            DccRejection::Cbor | DccRejection::NotCose | DccRejection::BadClaims { .. } => {
                DccStep::Decode
            }
            DccRejection::UnknownKey { .. }
            | DccRejection::UnsupportedAlgorithm { .. }
            | DccRejection::BadSignature => DccStep::Verify,
            DccRejection::Expired { .. }
            | DccRejection::NotYetValid { .. }
            | DccRejection::SignerNotValidAtIssue { .. } => DccStep::Expiration,
            DccRejection::KeyUsage { .. } => DccStep::KeyUsage,
            DccRejection::SchemaInvalid { .. } => DccStep::Schema,
            DccRejection::NotInValueSet { .. } | DccRejection::Policy { .. } => DccStep::ValueSets,
            DccRejection::BadCertificate { .. } => return None,
        })
    }

    /// A sentence for the border officer.
    pub fn words_zh(&self) -> String {
        match self {
            DccRejection::NoPrefix => {
                "不是欧盟数字新冠证书（二维码不以 HC1: 开头），请让对方出示证书二维码".to_owned()
            }
            DccRejection::Base45 | DccRejection::Compression | DccRejection::Cbor => {
                "二维码内容损坏或不完整，请重新扫描，或请对方出示纸质证书".to_owned()
            }
            DccRejection::NotCose | DccRejection::BadClaims { .. } => {
                format!("不是有效的欧盟数字新冠证书：{}，请核验纸质证明", self)
            }
            DccRejection::UnknownKey { kid } => format!(
                "签发机构的签名证书未知（kid {kid}），不在信任列表中：请更新信任列表或核验纸质证明"
            ),
            DccRejection::UnsupportedAlgorithm { alg } => match alg {
                Some(alg) => format!("签名算法（COSE {alg}）不受支持，无法核验，请核验纸质证明"),
                None => "证书未注明签名算法，无法核验，请核验纸质证明".to_owned(),
            },
            DccRejection::BadSignature => "签名不符：证书被篡改或伪造，不能作为入境凭证".to_owned(),
            DccRejection::Expired { expires_at, now } => format!(
                "证书已过期（有效期至 {}，现在 {}）",
                crate::beijing(*expires_at),
                crate::beijing(*now)
            ),
            DccRejection::NotYetValid { issued_at, now } => format!(
                "证书签发时间（{}）晚于本机时间（{}）：请检查本机时间",
                crate::beijing(*issued_at),
                crate::beijing(*now)
            ),
            DccRejection::SignerNotValidAtIssue {
                issued_at,
                not_before,
                not_after,
            } => format!(
                "签发时（{}）签名证书不在有效期内（{} 至 {}），证书无效",
                crate::beijing(*issued_at),
                crate::beijing(*not_before),
                crate::beijing(*not_after)
            ),
            DccRejection::KeyUsage { kind, allowed } => {
                let allowed: Vec<&str> = allowed.iter().map(|k| k.label_zh()).collect();
                format!(
                    "签名证书只能签发{}证书，不能签发{}证书：证书无效",
                    allowed.join("、"),
                    kind.label_zh()
                )
            }
            DccRejection::SchemaInvalid { detail } => {
                format!("证书内容不符合欧盟格式（{detail}），不能作为入境凭证")
            }
            DccRejection::NotInValueSet { field, value } => format!(
                "证书中的{}“{value}”（{field}）不在欧盟规定的取值范围内，不能作为入境凭证，请核验纸质证明",
                value_set_field_zh(field)
            ),
            DccRejection::Policy { detail } => {
                format!("{detail}。这是本系统的入境查验规定（欧盟格式允许留空），请核验纸质证明")
            }
            DccRejection::BadCertificate { detail } => {
                format!("信任列表中的签名证书无效（{detail}）")
            }
        }
    }
}

/// Every step that ran and its outcome. Steps after a failed decoding step do not run; after
/// decoding, signature, expiration, key usage and schema are each checked, so one scan shows all
/// that is wrong.
#[derive(Debug, Clone)]
pub struct DccInspection {
    pub steps: Vec<(DccStep, Result<(), DccRejection>)>,
    /// The hcert payload as JSON, when decoding succeeded. **Unverified** unless
    /// [`DccInspection::first_rejection`] is `None`.
    pub payload: Option<serde_json::Value>,
    /// The certificate, only when every step passed.
    pub certificate: Option<DccCertificate>,
}

impl DccInspection {
    pub fn outcome(&self, step: DccStep) -> Option<&Result<(), DccRejection>> {
        self.steps.iter().find(|(s, _)| *s == step).map(|(_, r)| r)
    }

    pub fn first_rejection(&self) -> Option<&DccRejection> {
        self.steps.iter().find_map(|(_, r)| r.as_ref().err())
    }
}

/// Verifies a scanned DCC at `now_unix`: every step must pass.
pub fn verify_dcc(
    trust: &DscTrustList,
    text: &str,
    now_unix: i64,
) -> Result<DccCertificate, DccRejection> {
    let inspection = inspect_dcc(trust, text, now_unix);
    if let Some(rejection) = inspection.first_rejection() {
        return Err(rejection.clone());
    }
    inspection.certificate.ok_or(DccRejection::BadClaims {
        what: "未能取得证书内容",
    })
}

/// Runs every step it can and reports each outcome (for the port's detail view and the tests).
pub fn inspect_dcc(trust: &DscTrustList, text: &str, now_unix: i64) -> DccInspection {
    let mut inspection = DccInspection {
        steps: Vec::with_capacity(8),
        payload: None,
        certificate: None,
    };
    let decoded = decode(text, &mut inspection.steps);
    let Some(decoded) = decoded else {
        return inspection;
    };

    // Signature: the protected kid wins; the unprotected kid is a hint only when the protected
    // header has none; without either, every certificate is tried.
    let kid = decoded
        .sign1
        .protected
        .kid
        .as_ref()
        .or(decoded.sign1.unprotected.kid.as_ref());
    let alg = decoded
        .sign1
        .protected
        .alg
        .or(decoded.sign1.unprotected.alg);
    let signer = verify_signature(trust, &decoded.sign1, kid.map(Vec::as_slice), alg);
    let signer = match signer {
        Ok(dsc) => {
            inspection.steps.push((DccStep::Verify, Ok(())));
            Some(dsc)
        }
        Err(e) => {
            inspection.steps.push((DccStep::Verify, Err(e)));
            None
        }
    };

    let expiration = check_times(&decoded, signer, now_unix);
    inspection.steps.push((DccStep::Expiration, expiration));

    let schema = check_schema(&decoded.hcert);
    if let Some(dsc) = signer {
        // The kind is read leniently here, so key usage is judged even for a payload the
        // schema refuses.
        if let Some(kind) = schema
            .as_ref()
            .map(|s| s.kind)
            .ok()
            .or_else(|| lenient_kind(&decoded.hcert))
        {
            let usage = match &dsc.allowed {
                Some(allowed) if !allowed.contains(&kind) => Err(DccRejection::KeyUsage {
                    kind,
                    allowed: allowed.clone(),
                }),
                _ => Ok(()),
            };
            inspection.steps.push((DccStep::KeyUsage, usage));
        }
    }
    let schema = match schema {
        Ok(s) => {
            inspection.steps.push((DccStep::Schema, Ok(())));
            inspection
                .steps
                .push((DccStep::ValueSets, check_value_sets(&decoded.hcert, s.kind)));
            Some(s)
        }
        Err(detail) => {
            inspection
                .steps
                .push((DccStep::Schema, Err(DccRejection::SchemaInvalid { detail })));
            None
        }
    };

    if let (Some(schema), None) = (schema, inspection.first_rejection()) {
        inspection.certificate = Some(DccCertificate {
            issuer_country: decoded.issuer.clone().unwrap_or(schema.country),
            issued_at: decoded.issued_at.unwrap_or_default(),
            expires_at: decoded.expires_at.unwrap_or_default(),
            kind: schema.kind,
            family_name: schema.family_name,
            given_name: schema.given_name,
            date_of_birth: schema.date_of_birth,
            payload: decoded.hcert.clone(),
        });
    }
    inspection.payload = Some(decoded.hcert);
    inspection
}

struct Decoded {
    sign1: cbor::Sign1,
    issuer: Option<String>,
    issued_at: Option<i64>,
    expires_at: Option<i64>,
    hcert: serde_json::Value,
}

/// Prefix → Base45 → zlib → CBOR → COSE_Sign1 → CWT, recording each step.
fn decode(text: &str, steps: &mut Vec<(DccStep, Result<(), DccRejection>)>) -> Option<Decoded> {
    macro_rules! step {
        ($step:expr, $result:expr) => {
            match $result {
                Ok(v) => {
                    steps.push(($step, Ok(())));
                    v
                }
                Err(e) => {
                    steps.push(($step, Err(e)));
                    return None;
                }
            }
        };
    }
    let body = step!(
        DccStep::Unprefix,
        text.strip_prefix(DCC_PREFIX).ok_or(DccRejection::NoPrefix)
    );
    let compressed = step!(
        DccStep::Base45,
        base45::decode(body).map_err(|_| DccRejection::Base45)
    );
    let cose = step!(
        DccStep::Compression,
        zlib::inflate(&compressed, None, true).map_err(|_| DccRejection::Compression)
    );
    let decoded = step!(DccStep::Decode, decode_cose(&cose));
    Some(decoded)
}

fn decode_cose(bytes: &[u8]) -> Result<Decoded, DccRejection> {
    let value = cbor::decode_one(bytes).ok_or(DccRejection::Cbor)?;
    let sign1 = cbor::parse_sign1(value, true).map_err(|e| match e {
        Sign1Error::Structure | Sign1Error::NotSign1 => DccRejection::NotCose,
    })?;
    let bad = |what| DccRejection::BadClaims { what };
    let Some(Value::Map(claims)) = cbor::decode_one(&sign1.payload) else {
        return Err(bad("载荷不是 CWT 声明集"));
    };
    let issuer = match cbor::map_get(&claims, CLAIM_ISS) {
        None => None,
        Some(Value::Text(s)) => Some(s.clone()),
        Some(_) => return Err(bad("签发国（iss）不是文本")),
    };
    let date = |key, what| match cbor::map_get(&claims, key) {
        None => Ok(None),
        Some(v) => cbor::numeric_date(v).map(Some).ok_or(bad(what)),
    };
    let issued_at = date(CLAIM_IAT, "签发时间（iat）不是时间")?;
    let expires_at = date(CLAIM_EXP, "有效期（exp）不是时间")?;
    let Some(Value::Map(hcert)) = cbor::map_get(&claims, CLAIM_HCERT) else {
        return Err(bad("缺少健康证书声明（-260）"));
    };
    let Some(dcc) = cbor::map_get(hcert, 1) else {
        return Err(bad("缺少数字新冠证书（-260 → 1）"));
    };
    if !matches!(dcc, Value::Map(_)) {
        return Err(bad("数字新冠证书不是映射"));
    }
    Ok(Decoded {
        issuer,
        issued_at,
        expires_at,
        hcert: to_json(dcc),
        sign1,
    })
}

fn verify_signature<'t>(
    trust: &'t DscTrustList,
    sign1: &cbor::Sign1,
    kid: Option<&[u8]>,
    alg: Option<i64>,
) -> Result<&'t Dsc, DccRejection> {
    let candidates: Vec<&Dsc> = match kid {
        Some(kid) => <[u8; 8]>::try_from(kid)
            .ok()
            .and_then(|k| trust.by_kid.get(&k))
            .map(|ix| ix.iter().map(|&i| &trust.certs[i]).collect())
            .unwrap_or_default(),
        None => trust.certs.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(DccRejection::UnknownKey {
            kid: kid.map(hex::encode).unwrap_or_else(|| "无".to_owned()),
        });
    }
    if !matches!(alg, Some(ALG_ES256) | Some(ALG_PS256)) {
        return Err(DccRejection::UnsupportedAlgorithm { alg });
    }
    let tbs = cbor::sig_structure(&sign1.protected_bytes, &sign1.payload);
    candidates
        .into_iter()
        .find(|dsc| match (&dsc.key, alg) {
            (DscKey::Ec(key), Some(ALG_ES256)) => {
                p256::ecdsa::Signature::from_slice(&sign1.signature)
                    .is_ok_and(|sig| key.verify(&tbs, &sig).is_ok())
            }
            (DscKey::Ec384(key), Some(ALG_ES256)) => {
                use p384::ecdsa::signature::hazmat::PrehashVerifier as _;
                p384::ecdsa::Signature::from_slice(&sign1.signature)
                    .is_ok_and(|sig| key.verify_prehash(&Sha256::digest(&tbs), &sig).is_ok())
            }
            (DscKey::Rsa(key), Some(ALG_PS256)) => {
                rsa::pss::Signature::try_from(sign1.signature.as_slice())
                    .is_ok_and(|sig| key.verify(&tbs, &sig).is_ok())
            }
            _ => false,
        })
        .ok_or(DccRejection::BadSignature)
}

fn check_times(decoded: &Decoded, signer: Option<&Dsc>, now: i64) -> Result<(), DccRejection> {
    let expires_at = decoded.expires_at.ok_or(DccRejection::BadClaims {
        what: "缺少有效期（exp）",
    })?;
    if expires_at < now {
        return Err(DccRejection::Expired { expires_at, now });
    }
    if let Some(issued_at) = decoded.issued_at {
        if issued_at > now {
            return Err(DccRejection::NotYetValid { issued_at, now });
        }
        // A DCC signed after its DSC expired is refused. One signed before the DSC's notBefore
        // is not: issuers backdate `iat` to the event (BG's recovery vector is signed so).
        if let Some(dsc) = signer
            && issued_at > dsc.not_after
        {
            return Err(DccRejection::SignerNotValidAtIssue {
                issued_at,
                not_before: dsc.not_before,
                not_after: dsc.not_after,
            });
        }
    }
    Ok(())
}

struct SchemaFacts {
    kind: DccKind,
    family_name: String,
    given_name: String,
    date_of_birth: String,
    country: String,
}

/// The one certificate kind present as a non-empty array, if exactly one is.
fn lenient_kind(dcc: &serde_json::Value) -> Option<DccKind> {
    let present: Vec<DccKind> = [DccKind::Vaccination, DccKind::Test, DccKind::Recovery]
        .into_iter()
        .filter(|k| {
            dcc.get(k.member())
                .and_then(|v| v.as_array())
                .is_some_and(|a| !a.is_empty())
        })
        .collect();
    match present.as_slice() {
        [kind] => Some(*kind),
        _ => None,
    }
}

/// The longest text the EU DCC schema allows in names, issuer and identifier fields.
const SCHEMA_TEXT_MAX: usize = 80;

/// The EU DCC JSON schema (1.x) checked by hand: version, name, birth date, exactly one entry of
/// exactly one kind, that kind's required fields with their types, lengths and date formats.
/// Value-set fields (`tg`, `vp`, `mp`, `ma`, `tt`, `tr`, `co`) are strings here, empty allowed
/// where the schema allows it; their values are [`check_value_sets`]'s business.
fn check_schema(dcc: &serde_json::Value) -> Result<SchemaFacts, String> {
    use serde_json::Value as J;
    let obj = dcc.as_object().ok_or("证书不是对象")?;
    let text = |o: &serde_json::Map<String, J>, key: &str| -> Result<String, String> {
        match o.get(key) {
            Some(J::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(J::String(_)) => Err(format!("{key} 为空")),
            Some(_) => Err(format!("{key} 不是文本")),
            None => Err(format!("缺少 {key}")),
        }
    };
    // A value-set field: required, a string, possibly empty (the schema sets no minimum).
    let coded = |o: &serde_json::Map<String, J>, key: &str| -> Result<String, String> {
        match o.get(key) {
            Some(J::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("{key} 不是文本")),
            None => Err(format!("缺少 {key}")),
        }
    };
    let optional_text =
        |o: &serde_json::Map<String, J>, key: &str| -> Result<Option<String>, String> {
            match o.get(key) {
                None | Some(J::Null) => Ok(None),
                Some(J::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{key} 不是文本")),
            }
        };
    let short = |key: &str, value: &str| -> Result<(), String> {
        let n = value.chars().count();
        if n > SCHEMA_TEXT_MAX {
            Err(format!(
                "{key} 太长：最多{SCHEMA_TEXT_MAX}个字符，实际为{n}个"
            ))
        } else {
            Ok(())
        }
    };
    let ver = text(obj, "ver")?;
    if !ver
        .split('.')
        .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("版本号 ver 格式错误：{}", cut(&ver)));
    }
    let nam = obj
        .get("nam")
        .and_then(J::as_object)
        .ok_or("缺少姓名 nam")?;
    let fnt = text(nam, "fnt")?;
    short("nam.fnt", &fnt)?;
    if !fnt.bytes().all(|b| b.is_ascii_uppercase() || b == b'<') {
        return Err("标准化姓 nam.fnt 只能含 A–Z 和 <".to_owned());
    }
    if let Some(gnt) = optional_text(nam, "gnt")? {
        short("nam.gnt", &gnt)?;
        if !gnt.bytes().all(|b| b.is_ascii_uppercase() || b == b'<') {
            return Err("标准化名 nam.gnt 只能含 A–Z 和 <".to_owned());
        }
    }
    for key in ["fn", "gn"] {
        if let Some(name) = optional_text(nam, key)? {
            short(&format!("nam.{key}"), &name)?;
        }
    }
    let family_name = optional_text(nam, "fn")?.unwrap_or_else(|| fnt.clone());
    let given_name = optional_text(nam, "gn")?
        .or(optional_text(nam, "gnt")?)
        .unwrap_or_default();
    let date_of_birth = match obj.get("dob") {
        Some(J::String(s)) if is_birth_date(s) => s.clone(),
        Some(J::String(s)) => {
            return Err(format!(
                "出生日期 dob 格式错误：{}（应为 YYYY、YYYY-MM 或 YYYY-MM-DD，年份 1900–2099）",
                cut(s)
            ));
        }
        _ => return Err("缺少出生日期 dob".to_owned()),
    };

    let mut kinds = Vec::new();
    for kind in [DccKind::Vaccination, DccKind::Test, DccKind::Recovery] {
        match obj.get(kind.member()) {
            // Early issuers write the absent kinds as null.
            None | Some(J::Null) => {}
            Some(J::Array(entries)) => kinds.push((kind, entries)),
            Some(_) => return Err(format!("{} 不是数组", kind.member())),
        }
    }
    let [(kind, entries)] = kinds.as_slice() else {
        return Err("必须且只能含 v、t、r 之一".to_owned());
    };
    let [entry] = entries.as_slice() else {
        return Err(format!(
            "{} 必须恰好含一条记录（现有 {} 条）",
            kind.member(),
            entries.len()
        ));
    };
    let entry = entry
        .as_object()
        .ok_or_else(|| format!("{} 的记录不是对象", kind.member()))?;
    let member = kind.member();
    let (coded_keys, text_keys, date_keys): (&[&str], &[&str], &[&str]) = match kind {
        DccKind::Vaccination => (&["tg", "vp", "mp", "ma", "co"], &["is", "ci"], &["dt"]),
        DccKind::Test => (&["tg", "tt", "tr", "co"], &["is", "ci"], &["sc"]),
        DccKind::Recovery => (&["tg", "co"], &["is", "ci"], &["fr", "df", "du"]),
    };
    for key in coded_keys {
        let value = coded(entry, key).map_err(|e| format!("{member}：{e}"))?;
        short(&format!("{member}.{key}"), &value)?;
    }
    for key in text_keys {
        let value = text(entry, key).map_err(|e| format!("{member}：{e}"))?;
        short(&format!("{member}.{key}"), &value)?;
    }
    for key in date_keys {
        let value = text(entry, key).map_err(|e| format!("{member}：{e}"))?;
        if !starts_with_date(&value) {
            return Err(format!(
                "{member}：{key} 不是有效日期：{}（应为 YYYY-MM-DD）",
                cut(&value)
            ));
        }
    }
    if *kind == DccKind::Vaccination {
        for key in ["dn", "sd"] {
            let n = entry
                .get(key)
                .and_then(J::as_f64)
                .ok_or_else(|| format!("v：{key} 缺少或不是数字"))?;
            if !(n.fract() == 0.0 && (1.0..=9.0).contains(&n)) {
                return Err(format!("v：{key} 必须是 1–9 的整数"));
            }
        }
    }
    // Free text whose length the early schema versions did not limit (a Hungarian test centre
    // name of 110 characters is valid in the EU test vectors): type only.
    for key in ["nm", "ma", "tc"] {
        optional_text(entry, key).map_err(|e| format!("{member}：{e}"))?;
    }
    Ok(SchemaFacts {
        kind: *kind,
        family_name,
        given_name,
        date_of_birth,
        country: coded(entry, "co")?,
    })
}

/// A value quoted in a message, cut to 20 characters.
fn cut(value: &str) -> String {
    if value.chars().count() <= 20 {
        value.to_owned()
    } else {
        let mut cut: String = value.chars().take(20).collect();
        cut.push('…');
        cut
    }
}

/// The schema's `dob`: empty, `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with the year 1900–2099
/// (`^((19|20)\d\d(-\d\d){0,2}){0,1}$`), a real month and day; a time after a full date, as the
/// earliest issuers wrote it, is tolerated.
fn is_birth_date(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let (date, time) = match s.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() > 3
        || !digits(parts[0], 4)
        || !parts[1..].iter().all(|p| digits(p, 2))
        || !(parts[0].starts_with("19") || parts[0].starts_with("20"))
    {
        return false;
    }
    let number = |p: &str| p.parse::<u32>().unwrap_or(0);
    match parts.as_slice() {
        [_] => time.is_none(),
        [_, month] => time.is_none() && (1..=12).contains(&number(month)),
        [year, month, day] => {
            chrono::NaiveDate::from_ymd_opt(number(year) as i32, number(month), number(day))
                .is_some()
        }
        _ => false,
    }
}

/// A full date `YYYY-MM-DD` at the start (a date, or a date-time).
fn starts_with_date(s: &str) -> bool {
    s.get(..10)
        .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        && s.as_bytes()
            .get(10)
            .is_none_or(|b| *b == b'T' || *b == b' ')
}

/// The EU DCC value sets of `data/eu-dcc-value-sets.json`.
struct ValueSets {
    countries: Vec<String>,
    diseases: Vec<String>,
    test_types: Vec<String>,
    test_results: Vec<String>,
    test_devices: Vec<String>,
    vaccine_kinds: Vec<String>,
    vaccine_products: Vec<String>,
    vaccine_holders: Vec<String>,
}

fn value_sets() -> &'static ValueSets {
    static SETS: std::sync::OnceLock<ValueSets> = std::sync::OnceLock::new();
    SETS.get_or_init(|| {
        // Embedded at build time; a test reads every set, so a broken file cannot ship.
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../data/eu-dcc-value-sets.json"))
                .unwrap_or(serde_json::Value::Null);
        let set = |name: &str| -> Vec<String> {
            json.get(name)
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        ValueSets {
            countries: set("country-2-codes"),
            diseases: set("disease-agent-targeted"),
            test_types: set("covid-19-lab-test-type"),
            test_results: set("covid-19-lab-result"),
            test_devices: set("covid-19-lab-test-manufacturer-and-name"),
            vaccine_kinds: set("sct-vaccines-covid-19"),
            vaccine_products: set("vaccines-covid-19-names"),
            vaccine_holders: set("vaccines-covid-19-auth-holders"),
        }
    })
}

/// The name of a coded field in a border officer's words.
fn value_set_field_zh(field: &str) -> &'static str {
    match field.rsplit('.').next().unwrap_or(field) {
        "tg" => "目标疾病",
        "co" => "国家",
        "vp" => "疫苗类型",
        "mp" => "疫苗产品",
        "ma" => "生产商",
        "tt" => "检测类型",
        "tr" => "检测结果",
        _ => "编码",
    }
}

/// The coded fields of a schema-valid payload against the EU value sets. An empty `vp`, `mp`,
/// `ma` or `tr` passes the schema but is refused here as fangkong's policy: a certificate that
/// does not say what vaccine or what result it certifies cannot open a border.
fn check_value_sets(dcc: &serde_json::Value, kind: DccKind) -> Result<(), DccRejection> {
    let sets = value_sets();
    let Some(entry) = dcc
        .get(kind.member())
        .and_then(|e| e.get(0))
        .and_then(serde_json::Value::as_object)
    else {
        return Ok(());
    };
    let fields: &[(&'static str, &Vec<String>, bool)] = match kind {
        DccKind::Vaccination => &[
            ("v.tg", &sets.diseases, false),
            ("v.vp", &sets.vaccine_kinds, true),
            ("v.mp", &sets.vaccine_products, true),
            ("v.ma", &sets.vaccine_holders, true),
            ("v.co", &sets.countries, false),
        ],
        DccKind::Test => &[
            ("t.tg", &sets.diseases, false),
            ("t.tt", &sets.test_types, false),
            ("t.tr", &sets.test_results, true),
            ("t.ma", &sets.test_devices, false),
            ("t.co", &sets.countries, false),
        ],
        DccKind::Recovery => &[
            ("r.tg", &sets.diseases, false),
            ("r.co", &sets.countries, false),
        ],
    };
    for (field, set, policy_if_empty) in fields {
        let key = &field[2..];
        let value = match entry.get(key).and_then(serde_json::Value::as_str) {
            Some(v) => v.trim(),
            // Optional fields (a test's `ma`) may be absent.
            None => continue,
        };
        if value.is_empty() {
            if *policy_if_empty {
                return Err(DccRejection::Policy {
                    detail: format!("证书的{}（{field}）为空", value_set_field_zh(field)),
                });
            }
            if *field == "t.ma" {
                continue;
            }
        }
        if !set.iter().any(|v| v == value) {
            return Err(DccRejection::NotInValueSet {
                field,
                value: cut(value),
            });
        }
    }
    Ok(())
}

/// CBOR → JSON: tags are dropped (their content kept), byte strings become Base64, integer map
/// keys become strings.
fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Integer(i) => {
            let i = i128::from(*i);
            if let Ok(i) = i64::try_from(i) {
                J::from(i)
            } else if let Ok(u) = u64::try_from(i) {
                J::from(u)
            } else {
                J::from(i as f64)
            }
        }
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Text(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(BASE64.encode(b)),
        Value::Bool(b) => J::Bool(*b),
        Value::Null => J::Null,
        Value::Tag(_, inner) => to_json(inner),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(s) => s.clone(),
                        other => match to_json(other) {
                            J::String(s) => s,
                            j => j.to_string(),
                        },
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        _ => J::Null,
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;
    use serde_json::json;

    fn vaccination(dob: &str) -> serde_json::Value {
        json!({"ver": "1.3.0", "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gnt": "ERIKA"},
            "dob": dob, "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
            "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-06-01", "co": "DE",
            "is": "Robert Koch-Institut", "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W"}]})
    }

    fn test_cert(tr: &str, ma: &str, co: &str) -> serde_json::Value {
        json!({"ver": "1.3.0", "nam": {"fnt": "MUSTERFRAU"}, "dob": "1964",
            "t": [{"tg": "840539006", "tt": "LP217198-3", "ma": ma, "sc": "2021-06-01T10:00:00Z",
            "tr": tr, "tc": "Testzentrum", "co": co, "is": "RKI", "ci": "URN:UVCI:01DE/X#1"}]})
    }

    #[test]
    fn dates_of_birth_follow_the_schema() {
        for dob in [
            "",
            "1963",
            "1964-01",
            "1964-02-29",
            "2099-12-31",
            "1900-01-01",
            "1978-01-26T00:00:00",
        ] {
            assert!(check_schema(&vaccination(dob)).is_ok(), "{dob}");
        }
        for dob in [
            "1963-00",
            "1963-13",
            "1963-02-30",
            "1899-12-31",
            "2100-01-01",
            "63-01-01",
            "1963-1-1",
            "1963-01-01-01",
            "abcd",
        ] {
            let err = check_schema(&vaccination(dob)).err().unwrap();
            assert!(err.contains("dob"), "{dob}: {err}");
        }
    }

    #[test]
    fn empty_value_set_fields_pass_the_schema_and_are_refused_as_policy() {
        let mut cert = vaccination("1964-08-12");
        cert["v"][0]["mp"] = json!("");
        assert!(check_schema(&cert).is_ok());
        let refused = check_value_sets(&cert, DccKind::Vaccination).unwrap_err();
        assert_eq!(refused.code(), "policy");
        assert_eq!(refused.step(), Some(DccStep::ValueSets));
        let words = refused.words_zh();
        assert!(
            words.contains("疫苗产品") && words.contains("本系统的入境查验规定"),
            "{words}"
        );
        assert!(!words.contains("不符合欧盟格式"), "{words}");

        let cert = test_cert("", "1232", "DE");
        assert!(check_schema(&cert).is_ok());
        assert_eq!(
            check_value_sets(&cert, DccKind::Test).unwrap_err().code(),
            "policy"
        );
        // An empty test device is allowed (optional in the schema and the rules).
        let cert = test_cert("260415000", "", "DE");
        assert_eq!(check_value_sets(&cert, DccKind::Test), Ok(()));
    }

    #[test]
    fn lengths_and_counts_follow_the_schema() {
        let mut cert = vaccination("1964");
        cert["v"][0]["is"] = json!("x".repeat(81));
        assert!(check_schema(&cert).err().unwrap().contains("最多80"));
        let mut cert = vaccination("1964");
        cert["nam"]["fnt"] = json!("A".repeat(81));
        assert!(check_schema(&cert).is_err());
        let mut cert = vaccination("1964");
        cert["v"][0]["dn"] = json!(10);
        assert!(check_schema(&cert).err().unwrap().contains("1–9"));
        let mut cert = vaccination("1964");
        cert["v"][0]["dt"] = json!("2021-02-30");
        assert!(check_schema(&cert).err().unwrap().contains("dt"));
    }

    #[test]
    fn codes_outside_the_eu_value_sets_are_refused_by_name() {
        assert_eq!(
            check_value_sets(&vaccination("1964"), DccKind::Vaccination),
            Ok(())
        );
        assert_eq!(
            check_value_sets(&test_cert("260373001", "1232", "DE"), DccKind::Test),
            Ok(())
        );
        let refused =
            check_value_sets(&test_cert("260415000", "1232", "XY"), DccKind::Test).unwrap_err();
        assert_eq!(
            refused,
            DccRejection::NotInValueSet {
                field: "t.co",
                value: "XY".into()
            }
        );
        assert!(
            refused.words_zh().contains("国家“XY”"),
            "{}",
            refused.words_zh()
        );
        let refused =
            check_value_sets(&test_cert("260415000", "9999", "DE"), DccKind::Test).unwrap_err();
        assert_eq!(refused.code(), "value_set");
        assert!(refused.words_zh().contains("生产商“9999”"));
        let mut cert = vaccination("1964");
        cert["v"][0]["mp"] = json!("Sputnik-X");
        assert!(check_value_sets(&cert, DccKind::Vaccination).is_err());
        let mut cert = vaccination("1964");
        cert["v"][0]["tg"] = json!("840539007");
        assert!(check_value_sets(&cert, DccKind::Vaccination).is_err());
    }

    #[test]
    fn the_embedded_value_sets_are_complete() {
        let sets = value_sets();
        // ISO 3166-1 alpha-2 (249) plus XK (Kosovo), which the EU's country-2-codes value set adds.
        assert_eq!(
            sets.countries.len(),
            250,
            "the EU country-2-codes value set"
        );
        assert!(sets.countries.contains(&"XK".to_owned()));
        assert!(
            sets.countries
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        assert_eq!(sets.diseases, ["840539006"]);
        assert_eq!(sets.test_types.len(), 2);
        assert_eq!(sets.test_results.len(), 2);
        assert!(sets.test_devices.len() > 100);
        assert!(sets.vaccine_kinds.contains(&"1119349007".to_owned()));
        assert!(sets.vaccine_products.contains(&"EU/1/20/1528".to_owned()));
        assert!(sets.vaccine_holders.contains(&"ORG-100030215".to_owned()));
    }
}
