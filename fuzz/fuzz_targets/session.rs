//! The session state machine: random sequences of client frames, well-formed or not, against
//! a real in-process server (rooms, store on a temporary database). It never panics, and every
//! room's messages reach the client with strictly increasing ids.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use chat_server::config::Config;
use chat_server::rooms::Next;
use chat_server::session::Session;
use chat_server::AppState;
use chat_shared::{encode_client, split_batch, ClientFrame, ServerFrame};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Step {
    Hello {
        name: u8,
        token: Option<String>,
    },
    Join {
        room: u8,
        since: Option<u64>,
    },
    Leave {
        room: u8,
    },
    Send {
        room: Option<u8>,
        text: String,
        cid: Option<u8>,
        reply_to: Option<u64>,
    },
    Edit {
        room: u8,
        id: u64,
        text: String,
    },
    React {
        room: u8,
        id: u64,
        emoji: String,
    },
    Typing {
        room: u8,
    },
    History {
        room: u8,
        before: Option<u64>,
        around: Option<u64>,
        limit: Option<u32>,
    },
    Members {
        room: u8,
        after: Option<String>,
        limit: Option<u32>,
    },
    Delete {
        room: u8,
        id: u64,
    },
    Refresh {
        token: String,
    },
    Read {
        room: u8,
        id: u64,
    },
    Search {
        q: String,
        before: Option<u64>,
    },
    Raw(String),
}

const ROOMS: [&str; 4] = ["a", "b", "lobby", "bad room"];

fn room(n: u8) -> String {
    ROOMS[usize::from(n) % ROOMS.len()].to_string()
}

fn raw(step: Step) -> String {
    let frame = match step {
        Step::Raw(text) => return text,
        Step::Hello { name, token } => ClientFrame::Hello {
            name: format!("user{}", name % 8),
            token,
        },
        Step::Join { room: r, since } => ClientFrame::Join {
            room: room(r),
            since,
            epoch: None,
        },
        Step::Leave { room: r } => ClientFrame::Leave { room: room(r) },
        Step::Send {
            room: r,
            text,
            cid,
            reply_to,
        } => ClientFrame::Send {
            reply_to,
            room: r.map(room),
            text,
            cid: cid.map(|c| format!("c{c}")),
        },
        Step::Edit { room: r, id, text } => ClientFrame::Edit {
            room: room(r),
            id,
            text,
        },
        Step::React { room: r, id, emoji } => ClientFrame::React {
            room: room(r),
            id,
            emoji,
        },
        Step::Typing { room: r } => ClientFrame::Typing { room: room(r) },
        Step::History {
            room: r,
            before,
            around,
            limit,
        } => ClientFrame::History {
            around,
            room: room(r),
            before,
            limit,
        },
        Step::Members {
            room: r,
            after,
            limit,
        } => ClientFrame::Members {
            room: room(r),
            after,
            limit,
        },
        Step::Delete { room: r, id } => ClientFrame::Delete { room: room(r), id },
        Step::Refresh { token } => ClientFrame::Refresh { token },
        Step::Read { room: r, id } => ClientFrame::Read { room: room(r), id },
        Step::Search { q, before } => ClientFrame::Search { q, before },
    };
    encode_client(&frame).unwrap_or_default()
}

struct World {
    runtime: tokio::runtime::Runtime,
    app: Arc<AppState>,
    _data: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: data.path().to_path_buf(),
            rate_limit_per_sec: 0,
            request_rate_per_sec: 0,
            rate_limit_per_ip_per_sec: 0,
            name_claims_per_ip_per_hour: 0,
            room_creations_per_ip_per_hour: 0,
            max_connections_per_ip: 0,
            ..Config::default()
        };
        let app = runtime.block_on(async { AppState::new(&config).unwrap() });
        World {
            runtime,
            app,
            _data: data,
        }
    })
}

fuzz_target!(|steps: Vec<Step>| {
    let world = world();
    let app = &world.app;
    world.runtime.block_on(async {
        let slot = app
            .peers
            .admit(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .expect("no per-address cap");
        let registration = app.connections.open();
        let member = registration.member().clone();
        let mut session = Session::new(app.chat.clone(), member.clone(), slot);
        let mut last_ids: HashMap<String, u64> = HashMap::new();
        for step in steps.into_iter().take(64) {
            if session.handle(&raw(step)).await.is_some() {
                break;
            }
            while let Some(next) = member.try_next() {
                let frame = match next {
                    Next::Frame(frame) => frame,
                    Next::Close(_) => break,
                    _ => continue,
                };
                for frame in split_batch(frame.as_str()) {
                    if let Ok(ServerFrame::Message(message)) = frame {
                        let last = last_ids.entry(message.room.clone()).or_default();
                        assert!(message.id > *last, "ids only increase in {}", message.room);
                        *last = message.id;
                    }
                }
            }
        }
        drop(session);
        drop(registration);
    });
});
