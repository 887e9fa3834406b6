//! Identity documents: the mainland resident ID card (GB 11643-1999) and the
//! other documents residents may hold.
//!
//! Personal numbers are sensitive: `Debug` and `Display` always print the
//! masked form, so a stray `{:?}` in a log line cannot leak a full number.
//! The full number is only reachable through explicit `as_str()` /
//! `number()` calls meant for storage.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use thiserror::Error;

use crate::person::Sex;

/// Weights of ISO 7064 MOD 11-2 as used by GB 11643-1999, position 1..=17.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Remainder 0..=10 mapped to the check character.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Check digit of a mainland ID number from its first 17 digits.
///
/// Returns `None` unless the input is exactly 17 ASCII digits.
pub fn gb11643_check_digit(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// Keeps the first `keep_front` and last `keep_back` characters and replaces
/// the rest with `*`, counting characters (not bytes) so Chinese text is safe.
/// When the text is too short to hide anything, everything is starred: a
/// masked value must never reveal the whole original.
pub fn mask_middle(text: &str, keep_front: usize, keep_back: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    if keep_front + keep_back >= n {
        return "*".repeat(n);
    }
    let mut out = String::with_capacity(text.len());
    out.extend(&chars[..keep_front]);
    out.extend(std::iter::repeat_n('*', n - keep_front - keep_back));
    out.extend(&chars[n - keep_back..]);
    out
}

/// Why a mainland ID number was rejected, in words a grid worker understands.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdCardNumberError {
    #[error("身份证号应为18位，实际为{len}位{}", if *len == 15 { "（15位老号码请换成现行18位号码）" } else { "" })]
    WrongLength { len: usize },
    #[error("身份证号只能是数字，最后一位可以是X")]
    BadCharacter,
    #[error("身份证号中的出生日期不存在：{text}")]
    ImpossibleBirthDate { text: String },
    #[error("身份证号校验位错误：按前17位计算应为 {expected}，实际为 {actual}")]
    BadCheckDigit { expected: char, actual: char },
    #[error(
        "身份证号前6位（地址码）{prefix}不存在：前两位应为省份代码（如北京11、河北13），请核对"
    )]
    UnknownProvince { prefix: String },
    #[error("身份证号前6位（地址码）{prefix}只是省级代码，不是县区代码：请核对")]
    ProvinceLevelCode { prefix: String },
}

/// The two-digit province codes of GB/T 2260 (the first two digits of a mainland ID number).
const PROVINCE_CODES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// Checks the six-digit address code: a province that exists, and not a province-level code.
/// (Old cards keep retired county codes, so the county part is not checked against a list.)
fn check_address_code(prefix: &str) -> Result<(), IdCardNumberError> {
    let province: u8 = prefix.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    if !PROVINCE_CODES.contains(&province) {
        return Err(IdCardNumberError::UnknownProvince {
            prefix: prefix.to_string(),
        });
    }
    if prefix.get(2..6) == Some("0000") {
        return Err(IdCardNumberError::ProvinceLevelCode {
            prefix: prefix.to_string(),
        });
    }
    Ok(())
}

/// A validated 18-character mainland resident ID number (last char may be `X`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdCardNumber(String);

impl IdCardNumber {
    /// Validates length, characters, the embedded birth date and the check
    /// digit. Surrounding spaces are ignored and a lowercase `x` is accepted,
    /// because both are common in hand-typed spreadsheets.
    pub fn parse(raw: &str) -> Result<IdCardNumber, IdCardNumberError> {
        let text: String = raw.trim().to_ascii_uppercase();
        let len = text.chars().count();
        if len != 18 {
            return Err(IdCardNumberError::WrongLength { len });
        }
        let bytes = text.as_bytes();
        let body_ok = bytes[..17].iter().all(u8::is_ascii_digit);
        let last = bytes[17];
        if !body_ok || !(last.is_ascii_digit() || last == b'X') {
            return Err(IdCardNumberError::BadCharacter);
        }
        let date_text = &text[6..14];
        if birth_date_of(date_text).is_none() {
            return Err(IdCardNumberError::ImpossibleBirthDate {
                text: date_text.to_string(),
            });
        }
        let expected = gb11643_check_digit(&text[..17]).expect("17 digits checked above");
        let actual = last as char;
        if expected != actual {
            return Err(IdCardNumberError::BadCheckDigit { expected, actual });
        }
        check_address_code(&text[..6])?;
        Ok(IdCardNumber(text))
    }

