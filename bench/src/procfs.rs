//! The server's resource use, read from `/proc/<pid>`.

use std::fs;

use anyhow::{bail, Context};

/// A snapshot of a process's memory, CPU time and open files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Resident memory in bytes.
    pub rss_bytes: u64,
    /// User plus system CPU time in seconds.
    pub cpu_seconds: f64,
    /// Open file descriptors (sockets included).
    pub open_files: u64,
}

/// Reads `/proc/<pid>` now.
pub fn sample(pid: u32) -> anyhow::Result<Sample> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status (is the server running?)"))?;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let open_files = fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("listing /proc/{pid}/fd"))?
        .count() as u64;
    Ok(Sample {
        rss_bytes: rss_from_status(&status)?,
        cpu_seconds: cpu_ticks_from_stat(&stat)? as f64 / clock_ticks_per_second(),
        open_files,
    })
}

/// `VmRSS:  1234 kB` in bytes.
fn rss_from_status(status: &str) -> anyhow::Result<u64> {
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmRSS:") {
            let kb: u64 = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .with_context(|| format!("bad VmRSS line {line:?}"))?;
            return Ok(kb * 1024);
        }
    }
    bail!("no VmRSS line in /proc/<pid>/status")
}

/// utime + stime (fields 14 and 15) in clock ticks. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted from the last `)`.
fn cpu_ticks_from_stat(stat: &str) -> anyhow::Result<u64> {
    let after_name = stat
        .rfind(')')
        .map(|at| &stat[at + 1..])
        .context("malformed /proc/<pid>/stat")?;
    // After the name come field 3 (state) onwards; utime is field 14, i.e. index 11 here.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .context("short /proc/<pid>/stat")?
            .parse()
            .context("non-numeric CPU time in /proc/<pid>/stat")
    };
    Ok(field(11)? + field(12)?)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rss() {
        let status = "Name:\tchat-server\nVmPeak:\t  9000 kB\nVmRSS:\t   5120 kB\nThreads:\t3\n";
        assert_eq!(rss_from_status(status).unwrap(), 5120 * 1024);
        assert!(rss_from_status("Name: x\n").is_err());
    }

    #[test]
    fn parses_cpu_ticks_even_with_odd_process_names() {
        let stat = "1234 (chat (server) x) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 3 0 100 0 0";
        assert_eq!(cpu_ticks_from_stat(stat).unwrap(), 325);
        assert!(cpu_ticks_from_stat("1234 (x) S 1").is_err());
    }

    #[test]
    fn samples_this_process() {
        let me = sample(std::process::id()).unwrap();
        assert!(me.rss_bytes > 0 && me.open_files >= 3, "{me:?}");
    }
}
