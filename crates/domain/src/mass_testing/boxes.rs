//! Transport boxes (转运箱): their barcodes and when a box on the road is late.

/// A box is late when nobody has received it this long after packing (a transport leg beyond two
/// hours eats the 24 h turnaround of §5.3).
pub const BOX_LATE_AFTER_SECONDS: i64 = 2 * 3600;

/// A packed box not yet received is late once [`BOX_LATE_AFTER_SECONDS`] have passed since packing.
pub fn box_is_late(packed_at: i64, now: i64) -> bool {
    now - packed_at > BOX_LATE_AFTER_SECONDS
}

/// A transport-box barcode: 4–24 letters, digits or '-' (boxes are labelled by the site or the lab).
pub fn parse_box_barcode(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() < 4
        || code.len() > 24
        || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!(
            "“{}”不是转运箱码（4到24位字母、数字或“-”）；请扫描箱子上的条码",
            raw.trim()
        ));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_is_late_after_two_hours_unreceived() {
        let packed = 1_000_000;
        assert!(!box_is_late(packed, packed));
        assert!(!box_is_late(packed, packed + 2 * 3600));
        assert!(box_is_late(packed, packed + 2 * 3600 + 1));
    }

    #[test]
    fn box_barcodes_are_normalised() {
        assert_eq!(parse_box_barcode(" bx-0001 ").unwrap(), "BX-0001");
        assert!(parse_box_barcode("x").unwrap_err().contains("转运箱码"));
    }
}
