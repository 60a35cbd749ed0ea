//! Where the load goes: a `ws://` URL on a loopback address, and nowhere else.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use anyhow::{bail, Context};

/// A parsed, checked target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The server's address.
    pub addr: SocketAddr,
    /// The `Host` header to send.
    pub host: String,
    /// The request path, e.g. `/ws`.
    pub path: String,
    /// A `Cookie` header value every handshake presents (accounts mode: a session).
    pub cookie: Option<String>,
}

impl Target {
    /// Parses `ws://host:port/path` and refuses anything that is not loopback: this tool
    /// generates heavy load and must never be pointed at another machine.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("ws://")
            .with_context(|| format!("{url:?}: only ws:// URLs are supported"))?;
        let (host, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/ws"),
        };
        if host.is_empty() {
            bail!("{url:?} has no host");
        }
        let has_port = if host.starts_with('[') {
            host.contains("]:")
        } else {
            host.contains(':')
        };
        let with_port = if has_port {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        let addrs: Vec<SocketAddr> = with_port
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {host:?}"))?
            .collect();
        let Some(&addr) = addrs.first() else {
            bail!("{host:?} resolves to no address");
        };
        if let Some(outside) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            bail!(
                "refusing target {url:?}: {} is not a loopback address; load tests run against \
                 this machine only",
                outside.ip()
            );
        }
        Ok(Target {
            addr,
            host: host.to_string(),
            path: path.to_string(),
            cookie: None,
        })
    }
}

/// The `n`-th local source address to connect from: 127.0.0.1, 127.0.0.2, ... Each gives
/// another ~28k ephemeral ports towards the same server port. IPv6 has only ::1.
pub fn source_address(target: &Target, n: usize, spread: usize) -> IpAddr {
    match target.addr.ip() {
        IpAddr::V4(_) => {
            let index = (n % spread.max(1)) as u32 + 1;
            IpAddr::V4(Ipv4Addr::from(
                u32::from(Ipv4Addr::new(127, 0, 0, 0)) + index,
            ))
        }
        ip => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_targets() {
        let t = Target::parse("ws://127.0.0.1:8080/ws").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            (t.host.as_str(), t.path.as_str()),
            ("127.0.0.1:8080", "/ws")
        );
        assert_eq!(Target::parse("ws://localhost:9000").unwrap().path, "/ws");
        assert!(Target::parse("ws://[::1]:8080/ws")
            .unwrap()
            .addr
            .ip()
            .is_loopback());
        assert!(Target::parse("ws://127.0.0.5:1/x").is_ok());
    }

    #[test]
    fn refuses_anything_else() {
        for url in [
            "ws://10.0.0.1:8080/ws",
            "ws://192.168.1.1/ws",
            "ws://8.8.8.8:80/ws",
            "wss://127.0.0.1/ws",
            "http://127.0.0.1/ws",
            "ws:///ws",
        ] {
            assert!(Target::parse(url).is_err(), "{url} must be refused");
        }
    }

    #[test]
    fn spreads_over_loopback_sources() {
        let t = Target::parse("ws://127.0.0.1:8080/ws").unwrap();
        assert_eq!(source_address(&t, 0, 4).to_string(), "127.0.0.1");
        assert_eq!(source_address(&t, 5, 4).to_string(), "127.0.0.2");
        assert_eq!(source_address(&t, 7, 1).to_string(), "127.0.0.1");
    }
}
