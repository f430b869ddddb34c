//! The stick as a disk: its GPT (the `gpt` crate) and its two FAT partitions (the `fatfs`
//! crate, in process: building needs no mtools or loop devices, and the init writes its results
//! without the kernel's vfat module). Works the same on an image file and on a block device.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fscommon::StreamSlice;
use gpt::disk::LogicalBlockSize;

use super::StickError;
use super::layout::{BOOT_PARTITION, MODULES_PARTITION, RESULTS_PARTITION};

/// A FAT file system on one partition of the stick.
pub type PartitionFs = fatfs::FileSystem<StreamSlice<File>>;

/// Where a partition lies on the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub len: u64,
    pub guid: uuid::Uuid,
}

/// An opened stick: the disk's GUID and the spans of its two partitions.
#[derive(Debug)]
pub struct StickDisk {
    path: PathBuf,
    file: File,
    pub disk_guid: uuid::Uuid,
    pub boot: Span,
    pub results: Span,
    /// The modules partition (sticks built before it existed have none).
    pub modules: Option<Span>,
}

/// Which partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Boot,
    Results,
}

impl StickDisk {
    /// Opens `path` (an image or a whole-disk device) and finds the two partitions by their GPT
    /// names. Anything else (no GPT, other partitions) is not a stick and is refused.
    pub fn open(path: &Path, writable: bool) -> Result<Self, StickError> {
        let io = |e: std::io::Error| StickError::io(path, e);
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(io)?;
        let not_stick = |why: String| StickError::NotAStick {
            path: path.to_owned(),
            why,
        };
        let reader = file.try_clone().map_err(io)?;
        let disk = gpt::GptConfig::new()
            .writable(false)
            .logical_block_size(LogicalBlockSize::Lb512)
            .open_from_device(reader)
            .map_err(|e| not_stick(format!("no GPT partition table ({e})")))?;
        let find = |name: &str| -> Result<Option<Span>, StickError> {
            let Some(p) = disk
                .partitions()
                .values()
                .find(|p| p.is_used() && p.name == name)
            else {
                return Ok(None);
            };
            let bad = |e: std::io::Error| not_stick(format!("{name}: {e}"));
            Ok(Some(Span {
                start: p.bytes_start(LogicalBlockSize::Lb512).map_err(bad)?,
                len: p.bytes_len(LogicalBlockSize::Lb512).map_err(bad)?,
                guid: p.part_guid,
            }))
        };
        let span = |name: &str| -> Result<Span, StickError> {
            find(name)?.ok_or_else(|| not_stick(format!("no partition named {name}")))
        };
        Ok(StickDisk {
            path: path.to_owned(),
            disk_guid: *disk.guid(),
            boot: span(BOOT_PARTITION)?,
            results: span(RESULTS_PARTITION)?,
            modules: find(MODULES_PARTITION)?,
            file,
        })
    }

    /// `len` bytes at `offset` of the modules partition; refused when they lie outside it.
    pub fn read_modules(&self, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let span = self.modules.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no partition named {MODULES_PARTITION}"),
            )
        })?;
        if offset.checked_add(len).is_none_or(|end| end > span.len) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{len} bytes at {offset} lie outside {MODULES_PARTITION}"),
            ));
        }
        let mut buf = vec![0; usize::try_from(len).map_err(std::io::Error::other)?];
        self.file.read_exact_at(&mut buf, span.start + offset)?;
        Ok(buf)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The FAT file system of one partition.
    pub fn fs(&self, part: Part) -> Result<PartitionFs, StickError> {
        let span = match part {
            Part::Boot => self.boot,
            Part::Results => self.results,
        };
        open_fs(&self.file, span).map_err(|e| StickError::io(&self.path, e))
    }

    /// Flushes what was written to the device (the page cache of a block device or image).
    pub fn sync(&self) -> Result<(), StickError> {
        self.file
            .sync_all()
            .map_err(|e| StickError::io(&self.path, e))
    }
}

/// What dates the files a FAT file system writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileTimes {
    /// The system clock: the init's results on the stick, and a build without an epoch.
    Now,
    /// One fixed moment, in seconds since the Unix epoch: a release build's
    /// `SOURCE_DATE_EPOCH`, so that the same inputs give the same image bytes.
    At(u64),
}

/// A FAT file system on `span` of `file`, dating what it writes by the system clock (what runs
/// on the stick: results carry the real time).
pub fn open_fs(file: &File, span: Span) -> std::io::Result<PartitionFs> {
    open_fs_dated(file, span, FileTimes::Now)
}

