//! Finding personal identifiers in one string: the detectors, the spelling normalisation they
//! run on, and redaction for importers.
//!
//! Hand-written byte scanners rather than regular expressions: every string of every upload
//! goes through them, most strings trigger none (one counting pass decides which to run), and
//! the boundaries (not inside a longer hex run, not one group of a BIOS version) are easier to
//! state exactly in code.

use std::borrow::Cow;
use std::ops::Range;

/// The kinds of personal identifier the check knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentifierKind {
    /// A MAC address: `00:1b:21:3a:4f:5c`, `00-1B-…`, `001b.213a.4f5c`, twelve bare hex digits
    /// where a MAC is expected; also longer runs of hex bytes (EUI-64, WWN).
    Mac,
    /// An IPv6 address whose interface id is made from a MAC (EUI-64, `…21ff:fe3a…`).
    MacIpv6,
    /// A UUID, with or without dashes (a machine's DMI UUID, a disk's).
    Uuid,
    /// A serial number named as one (`SN: …`, `Serial#…`, `S/N …`, `Service Tag: …`).
    Serial,
    /// An e-mail address (also percent-encoded, as in mailing-list message ids).
    Email,
    /// A host name, found by its position: the host field of a `uname -a` line, `hostname:`.
    Hostname,
    /// A user name, found by its position: a shell prompt `alice@laptop:~$`, `/home/alice`.
    UserName,
}

impl IdentifierKind {
    /// `a MAC address`, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            IdentifierKind::Mac => "a MAC address",
            IdentifierKind::MacIpv6 => "an IPv6 address made from a MAC address",
            IdentifierKind::Uuid => "a UUID",
            IdentifierKind::Serial => "a serial number",
            IdentifierKind::Email => "an e-mail address",
            IdentifierKind::Hostname => "a host name",
            IdentifierKind::UserName => "a user name",
        }
    }
}

/// One identifier found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub kind: IdentifierKind,
    /// Byte range in the text as checked, that is after [`normalize`].
    pub range: Range<usize>,
}

/// Where a string sits in a report, for the few exemptions the schema itself makes. Decided by
/// position, never by shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Any value: everything is looked for.
    Text,
    /// An object key: as a value, and twelve bare hex digits anywhere in it count as a MAC.
    Key,
    /// `$.report_id`: the schema makes it of 32 random hex digits, so bare hex runs are not
    /// looked for there (everything else is).
    ReportId,
    /// `$.devices[i].modalias` and `.sysfs_path`: kernel formats, full of hex runs and of
    /// interface GUIDs (WMI, MEI, Thunderbolt), so UUIDs and bare hex runs are not looked for.
    KernelName,
}

/// The identifiers in `text` at `place`, in text order, with the normalised text their ranges
/// refer to. The one entry point for fuzzing and for tools; the upload check calls the same
/// scanner without collecting.
pub fn find_identifiers(text: &str, place: Place) -> (Cow<'_, str>, Vec<Identifier>) {
    let norm = normalize(text);
    let mut found = Vec::new();
    scan(norm.as_bytes(), place, &mut |kind, range| {
        found.push(Identifier { kind, range })
    });
    found.sort_by_key(|i| (i.range.start, i.range.end));
    (norm, found)
}

/// What replaces an identifier in [`redact_identifiers`].
pub const REDACTED: &str = "[removed]";
/// What replaces a web link that carries an identifier.
pub const REDACTED_LINK: &str = "[link removed]";

/// `text` with every identifier the check would refuse replaced by [`REDACTED`]; a web link
/// that holds one is replaced whole by [`REDACTED_LINK`] (a message id without its host is
/// noise). Borrowed when nothing was found. When something was found, the result is the
/// normalised text ([`normalize`]) with the replacements.
pub fn redact_identifiers(text: &str) -> Cow<'_, str> {
    redact_where(text, |_| false)
}

/// [`redact_identifiers`] that also drops the web links `drop_link` says so about (the Qubes
/// HCL importer drops mailing-list message links).
pub fn redact_where(text: &str, drop_link: impl Fn(&str) -> bool) -> Cow<'_, str> {
    let mut current: Cow<'_, str> = Cow::Borrowed(text);
    // Replacing can only remove identifiers, but look again to be sure; a text that still
    // holds one after a few rounds is dropped whole.
    for _ in 0..4 {
        let replaced = {
            let (norm, found) = find_identifiers(&current, Place::Text);
            let mut cuts: Vec<(Range<usize>, &str)> = urls(&norm)
                .into_iter()
                .filter(|u| {
                    drop_link(norm.get(u.clone()).unwrap_or_default())
                        || found.iter().any(|f| overlap(&f.range, u))
                })
                .map(|u| (u, REDACTED_LINK))
                .collect();
            for f in &found {
                if !cuts.iter().any(|(c, _)| overlap(&f.range, c)) {
                    cuts.push((f.range.clone(), REDACTED));
                }
            }
            if cuts.is_empty() {
                None
            } else {
                cuts.sort_by_key(|(r, _)| r.start);
                let mut out = String::with_capacity(norm.len());
                let mut at = 0;
                for (r, with) in cuts {
                    if r.start < at {
                        // Overlaps the previous cut: that one already covers it.
                        at = at.max(r.end);
                        continue;
                    }
                    out.push_str(norm.get(at..r.start).unwrap_or_default());
                    out.push_str(with);
                    at = r.end;
                }
                out.push_str(norm.get(at..).unwrap_or_default());
                Some(out)
            }
        };
        match replaced {
            // Nothing (left) to remove: the text as written, not normalised, when untouched.
            None => return current,
            Some(out) => current = Cow::Owned(out),
        }
    }
    if find_identifiers(&current, Place::Text).1.is_empty() {
        current
    } else {
        Cow::Borrowed("")
    }
}

fn overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Byte ranges of the `http://` and `https://` links in `text`: up to white space, a quote or
/// an angle bracket.
fn urls(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(rest) = b.get(i..) {
        let Some(at) = find_ci(rest, b"http") else {
            break;
        };
        let start = i + at;
        let tail = b.get(start..).unwrap_or_default();
        let scheme = if starts_ci(tail, b"https://") {
            8
        } else if starts_ci(tail, b"http://") {
            7
        } else {
            i = start + 4;
            continue;
        };
        let mut end = start + scheme;
        while b
            .get(end)
            .is_some_and(|&c| !c.is_ascii_whitespace() && !matches!(c, b'\'' | b'"' | b'<' | b'>'))
        {
            end += 1;
        }
        out.push(start..end);
        i = end;
    }
    out
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The spelling the detectors work on: Unicode dashes (U+2010..U+2015, U+2212, small and
/// fullwidth hyphens) become `-`, colon look-alikes (fullwidth, small, ratio, modifier letter)
/// become `:`, fullwidth ASCII becomes ASCII, other spaces become ` `, invisible format
/// characters (zero-width space, soft hyphen, bidi controls) are dropped, and `%XX` escapes of
/// printable ASCII are decoded (`%40` is `@` in a mailing-list message id). Borrowed when the
/// text is plain ASCII without `%`, as nearly every string of a report is.
///
/// Hand-written: NFKC leaves U+2010 as it is, and the TR39 confusable skeleton folds `0` into
/// `O`, which would break every hex detector.
pub fn normalize(text: &str) -> Cow<'_, str> {
    if text.bytes().all(|b| b.is_ascii() && b != b'%' && b != b'&') {
        return Cow::Borrowed(text);
    }
    let mut current = Cow::Borrowed(text);
    // `%2540` is `%40` is `@`: decode until nothing changes (a few rounds at most).
    for _ in 0..3 {
        let next = normalize_once(&current);
        if next == current.as_ref() {
            break;
        }
        current = Cow::Owned(next);
    }
    current
}

fn normalize_once(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            let mut look = chars.clone();
            let hi = look.next().and_then(|h| h.to_digit(16));
            let lo = look.next().and_then(|l| l.to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                let byte = (hi * 16 + lo) as u8;
                if (0x20..0x7f).contains(&byte) {
                    out.push(char::from(byte));
                    chars = look;
                    continue;
                }
            }
            out.push('%');
            continue;
        }
        if c == '&' {
            // `&#64;`, `&#x40;`, `&commat;`: an HTML entity for `@` renders as one.
            let rest: String = chars.clone().take(9).collect();
            let entity = ["#64;", "#x40;", "#X40;", "commat;"]
                .into_iter()
                .find(|e| rest.starts_with(e));
            if let Some(e) = entity {
                out.push('@');
                for _ in 0..e.chars().count() {
                    chars.next();
                }
                continue;
            }
        }
        if let Some(f) = fold(c) {
            out.push(f);
        }
    }
    // NFKC folds mathematical letters, superscripts and the like to ASCII; decomposing first
    // lets combining marks (an accent inside a MAC, the `é` of `josé`) be dropped, and
    // default-ignorable code points (tag characters, fillers) are invisible: dropped too.
    out.nfkd()
        .filter(|&c| !is_combining_mark(c) && !default_ignorable(c))
        .nfkc()
        .collect()
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): rendered as nothing.
fn default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'
            | '\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// One character as the detectors see it; None drops it.
