//! Where the tour of kernels stands, from what is on the stick: the loader entries' boot
//! counters (systemd-boot renames `hcl-NN+1.conf` to `hcl-NN+0-1.conf` before it starts a
//! kernel) and the run records already written. Decides which kernels left no result, whether
//! this boot starts a new session, and what comes next.

use std::collections::BTreeSet;

use crate::stick::disk::{Part, StickDisk, ensure_dir, write_file};
use crate::stick::layout::{
    COMPLETE_MARKER, ENTRIES_DIR, FORMAT, Outcome, Plan, RUNS_DIR, RunRecord, parse_entry_file,
    record_name, session_dir,
};

/// One loader entry as found on the boot partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFile {
    pub entry: u32,
    /// Tries left: 0 once the loader has started it.
    pub tries_left: u32,
    pub file: String,
}

/// What the results partition says about the latest session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latest {
    /// 0 when there is none.
    pub id: u32,
    pub complete: bool,
    /// Entries with a record in it.
    pub recorded: BTreeSet<u32>,
}

/// What this boot is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub session: u32,
    /// The loader fell back to this entry after every kernel was tried: record, end the
    /// session, power off, observe nothing.
    pub wrapped_around: bool,
    /// Entries the loader started that left no record: each gets a `no_result` record.
    pub no_result: Vec<u32>,
}

/// Decides from the counters and the records, for entry `me`.
pub fn decide(me: u32, entries: &[EntryFile], latest: &Latest) -> Decision {
    let tried = |e: &EntryFile| e.tries_left == 0 && e.entry != me;
    if latest.id == 0 || latest.complete {
        // A new session: entries already tried were tried in it (the counters are reset when
        // a session ends), before this one, and left nothing.
        return Decision {
            session: latest.id + 1,
            wrapped_around: false,
            no_result: entries
                .iter()
                .filter(|e| tried(e))
                .map(|e| e.entry)
                .collect(),
        };
    }
    let missing = entries
        .iter()
        .filter(|e| tried(e) && !latest.recorded.contains(&e.entry))
        .map(|e| e.entry)
        .collect();
    Decision {
        session: latest.id,
        wrapped_around: latest.recorded.contains(&me),
        no_result: missing,
    }
}

/// True when some kernel of the tour has not been started yet.
pub fn more_to_go(entries: &[EntryFile]) -> bool {
    entries.iter().any(|e| e.tries_left > 0)
}

/// The `hcl-NN*.conf` entries with a boot counter.
pub fn read_entries(disk: &StickDisk) -> std::io::Result<Vec<EntryFile>> {
    let fs = disk.fs(Part::Boot).map_err(std::io::Error::other)?;
    let dir = fs.root_dir().open_dir(ENTRIES_DIR)?;
    let mut out = Vec::new();
    for entry in dir.iter() {
        let file = entry?.file_name();
        if let Some((entry, Some(tries_left))) = parse_entry_file(&file) {
            out.push(EntryFile {
                entry,
                tries_left,
                file,
            });
        }
    }
    out.sort_by_key(|e| e.entry);
    Ok(out)
}

/// Gives every entry one try again (the next power-on starts a new tour).
pub fn reset_entries(disk: &StickDisk, entries: &[EntryFile]) -> std::io::Result<()> {
    let fs = disk.fs(Part::Boot).map_err(std::io::Error::other)?;
    let dir = fs.root_dir().open_dir(ENTRIES_DIR)?;
    for e in entries {
        let fresh = format!("{}+1.conf", crate::stick::layout::entry_name(e.entry));
        if e.file != fresh {
            dir.rename(&e.file, &dir, &fresh)?;
        }
    }
    drop(dir);
    fs.unmount()?;
    disk.sync().map_err(std::io::Error::other)
}

