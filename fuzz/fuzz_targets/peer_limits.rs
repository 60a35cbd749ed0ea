//! The per-address table under random connects, disconnects and requests from random
//! addresses: the open count is exactly the slots held, and the table stays bounded.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arbitrary::Arbitrary;
use chat_server::peers::{PeerLimits, Peers, MAX_TRACKED};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Step {
    Connect { v6: bool, addr: u32 },
    Disconnect { which: u16 },
    Request { addr: u32 },
    Send { which: u16 },
}

fuzz_target!(|steps: Vec<Step>| {
    let peers = Peers::new(PeerLimits {
        max_connections: 64,
        max_connections_per_ip: 4,
        handshakes_per_sec: 10,
        http_requests_per_sec: 20,
        sends_per_sec: 20,
        name_claims_per_hour: 20,
        room_creations_per_hour: 30,
        sign_ins_per_min: 10,
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
    });
    let mut held = Vec::new();
    for step in steps {
        match step {
            Step::Connect { v6, addr } => {
                let ip = if v6 {
                    IpAddr::V6(Ipv6Addr::from(u128::from(addr) << 64 | u128::from(addr)))
                } else {
                    IpAddr::V4(Ipv4Addr::from(addr))
                };
                if let Ok(slot) = peers.admit(ip) {
                    held.push(slot);
                }
            }
            Step::Disconnect { which } => {
                if !held.is_empty() {
                    held.swap_remove(usize::from(which) % held.len());
                }
            }
            Step::Request { addr } => {
                let _ = peers.http_request(IpAddr::V4(Ipv4Addr::from(addr)));
            }
            Step::Send { which } => {
                if let Some(slot) = held.get(usize::from(which) % held.len().max(1)) {
                    let _ = slot.peer().check_send();
                    let _ = slot.peer().check_name_claim();
                    let _ = slot.peer().check_handshake();
                    let _ = slot.peer().check_http_request();
                }
            }
        }
        assert_eq!(peers.open(), held.len());
        assert!(held.len() <= 64);
        assert!(peers.tracked() <= MAX_TRACKED);
    }
    drop(held);
    assert_eq!(peers.open(), 0);
    let _: Arc<Peers> = peers;
});