fn fold(c: char) -> Option<char> {
    let u = u32::from(c);
    Some(match c {
        '\u{2010}'..='\u{2015}'
        | '\u{2212}'
        | '\u{2043}'
        | '\u{2e3a}'
        | '\u{2e3b}'
        | '\u{fe58}'
        | '\u{fe63}'
        | '\u{fe31}'
        | '\u{fe32}' => '-',
        '\u{ff1a}' | '\u{fe55}' | '\u{fe13}' | '\u{2236}' | '\u{a789}' | '\u{02d0}'
        | '\u{0589}' | '\u{05c3}' | '\u{205a}' | '\u{1804}' => ':',
        '\u{2024}' | '\u{fe52}' | '\u{3002}' | '\u{ff61}' => '.',
        '\u{fe6b}' => '@',
        '\u{3000}' | '\u{00a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' => ' ',
        _ if default_ignorable(c) => return None,
        // Fullwidth ASCII: digits, letters, `@`, `.`, `/`, `#`.
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(u - 0xfee0).unwrap_or(c),
        // Mathematical digits (bold, double-struck, sans-serif, monospace): NFKC makes them
        // ASCII digits.
        '\u{1d7ce}'..='\u{1d7ff}' => char::from_u32(0x30 + (u - 0x1d7ce) % 10).unwrap_or(c),
        _ => c,
    })
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex_at(b: &[u8], i: usize) -> bool {
    b.get(i).copied().is_some_and(is_hex)
}

fn alnum_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_alphanumeric)
}

/// Whether the byte before `i` is alphanumeric (false at the start).
fn alnum_before(b: &[u8], i: usize) -> bool {
    i.checked_sub(1).is_some_and(|j| alnum_at(b, j))
}

fn starts_ci(hay: &[u8], prefix: &[u8]) -> bool {
    hay.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

const HEX: u8 = 1;
const COLON: u8 = 2;
const DASH: u8 = 4;
const DOT: u8 = 8;
const SPACE: u8 = 16;
const AT: u8 = 32;
/// The first letter of a marker word (serial, S/N, SN, service, asset, host, node, Linux,
/// /home, /Users).
const MARK: u8 = 64;
/// `%` or a byte of a non-ASCII character: the text needs [`normalize`] first.
const ODD: u8 = 128;

/// What each byte is, for the one counting pass.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut k = 0;
        if c.is_ascii_hexdigit() {
            k |= HEX;
        }
        k |= match c {
            b':' => COLON,
            b'-' => DASH,
            b'.' => DOT,
            b' ' => SPACE,
            b'@' => AT,
            b'%' | b'&' => ODD,
            b's' | b'S' | b'a' | b'A' | b'h' | b'H' | b'n' | b'N' | b'l' | b'L' | b'/' | b'p'
            | b'P' | b'e' | b'E' | b'c' | b'C' | b'#' => MARK,
            _ => 0,
        };
        if c >= 0x80 {
            k |= ODD;
        }
        t[i] = k;
        i += 1;
    }
    t
};

/// Counts gathered in one pass, to run only the detectors a string can trigger.
#[derive(Default)]
pub(crate) struct Stats {
    /// Groups of exactly two hex digits followed by `:`, `-` or a space (MAC bytes).
    pairs: usize,
    /// Longest run of hex digits.
    hex_run: usize,
    /// The classes seen.
    seen: u8,
    /// Marker words that may start somewhere (their first letters are there): a bit per
    /// detector, [`SERIAL`], [`HOST`], [`LINUX`], [`HOME`].
    markers: u8,
}

const SERIAL: u8 = 1;
const HOST: u8 = 2;
const LINUX: u8 = 4;
const HOME: u8 = 8;

impl Stats {
    pub(crate) fn of(b: &[u8]) -> Stats {
        let mut s = Stats::default();
        let mut run = 0;
        for (i, &c) in b.iter().enumerate() {
            let k = CLASS[usize::from(c)];
            s.seen |= k;
            // A separator right after exactly two hex digits.
            s.pairs +=
                usize::from(run == 2 && (k & (COLON | DASH | SPACE | DOT) != 0 || c == b'_'));
            run = if k & HEX != 0 { run + 1 } else { 0 };
            s.hex_run = s.hex_run.max(run);
            if k & MARK != 0 {
                s.markers |= marker_start(b, i);
            }
        }
        s
    }

    /// Whether the text must be [`normalize`]d before it is looked at.
    pub(crate) fn odd(&self) -> bool {
        self.seen & ODD != 0
    }

    /// Whether any detector can find something: most strings of a report (names, modaliases,
    /// module lists) leave here.
    fn any(&self) -> bool {
        self.hex_run >= 4 || self.pairs >= 3 || self.markers != 0 || self.seen & AT != 0
    }
}

/// Which marker word may start at `i`, by its first letters: `ser` (serial, service), `s/n`,
/// `sn` alone, `ass` (asset), `hos` (host), `nod` (node), `lin` (Linux), `/ho`, `/Us`.
#[inline]
fn marker_start(b: &[u8], i: usize) -> u8 {
    let at = |j: usize| b.get(i + j).copied().unwrap_or(0);
    let (c0, c1, c2) = (at(0), at(1), at(2));
    let (l0, l1, l2) = (c0 | 0x20, c1 | 0x20, c2 | 0x20);
    match (l0, l1, l2) {
        (b's', b'e', b'r') | (b's', b'/', b'n') | (b'a', b's', b's') => SERIAL,
        (b's', b'n', _) if !c2.is_ascii_alphanumeric() => SERIAL,
        (b'n', b'u', b'm') | (b'n', b'o', b' ') | (b'p', b's', b'n') | (b'e', b'x', b'p') => SERIAL,
        (b's', b'.', b'n') => SERIAL,
        (b'h', b'o', b's') | (b'n', b'o', b'd') | (b'c', b'o', b'm') => HOST,
        (b'l', b'i', b'n') => LINUX,
        // The build number of a `uname -nrv` line without `Linux` before it.
        _ if c0 == b'#' && c1.is_ascii_digit() => LINUX,
        _ if c0 == b'/' && matches!((c1, c2), (b'h', b'o') | (b'U', b's')) => HOME,
        _ => 0,
    }
}

/// Every detector over normalised bytes `b`, each hit reported once with its range.
pub(crate) fn scan(b: &[u8], place: Place, hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let st = Stats::of(b);
    scan_with(b, &st, place, hit);
}

/// [`scan`] with the counts of `b` already made.
/// Most identifiers reported for one string (see [`scan_with`]).
const MAX_HITS_PER_STRING: usize = 64;

