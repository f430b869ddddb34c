//! Compressed streams, recognised by their magic bytes rather than trusted file names.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read};

/// Largest decompressed size accepted for one kernel module: the biggest real ones (amdgpu,
/// xe) are tens of MB, so a larger result means a corrupt or hostile file.
pub const MAX_MODULE_SIZE: u64 = 512 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    /// xz, and the legacy `.lzma` format (liblzma's auto decoder reads both).
    Xz,
    Zstd,
    Bzip2,
}

impl Compression {
    pub fn detect(magic: &[u8]) -> Self {
        if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) || magic.starts_with(&[0x5d, 0, 0])
        {
            Self::Xz
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else if magic.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if magic.starts_with(b"BZh") {
            Self::Bzip2
        } else {
            Self::None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "uncompressed",
            Self::Gzip => "gzip",
            Self::Xz => "xz",
            Self::Zstd => "zstd",
            Self::Bzip2 => "bzip2",
        }
    }
}

/// A reader that decompresses `r` according to its first bytes.
pub fn decoder<'a, R: BufRead + 'a>(mut r: R) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let kind = Compression::detect(r.fill_buf()?);
    let reader: Box<dyn Read + 'a> = match kind {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(r)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
        Compression::Bzip2 => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "bzip2 compression is not supported",
            ));
        }
    };
    Ok((kind, reader))
}

/// An I/O error as the user should read it: a stream that ends early says "truncated".
pub fn describe(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        format!("truncated: the data ends early ({e})")
    } else {
        e.to_string()
    }
}

/// Decompresses a whole in-memory file (a `.ko.xz`, `.ko.zst`, `.ko.gz` or plain `.ko`), up to
/// `limit` bytes.
/// Plain data is borrowed, not copied (a 6.1 package has 400 MB of plain .ko).
pub fn decompress_all(data: &[u8], limit: u64) -> io::Result<Cow<'_, [u8]>> {
    let (kind, reader) = decoder(BufReader::new(data))?;
    if kind == Compression::None {
        return Ok(Cow::Borrowed(data));
    }
    read_limited(reader, limit).map(Cow::Owned)
}

/// Reads `r` to its end, failing past `limit` bytes instead of exhausting memory.
pub fn read_limited(r: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("more than {limit} bytes once decompressed"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trips_every_format() {
        let plain = b"\x7fELF some module bytes".repeat(100);
        let xz = {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        };
        let zst = zstd::encode_all(plain.as_slice(), 3).unwrap();
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        };
        for packed in [&plain, &xz, &zst, &gz] {
            assert_eq!(*decompress_all(packed, 1 << 20).unwrap(), *plain);
        }
        // Truncated streams are errors, never a silently short module.
        for packed in [&xz, &zst, &gz] {
            let cut = &packed[..packed.len() / 2];
            assert!(decompress_all(cut, 1 << 20).is_err());
        }
        // A decompression bomb stops at the limit.
        let err = decompress_all(&xz, 100).unwrap_err();
        assert!(err.to_string().contains("more than 100 bytes"), "{err}");
    }
}