/// The latest session on the results partition.
pub fn read_latest(disk: &StickDisk) -> std::io::Result<Latest> {
    let fs = disk.fs(Part::Results).map_err(std::io::Error::other)?;
    let root = fs.root_dir();
    let Ok(runs) = root.open_dir(RUNS_DIR) else {
        return Ok(Latest::default());
    };
    let mut latest = Latest::default();
    for entry in runs.iter() {
        let entry = entry?;
        if let Some(id) = entry
            .file_name()
            .strip_prefix('s')
            .and_then(|n| n.parse::<u32>().ok())
        {
            latest.id = latest.id.max(id);
        }
    }
    if latest.id == 0 {
        return Ok(latest);
    }
    let dir = runs.open_dir(&session_dir(latest.id))?;
    for entry in dir.iter() {
        let name = entry?.file_name();
        if name == COMPLETE_MARKER {
            latest.complete = true;
        } else if let Some(n) = name
            .strip_prefix("entry-")
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse().ok())
        {
            latest.recorded.insert(n);
        }
    }
    Ok(latest)
}

/// Writes records (and the session's end marker) to the results partition, then syncs. A full
/// partition fails here with the file system's error; nothing already there is removed.
pub fn write_records(
    disk: &StickDisk,
    session: u32,
    records: &[RunRecord],
    complete: bool,
) -> std::io::Result<()> {
    let fs = disk.fs(Part::Results).map_err(std::io::Error::other)?;
    {
        let root = fs.root_dir();
        let dir = ensure_dir(&root, &format!("{RUNS_DIR}/{}", session_dir(session)))?;
        for r in records {
            let bytes = serde_json::to_vec_pretty(r).map_err(std::io::Error::other)?;
            write_file(&dir, &record_name(r.entry), &bytes)?;
        }
        if complete {
            write_file(
                &dir,
                COMPLETE_MARKER,
                b"every kernel of the plan was tried\n",
            )?;
        }
    }
    fs.unmount()?;
    disk.sync().map_err(std::io::Error::other)
}

/// The record a later init writes for a kernel that left none.
pub fn no_result(plan: &Plan, session: u32, entry: u32) -> RunRecord {
    RunRecord {
        format: FORMAT,
        session,
        entry,
        release: plan
            .kernel(entry)
            .map(|k| k.release.clone())
            .unwrap_or_default(),
        outcome: Outcome::NoResult,
        message: Some(
            "the loader started this kernel but it wrote no result: it panicked, hung (and the \
             machine was reset), was switched off, or found no stick to write to (no USB \
             controller or storage driver it drives)"
                .to_owned(),
        ),
        timings: None,
        report: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(tries: &[u32]) -> Vec<EntryFile> {
        tries
            .iter()
            .enumerate()
            .map(|(i, &t)| EntryFile {
                entry: i as u32 + 1,
                tries_left: t,
                file: String::new(),
            })
            .collect()
    }

    #[test]
    fn first_boot_of_a_fresh_stick() {
        let d = decide(1, &entries(&[0, 1, 1]), &Latest::default());
        assert_eq!(
            (d.session, d.wrapped_around, d.no_result),
            (1, false, vec![])
        );
        assert!(more_to_go(&entries(&[0, 1, 1])));
    }

    #[test]
    fn a_kernel_that_panicked_before_its_init_is_recorded_by_the_next() {
        // Session 1 holds entry 1's record; entry 2 was started and left nothing; 3 runs now.
        let latest = Latest {
            id: 1,
            complete: false,
            recorded: [1].into(),
        };
        let d = decide(3, &entries(&[0, 0, 0]), &latest);
        assert_eq!(
            (d.session, d.wrapped_around, d.no_result),
            (1, false, vec![2])
        );
        assert!(!more_to_go(&entries(&[0, 0, 0])));
    }

    #[test]
    fn the_first_kernel_failing_starts_the_session_with_a_no_result() {
        let latest = Latest {
            id: 4,
            complete: true,
            recorded: [1, 2].into(),
        };
        let d = decide(2, &entries(&[0, 0]), &latest);
        assert_eq!(
            (d.session, d.wrapped_around, d.no_result),
            (5, false, vec![1])
        );
    }

    #[test]
    fn the_loader_falling_back_after_the_last_kernel_failed_ends_the_session() {
        let latest = Latest {
            id: 2,
            complete: false,
            recorded: [1].into(),
        };
        let d = decide(1, &entries(&[0, 0]), &latest);
        assert_eq!(
            (d.session, d.wrapped_around, d.no_result),
            (2, true, vec![2])
        );
    }
}