pub(crate) fn scan_with(
    b: &[u8],
    st: &Stats,
    place: Place,
    hit: &mut dyn FnMut(IdentifierKind, Range<usize>),
) {
    if !st.any() {
        return;
    }
    // A hit inside an earlier one is the same identifier seen again (the last group of a UUID
    // as twelve bare hex digits). Past MAX_HITS_PER_STRING the rest are not reported: each
    // hit is compared with the earlier ones, and a string of repeated identifiers (an attack
    // found 512 KB of MACs took 7 s, 8 MiB would take half an hour) must stay linear. The
    // string is refused either way.
    let mut seen: Vec<Range<usize>> = Vec::new();
    let hit = &mut |kind, r: Range<usize>| {
        if seen.len() < MAX_HITS_PER_STRING
            && !seen.iter().any(|s| s.start <= r.start && r.end <= s.end)
        {
            seen.push(r.clone());
            hit(kind, r);
        }
    };
    if st.pairs >= 3 {
        // `:` and `-` mixed (`00:1b-21:3a-4f:5c`), a space, `.` or `_` between the pairs.
        for seps in [b":-".as_slice(), b" ", b".", b"_"] {
            mac_bytes(b, seps, hit);
        }
        if st.seen & COLON != 0 {
            mac_bsd(b, hit);
        }
    }
    if st.hex_run >= 4 {
        // Separators are counted only here: few strings have four hex digits in a row.
        let count = |sep: u8| b.iter().filter(|&&c| c == sep).count();
        let dashes = if st.seen & DASH != 0 { count(b'-') } else { 0 };
        let colons = if st.seen & COLON != 0 { count(b':') } else { 0 };
        if st.seen & DOT != 0 && count(b'.') >= 2 {
            mac_words(b, b'.', hit);
        }
        if dashes >= 2 {
            mac_words(b, b'-', hit);
        }
        if colons >= 2 {
            mac_words(b, b':', hit);
        }
        if st.hex_run >= 8 && place != Place::KernelName {
            uuids(b, hit);
            labelled_uuid(b, hit);
        }
        if st.hex_run >= 12 && !matches!(place, Place::ReportId | Place::KernelName) {
            bare_hex(b, place, hit);
        }
        if colons >= 3 {
            eui64(b, hit);
        }
        if dashes >= 3 && find_ci(b, b"ipv6-literal").is_some() {
            // Windows' `fe80--21b-21ff-fe3a-4f5c.ipv6-literal.net`: the same address with `-`
            // for `:` (same length, so the ranges hold).
            let colon: Vec<u8> = b
                .iter()
                .map(|&c| if c == b'-' { b':' } else { c })
                .collect();
            eui64(&colon, hit);
        }
    }
    if st.seen & AT != 0 {
        at_signs(b, hit);
    }
    // A key named `serial_number` is judged by its name (and may hold null); as a marker in a
    // key, a serial or host name counts only with a value after it (`SN: PF2ABCDE`).
    let need_value = place == Place::Key;
    if st.markers & SERIAL != 0 {
        serial_markers(b, need_value, hit);
    }
    if st.markers & HOST != 0 {
        host_markers(b, need_value, hit);
    }
    if st.markers & LINUX != 0 {
        uname(b, hit);
    }
    if st.markers & HOME != 0 {
        home_dirs(b, hit);
    }
}

/// Six or more groups of two hex digits joined by separators from `seps` (`:` and `-` may
/// mix): a MAC, or a longer hardware id (EUI-64, WWN). Groups must be exactly two digits, so
/// PCI addresses (`0000:00:1f.6`) and IPv6 groups are not groups here.
fn mac_bytes(b: &[u8], seps: &[u8], hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let sep_at = |i: usize| b.get(i).is_some_and(|c| seps.contains(c));
    let mut i = 0;
    while i + 17 <= b.len() {
        let starts = hex_at(b, i)
            && hex_at(b, i + 1)
            && !i.checked_sub(1).is_some_and(|j| hex_at(b, j))
            && sep_at(i + 2);
        if !starts {
            i += 1;
            continue;
        }
        let mut groups = 1;
        let mut end = i + 2;
        while sep_at(end) && hex_at(b, end + 1) && hex_at(b, end + 2) && !hex_at(b, end + 3) {
            groups += 1;
            end += 3;
        }
        // Not one part of a dotted version (`10.11.12.13.14.15.16`... is still six bytes).
        if groups >= 6 {
            hit(IdentifierKind::Mac, i..end);
            i = end;
        } else {
            i += 2;
        }
    }
}

/// The BSD and macOS `arp`/`ethers` spelling, leading zeros dropped: `0:1b:21:3a:4f:5c`.
/// Exactly six groups of one or two hex digits joined by `:`, at least three of two digits,
/// not part of a longer colon chain (an IPv6 address).
fn mac_bsd(b: &[u8], hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let mut i = 0;
    while i < b.len() {
        let boundary = i
            .checked_sub(1)
            .and_then(|j| b.get(j))
            .is_none_or(|&c| !c.is_ascii_alphanumeric() && c != b':');
        if !hex_at(b, i) || !boundary {
            i += 1;
            continue;
        }
        let mut at = i;
        let mut groups = 0;
        let mut wide = 0;
        loop {
            let mut e = at;
            while hex_at(b, e) && e - at < 3 {
                e += 1;
            }
            let n = e - at;
            if !(1..=2).contains(&n) {
                groups = 0;
                break;
            }
            groups += 1;
            wide += usize::from(n == 2);
            at = e;
            if groups < 6 && b.get(at) == Some(&b':') && hex_at(b, at + 1) {
                at += 1;
            } else {
                break;
            }
        }
        let clear_after = !(alnum_at(b, at) || (b.get(at) == Some(&b':') && alnum_at(b, at + 1)));
        if groups == 6 && wide >= 3 && clear_after {
            hit(IdentifierKind::Mac, i..at);
            i = at;
        } else {
            // Past this run of hex digits: the next candidate starts after a separator.
            while hex_at(b, i) {
                i += 1;
            }
        }
    }
}

/// Three groups of four hex digits joined by `.` or `-` (`001b.213a.4f5c`, Cisco and HP
/// spellings), on their own: not three groups of a longer dotted version
/// (`ANRPL357.0027.2023.0607.1754`).
fn mac_words(b: &[u8], sep: u8, hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let group = |at: usize| (at..at + 4).all(|k| hex_at(b, k));
    let mut i = 0;
    while i + 14 <= b.len() {
        let ok = group(i)
            && b.get(i + 4) == Some(&sep)
            && group(i + 5)
            && b.get(i + 9) == Some(&sep)
            && group(i + 10);
        if ok {
            let before = i.checked_sub(1).and_then(|j| b.get(j)).copied();
            let clear_before = before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != sep);
            let after = b.get(i + 14).copied();
            let clear_after = after.is_none_or(|c| !c.is_ascii_alphanumeric())
                // Not three groups of a longer id: `0003:0627:0001.0001` (a HID device).
                && !(matches!(after, Some(b':' | b'.' | b'-')) && alnum_at(b, i + 15));
            if clear_before && clear_after {
                hit(IdentifierKind::Mac, i..i + 14);
                i += 14;
                continue;
            }
        }
        i += 1;
    }
}

/// 8-4-4-4-12 hex digits joined by one of `-`, `_`, `:` or a space, not part of a longer hex
/// run.
fn uuids(b: &[u8], hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let mut i = 0;
    while i + 36 <= b.len() {
        let sep = b.get(i + 8).copied().unwrap_or(0);
        let ok = matches!(sep, b'-' | b'_' | b':' | b' ')
            && !i.checked_sub(1).is_some_and(|j| hex_at(b, j))
            && !hex_at(b, i + 36)
            && (0..36).all(|j| {
                if matches!(j, 8 | 13 | 18 | 23) {
                    b.get(i + j) == Some(&sep)
                } else {
                    hex_at(b, i + j)
                }
            });
        if ok {
            hit(IdentifierKind::Uuid, i..i + 36);
            i += 36;
        } else {
            i += 1;
        }
    }
}

