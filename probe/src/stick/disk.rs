//! The stick as a disk: its GPT (the `gpt` crate) and its two FAT partitions (the `fatfs`
//! crate, in process: building needs no mtools or loop devices, and the init writes its results
//! without the kernel's vfat module). Works the same on an image file and on a block device.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fscommon::StreamSlice;
use gpt::disk::LogicalBlockSize;

use super::StickError;
use super::layout::{BOOT_PARTITION, RESULTS_PARTITION};

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
        let span = |name: &str| -> Result<Span, StickError> {
            let p = disk
                .partitions()
                .values()
                .find(|p| p.is_used() && p.name == name)
                .ok_or_else(|| not_stick(format!("no partition named {name}")))?;
            let bad = |e: std::io::Error| not_stick(format!("{name}: {e}"));
            Ok(Span {
                start: p.bytes_start(LogicalBlockSize::Lb512).map_err(bad)?,
                len: p.bytes_len(LogicalBlockSize::Lb512).map_err(bad)?,
                guid: p.part_guid,
            })
        };
        Ok(StickDisk {
            path: path.to_owned(),
            disk_guid: *disk.guid(),
            boot: span(BOOT_PARTITION)?,
            results: span(RESULTS_PARTITION)?,
            file,
        })
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

/// A FAT file system on `span` of `file`.
pub fn open_fs(file: &File, span: Span) -> std::io::Result<PartitionFs> {
    let slice = StreamSlice::new(file.try_clone()?, span.start, span.start + span.len)?;
    fatfs::FileSystem::new(slice, fatfs::FsOptions::new().time_provider(&CLOCK))
}

/// File times from the system clock, in UTC. Without it fatfs writes the zero DOS date
/// (month 0), which UEFI's FAT driver refuses in `SetInfo`: systemd-boot then cannot rename an
/// entry to count its boot (regression: the tour booted its first kernel twice).
#[derive(Debug)]
struct UtcClock;

static CLOCK: UtcClock = UtcClock;

impl UtcClock {
    fn now() -> fatfs::DateTime {
        let now = jiff::tz::Offset::UTC.to_datetime(jiff::Timestamp::now());
        let clamp = |v: i8| u16::try_from(v).unwrap_or(0);
        // DOS dates run from 1980 to 2107.
        let (y, m, d) = if (1980..=2107).contains(&now.year()) {
            (now.year(), now.month(), now.day())
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
                hour: clamp(now.hour()),
                min: clamp(now.minute()),
                sec: clamp(now.second()),
                millis: 0,
            },
        }
    }
}

impl fatfs::TimeProvider for UtcClock {
    fn get_current_date(&self) -> fatfs::Date {
        UtcClock::now().date
    }
    fn get_current_date_time(&self) -> fatfs::DateTime {
        UtcClock::now()
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
    {
        let mut f = dir.create_file(&tmp)?;
        f.truncate()?;
        f.write_all(bytes)?;
        f.flush()?;
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
