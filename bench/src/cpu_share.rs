//! Lambda's CPU for a memory size, held on a process by a Linux cgroup's CPU quota.
//!
//! Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB, so a 128 MB
//! function runs on about 7% of one. Its init phase is the exception: it runs with burst CPU
//! (the Lambda Web Adapter's documentation: "up to 10 seconds for function initialization with
//! burst CPU"), so the bench leaves the quota off until the process first polls for work and sets
//! it before the first invocation. The period is 20 ms: 128 MB's share of it (1.45 ms) is above the
//! kernel's 1 ms minimum quota, and a longer period would let a short invocation finish unthrottled
//! inside one period, flattering every runtime alike.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub const ONE_VCPU_MB: u64 = 1769;
const PERIOD_US: u64 = 20_000;

/// A cgroup of its own for one process, its CPU quota off until [`CpuShare::limit`].
pub struct CpuShare {
    dir: PathBuf,
    version: Version,
}

#[derive(Clone, Copy)]
enum Version {
    /// cgroup v1's `cpu` controller: `cpu.cfs_quota_us` and `cpu.cfs_period_us`.
    V1,
    /// cgroup v2: `cpu.max` holds "quota period".
    V2,
}

impl CpuShare {
    /// A new cgroup; an error where this machine cannot make one (not root, no CPU controller),
    /// which the bench reports instead of figures that would not be capped.
    pub fn new() -> io::Result<Self> {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let name = format!("lambda-bench-{}-{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed));
        let v1 = PathBuf::from("/sys/fs/cgroup/cpu");
        let (dir, version) = if v1.join("cpu.cfs_quota_us").exists() {
            (v1.join(name), Version::V1)
        } else {
            let root = PathBuf::from("/sys/fs/cgroup");
            // The root must hand the cpu controller down; harmless when it already does.
            let _ = std::fs::write(root.join("cgroup.subtree_control"), "+cpu");
            (root.join(name), Version::V2)
        };
        std::fs::create_dir(&dir)?;
        let share = Self { dir, version };
        share.unlimited()?;
        Ok(share)
    }

    /// Starts `command` inside this cgroup, returning when it started and the child: the process
    /// is in the cgroup from its first instruction, so loading the binary counts too.
    ///
    /// Moving a process between cgroups can take a few milliseconds (the kernel waits for an RCU
    /// grace period), which must not count as the function's init: on cgroup v1 a thread of our
    /// own moves in first and forks, and the child is born inside; on v2, where a thread cannot
    /// leave its process's cgroup, the child moves itself before exec and that time counts.
    pub fn spawn(&self, mut command: std::process::Command) -> io::Result<(Instant, std::process::Child)> {
        match self.version {
            Version::V1 => {
                let tasks = self.dir.join("tasks");
                std::thread::spawn(move || {
                    // "0" is the writing thread; it ends after the fork, leaving the child alone in the cgroup.
                    std::fs::write(tasks, "0")?;
                    let started = Instant::now();
                    Ok((started, command.spawn()?))
                })
                .join()
                .map_err(|_| io::Error::other("the spawning thread panicked"))?
            }
            Version::V2 => {
                let procs = CString::new(self.dir.join("cgroup.procs").as_os_str().as_bytes())?;
                // SAFETY: between fork and exec only async-signal-safe calls: open, write, close, errno.
                unsafe {
                    command.pre_exec(move || {
                        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                        if fd < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        // "0" is the writing process itself.
                        let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                        libc::close(fd);
                        if written == 1 { Ok(()) } else { Err(io::Error::last_os_error()) }
                    });
                }
                Ok((Instant::now(), command.spawn()?))
            }
        }
    }

    /// Holds the cgroup to what Lambda gives `memory_mb`.
    pub fn limit(&self, memory_mb: u64) -> io::Result<()> {
        self.set(Some(PERIOD_US * memory_mb / ONE_VCPU_MB))
    }

    /// No quota: the full CPU of this machine.
    pub fn unlimited(&self) -> io::Result<()> {
        self.set(None)
    }

    fn set(&self, quota_us: Option<u64>) -> io::Result<()> {
        match self.version {
            Version::V1 => {
                std::fs::write(self.dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
                let quota = quota_us.map_or("-1".to_owned(), |q| q.max(1000).to_string());
                std::fs::write(self.dir.join("cpu.cfs_quota_us"), quota)
            }
            Version::V2 => {
                let quota = quota_us.map_or("max".to_owned(), |q| q.max(1000).to_string());
                std::fs::write(self.dir.join("cpu.max"), format!("{quota} {PERIOD_US}"))
            }
        }
    }
}

impl Drop for CpuShare {
    /// Removes the cgroup; its process must have exited (the bench kills and reaps it first).
    fn drop(&mut self) {
        // A killed process leaves its cgroup a moment after it is reaped.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