/// After a `uuid` or `guid` label: 32 hex digits however they are split (`uuid
/// 4c4c454400423510 8052b4c04f4e3332`), single separators between the groups.
fn labelled_uuid(b: &[u8], hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    for label in [b"uuid".as_slice(), b"guid"] {
        let mut from = 0;
        while let Some(at) = b.get(from..).and_then(|rest| find_ci(rest, label)) {
            let mut i = from + at + label.len();
            from = i;
            while b
                .get(i)
                .is_some_and(|&c| matches!(c, b' ' | b':' | b'=' | b'#' | b'\t'))
            {
                i += 1;
            }
            let start = i;
            let mut digits = 0;
            let mut end = i;
            while digits < 32 {
                if hex_at(b, i) {
                    digits += 1;
                    i += 1;
                    end = i;
                } else if matches!(b.get(i), Some(b'-' | b'_' | b':' | b' ')) && hex_at(b, i + 1) {
                    i += 1;
                } else {
                    break;
                }
            }
            if digits == 32 && !alnum_at(b, end) {
                hit(IdentifierKind::Uuid, start..end);
                from = end;
            }
        }
    }
}

/// Words that say a MAC address follows (lower case).
const MAC_LABELS: [&[u8]; 7] = [
    b"mac", b"ether", b"hwaddr", b"lladdr", b"bssid", b"addr", b"nic",
];

/// Whole words of exactly 32 hex digits (a UUID without dashes), and of exactly 12 (a MAC
/// without separators) where a MAC is expected: in a key, as the whole value, or after a
/// label such as `MAC` or `ether`. Elsewhere 12 hex digits are as often a disk model
/// (`HTS721010A9E630`'s `721010A9E630`) as anything.
fn bare_hex(b: &[u8], place: Place, hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let mut i = 0;
    while i < b.len() {
        // `0x001b213a4f5c`: the `0x` says hex follows; the run after it is the word.
        let after_0x = i >= 2
            && matches!(b.get(i - 1), Some(b'x' | b'X'))
            && b.get(i - 2) == Some(&b'0')
            && !alnum_before(b, i - 2);
        if !hex_at(b, i) || (alnum_before(b, i) && !after_0x) {
            i += 1;
            continue;
        }
        let mut end = i;
        while hex_at(b, end) {
            end += 1;
        }
        if !alnum_at(b, end) {
            match end - i {
                32 => hit(IdentifierKind::Uuid, i..end),
                12 if mac_expected(b, i, end, place) => hit(IdentifierKind::Mac, i..end),
                _ => {}
            }
        }
        i = end.max(i + 1);
    }
}

fn mac_expected(b: &[u8], start: usize, end: usize, place: Place) -> bool {
    if place == Place::Key {
        return true;
    }
    let trimmed = b.trim_ascii();
    let bare = trimmed
        .strip_prefix(b"0x")
        .or_else(|| trimmed.strip_prefix(b"0X"))
        .unwrap_or(trimmed);
    if bare.len() == end - start {
        return true;
    }
    let before = b.get(start.saturating_sub(16)..start).unwrap_or_default();
    MAC_LABELS
        .iter()
        .any(|l| before.windows(l.len()).any(|w| w.eq_ignore_ascii_case(l)))
}

/// The longest text form of an IPv6 address (eight groups of four and seven colons).
const MAX_IPV6_TEXT: usize = 39;

/// An IPv6 address whose interface id has `ff:fe` in its middle (EUI-64, made from a MAC):
/// `fe80::21b:21ff:fe3a:4f5c`, whatever the prefix.
fn eui64(b: &[u8], hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let mut j = 0;
    // Where the last address ended: the walk back to an address's start stops there, and
    // after an IPv6 address's length, so repeated `:ff:fe..` costs linear time.
    let mut last_end = 0;
    while j + 5 <= b.len() {
        if !starts_ci(b.get(j..).unwrap_or_default(), b"ff:fe") {
            j += 1;
            continue;
        }
        // `ff` ends a group of two to four hex digits that follows a colon.
        let mut g = j;
        while g > 0 && j - g < 2 && hex_at(b, g - 1) {
            g -= 1;
        }
        let group_starts = g > 0 && b.get(g - 1) == Some(&b':');
        // `feXX`, a colon, then the last group of one to four digits.
        let p = j + 5;
        let mut q = p + 3;
        let tail = hex_at(b, p) && hex_at(b, p + 1) && b.get(p + 2) == Some(&b':');
        while tail && q < p + 7 && hex_at(b, q) {
            q += 1;
        }
        if group_starts && tail && q > p + 3 && !hex_at(b, q) && !hex_at(b, p + 2) {
            let mut start = g - 1;
            let floor = last_end.max(start.saturating_sub(MAX_IPV6_TEXT));
            while start > floor && b.get(start - 1).is_some_and(|&c| is_hex(c) || c == b':') {
                start -= 1;
            }
            hit(IdentifierKind::MacIpv6, start..q);
            last_end = q;
            j = q;
        } else {
            j += 1;
        }
    }
}

/// Characters of an e-mail address's local part (RFC 5322 atext and dots, less `/`, which
/// ends it where an address sits at the end of a URL path; any non-ASCII byte, as RFC 6531
/// allows).
fn local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c >= 0x80 || b".!#$%&'*+-=?^_`{|}~".contains(&c)
}

/// Characters of a domain: letters, digits, `-`, `.`, and non-ASCII bytes (IDN).
fn domain_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c >= 0x80 || c == b'-' || c == b'.'
}

/// At every `@`: an e-mail address (`local@domain.tld`, `"a b"@x.org`, `a@[192.0.2.1]`,
/// internationalised), or else a user and a host (`alice@laptop:~$`, `[user@dom0 ~]$`, the
/// builder in `/proc/version`'s `(alice@alice-laptop)`, a bare `alice@alice-laptop`).
fn at_signs(b: &[u8], hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let mut last_end = 0;
    for (p, _) in b.iter().enumerate().filter(|(_, c)| **c == b'@') {
        if p < last_end {
            continue;
        }
        let mut start = p;
        if p > last_end + 1 && b.get(p - 1) == Some(&b'"') {
            // A quoted local part: back to the opening quote, on this line.
            let open = b
                .get(last_end..p - 1)
                .and_then(|r| r.iter().rposition(|&c| c == b'"' || c == b'\n'))
                .map(|k| last_end + k);
            if let Some(o) = open.filter(|&o| b.get(o) == Some(&b'"') && o + 1 < p - 1) {
                start = o;
            }
        }
        if start == p {
            while start > last_end && b.get(start - 1).copied().is_some_and(local_char) {
                start -= 1;
            }
        }
        let local = b.get(start..p).unwrap_or_default();
        let local_ok = local
            .iter()
            .any(|&c| c.is_ascii_alphanumeric() || c >= 0x80);
        // An address literal: `@[192.0.2.1]`, `@[IPv6:2001:db8::1]`.
        if b.get(p + 1) == Some(&b'[') && local_ok {
            let close = b
                .get(p + 2..)
                .and_then(|r| r.iter().take(64).position(|&c| c == b']'));
            if let Some(k) = close {
                let end = p + 2 + k + 1;
                hit(IdentifierKind::Email, start..end);
                last_end = end;
                continue;
            }
        }
        let mut end = p + 1;
        while b.get(end).copied().is_some_and(domain_char) {
            end += 1;
        }
        let mut host = b.get(p + 1..end).unwrap_or_default();
        while let [rest @ .., b'.' | b'-'] = host {
            host = rest;
        }
        let host_end = p + 1 + host.len();
        if local_ok && is_domain(host) {
            hit(IdentifierKind::Email, start..host_end);
            last_end = host_end;
            continue;
        }
        // A user and a host: `user@host` then `:~`, `:/`, ` ~` or ` /` (a prompt), or in
        // parentheses (`/proc/version`), or on its own.
        let user_start = {
            let mut s = p;
            while s > 0
                && b.get(s - 1)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
            {
                s -= 1;
            }
            s
        };
        let after = b.get(host_end..host_end + 2).unwrap_or_default();
        let prompt = matches!(after, [b':' | b' ', b'~' | b'/']);
        let user = b.get(user_start..p).unwrap_or_default();
        let before = user_start.checked_sub(1).and_then(|j| b.get(j)).copied();
        let next = b.get(host_end).copied();
        // A host name has a letter that is not a hex digit: `usb@fe800000`, a device-tree
        // node, and `CPU @ 2.90GHz` are not users.
        let named = |w: &[u8]| {
            w.iter()
                .any(|c| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit())
                || !w.iter().any(u8::is_ascii_digit)
        };
        // `(alice@alice-laptop)`: the builder of a kernel, as `/proc/version` names it.
        let in_parens = before == Some(b'(') && next == Some(b')');
        let alone = before
            .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'(' | b'[' | b'"' | b'\''))
            && next.is_none_or(|c| {
                c.is_ascii_whitespace() || matches!(c, b')' | b']' | b',' | b';' | b'"' | b'\'')
            })
            && (named(host) || in_parens)
            && host.iter().any(u8::is_ascii_alphabetic)
            && user.iter().any(u8::is_ascii_alphabetic)
            && host
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
        if user_start < p && !host.is_empty() && (prompt || alone) {
            hit(IdentifierKind::UserName, user_start..host_end);
            last_end = host_end;
        }
    }
}

