//! The rpm container: a 96-byte lead, the signature header (padded to 8 bytes), the main header
//! and the compressed cpio payload. Only the header tags the importer needs are decoded.

use std::io::{self, Read};

use super::ar::read_full;

#[derive(Debug, thiserror::Error)]
pub enum RpmError {
    #[error("not an rpm package (bad lead magic)")]
    NotRpm,
    #[error("truncated rpm: the file ends inside the {0}")]
    Truncated(&'static str),
    #[error("bad rpm {0}: {1}")]
    BadHeader(&'static str, String),
    #[error("reading rpm: {0}")]
    Io(#[from] io::Error),
}

/// What the main header says about the package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmInfo {
    pub name: String,
    pub version: String,
    pub release: String,
    /// `PAYLOADCOMPRESSOR`: gzip (when absent), xz, lzma, zstd, bzip2.
    pub compressor: Option<String>,
    /// `PAYLOADFORMAT`: cpio in practice.
    pub format: Option<String>,
}

const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const HEADER_MAGIC: [u8; 3] = [0x8e, 0xad, 0xe8];
// rpm itself refuses headers above 256 MiB of data and 65,536 tags (hdrblobVerifyInfo).
const MAX_TAGS: u32 = 0x10000;
const MAX_DATA: u32 = 256 << 20;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_PAYLOADFORMAT: u32 = 1124;
const TAG_PAYLOADCOMPRESSOR: u32 = 1125;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

struct Header {
    index: Vec<u8>,
    store: Vec<u8>,
}

impl Header {
    fn read(r: &mut impl Read, what: &'static str) -> Result<Self, RpmError> {
        let mut intro = [0u8; 16];
        if read_full(r, &mut intro)? < 16 {
            return Err(RpmError::Truncated(what));
        }
        if intro[..3] != HEADER_MAGIC {
            return Err(RpmError::BadHeader(what, "bad magic".into()));
        }
        let be32 = |b: &[u8]| b.try_into().map(u32::from_be_bytes).unwrap_or(u32::MAX);
        let tags = be32(&intro[8..12]);
        let data = be32(&intro[12..16]);
        if tags > MAX_TAGS || data > MAX_DATA {
            return Err(RpmError::BadHeader(
                what,
                format!("{tags} tags and {data} bytes of data exceed rpm's limits"),
            ));
        }
        // Read through `take`, so that a lying size costs no allocation before the data is there.
        let mut index = Vec::new();
        r.take(u64::from(tags) * 16).read_to_end(&mut index)?;
        let mut store = Vec::new();
        r.take(u64::from(data)).read_to_end(&mut store)?;
        if index.len() as u64 != u64::from(tags) * 16 || store.len() as u64 != u64::from(data) {
            return Err(RpmError::Truncated(what));
        }
        Ok(Self { index, store })
    }

    /// Bytes used: intro, index, store.
    fn len(&self) -> usize {
        16 + self.index.len() + self.store.len()
    }

    /// The string value of `tag`, when present and of a string type.
    fn string(&self, tag: u32, what: &'static str) -> Result<Option<String>, RpmError> {
        for e in self.index.chunks_exact(16) {
            let field = |i: usize| {
                e.get(i..i + 4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_be_bytes)
                    .unwrap_or(u32::MAX)
            };
            if field(0) != tag {
                continue;
            }
            let (kind, offset) = (field(4), field(8));
            if kind != TYPE_STRING && kind != TYPE_I18NSTRING {
                return Err(RpmError::BadHeader(
                    what,
                    format!("tag {tag} is not a string"),
                ));
            }
            let bytes = self
                .store
                .get(offset as usize..)
                .and_then(|rest| rest.split(|&b| b == 0).next())
                .ok_or_else(|| {
                    RpmError::BadHeader(what, format!("tag {tag} points outside the header"))
                })?;
            return Ok(Some(String::from_utf8_lossy(bytes).into_owned()));
        }
        Ok(None)
    }
}

/// Reads the lead and both headers, leaving `r` at the start of the compressed payload.
pub fn read_headers(r: &mut impl Read) -> Result<RpmInfo, RpmError> {
    let mut lead = [0u8; 96];
    let n = read_full(r, &mut lead)?;
    if n < 4 || lead[..4] != LEAD_MAGIC {
        return Err(RpmError::NotRpm);
    }
    if n < 96 {
        return Err(RpmError::Truncated("lead"));
    }
    let signature = Header::read(r, "signature header")?;
    let pad = (8 - signature.len() % 8) % 8;
    if read_full(r, &mut [0u8; 8][..pad])? < pad {
        return Err(RpmError::Truncated("signature header"));
    }
    let h = Header::read(r, "header")?;
    let name = h
        .string(TAG_NAME, "header")?
        .ok_or_else(|| RpmError::BadHeader("header", "no NAME tag".into()))?;
    Ok(RpmInfo {
        name,
        version: h.string(TAG_VERSION, "header")?.unwrap_or_default(),
        release: h.string(TAG_RELEASE, "header")?.unwrap_or_default(),
        compressor: h.string(TAG_PAYLOADCOMPRESSOR, "header")?,
        format: h.string(TAG_PAYLOADFORMAT, "header")?,
    })
}
