//! One timed child process: wall time from spawn to reaping, and the
//! child's own user and system CPU time and peak RSS, from the resource
//! usage `wait4` returns for exactly that child. A watcher stops the child
//! at the timeout or on Ctrl-C; an optional address-space limit is set in
//! the child before it executes.
#![allow(unsafe_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    Cancelled,
}

#[derive(Debug)]
pub struct Outcome {
    pub end: End,
    pub wall: f64,
    pub user: f64,
    pub sys: f64,
    pub peak_rss: u64,
    pub stdout: String,
    /// The last 4 KiB of stderr.
    pub stderr: String,
}

fn drain(mut r: impl Read + Send + 'static, keep_tail: bool) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if keep_tail && buf.len() > 64 << 10 {
                buf.drain(..buf.len() - 4096);
            }
        }
        if keep_tail && buf.len() > 4096 {
            buf.drain(..buf.len() - 4096);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` to its end, or until `timeout` seconds pass, or `cancel` is
/// set (the child gets SIGINT, then SIGKILL 3 s later).
pub fn run(
    mut cmd: Command,
    timeout: f64,
    mem_limit: Option<u64>,
    cancel: &'static AtomicBool,
) -> std::io::Result<Outcome> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(limit) = mem_limit {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec and only
        // makes the setrlimit system call (async-signal-safe, no allocation).
        unsafe {
            cmd.pre_exec(move || {
                rustix::process::setrlimit(
                    rustix::process::Resource::As,
                    rustix::process::Rlimit {
                        current: Some(limit),
                        maximum: Some(limit),
                    },
                )
                .map_err(std::io::Error::from)
            });
        }
    }
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as i32;
    let out = child.stdout.take().map(|s| drain(s, false));
    let err = child.stderr.take().map(|s| drain(s, true));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watcher = std::thread::spawn(move || {
        let target = Pid::from_raw(pid);
        let mut interrupted_at: Option<Instant> = None;
        loop {
            match done_rx.recv_timeout(Duration::from_millis(50)) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return None,
            }
            let target = target?;
            if start.elapsed().as_secs_f64() > timeout {
                let _ = kill_process(target, Signal::KILL);
                return Some(End::TimedOut);
            }
            if cancel.load(Ordering::SeqCst) {
                match interrupted_at {
                    None => {
                        let _ = kill_process(target, Signal::INT);
                        interrupted_at = Some(Instant::now());
                    }
                    Some(t) if t.elapsed() > Duration::from_secs(3) => {
                        let _ = kill_process(target, Signal::KILL);
                        return Some(End::Cancelled);
                    }
                    Some(_) => {}
                }
            }
        }
    });
    let (status, usage) = wait4(pid)?;
    let wall = start.elapsed().as_secs_f64();
    let _ = done_tx.send(());
    let stopped = watcher.join().ok().flatten();
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    let end = match stopped {
        Some(e) => e,
        None if cancel.load(Ordering::SeqCst) => End::Cancelled,
        None if libc::WIFEXITED(status) => End::Exited(libc::WEXITSTATUS(status)),
        None if libc::WIFSIGNALED(status) => End::Signalled(libc::WTERMSIG(status)),
        None => End::Exited(-1),
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    // The std handle is not waited on again: the child is reaped here.
    drop(child);
    Ok(Outcome {
        end,
        wall,
        user: secs(usage.ru_utime),
        sys: secs(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        peak_rss: (usage.ru_maxrss.max(0) as u64) * 1024,
        stdout,
        stderr,
    })
}

/// Reaps `pid`, returning its wait status and its own resource usage.
fn wait4(pid: i32) -> std::io::Result<(i32, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data for which all-zero bytes are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the types
        // wait4 expects; `pid` is our own unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NO: AtomicBool = AtomicBool::new(false);

    #[test]
    fn the_childs_own_cpu_and_memory_are_measured() {
        // A child that touches 200 MB: its peak RSS is at least that, and
        // the parent's (this test's) is not what is reported.
        let mut c = Command::new("python3");
        c.args(["-c", "b = bytearray(200_000_000); print(len(b))"]);
        let Ok(o) = run(c, 60.0, None, &NO) else {
            eprintln!("skipped: no python3");
            return;
        };
        assert_eq!(o.end, End::Exited(0));
        assert_eq!(o.stdout.trim(), "200000000");
        assert!(o.peak_rss >= 200_000_000, "{}", o.peak_rss);
        assert!(o.peak_rss < 400_000_000, "{}", o.peak_rss);
        let mut c = Command::new("sh");
        c.args(["-c", "exit 3"]);
        let o = run(c, 60.0, None, &NO).expect("sh runs");
        assert_eq!(o.end, End::Exited(3));
        assert!(
            o.peak_rss < 50_000_000,
            "a shell's own peak, {}",
            o.peak_rss
        );
    }

    #[test]
    fn a_child_past_its_timeout_is_killed() {
        let mut c = Command::new("sleep");
        c.arg("30");
        let o = run(c, 0.3, None, &NO).expect("sleep runs");
        assert_eq!(o.end, End::TimedOut);
        assert!(o.wall < 10.0, "{}", o.wall);
    }

    #[test]
    fn a_child_over_its_memory_limit_fails() {
        let mut c = Command::new("sh");
        c.args([
            "-c",
            "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}",
        ]);
        let o = run(c, 60.0, Some(64 << 20), &NO).expect("sh runs");
        assert_ne!(o.end, End::Exited(0), "{:?} {}", o.end, o.stdout);
    }
}
