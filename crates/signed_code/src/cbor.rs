//! The few CBOR and COSE pieces both pipelines share.

use ciborium::Value;

/// Reads exactly one CBOR item: trailing bytes are an error.
pub(crate) fn decode_one(bytes: &[u8]) -> Option<Value> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest).ok()?;
    rest.is_empty().then_some(value)
}

pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    ciborium::ser::into_writer(value, &mut out).expect("writing CBOR into a Vec cannot fail");
    out
}

/// The header entries we read: alg (1) and kid (4).
#[derive(Debug, Default, Clone)]
pub(crate) struct HeaderFields {
    pub alg: Option<i64>,
    pub kid: Option<Vec<u8>>,
}

/// A COSE_Sign1 taken apart, with the protected header's bytes as they came (they are signed).
#[derive(Debug)]
pub(crate) struct Sign1 {
    pub protected_bytes: Vec<u8>,
    pub protected: HeaderFields,
    pub unprotected: HeaderFields,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Why a CBOR item is not a COSE_Sign1 we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign1Error {
    /// An array of four, but a member has the wrong type (or a header is not a map).
    Structure,
    /// Not a (tagged) array of four at all.
    NotSign1,
}

/// `COSE_Sign1 = [protected: bstr .cbor header_map, unprotected: header_map, payload: bstr,
/// signature: bstr]`, optionally under tag 18, optionally under the CWT tag 61.
pub(crate) fn parse_sign1(value: Value, allow_untagged: bool) -> Result<Sign1, Sign1Error> {
    let mut value = value;
    let mut tagged = false;
    if let Value::Tag(61, inner) = value {
        value = *inner;
    }
    if let Value::Tag(18, inner) = value {
        value = *inner;
        tagged = true;
    }
    if !tagged && !allow_untagged {
        return Err(Sign1Error::NotSign1);
    }
    let Value::Array(items) = value else {
        return Err(Sign1Error::NotSign1);
    };
    let Ok::<[Value; 4], _>([protected, unprotected, payload, signature]) = items.try_into() else {
        return Err(Sign1Error::NotSign1);
    };
    let Value::Bytes(protected_bytes) = protected else {
        return Err(Sign1Error::Structure);
    };
    let protected = if protected_bytes.is_empty() {
        HeaderFields::default()
    } else {
        header_fields(&decode_one(&protected_bytes).ok_or(Sign1Error::Structure)?)?
    };
    let unprotected = header_fields(&unprotected)?;
    let (Value::Bytes(payload), Value::Bytes(signature)) = (payload, signature) else {
        return Err(Sign1Error::Structure);
    };
    Ok(Sign1 {
        protected_bytes,
        protected,
        unprotected,
        payload,
        signature,
    })
}

fn header_fields(map: &Value) -> Result<HeaderFields, Sign1Error> {
    let Value::Map(entries) = map else {
        return Err(Sign1Error::Structure);
    };
    let mut fields = HeaderFields::default();
    for (label, value) in entries {
        match (int(label), value) {
            (Some(1), v) => fields.alg = Some(int(v).ok_or(Sign1Error::Structure)?),
            (Some(4), Value::Bytes(kid)) => fields.kid = Some(kid.clone()),
            (Some(4), _) => return Err(Sign1Error::Structure),
            _ => {}
        }
    }
    Ok(fields)
}

/// `Sig_structure = ["Signature1", body_protected, external_aad = h'', payload]`, encoded.
pub(crate) fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 24);
    out.push(0x84);
    out.push(0x6a);
    out.extend_from_slice(b"Signature1");
    bstr_header(&mut out, protected.len());
    out.extend_from_slice(protected);
    out.push(0x40);
    bstr_header(&mut out, payload.len());
    out.extend_from_slice(payload);
    out
}

fn bstr_header(out: &mut Vec<u8>, len: usize) {
    let len = len as u64;
    match len {
        0..=23 => out.push(0x40 | len as u8),
        24..=0xff => out.extend_from_slice(&[0x58, len as u8]),
        0x100..=0xffff => {
            out.push(0x59);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0x5a);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
        _ => {
            out.push(0x5b);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
}

/// A CBOR integer that fits an `i64`.
pub(crate) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(i) => i64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
}

/// A CWT NumericDate: an integer, or a float (some issuers write one), as whole seconds.
pub(crate) fn numeric_date(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(_) => int(value),
        Value::Float(f) if f.is_finite() && f.abs() < 1e15 => Some(f.trunc() as i64),
        Value::Tag(1, inner) => numeric_date(inner),
        _ => None,
    }
}

/// The value under an integer key of a CBOR map.
pub(crate) fn map_get(entries: &[(Value, Value)], key: i64) -> Option<&Value> {
    entries
        .iter()
        .find(|(k, _)| int(k) == Some(key))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig_structure_matches_ciborium() {
        for len in [0usize, 5, 23, 24, 255, 256, 70_000] {
            let payload = vec![7u8; len];
            let expected = encode(&Value::Array(vec![
                Value::Text("Signature1".into()),
                Value::Bytes(vec![0xa1, 0x01, 0x27]),
                Value::Bytes(vec![]),
                Value::Bytes(payload.clone()),
            ]));
            assert_eq!(sig_structure(&[0xa1, 0x01, 0x27], &payload), expected);
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        assert!(decode_one(&[0x01]).is_some());
        assert!(decode_one(&[0x01, 0x02]).is_none());
        assert!(decode_one(&[]).is_none());
    }
}
