//! A clear last word when SQLite's shared memory can no longer be written.
//!
//! SQLite in WAL mode maps its `-shm` file into memory. When the kernel refuses a write to
//! that mapping (ext4 and others once the file is made immutable with `chattr +i`, or an I/O
//! error under the mapping), the writing thread gets SIGBUS: no error code SQLite could turn
//! into a 503, and no way for a process to go on safely. The process must stop, as PostgreSQL
//! stops on a failed fsync. What it can do is say why: without this, the server vanishes with
//! only "Bus error" in the supervisor's log. Nothing acknowledged is lost (an answer is sent
//! only after its commit); a batch cut short is rolled back or recovered from the WAL on the
//! next start.
//!
//! Hand code because no signal crate allows a SIGBUS handler (signal-hook refuses it: a
//! handler cannot resume after it); this one only writes a message and hands the signal back
//! to its default action, which is async-signal-safe.

#![allow(unsafe_code)]

use std::sync::Once;

const MESSAGE: &[u8] = b"\nhcl-aggregator: SIGBUS: a memory-mapped file could not be written. \
This is most likely the SQLite database's -shm file: made immutable (check with lsattr, undo \
with chattr -i), or its file system failed. Stopping now; every acknowledged report is \
committed, and the next start recovers the rest of the write-ahead log.\n";

extern "C" fn on_sigbus(_: libc::c_int) {
    // SAFETY: write(2) is async-signal-safe; the buffer is static. With SA_RESETHAND the
    // disposition is already the default again, so the faulting access, retried on return,
    // ends the process with SIGBUS as before, now with the reason written down.
    unsafe {
        libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
    }
}

/// Install the handler, once per process.
pub(super) fn explain_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid value; the handler is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&raw mut sa.sa_mask);
            if libc::sigaction(libc::SIGBUS, &raw const sa, std::ptr::null_mut()) != 0 {
                tracing::warn!(
                    "cannot install the SIGBUS note: a SIGBUS will end the server unexplained"
                );
            }
        }
    });
}