/// A FAT file system on `span` of `file`, dating what it writes by `times`.
pub fn open_fs_dated(file: &File, span: Span, times: FileTimes) -> std::io::Result<PartitionFs> {
    let clock: &'static dyn fatfs::TimeProvider = match times {
        FileTimes::Now => &CLOCK,
        FileTimes::At(secs) => FixedClock::interned(secs),
    };
    let slice = StreamSlice::new(file.try_clone()?, span.start, span.start + span.len)?;
    fatfs::FileSystem::new(slice, fatfs::FsOptions::new().time_provider(clock))
}

/// A moment as a DOS date and time, in UTC. DOS dates run from 1980 to 2107: outside, 1980-01-01.
fn dos_date_time(at: jiff::Timestamp) -> fatfs::DateTime {
    let at = jiff::tz::Offset::UTC.to_datetime(at);
    let clamp = |v: i8| u16::try_from(v).unwrap_or(0);
    let (y, m, d) = if (1980..=2107).contains(&at.year()) {
        (at.year(), at.month(), at.day())
    } else {
        (1980, 1, 1)
    };
    fatfs::DateTime {
        date: fatfs::Date {
            year: u16::try_from(y).unwrap_or(1980),
            month: clamp(m),
            day: clamp(d),
        },
        time: fatfs::Time {
            hour: clamp(at.hour()),
            min: clamp(at.minute()),
            sec: clamp(at.second()),
            millis: 0,
        },
    }
}

/// File times from the system clock, in UTC. Without a clock fatfs writes the zero DOS date
/// (month 0), which UEFI's FAT driver refuses in `SetInfo`: systemd-boot then cannot rename an
/// entry to count its boot (regression: the tour booted its first kernel twice).
#[derive(Debug)]
struct UtcClock;

static CLOCK: UtcClock = UtcClock;

impl fatfs::TimeProvider for UtcClock {
    fn get_current_date(&self) -> fatfs::Date {
        dos_date_time(jiff::Timestamp::now()).date
    }
    fn get_current_date_time(&self) -> fatfs::DateTime {
        dos_date_time(jiff::Timestamp::now())
    }
}

/// File times fixed at one moment (a reproducible build's).
#[derive(Debug)]
struct FixedClock(fatfs::DateTime);

impl FixedClock {
    /// The clock for `secs`. fatfs 0.3 takes only a `&'static` clock, so each distinct moment's
    /// clock is made once and kept for the life of the process (a few bytes per epoch used).
    fn interned(secs: u64) -> &'static FixedClock {
        use std::collections::BTreeMap;
        use std::sync::{Mutex, PoisonError};
        static CLOCKS: Mutex<BTreeMap<u64, &'static FixedClock>> = Mutex::new(BTreeMap::new());
        let mut clocks = CLOCKS.lock().unwrap_or_else(PoisonError::into_inner);
        clocks.entry(secs).or_insert_with(|| {
            // Past jiff's range (year 9999): the DOS floor, as any date past 2107 gets.
            let at = i64::try_from(secs)
                .ok()
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            Box::leak(Box::new(FixedClock(dos_date_time(at))))
        })
    }
}

impl fatfs::TimeProvider for FixedClock {
    fn get_current_date(&self) -> fatfs::Date {
        self.0.date
    }
    fn get_current_date_time(&self) -> fatfs::DateTime {
        self.0
    }
}

/// Reads a whole file of a FAT file system, refusing more than `limit` bytes.
pub fn read_file(
    dir: &fatfs::Dir<'_, StreamSlice<File>>,
    path: &str,
    limit: u64,
) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = dir.open_file(path)?;
    let mut out = Vec::new();
    file.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{path}: larger than {limit} bytes"),
        ));
    }
    Ok(out)
}

/// Writes a whole file, replacing it: written under a temporary name, then renamed, so a
/// power cut leaves the old file or the new one.
pub fn write_file(
    dir: &fatfs::Dir<'_, StreamSlice<File>>,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = format!("{name}.tmp");
    let _ = dir.remove(&tmp);
    let written = dir.create_file(&tmp).and_then(|mut f| {
        f.truncate()?;
        f.write_all(bytes)?;
        f.flush()
    });
    if let Err(e) = written {
        // A full partition: give the room back; the old file is still there.
        let _ = dir.remove(&tmp);
        return Err(e);
    }
    let _ = dir.remove(name);
    dir.rename(&tmp, dir, name)
}

/// Opens a folder, creating it (and its parents) when missing.
pub fn ensure_dir<'a>(
    root: &fatfs::Dir<'a, StreamSlice<File>>,
    path: &str,
) -> std::io::Result<fatfs::Dir<'a, StreamSlice<File>>> {
    let mut dir = root.clone();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        dir = match dir.open_dir(part) {
            Ok(d) => d,
            Err(_) => dir.create_dir(part)?,
        };
    }
    Ok(dir)
}
