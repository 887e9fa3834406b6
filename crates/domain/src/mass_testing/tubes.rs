//! Sampling-tube barcodes (12 digits with a Luhn check digit), their serials and how many tubes a
//! request or a round may take.

use super::*;

/// A sampling-tube barcode: 12 digits, the last a Luhn check digit.
///
/// Manual barcode typos are one of Shenzhen's seven ways a result goes missing (§5.4); a check digit
/// catches every single wrong digit and almost every swap of two neighbours at the table, before the
/// tube is bound to anybody.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TubeBarcode(String);

pub const TUBE_BARCODE_LEN: usize = 12;

/// The largest serial a 12-digit barcode can carry (11 digits before the check digit).
pub const MAX_TUBE_SERIAL: u64 = 99_999_999_999;

/// At most this many tubes are issued by one "下发试管" request: a county's extra tubes for a day
/// fit many times over, and a mistyped or looped request cannot eat the barcode range.
pub const MAX_TUBES_PER_REQUEST: i64 = 100_000;

/// The most tubes one round may hold in all: a single tube for every target person twice over
/// (screening plus rechecks and spoiled tubes stay far below a second full set), plus a million
/// for people swabbed who are not in the register (visitors, floating population) and for rounds
/// opened before the register was loaded. A province of 75 million at single tubes fits; one
/// round can never take more than a small fraction of the 10^11 barcode range.
pub fn round_tube_ceiling(target_population: i64) -> i64 {
    target_population
        .max(0)
        .saturating_mul(2)
        .saturating_add(1_000_000)
}

/// A stored serial (an `i64` column) as a barcode; a negative or too large value is an error.
pub fn barcode_of_stored_serial(serial: i64) -> Result<TubeBarcode, String> {
    u64::try_from(serial)
        .map_err(|_| format!("试管序号{serial}超出12位条码的范围（0到{MAX_TUBE_SERIAL}）"))
        .and_then(TubeBarcode::from_serial)
}

impl TryFrom<String> for TubeBarcode {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        TubeBarcode::parse(&raw)
    }
}

impl From<TubeBarcode> for String {
    fn from(code: TubeBarcode) -> String {
        code.0
    }
}

/// Luhn check digit for a string of digits (the payload, without the check digit).
fn luhn_check_digit(payload: &str) -> u32 {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

impl TubeBarcode {
    /// Checks a scanned or typed barcode, with the sampler's words for what is wrong.
    pub fn parse(raw: &str) -> Result<TubeBarcode, String> {
        let code = raw.trim();
        if code.is_empty() {
            return Err("没有扫到管码，请重新扫描试管条码".into());
        }
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "“{code}”不是试管条码（试管条码是{TUBE_BARCODE_LEN}位数字）；可能扫成了别的码"
            ));
        }
        if code.len() != TUBE_BARCODE_LEN {
            return Err(format!(
                "试管条码应为{TUBE_BARCODE_LEN}位数字，“{code}”是{}位；请重新扫描",
                code.len()
            ));
        }
        let (payload, check) = code.split_at(TUBE_BARCODE_LEN - 1);
        let expected = luhn_check_digit(payload);
        if check.parse::<u32>().ok() != Some(expected) {
            return Err(format!(
                "试管条码“{code}”校验不通过，可能有数字录错或条码污损；请重新扫描，不要手输"
            ));
        }
        Ok(TubeBarcode(code.to_string()))
    }

    /// The barcode with serial number `serial` (0 ≤ serial ≤ [`MAX_TUBE_SERIAL`]): what a tube
    /// batch is printed with. A serial outside the 12-digit range (a negative or too large stored
    /// value) is an error in words, never a panic.
    pub fn from_serial(serial: u64) -> Result<TubeBarcode, String> {
        if serial > MAX_TUBE_SERIAL {
            return Err(format!(
                "试管序号{serial}超出12位条码的范围（0到{MAX_TUBE_SERIAL}）"
            ));
        }
        let payload = format!("{serial:011}");
        let check = luhn_check_digit(&payload);
        Ok(TubeBarcode(format!("{payload}{check}")))
    }

    /// The serial number printed in the barcode.
    pub fn serial(&self) -> u64 {
        // Every TubeBarcode is built by `parse` or `from_serial` (deserializing goes through
        // `parse` too), so the first 11 characters are digits; 0 only if that ever broke.
        self.0
            .get(..TUBE_BARCODE_LEN - 1)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TubeBarcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_outside_the_barcode_range_is_an_error_not_a_panic() {
        for serial in [100_000_000_000, 100_000_029_013, u64::MAX] {
            let error = TubeBarcode::from_serial(serial).unwrap_err();
            assert!(error.contains("超出12位条码的范围"), "{error}");
        }
        assert!(barcode_of_stored_serial(-1).is_err());
        assert!(barcode_of_stored_serial(100_000_000_000).is_err());
        assert_eq!(
            barcode_of_stored_serial(42).unwrap(),
            TubeBarcode::from_serial(42).unwrap()
        );
        // Deserializing goes through the check too, so no TubeBarcode holds a non-barcode.
        assert!(serde_json::from_str::<TubeBarcode>("\"abc\"").is_err());
        let good = TubeBarcode::from_serial(42).unwrap();
        let json = serde_json::to_string(&good).unwrap();
        assert_eq!(serde_json::from_str::<TubeBarcode>(&json).unwrap(), good);
    }

    #[test]
    fn issued_barcodes_parse_back_and_a_typo_is_caught() {
        for serial in [0, 1, 42, 13_010_900_001, 99_999_999_999] {
            let code = TubeBarcode::from_serial(serial).unwrap();
            assert_eq!(code.as_str().len(), 12);
            assert_eq!(TubeBarcode::parse(code.as_str()), Ok(code.clone()));
            assert_eq!(code.serial(), serial);
        }
        let good = TubeBarcode::from_serial(13_010_900_001)
            .unwrap()
            .as_str()
            .to_string();
        // Every single changed digit fails the check.
        for i in 0..12 {
            let mut bytes = good.clone().into_bytes();
            bytes[i] = if bytes[i] == b'9' { b'0' } else { bytes[i] + 1 };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(
                TubeBarcode::parse(&typo)
                    .unwrap_err()
                    .contains("校验不通过")
            );
        }
        assert!(TubeBarcode::parse("12345").unwrap_err().contains("12位"));
        assert!(
            TubeBarcode::parse("130109199001011234")
                .unwrap_err()
                .contains("18位")
        );
        assert!(
            TubeBarcode::parse("ABC")
                .unwrap_err()
                .contains("不是试管条码")
        );
        assert!(TubeBarcode::parse(" ").unwrap_err().contains("没有扫到"));
    }
}