    /// The full number. Only for storage and export; never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(&self.0[6..14]).expect("validated in parse")
    }

    /// The 17th digit encodes sex: odd for male, even for female.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The 6-digit administrative division code where the number was issued.
    pub fn region_prefix(&self) -> &str {
        &self.0[..6]
    }

    /// First 6 (region) + 8 stars (hides the birth date) + last 4.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

fn birth_date_of(yyyymmdd: &str) -> Option<NaiveDate> {
    let y: i32 = yyyymmdd.get(0..4)?.parse().ok()?;
    let m: u32 = yyyymmdd.get(4..6)?.parse().ok()?;
    let d: u32 = yyyymmdd.get(6..8)?.parse().ok()?;
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    // An ID issued to someone born before 1800 is not a real number.
    (date.year() >= 1800).then_some(date)
}

impl fmt::Debug for IdCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdCardNumber({})", self.masked())
    }
}

impl fmt::Display for IdCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

crate::coded_enum! {
    /// Kinds of identity document a resident may be registered with.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum IdType {
        MainlandId => "mainland_id", "居民身份证",
        Passport => "passport", "护照",
        HkMacaoPermit => "hk_macao_permit", "港澳居民来往内地通行证",
        TaiwanPermit => "taiwan_permit", "台湾居民来往大陆通行证",
        ForeignPermanentResidentId => "foreign_permanent_id", "外国人永久居留身份证",
        Other => "other", "其他",
    }
}

impl IdType {
    /// Accepts the code, the official label and the short names people
    /// actually type. An empty cell means a mainland ID, since that is what
    /// nearly every row of a village list holds.
    pub fn parse(raw: &str) -> Result<IdType, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(IdType::MainlandId);
        }
        let lower = text.to_ascii_lowercase();
        if let Some(t) = IdType::ALL
            .iter()
            .find(|t| t.code() == lower || t.label_zh() == text)
        {
            return Ok(*t);
        }
        let found = match text {
            "身份证" | "居民身份证号" | "身份证号" | "二代身份证" => {
                IdType::MainlandId
            }
            "港澳通行证" | "回乡证" | "港澳居民通行证" => IdType::HkMacaoPermit,
            "台胞证" | "台湾通行证" | "台湾居民通行证" => IdType::TaiwanPermit,
            "永居证" | "外国人永居证" | "外国人永久居留证" => {
                IdType::ForeignPermanentResidentId
            }
            _ => {
                return Err(format!(
                    "证件类型“{}”无法识别，请填写：居民身份证、护照、港澳通行证、台胞证、永居证或其他",
                    crate::echo::shown(text)
                ));
            }
        };
        Ok(found)
    }
}

/// A validated identity document of any type.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdDocument {
    id_type: IdType,
    number: String,
}

impl IdDocument {
    /// Validates `raw` as a number of the given document type. Spaces are
    /// dropped and letters uppercased, as printed documents use capitals.
    pub fn parse(id_type: IdType, raw: &str) -> Result<IdDocument, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("证件号码不能为空".to_string());
        }
        let number = match id_type {
            IdType::MainlandId => IdCardNumber::parse(trimmed).map_err(|e| e.to_string())?.0,
            IdType::HkMacaoPermit => {
                let n = compact_upper(trimmed);
                let b = n.as_bytes();
                let ok = (b.len() == 9 || b.len() == 11)
                    && (b[0] == b'H' || b[0] == b'M')
                    && b[1..].iter().all(u8::is_ascii_digit);
                if !ok {
                    return Err(format!(
                        "港澳通行证号码格式不对：应为H或M开头加8位或10位数字，实际为“{}”",
                        crate::echo::shown(&mask_middle(&n, 2, 2))
                    ));
                }
                n
            }
            IdType::TaiwanPermit => {
                let n = compact_upper(trimmed);
                let ok = (n.len() == 8 || n.len() == 10) && n.bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    return Err(format!(
                        "台胞证号码格式不对：应为8位或10位数字，实际为{}位",
                        n.chars().count()
                    ));
                }
                n
            }
            IdType::Passport => {
                let n = compact_upper(trimmed);
                let ok =
                    (5..=17).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok {
                    return Err(format!(
                        "护照号码格式不对：应为5到17位字母或数字，实际为“{}”",
                        crate::echo::shown(&mask_middle(&n, 2, 2))
                    ));
                }
                n
            }
            IdType::ForeignPermanentResidentId => {
                let n = compact_upper(trimmed);
                let ok = (n.len() == 15 || n.len() == 18)
                    && n.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok {
                    return Err(format!(
                        "外国人永久居留身份证号码格式不对：应为15位或18位字母或数字，实际为{}位",
                        n.chars().count()
                    ));
                }
                n
            }
            IdType::Other => {
                let count = trimmed.chars().count();
                if count > 40 || trimmed.chars().any(char::is_whitespace) {
                    return Err(format!(
                        "其他证件号码格式不对：应为1到40个字符且不含空格，实际为{count}个字符"
                    ));
                }
                trimmed.to_string()
            }
        };
        Ok(IdDocument { id_type, number })
    }

    pub fn id_type(&self) -> IdType {
        self.id_type
    }

    /// The full number. Only for storage and export; never for logs.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// Mainland IDs use the ID-card mask; other documents keep the first and
    /// last 2 characters with at least 4 stars, so short numbers stay hidden.
    pub fn masked(&self) -> String {
        match self.id_type {
            IdType::MainlandId => IdCardNumber(self.number.clone()).masked(),
            _ => {
                let chars: Vec<char> = self.number.chars().collect();
                let n = chars.len();
                if n <= 4 {
                    return "*".repeat(4.max(n));
                }
                let stars = (n - 4).max(4);
                let mut out: String = chars[..2].iter().collect();
                out.extend(std::iter::repeat_n('*', stars));
                out.extend(&chars[n - 2..]);
                out
            }
        }
    }

    /// The parsed mainland ID, when this is one.
    pub fn mainland(&self) -> Option<IdCardNumber> {
        (self.id_type == IdType::MainlandId).then(|| IdCardNumber(self.number.clone()))
    }
}

