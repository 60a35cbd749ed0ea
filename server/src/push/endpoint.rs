//! Where the server may send pushes: only https URLs of push services on the public internet.
//! A subscription's endpoint is whatever a browser (or anyone with an account) posts, so
//! without this rule a member could make the server send requests into its own network. The
//! URL is checked when it is posted, and every address it resolves to when it is reached (a
//! name may resolve to a private address later).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_util::client::legacy::connect::dns::Name;

/// Longest endpoint accepted (push services' are under 500 bytes).
pub const MAX_ENDPOINT_BYTES: usize = 1024;

/// Whether endpoints may be anywhere (tests only: an http endpoint on loopback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// https, public addresses only.
    Public,
    /// Anything, http included (`--push-endpoints-anywhere`).
    Anywhere,
}

/// `endpoint` as a URL the server may push to, or why not (said to the person subscribing).
pub fn check(endpoint: &str, reach: Reach) -> Result<Uri, &'static str> {
    if endpoint.len() > MAX_ENDPOINT_BYTES {
        return Err("the push endpoint is too long");
    }
    let uri: Uri = endpoint
        .parse()
        .map_err(|_| "the push endpoint is not a URL")?;
    let Some(authority) = uri.authority() else {
        return Err("the push endpoint is not a URL");
    };
    let https = uri.scheme_str() == Some("https");
    if reach == Reach::Anywhere {
        return if https || uri.scheme_str() == Some("http") {
            Ok(uri)
        } else {
            Err("the push endpoint must be an https URL")
        };
    }
    if !https {
        return Err("the push endpoint must be an https URL");
    }
    if authority.as_str().contains('@') {
        return Err("the push endpoint may not carry a user name or password");
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let named_locally = host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || !host.contains('.') && host.parse::<IpAddr>().is_err();
    if named_locally {
        return Err("the push endpoint must be on the public internet");
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !is_public(ip) {
            return Err("the push endpoint must be on the public internet");
        }
    }
    Ok(uri)
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, unique
/// local), link-local, shared (carrier NAT), documentation, benchmarking, multicast, reserved
/// or unspecified, nor an IPv6 form of one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                // NAT64 and the IPv4-compatible forms reach IPv4 addresses by another name.
                || (first == 0x0064 && v6.segments()[1] == 0xff9b)
                || v6.segments()[..6] == [0; 6])
        }
    }
}

/// Resolves push services' names for the HTTP client, keeping only public addresses (all of
/// them with [`Reach::Anywhere`]); a name with none fails to connect.
#[derive(Debug, Clone, Copy)]
pub struct PublicResolver {
    /// Whether private addresses are kept too.
    pub reach: Reach,
}

impl tower_service::Service<Name> for PublicResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let reach = self.reach;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let kept: Vec<SocketAddr> = found
                .filter(|addr| reach == Reach::Anywhere || is_public(addr.ip()))
                .collect();
            if kept.is_empty() {
                return Err(std::io::Error::other(
                    "the push service's name has no public address",
                ));
            }
            Ok(kept.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_on_the_public_internet_are_accepted() {
        let ok = [
            "https://fcm.googleapis.com/fcm/send/abc:def",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
            "https://8.8.8.8/push",
            "https://[2606:4700::1111]/push",
        ];
        for endpoint in ok {
            assert!(check(endpoint, Reach::Public).is_ok(), "{endpoint}");
        }
        let refused = [
            "http://fcm.googleapis.com/fcm/send/abc",
            "ftp://example.com/x",
            "https://localhost/push",
            "https://push.localhost/push",
            "https://intranet/push",
            "https://127.0.0.1/push",
            "https://10.1.2.3/push",
            "https://172.16.0.1/push",
            "https://192.168.1.1/push",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/push",
            "https://0.0.0.0/push",
            "https://[::1]/push",
            "https://[fd00::1]/push",
            "https://[fe80::1]/push",
            "https://[::ffff:127.0.0.1]/push",
            "https://[::ffff:10.0.0.1]/push",
            "https://user:pass@example.com/push",
            "not a url",
        ];
        for endpoint in refused {
            assert!(check(endpoint, Reach::Public).is_err(), "{endpoint}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_ENDPOINT_BYTES));
        assert!(check(&long, Reach::Public).is_err());
        // The test-only relaxation takes a loopback http endpoint, and still no other scheme.
        assert!(check("http://127.0.0.1:9/push", Reach::Anywhere).is_ok());
        assert!(check("ftp://127.0.0.1/push", Reach::Anywhere).is_err());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_not_reached() {
        use tower_service::Service;
        let name: Name = "localhost".parse().unwrap();
        let mut public = PublicResolver {
            reach: Reach::Public,
        };
        assert!(public.call(name.clone()).await.is_err());
        let mut anywhere = PublicResolver {
            reach: Reach::Anywhere,
        };
        assert!(anywhere.call(name).await.unwrap().next().is_some());
    }
}
