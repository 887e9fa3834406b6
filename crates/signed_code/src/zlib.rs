//! zlib (RFC 1950) and raw DEFLATE (RFC 1951) with a bounded inflate.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Largest inflated payload accepted (a health code or a DCC is a few hundred bytes).
pub(crate) const MAX_INFLATED: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// Not a zlib stream, or a corrupt one (bad header, bad block, bad Adler-32).
    Corrupt,
    /// The stream ends before its end marker.
    Truncated,
    /// Bytes follow the end of the zlib stream.
    Trailing,
    /// The stream asks for a preset dictionary we do not have.
    Dictionary,
    /// More than [`MAX_INFLATED`] bytes.
    TooLarge,
}

/// Compresses `data` at the best level, with `dict` as preset dictionary if given: a zlib
/// stream when `zlib_wrapper`, else raw DEFLATE.
pub(crate) fn deflate(data: &[u8], dict: Option<&[u8]>, zlib_wrapper: bool) -> Vec<u8> {
    // One compressor per thread and wrapper kind, reset between uses: a best-level DEFLATE state is
    // hundreds of KiB, and allocating one per signed code made memory balloon on the server's
    // worker threads (gigabytes after tens of thousands of codes).
    thread_local! {
        static COMPRESSORS: std::cell::RefCell<[Option<Compress>; 2]> =
            const { std::cell::RefCell::new([None, None]) };
    }
    COMPRESSORS.with(|cell| {
        let mut slots = cell.borrow_mut();
        let c = slots[usize::from(zlib_wrapper)]
            .get_or_insert_with(|| Compress::new(Compression::best(), zlib_wrapper));
        c.reset();
        if let Some(dict) = dict {
            c.set_dictionary(dict)
                .expect("setting a dictionary before any input cannot fail");
        }
        deflate_with(c, data)
    })
}

fn deflate_with(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Finish)
            .expect("compressing into a growing buffer cannot fail");
        match status {
            Status::StreamEnd => return out,
            Status::Ok | Status::BufError => out.reserve(out.capacity().max(64)),
        }
    }
}

/// Inflates one complete stream of at most [`MAX_INFLATED`] bytes; the whole input must be the
/// stream. With `zlib_wrapper`, a zlib stream, which may name a preset dictionary (accepted only
/// if it is `dict`); without, raw DEFLATE with `dict` (if any) preset.
pub(crate) fn inflate(
    input: &[u8],
    dict: Option<&[u8]>,
    zlib_wrapper: bool,
) -> Result<Vec<u8>, InflateError> {
    let mut d = Decompress::new(zlib_wrapper);
    let mut out: Vec<u8> = Vec::with_capacity((input.len() * 4).clamp(256, MAX_INFLATED + 1));
    let mut dict_set = false;
    if !zlib_wrapper && let Some(dict) = dict {
        d.set_dictionary(dict)
            .map_err(|_| InflateError::Dictionary)?;
        dict_set = true;
    }
    loop {
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let consumed = in_before as usize;
        match d.decompress_vec(&input[consumed..], &mut out, FlushDecompress::Finish) {
            Ok(Status::StreamEnd) => break,
            Ok(Status::Ok | Status::BufError) => {
                if out.len() > MAX_INFLATED {
                    return Err(InflateError::TooLarge);
                }
                if out.len() == out.capacity() {
                    let grow = out.capacity().min(MAX_INFLATED + 1 - out.len()).max(1);
                    out.reserve_exact(grow);
                } else if d.total_in() == in_before && d.total_out() == out_before {
                    // Room to write, nothing consumed, nothing produced: the input ran out.
                    return Err(InflateError::Truncated);
                }
            }
            Err(e) => match (e.needs_dictionary(), dict) {
                (Some(_), Some(dict)) if !dict_set => {
                    d.set_dictionary(dict)
                        .map_err(|_| InflateError::Dictionary)?;
                    dict_set = true;
                }
                (Some(_), _) => return Err(InflateError::Dictionary),
                (None, _) => return Err(InflateError::Corrupt),
            },
        }
        if out.len() > MAX_INFLATED {
            return Err(InflateError::TooLarge);
        }
    }
    if out.len() > MAX_INFLATED {
        return Err(InflateError::TooLarge);
    }
    if d.total_in() as usize != input.len() {
        return Err(InflateError::Trailing);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_with_and_without_dictionary() {
        let data = b"hello hello hello fangkong".repeat(5);
        assert_eq!(
            inflate(&deflate(&data, None, true), None, true).unwrap(),
            data
        );
        let z = deflate(&data, Some(b"hello fangkong"), true);
        assert_eq!(inflate(&z, Some(b"hello fangkong"), true).unwrap(), data);
        assert_eq!(inflate(&z, None, true), Err(InflateError::Dictionary));
        assert_eq!(
            inflate(&z, Some(b"other"), true),
            Err(InflateError::Dictionary)
        );
    }

    #[test]
    fn bomb_truncation_and_trailing_bytes_are_refused() {
        let bomb = deflate(&vec![0u8; MAX_INFLATED + 1], None, true);
        assert_eq!(inflate(&bomb, None, true), Err(InflateError::TooLarge));
        let exact = deflate(&vec![0u8; MAX_INFLATED], None, true);
        assert_eq!(inflate(&exact, None, true).unwrap().len(), MAX_INFLATED);
        let z = deflate(b"some text to compress", None, true);
        assert_eq!(
            inflate(&z[..z.len() - 3], None, true),
            Err(InflateError::Truncated)
        );
        let mut t = z.clone();
        t.push(0);
        assert_eq!(inflate(&t, None, true), Err(InflateError::Trailing));
        assert_eq!(
            inflate(b"not zlib at all", None, true),
            Err(InflateError::Corrupt)
        );
        assert_eq!(inflate(b"", None, true), Err(InflateError::Truncated));
    }

    #[test]
    fn raw_deflate_with_dictionary() {
        let data = b"hello fangkong, hello world".to_vec();
        let z = deflate(&data, Some(b"hello fangkong"), false);
        assert_eq!(inflate(&z, Some(b"hello fangkong"), false).unwrap(), data);
        assert_ne!(
            inflate(&z, Some(b"HELLO FANGKONG"), false).ok(),
            Some(data.clone())
        );
        let bomb = deflate(&vec![0u8; MAX_INFLATED + 1], Some(b"x"), false);
        assert_eq!(
            inflate(&bomb, Some(b"x"), false),
            Err(InflateError::TooLarge)
        );
        let mut t = z.clone();
        t.push(0);
        assert_eq!(
            inflate(&t, Some(b"hello fangkong"), false),
            Err(InflateError::Trailing)
        );
    }
}