/// `example.org`, `mail.gmail.com`, `bücher.de`, `example.xn--p1ai`: two or more labels, the
/// last of two or more letters (any script) or punycode.
fn is_domain(host: &[u8]) -> bool {
    let mut labels = host.split(|&c| c == b'.');
    let Some(first) = labels.next() else {
        return false;
    };
    let mut count = 1;
    let mut last = first;
    if first.is_empty() {
        return false;
    }
    for l in labels {
        if l.is_empty() {
            return false;
        }
        count += 1;
        last = l;
    }
    let punycode = starts_ci(last, b"xn--") && last.len() > 4;
    count >= 2
        && last.len() >= 2
        && (punycode || last.iter().all(|&c| c.is_ascii_alphabetic() || c >= 0x80))
}

/// The end of the value after a marker: separators (`:`, `#`, `=`, `.`, spaces), then one
/// word.
fn value_end(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|&c| matches!(c, b' ' | b':' | b'#' | b'=' | b'.' | b'\t'))
    {
        i += 1;
    }
    while b
        .get(i)
        .is_some_and(|&c| !c.is_ascii_whitespace() && !matches!(c, b',' | b';' | b')'))
    {
        i += 1;
    }
    i
}

/// Whether something alphanumeric follows a marker ending at `from`, before `end`.
fn has_value(b: &[u8], from: usize, end: usize) -> bool {
    b.get(from..end)
        .is_some_and(|v| v.iter().any(u8::is_ascii_alphanumeric))
}

/// After optional spaces at `i`: one of `:`, `#`, `=`.
fn assigns(b: &[u8], mut i: usize) -> bool {
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    matches!(b.get(i), Some(b':' | b'#' | b'='))
}

/// Labels of a serial number in other languages and abbreviations, lower case as
/// [`normalize`] leaves them (accents dropped), each a whole word followed by `:`, `#`, `=` or
/// by a value that looks like a serial ([`serial_token`]).
const SERIAL_LABELS: [&[u8]; 16] = [
    b"seriennummer",
    b"serien-nr",
    b"seriennr",
    b"serienummer",
    b"numero de serie",
    b"numero di serie",
    b"no de serie",
    b"s.n.",
    b"ser.no.",
    b"ser.no",
    b"ser. no.",
    b"serno",
    b"sernr",
    b"psn",
    b"express service code",
    b"service code",
];

