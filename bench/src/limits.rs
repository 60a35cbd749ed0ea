//! Open-file limits: raise the soft limit to the hard one, and say clearly when a run needs more.

use anyhow::bail;

/// Raises this process's soft open-file limit to its hard limit and returns the new limit.
pub fn raise_open_files() -> anyhow::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            bail!(
                "getrlimit(RLIMIT_NOFILE) failed: {}",
                std::io::Error::last_os_error()
            );
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                bail!(
                    "setrlimit(RLIMIT_NOFILE) failed: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
    Ok(limit.rlim_cur)
}

/// Fails with an explanation when `connections` sockets (plus a margin for everything else)
/// do not fit in `limit` open files.
pub fn check_fits(connections: usize, limit: u64) -> anyhow::Result<()> {
    const MARGIN: u64 = 64;
    let needed = connections as u64 + MARGIN;
    if needed > limit {
        bail!(
            "this run needs about {needed} open files ({connections} connections + {MARGIN}) but \
             the limit is {limit} (hard limit; see `ulimit -Hn`). Use fewer connections, or raise \
             the hard limit as root. The server needs as many, within its own limit."
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_when_a_run_does_not_fit() {
        assert!(check_fits(1000, 20_000).is_ok());
        let err = check_fits(19_990, 20_000).unwrap_err().to_string();
        assert!(err.contains("20054") && err.contains("20000"), "{err}");
    }

    #[test]
    fn raising_keeps_a_usable_limit() {
        assert!(raise_open_files().unwrap() >= 64);
    }
}
