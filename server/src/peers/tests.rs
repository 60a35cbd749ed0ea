use super::*;

fn limits() -> PeerLimits {
    PeerLimits {
        max_connections: 0,
        max_connections_per_ip: 2,
        handshakes_per_sec: 0,
        http_requests_per_sec: 0,
        sends_per_sec: 0,
        name_claims_per_hour: 0,
        room_creations_per_hour: 0,
        sign_ins_per_min: 0,
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn an_ipv6_network_of_64_bits_is_one_address_and_mapped_ipv4_is_ipv4() {
    let peers = Peers::new(limits());
    let _a = peers.admit(ip("2001:db8:1:2::1")).unwrap();
    let _b = peers.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
    assert_eq!(
        peers.admit(ip("2001:db8:1:2::77")).err(),
        Some(Refusal::TooManyConnections),
        "the same /64"
    );
    let _other = peers.admit(ip("2001:db8:1:3::1")).unwrap();
    let _v4 = peers.admit(ip("192.0.2.1")).unwrap();
    let _mapped = peers.admit(ip("::ffff:192.0.2.1")).unwrap();
    assert_eq!(
        peers.admit(ip("192.0.2.1")).err(),
        Some(Refusal::TooManyConnections)
    );
}

#[test]
fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let peers = Peers::new(limits());
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        "198.51.100.7, 203.0.113.9, 10.1.1.1".parse().unwrap(),
    );
    assert_eq!(
        peers.client_of(ip("192.0.2.1"), &headers),
        Some(ip("192.0.2.1"))
    );
    assert_eq!(
        peers.client_of(ip("10.0.0.2"), &headers),
        Some(ip("203.0.113.9")),
        "the nearest untrusted hop, not what the client wrote first"
    );
    headers.insert("x-forwarded-for", "10.2.2.2".parse().unwrap());
    assert_eq!(peers.client_of(ip("10.0.0.2"), &headers), None);
    // A proxy's own sockets are not capped per address; its clients are.
    let proxy: Vec<_> = (0..5)
        .map(|_| peers.admit(ip("10.0.0.2")).unwrap())
        .collect();
    let first = peers
        .admit_forwarded(ip("203.0.113.9"), proxy[0].clone())
        .unwrap();
    let _second = peers
        .admit_forwarded(ip("203.0.113.9"), proxy[1].clone())
        .unwrap();
    assert!(peers
        .admit_forwarded(ip("203.0.113.9"), proxy[2].clone())
        .is_err());
    drop(first);
    assert!(peers
        .admit_forwarded(ip("203.0.113.9"), proxy[2].clone())
        .is_ok());
}

#[test]
fn refusals_are_logged_once_per_interval_with_a_count_and_values_are_cut() {
    let peers = Peers::new(limits());
    let slot = peers.admit(ip("192.0.2.9")).unwrap();
    assert_eq!(slot.peer().log_refusal(), Some(0));
    for _ in 0..5 {
        assert_eq!(slot.peer().log_refusal(), None);
    }
    let long = "é".repeat(300);
    let shown = loggable(&long);
    assert!(shown.len() <= LOGGED_VALUE_BYTES + 8, "{}", shown.len());
    assert!(shown.ends_with('…'));
    assert_eq!(loggable("a\nb"), "\"a\\nb\"");
}

#[test]
fn slots_are_given_back_and_forgotten_addresses_keep_the_table_small() {
    let peers = Peers::new(limits());
    for i in 0..5000u32 {
        let addr = IpAddr::from(std::net::Ipv4Addr::from(0xC000_0000 + i));
        drop(peers.admit(addr).unwrap());
        if i % 500 == 0 {
            // Let a millisecond pass, after which an idle address may be forgotten.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    assert_eq!(peers.open(), 0);
    assert!(
        peers.tracked() <= SWEEP_FLOOR,
        "{} tracked",
        peers.tracked()
    );
}
