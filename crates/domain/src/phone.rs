//! Contact phone numbers: mainland mobiles and landlines.
//!
//! Like ID numbers, phone numbers are personal data: `Debug` and `Display`
//! print only the masked form.

use std::fmt;

use crate::ids::mask_middle;

/// A validated phone number stored as bare digits (no separators, no +86).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts what people type: spaces and dashes (`138-1234-5678`,
    /// `0311-8765 4321`) and a leading `+86` / `0086` are removed first.
    pub fn parse(raw: &str) -> Result<PhoneNumber, String> {
        let mut digits: String = raw
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err("联系电话不能为空".to_string());
        }
        for prefix in ["+86", "0086"] {
            if let Some(rest) = digits.strip_prefix(prefix) {
                digits = rest.to_string();
                break;
            }
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("联系电话只能包含数字（可以带空格或短横线）".to_string());
        }
        let b = digits.as_bytes();
        let is_mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        // Area code 0 + 2..3 digits, local number 7..8 digits: 10 to 12 digits.
        let is_landline = b.first() == Some(&b'0') && (10..=12).contains(&b.len()) && b[1] != b'0';
        if is_mobile || is_landline {
            return Ok(PhoneNumber(digits));
        }
        let hint = if b.first() == Some(&b'1') {
            format!("手机号应为11位且以13到19开头，实际为{}位", b.len())
        } else {
            "座机号应带区号（如0311）且共10到12位数字".to_string()
        };
        Err(format!("联系电话格式不对：{hint}"))
    }

    /// The full number. Only for storage and export; never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_mobile(&self) -> bool {
        self.0.starts_with('1')
    }

    /// Mobile `138****5678`; landline keeps the area code part and last 2.
    pub fn masked(&self) -> String {
        if self.is_mobile() {
            mask_middle(&self.0, 3, 4)
        } else {
            mask_middle(&self.0, 4, 2)
        }
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// The full number, like `as_str()` (so `Option<PhoneNumber>::as_deref()` gives the text to store).
impl std::ops::Deref for PhoneNumber {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = String;

    fn try_from(raw: String) -> Result<PhoneNumber, String> {
        PhoneNumber::parse(&raw)
    }
}

/// JSON carries the full number, as the stored text did: what is sent is a decision of the view
/// that holds it, not of this type.
impl serde::Serialize for PhoneNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_with_country_code_and_dashes_is_normalised() {
        assert_eq!(
            PhoneNumber::parse("+86 138-1234-5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            PhoneNumber::parse("008613812345678").unwrap().as_str(),
            "13812345678"
        );
    }

    #[test]
    fn landline_with_area_code_is_accepted_without_separator() {
        assert_eq!(
            PhoneNumber::parse("0311-88765432").unwrap().as_str(),
            "031188765432"
        );
        assert_eq!(
            PhoneNumber::parse("010 6512 3456").unwrap().as_str(),
            "01065123456"
        );
    }

    #[test]
    fn wrong_numbers_are_rejected_with_a_reason() {
        assert!(
            PhoneNumber::parse("12812345678")
                .unwrap_err()
                .contains("13到19")
        );
        assert!(
            PhoneNumber::parse("1381234567")
                .unwrap_err()
                .contains("实际为10位")
        );
        assert!(PhoneNumber::parse("88765432").unwrap_err().contains("区号"));
        assert!(
            PhoneNumber::parse("138abc45678")
                .unwrap_err()
                .contains("只能包含数字")
        );
        assert!(PhoneNumber::parse(" ").is_err());
    }

    #[test]
    fn debug_and_display_are_masked() {
        let m = PhoneNumber::parse("13812345678").unwrap();
        assert_eq!(m.masked(), "138****5678");
        assert_eq!(m.to_string(), "138****5678");
        assert!(!format!("{m:?}").contains("13812345678"));
        let l = PhoneNumber::parse("031188765432").unwrap();
        assert_eq!(l.masked(), "0311******32");
        assert!(!format!("{l:?}").contains("88765432"));
    }
}