/// A word that looks like a serial number where a label says one may follow without `:`:
/// 6 to 24 upper-case letters and digits (a `-` allowed), with both a letter and a digit
/// (`PF2ABCDE`), so `Serial ATA`, `Serial IO UART` and `SN 850` are not.
fn serial_token(b: &[u8], from: usize) -> bool {
    // A space first: `SN-208BB` is a drive model, not a label and its value.
    if b.get(from) != Some(&b' ') {
        return false;
    }
    let mut i = from;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let start = i;
    while b
        .get(i)
        .is_some_and(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-')
    {
        i += 1;
    }
    let w = b.get(start..i).unwrap_or_default();
    (6..=24).contains(&w.len())
        && !alnum_at(b, i)
        && w.iter().any(u8::is_ascii_digit)
        && w.iter().any(u8::is_ascii_uppercase)
}

/// The first word after a marker ending at `j` (past `:`, `#`, `=`, spaces).
fn value_word(b: &[u8], j: usize) -> &[u8] {
    let mut i = j;
    while b
        .get(i)
        .is_some_and(|&c| matches!(c, b' ' | b':' | b'#' | b'=' | b'.' | b'\t'))
    {
        i += 1;
    }
    let start = i;
    b.get(start..value_end(b, start)).unwrap_or_default()
}

/// A serial console, not a serial number: `Serial: ttyS0 at 115200`, `serial=console`.
fn serial_console(word: &[u8]) -> bool {
    starts_ci(word, b"tty") || word.eq_ignore_ascii_case(b"console")
}

/// `serial number`, `Serial#`, `serial:`, `SerialNo`; `S/N`; `SN:`, `SN#`; `Service Tag:`,
/// `Asset Tag:`; [`SERIAL_LABELS`]; `Serial PF2ABCDE`, `SN PF2ABCDE`. Not `Serial ATA`,
/// `serial8250`, a serial console (`Serial: ttyS0`), nor a drive model such as `SN-208BB`.
fn serial_markers(b: &[u8], need_value: bool, hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let mut i = 0;
    while i < b.len() {
        let rest = b.get(i..).unwrap_or_default();
        let first = rest.first().map_or(0, |c| c | 0x20);
        let mut matched = None;
        let extra = if alnum_before(b, i) {
            None
        } else {
            SERIAL_LABELS.iter().find_map(|l| {
                let e = i + l.len();
                let whole = !alnum_at(b, e) || l.ends_with(b".");
                (starts_ci(rest, l) && whole && (assigns(b, e) || serial_token(b, e))).then_some(e)
            })
        };
        if extra.is_some() {
            matched = extra;
        } else if first == b's' && starts_ci(rest, b"serial") {
            let mut j = i + 6;
            while matches!(b.get(j), Some(b' ' | b'_' | b'-')) {
                j += 1;
            }
            let tail = b.get(j..).unwrap_or_default();
            let word_end = |n: usize| !b.get(j + n).is_some_and(u8::is_ascii_alphabetic);
            matched = if starts_ci(tail, b"number") {
                Some(j + 6)
            } else if starts_ci(tail, b"num") && word_end(3) {
                Some(j + 3)
            } else if (starts_ci(tail, b"no") || starts_ci(tail, b"nr")) && word_end(2) {
                Some(j + 2)
            } else if matches!(tail.first(), Some(b'#' | b':' | b'='))
                || (!alnum_at(b, i + 6) && serial_token(b, i + 6))
            {
                Some(j)
            } else {
                None
            };
        } else if first == b's' && !alnum_before(b, i) {
            if starts_ci(rest, b"s/n") && !alnum_at(b, i + 3) {
                matched = Some(i + 3);
            } else if starts_ci(rest, b"sn")
                && !alnum_at(b, i + 2)
                && !matches!(i.checked_sub(1).and_then(|j| b.get(j)), Some(b'/' | b'-'))
                && (assigns(b, i + 2) || serial_token(b, i + 2))
            {
                matched = Some(i + 2);
            } else {
                matched = tag(b, i, b"service");
            }
        } else if first == b'a' && !alnum_before(b, i) {
            matched = tag(b, i, b"asset");
        }
        match matched {
            Some(j) => {
                let end = value_end(b, j);
                if (!need_value || has_value(b, j, end)) && !serial_console(value_word(b, j)) {
                    hit(IdentifierKind::Serial, i..end);
                }
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
}

/// `<word> tag` (also `_tag`, `-tag`, `tag`) followed by `:`, `#` or `=`.
fn tag(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let rest = b.get(i..)?;
    if !starts_ci(rest, word) {
        return None;
    }
    let mut j = i + word.len();
    if matches!(b.get(j), Some(b' ' | b'_' | b'-')) {
        j += 1;
    }
    (starts_ci(b.get(j..)?, b"tag") && assigns(b, j + 3)).then_some(j + 3)
}

/// Markers of a host name in free text, followed by `:` or `=`.
const HOST_MARKERS: [&[u8]; 12] = [
    b"hostname",
    b"host name",
    b"host-name",
    b"host_name",
    b"nodename",
    b"node name",
    b"node-name",
    b"node_name",
    b"computer name",
    b"computername",
    b"computer-name",
    // Last: `hostname:` above is the longer match. `Host bridge:` has no `:` right after.
    b"host",
];

fn host_markers(b: &[u8], need_value: bool, hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).map_or(0, |c| c | 0x20);
        if (c == b'h' || c == b'n' || c == b'c') && !alnum_before(b, i) {
            let rest = b.get(i..).unwrap_or_default();
            if let Some(m) = HOST_MARKERS.iter().find(|m| starts_ci(rest, m))
                && assigns(b, i + m.len())
            {
                let end = value_end(b, i + m.len());
                if !need_value || has_value(b, i + m.len(), end) {
                    hit(IdentifierKind::Hostname, i..end);
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
}

/// Words that stand where a host name would without being one: after `Linux` in text, and
/// `dom0`, the name of every Qubes dom0 (`Linux dom0 6.6.48-1.qubes.fc37.x86_64 #1 SMP`),
/// which tells nothing about the person.
const NOT_HOSTS: [&[u8]; 7] = [
    b"version",
    b"kernel",
    b"release",
    b"dom0",
    b"linux",
    b"localhost",
    b"localhost.localdomain",
];

/// The host field of a `uname -a` line: `Linux <host> <release> #1 SMP ...`. The release must
/// look like a kernel's (three numbers, `6.1.0-13-amd64`) or be followed by the `#` of the
/// build: `Linux Mint 21.3` is not a uname line. A kernel release alone
/// (`6.6.48-1.qubes.fc37.x86_64`) has no host field and is never one.
fn uname(b: &[u8], hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    let word = |from: usize| {
        let mut e = from;
        while b.get(e).is_some_and(|&c| !c.is_ascii_whitespace()) {
            e += 1;
        }
        e
    };
    let spaces = |from: usize| {
        let mut e = from;
        while b.get(e).is_some_and(u8::is_ascii_whitespace) {
            e += 1;
        }
        e
    };
    let mut i = 0;
    while i + 5 < b.len() {
        let rest = b.get(i..).unwrap_or_default();
        if !(starts_ci(rest, b"linux")
            && !alnum_before(b, i)
            && b.get(i + 5).is_some_and(u8::is_ascii_whitespace))
        {
            i += 1;
            continue;
        }
        let host_start = spaces(i + 5);
        let host_end = word(host_start);
        let release_start = spaces(host_end);
        let release_end = word(release_start);
        let host = b.get(host_start..host_end).unwrap_or_default();
        let release = b.get(release_start..release_end).unwrap_or_default();
        let build_follows = b.get(spaces(release_end)) == Some(&b'#');
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
            && !NOT_HOSTS.iter().any(|w| host.eq_ignore_ascii_case(w));
        if host_ok && kernel_release(release, build_follows) {
            hit(IdentifierKind::Hostname, host_start..host_end);
            i = host_end;
        } else {
            i += 5;
        }
    }
    // `uname -nrv`: `<host> <release> #<build>`, with no `Linux` before the host.
    let mut p = 0;
    while let Some(at) = b.get(p..).and_then(|r| r.iter().position(|&c| c == b'#')) {
        let hash = p + at;
        p = hash + 1;
        if !b.get(hash + 1).is_some_and(u8::is_ascii_digit)
            || hash.checked_sub(1).is_none_or(|j| b.get(j) != Some(&b' '))
        {
            continue;
        }
        let word_back = |end: usize| {
            let mut s = end;
            while s > 0 && b.get(s - 1).is_some_and(|&c| !c.is_ascii_whitespace()) {
                s -= 1;
            }
            s
        };
        let release_end = hash - 1;
        let release_start = word_back(release_end);
        let Some(host_end) = release_start.checked_sub(1) else {
            continue;
        };
        if b.get(host_end) != Some(&b' ') {
            continue;
        }
        let mut host_start = word_back(host_end);
        // `(alice-laptop 6.1.0-13-amd64 #1 ...`: an opening bracket or quote is not the host's.
        while b
            .get(host_start)
            .is_some_and(|c| matches!(c, b'(' | b'[' | b'"' | b'\''))
        {
            host_start += 1;
        }
        let host = b.get(host_start..host_end).unwrap_or_default();
        let release = b.get(release_start..release_end).unwrap_or_default();
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host.iter().any(u8::is_ascii_alphabetic)
            && host
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
            && !NOT_HOSTS.iter().any(|w| host.eq_ignore_ascii_case(w));
        if host_ok && kernel_release(release, true) {
            hit(IdentifierKind::Hostname, host_start..host_end);
        }
    }
}

/// `6.1.0-13-amd64` (three dotted numbers), or `6.1` when a build number follows.
fn kernel_release(r: &[u8], build_follows: bool) -> bool {
    let mut numbers = 0;
    let mut i = 0;
    loop {
        let start = i;
        while r.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            break;
        }
        numbers += 1;
        if r.get(i) == Some(&b'.') && r.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
        } else {
            break;
        }
    }
    numbers >= 3 || (numbers >= 2 && build_follows)
}

/// Whether `s` is a modalias as the kernel writes one: a bus name (`pci`, `wmi`, `acpi`) then
/// `:`, and no white space. Only then are its hex runs and GUIDs exempt ([`Place::KernelName`]).
pub(crate) fn modalias_form(s: &str) -> bool {
    let b = s.as_bytes();
    let bus = b
        .iter()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || **c == b'_')
        .count();
    (1..=16).contains(&bus) && b.get(bus) == Some(&b':') && b.iter().all(|c| c.is_ascii_graphic())
}

/// Whether `s` is a sysfs device path whose UUID-looking names are the kernel's own: under
/// `/sys/`, no white space, and every name holding a UUID is a WMI device (its parent a
/// `wmi_bus-…`) or an MEI client (`0000:00:16.0-<uuid>`). Only then are its hex runs and GUIDs
/// exempt ([`Place::KernelName`]).
pub(crate) fn sysfs_form(s: &str) -> bool {
    if !s.starts_with("/sys/") || !s.bytes().all(|c| c.is_ascii_graphic()) {
        return false;
    }
    let mut parent = "";
    for name in s.split('/') {
        let mut has_uuid = false;
        uuids(name.as_bytes(), &mut |_, _| has_uuid = true);
        let pci_prefixed = name.len() > 13
            && name.as_bytes().get(12) == Some(&b'-')
            && name.get(..12).is_some_and(|p| {
                p.bytes().enumerate().all(|(i, c)| match i {
                    4 | 7 => c == b':',
                    10 => c == b'.',
                    _ => c.is_ascii_hexdigit(),
                })
            });
        if has_uuid && !parent.starts_with("wmi_bus-") && !pci_prefixed {
            return false;
        }
        parent = name;
    }
    true
}

/// `/home/<name>` and `/Users/<name>`: a user name by its position in a path.
fn home_dirs(b: &[u8], hit: &mut dyn FnMut(IdentifierKind, Range<usize>)) {
    for prefix in [b"/home/".as_slice(), b"/Users/".as_slice()] {
        let mut from = 0;
        while let Some(at) = b
            .get(from..)
            .and_then(|rest| rest.windows(prefix.len()).position(|w| w == prefix))
        {
            let start = from + at + prefix.len();
            let mut end = start;
            while b
                .get(end)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
            {
                end += 1;
            }
            if end > start {
                hit(IdentifierKind::UserName, start..end);
            }
            from = end.max(start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(IdentifierKind, String)> {
        kinds_at(text, Place::Text)
    }

    fn kinds_at(text: &str, place: Place) -> Vec<(IdentifierKind, String)> {
        let (norm, found) = find_identifiers(text, place);
        found
            .into_iter()
            .map(|i| (i.kind, norm.get(i.range).unwrap_or_default().to_owned()))
            .collect()
    }

    use IdentifierKind::*;

    #[test]
    fn mac_spellings() {
        for (text, mac) in [
            ("eth0 00:1b:21:3a:4f:5c up", "00:1b:21:3a:4f:5c"),
            ("AA-BB-CC-DD-EE-FF", "AA-BB-CC-DD-EE-FF"),
            ("mac:00:1b:21:3a:4f:5c", "ac:00:1b:21:3a:4f:5c"),
            ("00 1b 21 3a 4f 5c", "00 1b 21 3a 4f 5c"),
            ("cisco 001b.213a.4f5c", "001b.213a.4f5c"),
            ("hp 001B-213A-4F5C.", "001B-213A-4F5C"),
            (
                "00\u{2010}1b\u{2010}21\u{2010}3a\u{2010}4f\u{2010}5c",
                "00-1b-21-3a-4f-5c",
            ),
            (
                "00\u{ff1a}1b\u{ff1a}21\u{ff1a}3a\u{ff1a}4f\u{ff1a}5c",
                "00:1b:21:3a:4f:5c",
            ),
            (
                "00\u{2212}1b\u{2212}21\u{2212}3a\u{2212}4f\u{2212}5c",
                "00-1b-21-3a-4f-5c",
            ),
            ("００:1b:21:3a:4f:5c", "00:1b:21:3a:4f:5c"),
            ("MAC 001b213a4f5c", "001b213a4f5c"),
            ("001B213A4F5C", "001B213A4F5C"),
            ("wwn 50:01:43:80:02:3b:6f:00", "50:01:43:80:02:3b:6f:00"),
        ] {
            assert_eq!(kinds(text), vec![(Mac, mac.to_owned())], "{text}");
        }
        assert_eq!(
            kinds_at("x001b213a4f5c", Place::Key),
            vec![],
            "glued to a letter"
        );
        assert_eq!(
            kinds_at("nic-001b213a4f5c", Place::Key),
            vec![(Mac, "001b213a4f5c".to_owned())]
        );
    }

    #[test]
    fn not_macs() {
        for text in [
            "00:1b:21:3a:4f",
            "/sys/devices/pci0000:00/0000:00:1f.6",
            "ANRPL357.0027.2023.0607.1754",
            "BIOS 1.28.0 2024-03-01",
            "721010A9E630     Rev: JB0O",
            "24.08-685-gde3eb9c9d9a6",
            "pci:v00008086d0000A7A1sv000017AAsd000022E4bc03sc00i00",
            "usb:v1D6Bp0003d0606dc09dsc00dp03ic09isc00ip00in00",
            "fe80::1:2:3:4",
            "DVD+-RW SN-208BB Rev: D500",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    #[test]
    fn uuid_spellings_and_places() {
        let u = "4c4c4544-0042-3510-8052-b4c04f4e3332";
        assert_eq!(kinds(&format!("uuid={u};")), vec![(Uuid, u.to_owned())]);
        assert_eq!(kinds("4c4c4544-0042-3510-8052-b4c04f4e333"), vec![]);
        assert_eq!(kinds("x4c4c4544-0042-3510-8052-b4c04f4e33321"), vec![]);
        let bare = "4c4c454400423510 8052b4c04f4e3332".replace(' ', "");
        assert_eq!(kinds(&bare), vec![(Uuid, bare.clone())]);
        assert_eq!(kinds(&format!("{{{}}}", u.to_uppercase())).len(), 1);
        let dashes = u.replace('-', "\u{2011}");
        assert_eq!(kinds(&dashes), vec![(Uuid, u.to_owned())]);
        // By position: the report id, kernel interface GUIDs in modaliases.
        assert_eq!(kinds_at(&bare, Place::ReportId), vec![]);
        assert_eq!(kinds_at(u, Place::ReportId), vec![(Uuid, u.to_owned())]);
        assert_eq!(
            kinds_at(
                "wmi:05901221-D566-11D1-B2F0-00A0C9062910",
                Place::KernelName
            ),
            vec![]
        );
        // A content id (SHA-256) is longer than a UUID.
        assert_eq!(kinds(&"ab".repeat(32)), vec![]);
    }

    #[test]
    fn serial_spellings() {
        for text in [
            "SN: PF2ABCDE",
            "SN:PF2ABCDE",
            "sn #PF2ABCDE",
            "Serial#PF2ABCDE",
            "serial# PF2ABCDE",
            "S/N PF2ABCDE",
            "s/n:PF2ABCDE",
            "serial number: PF2ABCDE",
            "Serial Number PF2ABCDE",
            "Serial No. PF2ABCDE",
            "SerialNumber=PF2ABCDE",
            "serial_number PF2ABCDE",
            "Service Tag: 7XYZ123",
            "asset_tag=AB12",
        ] {
            let k = kinds(text);
            assert_eq!(k.len(), 1, "{text}: {k:?}");
            assert_eq!(k[0].0, Serial, "{text}");
        }
        for text in [
            "SATA controller: Serial ATA",
            "serial8250",
            "Serial bus controller",
            "DVD+-RW SN-208BB Rev: D500",
            "WD_BLACK SN850X",
            "https://groups.google.com/d/msg/qubes-users/nCJ4gH_YNyY/Lol",
            "serial none",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    #[test]
    fn emails_and_prompts() {
        assert_eq!(
            kinds("mail alice.b+x@example.co.uk now"),
            vec![(Email, "alice.b+x@example.co.uk".to_owned())]
        );
        assert_eq!(
            kinds("https://groups.google.com/d/msgid/qubes-users/abc-1%40googlegroups.com"),
            vec![(Email, "abc-1@googlegroups.com".to_owned())]
        );
        assert_eq!(kinds("alice＠example.org").len(), 1);
        assert_eq!(kinds("Intel(R) Core(TM) i5-4570S CPU @ 2.90GHz"), vec![]);
        assert_eq!(kinds("@KingofMidnight"), vec![]);
        assert_eq!(
            kinds("alice@laptop:~$ uname"),
            vec![(UserName, "alice@laptop".to_owned())]
        );
        assert_eq!(
            kinds("[user@dom0 ~]$ qvm-ls"),
            vec![(UserName, "user@dom0".to_owned())]
        );
    }

    #[test]
    fn mac_derived_ipv6() {
        for (text, addr) in [
            ("fe80::21b:21ff:fe3a:4f5c", "fe80::21b:21ff:fe3a:4f5c"),
            (
                "inet6 fe80::21b:21ff:fe3a:4f5c/64",
                "fe80::21b:21ff:fe3a:4f5c",
            ),
            ("2001:db8::200:ff:fe00:1%eth0", "2001:db8::200:ff:fe00:1"),
            ("FE80::021B:21FF:FE3A:4F5C", "FE80::021B:21FF:FE3A:4F5C"),
        ] {
            assert_eq!(kinds(text), vec![(MacIpv6, addr.to_owned())], "{text}");
        }
        assert_eq!(kinds("fe80::1"), vec![]);
        assert_eq!(kinds("2001:db8::1234:5678"), vec![]);
    }

    #[test]
    fn hostnames_by_position() {
        assert_eq!(
            kinds("Linux alice-laptop.home.lan 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC"),
            vec![(Hostname, "alice-laptop.home.lan".to_owned())]
        );
        assert_eq!(
            kinds("Linux bob 6.6 #1 SMP"),
            vec![(Hostname, "bob".to_owned())]
        );
        assert_eq!(kinds("hostname: alice-laptop").len(), 1);
        assert_eq!(kinds("NodeName=alice").len(), 1);
        for text in [
            "6.6.48-1.qubes.fc37.x86_64",
            "Linux Mint 21.3",
            "Debian GNU/Linux 12 (bookworm)",
            "Linux version 6.1.0-13-amd64 (gcc)",
            "Linux kernel 6.1.55",
            "set the hostname in dom0",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    /// Regression (attack D3, MAC): spellings stored with 201.
    #[test]
    fn regression_d3_mac_spellings() {
        for text in [
            "00.1b.21.3a.4f.5c",
            "00_1b_21_3a_4f_5c",
            "00:1b-21:3a-4f:5c",
            "? (192.0.2.1) at 0:1b:21:3a:4f:5c on en0",
            "001b:213a:4f5c",
            "mac 0x001b213a4f5c",
            "0x001b213a4f5c",
            "NIC 001b213a4f5c",
            "00:1b:21:3a\u{e0020}:4f:5c",
            "00:1b:21:3a\u{3164}:4f:5c",
            "00:1b:21:3\u{301}a:4f:5c",
            "00:1\u{1d41b}:21:3\u{1d41a}:4\u{1d41f}:5\u{1d41c}",
            "\u{2070}\u{2070}:1b:21:3a:4f:5c",
        ] {
            let k = kinds(text);
            assert_eq!(k.len(), 1, "{text}: {k:?}");
            assert_eq!(k[0].0, Mac, "{text}");
        }
        assert_eq!(
            kinds_at("0x001b213a4f5c", Place::Key).len(),
            1,
            "a YAML key"
        );
        for text in [
            "fe80::1:2:3:4:5",
            "1:2:3:4:5:6",
            "0000:00:1f.6",
            "10:30:00 2024-01-01",
            "2001:db8:85a3:0:0:8a2e:370:7334",
            "/sys/devices/pci0000:00/0000:00:14.0/usb3/3-4/3-4:1.0/0003:0627:0001.0001",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    /// Regression (attack D3, MAC-derived IPv6): the Windows literal form.
    #[test]
    fn regression_d3_mac_ipv6_literal() {
        let k = kinds("fe80--21b-21ff-fe3a-4f5c.ipv6-literal.net");
        assert_eq!(k.len(), 1, "{k:?}");
        assert_eq!(k[0].0, MacIpv6);
    }

    /// Regression (attack D3, UUID): other separators, and 32 digits split after a label.
    #[test]
    fn regression_d3_uuid_spellings() {
        for text in [
            "4c4c4544_0042_3510_8052_b4c04f4e3332",
            "4c4c4544 0042 3510 8052 b4c04f4e3332",
            "4c4c4544:0042:3510:8052:b4c04f4e3332",
            "uuid 4c4c454400423510 8052b4c04f4e3332",
            "UUID: 4c4c4544-00423510-8052b4c0-4f4e3332",
        ] {
            let k = kinds(text);
            assert_eq!(k.len(), 1, "{text}: {k:?}");
            assert_eq!(k[0].0, Uuid, "{text}");
        }
    }

    /// Regression (attack D3, serial): labels in other languages and abbreviations.
    #[test]
    fn regression_d3_serial_labels() {
        for text in [
            "Seriennummer: PF2ABCDE",
            "Numéro de série : PF2ABCDE",
            "SN PF2ABCDE",
            "S.N.: PF2ABCDE",
            "Ser.No.: PF2ABCDE",
            "SerNo: PF2ABCDE",
            "Serial PF2ABCDE",
            "PSN: PF2ABCDE",
            "Express Service Code: 12345678901",
        ] {
            let k = kinds(text);
            assert!(!k.is_empty(), "{text}: {k:?}");
            assert_eq!(k[0].0, Serial, "{text}");
        }
        for text in [
            "Serial IO UART",
            "Serial ATA 6Gb/s",
            "WD_BLACK SN850X",
            "SN 850",
            "HGST HTS721010A9E630",
            "Serial controller: 16550 UART",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    /// Regression (attack D5): a serial console and Qubes' dom0 are not identifiers.
    #[test]
    fn regression_d5_false_refusals() {
        for text in [
            "Serial: ttyS0 at 115200",
            "serial=console",
            "Linux dom0 6.6.48-1.qubes.fc37.x86_64 #1 SMP PREEMPT_DYNAMIC",
            "Linux 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1",
            "Linux Foundation 3.0 root hub",
            "Linux 6.1.0-13-amd64 xhci-hcd",
            "Intel(R) Core(TM) i5-4570S CPU @ 2.90GHz",
            "usb@fe800000",
            "Host bridge: Intel Corporation",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
        // Chosen: a list address is still an e-mail address, refused as any other.
        assert_eq!(
            kinds("Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) (gcc-12)")[0].0,
            Email
        );
    }

    /// Regression (attack D3, e-mail): international, literal, quoted and entity spellings.
    #[test]
    fn regression_d3_email_spellings() {
        for text in [
            "\"john doe\"@example.com",
            "alice@[192.0.2.1]",
            "alice@[IPv6:2001:db8::1]",
            "alice@bücher.de",
            "josé@example.com",
            "alice@example.xn--p1ai",
            "алиса@пример.рф",
            "alice&#64;example.com",
            "alice%2540example.com",
        ] {
            let k = kinds(text);
            assert_eq!(k.len(), 1, "{text}: {k:?}");
            assert_eq!(k[0].0, Email, "{text}");
        }
    }

    /// Regression (attack D3, host names by position).
    #[test]
    fn regression_d3_hostnames_by_position() {
        for text in [
            "alice-laptop 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC",
            "pci (a 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC (",
            "Host: alice-laptop",
            "host=alice-laptop.home.lan",
            "Computer Name: ALICE-PC",
            "Linux version 6.1.0 (alice@alice-laptop) (gcc 12) #1 SMP",
            "alice@alice-laptop",
        ] {
            let k = kinds(text);
            assert!(!k.is_empty(), "{text}: {k:?}");
            assert!(matches!(k[0].0, Hostname | UserName), "{text}: {k:?}");
        }
    }

    #[test]
    fn kernel_name_forms() {
        assert!(modalias_form("wmi:05901221-D566-11D1-B2F0-00A0C9062910"));
        assert!(!modalias_form("hello 4c4c4544-0042-3510-8052-b4c04f4e3332"));
        assert!(sysfs_form(
            "/sys/devices/platform/PNP0C14:00/wmi_bus/wmi_bus-PNP0C14:00/05901221-D566-11D1-B2F0-00A0C9062910"
        ));
        assert!(sysfs_form(
            "/sys/devices/pci0000:00/0000:00:16.0/0000:00:16.0-8e6a6715-9abc-4043-88ef-9e39c6f63e0f"
        ));
        assert!(!sysfs_form(
            "/sys/devices/pci0000:00/4c4c4544-0042-3510-8052-b4c04f4e3332"
        ));
        assert!(sysfs_form("/sys/devices/pci0000:00/0000:00:1f.6"));
    }

    #[test]
    fn user_names_in_home_paths() {
        assert_eq!(
            kinds("/home/alice/.config"),
            vec![(UserName, "alice".to_owned())]
        );
        assert_eq!(kinds("/Users/bob"), vec![(UserName, "bob".to_owned())]);
    }

    #[test]
    fn redaction_removes_links_with_identifiers_whole() {
        let t = "see <a href='https://groups.google.com/d/msgid/qubes-users/a585-1%40googlegroups.com'>x</a>, mail bob@example.org";
        assert_eq!(
            redact_identifiers(t),
            "see <a href='[link removed]'>x</a>, mail [removed]"
        );
        assert!(matches!(
            redact_identifiers("no resume after suspend"),
            Cow::Borrowed(_)
        ));
        let dropped = redact_where("see https://x.org/d/msg/a/b and more", |u| {
            u.contains("/msg/")
        });
        assert_eq!(dropped, "see [link removed] and more");
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("plain"), Cow::Borrowed("plain"));
        assert_eq!(normalize("a\u{200b}b\u{00ad}c"), "abc");
        assert_eq!(normalize("50%"), "50%");
        assert_eq!(normalize("%4"), "%4");
        assert_eq!(normalize("a%40b%0a"), "a@b%0a");
        assert_eq!(normalize("\u{1d7ce}\u{1d7d9}"), "01");
    }
}