fn compact_upper(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

impl fmt::Debug for IdDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdDocument({}, {})", self.id_type.code(), self.masked())
    }
}

impl fmt::Display for IdDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id_type.label_zh(), self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid number from 17 digits, so tests do not hard-code check digits.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", gb11643_check_digit(first17).unwrap())
    }

    #[test]
    fn check_digit_matches_the_published_standard_example() {
        // Example from GB 11643-1999 appendix: 11010519491231002X.
        assert_eq!(gb11643_check_digit("11010519491231002"), Some('X'));
        assert_eq!(gb11643_check_digit("44052418800101001"), Some('4'));
    }

    #[test]
    fn check_digit_refuses_anything_but_17_digits() {
        assert_eq!(gb11643_check_digit("1101051949123100"), None);
        assert_eq!(gb11643_check_digit("1101051949123100A"), None);
        assert_eq!(gb11643_check_digit("１１01051949123100２"), None);
    }

    #[test]
    fn valid_number_with_lowercase_x_and_spaces_is_accepted_and_normalised() {
        let id = IdCardNumber::parse(" 11010519491231002x ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.region_prefix(), "110105");
    }

    #[test]
    fn address_code_must_name_a_real_province_below_province_level() {
        for prefix in [
            "000000", "999999", "100101", "160101", "240101", "470101", "700101", "830101",
        ] {
            let err =
                IdCardNumber::parse(&with_check(&format!("{prefix}19800101001"))).unwrap_err();
            assert_eq!(
                err,
                IdCardNumberError::UnknownProvince {
                    prefix: prefix.into()
                },
                "{prefix}"
            );
            assert!(err.to_string().contains("地址码"), "{err}");
        }
        for prefix in ["130000", "110000", "810000"] {
            let err =
                IdCardNumber::parse(&with_check(&format!("{prefix}19800101001"))).unwrap_err();
            assert_eq!(
                err,
                IdCardNumberError::ProvinceLevelCode {
                    prefix: prefix.into()
                }
            );
        }
        for prefix in [
            "110105", "130182", "150102", "210102", "230102", "310101", "370102", "410102",
            "460105", "500101", "540102", "610102", "650102", "710101", "810101", "820101",
        ] {
            assert!(
                IdCardNumber::parse(&with_check(&format!("{prefix}19800101001"))).is_ok(),
                "{prefix}"
            );
        }
    }

    #[test]
    fn seventeenth_digit_odd_means_male() {
        let id = IdCardNumber::parse(&with_check("13010219800101001")).unwrap();
        assert_eq!(id.sex(), Sex::Male);
    }

    #[test]
    fn wrong_check_digit_names_expected_and_actual() {
        let err = IdCardNumber::parse("110105194912310021").unwrap_err();
        assert_eq!(
            err,
            IdCardNumberError::BadCheckDigit {
                expected: 'X',
                actual: '1'
            }
        );
        assert_eq!(
            err.to_string(),
            "身份证号校验位错误：按前17位计算应为 X，实际为 1"
        );
    }

    #[test]
    fn old_fifteen_digit_number_is_rejected_asking_for_18_digits() {
        let err = IdCardNumber::parse("130102800101123").unwrap_err();
        assert_eq!(err, IdCardNumberError::WrongLength { len: 15 });
        assert!(err.to_string().contains("应为18位"));
    }

    #[test]
    fn impossible_birth_dates_are_rejected() {
        for date in ["19990230", "19991301", "19990000"] {
            let first17 = format!("130102{date}001");
            let err = IdCardNumber::parse(&with_check(&first17)).unwrap_err();
            assert_eq!(
                err,
                IdCardNumberError::ImpossibleBirthDate {
                    text: date.to_string()
                }
            );
        }
    }

    #[test]
    fn letters_inside_the_number_are_rejected() {
        assert_eq!(
            IdCardNumber::parse("1301021980A101001X").unwrap_err(),
            IdCardNumberError::BadCharacter
        );
    }

    #[test]
    fn debug_and_display_never_show_the_full_number() {
        let raw = with_check("13010219800101123");
        let id = IdCardNumber::parse(&raw).unwrap();
        let masked = format!("130102********{}", &raw[14..]);
        assert_eq!(id.masked(), masked);
        assert_eq!(id.to_string(), masked);
        assert!(!format!("{id:?}").contains(&raw));
        assert!(!format!("{id:?}").contains("19800101"));
    }

    #[test]
    fn id_type_parses_codes_labels_and_short_names() {
        assert_eq!(IdType::parse("").unwrap(), IdType::MainlandId);
        assert_eq!(IdType::parse("身份证").unwrap(), IdType::MainlandId);
        assert_eq!(IdType::parse("回乡证").unwrap(), IdType::HkMacaoPermit);
        assert_eq!(IdType::parse("台胞证").unwrap(), IdType::TaiwanPermit);
        assert_eq!(
            IdType::parse("永居证").unwrap(),
            IdType::ForeignPermanentResidentId
        );
        for t in IdType::ALL {
            assert_eq!(IdType::parse(t.code()).unwrap(), t);
            assert_eq!(IdType::parse(t.label_zh()).unwrap(), t);
        }
        assert!(IdType::parse("驾照").unwrap_err().contains("驾照"));
    }

    #[test]
    fn id_type_serializes_as_its_code() {
        for t in IdType::ALL {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.code()));
            assert_eq!(serde_json::from_str::<IdType>(&json).unwrap(), t);
        }
    }

    #[test]
    fn documents_are_validated_per_type() {
        assert!(IdDocument::parse(IdType::HkMacaoPermit, "H12345678").is_ok());
        assert!(IdDocument::parse(IdType::HkMacaoPermit, "m1234567801").is_ok());
        assert!(IdDocument::parse(IdType::HkMacaoPermit, "A12345678").is_err());
        assert!(IdDocument::parse(IdType::TaiwanPermit, "12345678").is_ok());
        assert!(IdDocument::parse(IdType::TaiwanPermit, "123456789").is_err());
        let p = IdDocument::parse(IdType::Passport, "e12345678").unwrap();
        assert_eq!(p.number(), "E12345678");
        assert!(IdDocument::parse(IdType::Passport, "E12").is_err());
        assert!(IdDocument::parse(IdType::ForeignPermanentResidentId, "USA123456789012").is_ok());
        assert!(IdDocument::parse(IdType::ForeignPermanentResidentId, "USA1234567").is_err());
        assert!(IdDocument::parse(IdType::Other, "军官证123").is_ok());
        assert!(IdDocument::parse(IdType::Other, "a b").is_err());
        assert!(
            IdDocument::parse(IdType::MainlandId, "110105194912310021")
                .unwrap_err()
                .contains("校验位")
        );
        assert!(
            IdDocument::parse(IdType::Passport, "  ")
                .unwrap_err()
                .contains("不能为空")
        );
    }

    #[test]
    fn document_masks_keep_two_characters_each_side() {
        let p = IdDocument::parse(IdType::Passport, "E12345678").unwrap();
        assert_eq!(p.masked(), "E1*****78");
        let short = IdDocument::parse(IdType::Passport, "E1234").unwrap();
        assert_eq!(short.masked(), "E1****34");
        assert!(!format!("{p:?}").contains("E12345678"));
        assert!(!p.to_string().contains("E12345678"));
        let m = IdDocument::parse(IdType::MainlandId, "11010519491231002X").unwrap();
        assert_eq!(m.masked(), "110105********002X");
        assert!(!format!("{m:?}").contains("11010519491231002X"));
    }

    #[test]
    fn mask_middle_counts_characters_not_bytes() {
        assert_eq!(mask_middle("张三丰", 1, 0), "张**");
        assert_eq!(mask_middle("13812345678", 3, 4), "138****5678");
        assert_eq!(mask_middle("ab", 1, 1), "**");
        assert_eq!(mask_middle("", 1, 1), "");
    }
}
