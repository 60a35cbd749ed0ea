//! The store: history, rooms (ids, epochs), name reservations and accounts in SQLite.
//!
//! Writes go to one writer thread ([`writer`]) that commits in groups; reads run on a small
//! pool of read connections on tokio's blocking threads. Neither ever runs on a socket task or
//! under a room's lock. Every failure becomes `history_unavailable` for the client concerned and
//! an error in the log; the server keeps serving and the next statement tries again.

pub mod access;
pub mod accounts;
pub mod cids;
mod events;
pub mod mentions;
pub mod moderation;
pub mod notifications;
pub mod push;
pub mod read_positions;
pub mod schema;
pub mod search;
pub mod stream;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chat_shared::{ErrorCode, FrameError};
use parking_lot::Mutex;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::receipt::Reply;
use crate::rooms::{Room, RoomRegistry};
pub use events::{person, Refusal};
pub use stream::Gap;
pub use writer::Swept;
use writer::{store_failed, Append, Command, Job, Writer};
pub use writer::{Author, NewMessage};

/// Posts and requests that may wait for the writer; beyond it a send is refused at once.
const WRITER_QUEUE: usize = 65_536;

/// Reads running at once. More would only add threads and connections competing for the same
/// cores (a burst of 1000 resuming clients otherwise opens hundreds of read connections).
const MAX_CONCURRENT_READS: usize = 2;

/// The database file's name inside `--data-dir`.
pub const DATABASE_FILE: &str = "chat.sqlite3";

/// What the store needs from the configuration.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// Messages kept per room (0: all).
    pub history_per_room: u64,
    /// Rooms the store may hold.
    pub max_rooms: usize,
    /// Largest database size in bytes (0: no limit).
    pub max_database_bytes: u64,
    /// A name unused this long is freed (zero: never).
    pub name_ttl: Duration,
    /// A room without a message or a member this old is deleted (zero: never).
    pub empty_room_ttl: Duration,
    /// The clock that judges both.
    pub clock: Clock,
    /// Where each committed message is told of, for Web Push (accounts mode).
    pub tap: Option<push::PostTap>,
}

/// What the database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Its size in bytes.
    pub bytes: u64,
    /// Names reserved.
    pub names: u64,
    /// Rooms.
    pub rooms: u64,
}

/// How often the writer forgets expired names and empty rooms.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The handle every part of the server uses to reach the database.
#[derive(Debug)]
pub struct HistoryStore {
    commands: mpsc::Sender<Command>,
    path: PathBuf,
    readers: Arc<Mutex<Vec<Connection>>>,
    reading: tokio::sync::Semaphore,
}

impl HistoryStore {
    /// Opens (creating it if needed) the database in `dir` and starts the writer thread.
    /// Fails if the folder or the database cannot be opened: a server that cannot keep
    /// history should not start as if it could.
    pub fn open(
        dir: &Path,
        registry: Arc<RoomRegistry>,
        settings: StoreSettings,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
        let path = dir.join(DATABASE_FILE);
        let conn = schema::open_writer(&path, settings.max_database_bytes)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        let writer = Writer::new(conn, registry, settings)
            .with_context(|| format!("cannot read the database {}", path.display()))?;
        let (commands, queue) = mpsc::channel(WRITER_QUEUE);
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer.run(queue))
            .context("cannot start the store's writer thread")?;
        // The sweeper holds the queue weakly, so the writer still ends with the store.
        let sweeper = commands.downgrade();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP_INTERVAL);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(commands) = sweeper.upgrade() else {
                    return;
                };
                let (reply, answer) = oneshot::channel();
                if commands.send(Command::Sweep { reply }).await.is_err() {
                    return;
                }
                drop(commands);
                let _ = answer.await;
            }
        });
        Ok(HistoryStore {
            commands,
            path,
            readers: Arc::new(Mutex::new(Vec::new())),
            reading: tokio::sync::Semaphore::new(MAX_CONCURRENT_READS),
        })
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues a message to be stored, then released to its room; `reply` says what became of
    /// it. Never waits: if the writer is far behind, the message is refused at once (and so
    /// never seen by anyone).
    pub fn append(&self, message: NewMessage, reply: Reply) -> Result<(), FrameError> {
        let append = Append { message, reply };
        let (refused, why) = match self.commands.try_send(Command::Append(append)) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Full(command)) => (command, "the store is overloaded"),
            Err(mpsc::error::TrySendError::Closed(command)) => {
                (command, "the store is not running")
            }
        };
        let error = FrameError::new(ErrorCode::HistoryUnavailable, why);
        Err(match refused {
            Command::Append(append) => error
                .in_room(&append.message.room.name)
                .for_cid(append.message.cid),
            _ => error,
        })
    }

    /// The room called `name`; if it does not exist yet, created (with a new epoch) when
    /// `create`, else `None`.
    pub async fn open_room(
        &self,
        name: &str,
        create: bool,
    ) -> Result<Option<Arc<Room>>, FrameError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Command::OpenRoom {
            name: name.to_string(),
            create,
            reply,
        })
        .await?;
        answer.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// What the database holds: its size in bytes, names reserved, rooms (for `/metrics`).
    pub async fn footprint(&self) -> Result<Footprint, FrameError> {
        self.read("measure the database", |conn| {
            conn.query_row(
                "SELECT (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()),
                        (SELECT COUNT(*) FROM names), (SELECT COUNT(*) FROM rooms)",
                [],
                |r| {
                    Ok(Footprint {
                        bytes: r.get::<_, i64>(0)?.max(0) as u64,
                        names: r.get::<_, i64>(1)?.max(0) as u64,
                        rooms: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                },
            )
        })
        .await
    }

    /// Forgets expired names and empty rooms now (the writer also does every minute).
    pub async fn sweep(&self) -> Swept {
        let (reply, answer) = oneshot::channel();
        if self.ask(Command::Sweep { reply }).await.is_err() {
            return Swept::default();
        }
        answer.await.unwrap_or_default()
    }

    /// Reserves `name` for whoever holds `token` (a new token if the name was free); returns
    /// the token, or `name_taken`.
    pub async fn claim_name(
        &self,
        name: &str,
        token: Option<String>,
    ) -> Result<String, FrameError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Command::ClaimName {
            name: name.to_string(),
            token,
            reply,
        })
        .await?;
        answer.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    /// The newest `limit` messages of `room` as a page would show them before its socket is
    /// open (server-side rendering), without creating the room: `None` if it does not exist.
    /// Everything read is committed, so a page that resumes from it misses nothing.
    pub async fn latest_page(
        &self,
        room: &str,
        limit: u64,
    ) -> Result<Option<chat_shared::Joined>, FrameError> {
        let room = room.to_string();
        self.read("read a room's latest page", move |conn| {
            let Some(row) = schema::find_room(conn, &room)? else {
                return Ok(None);
            };
            let messages = if limit == 0 {
                Vec::new()
            } else {
                stream::messages_before(conn, row.id, &room, row.last_id.saturating_add(1), limit)?
            };
            Ok(Some(chat_shared::Joined {
                room,
                epoch: row.epoch,
                last_id: row.last_id,
                recovered: false,
                messages,
                events: Vec::new(),
                members: Vec::new(),
                count: None,
                you: String::new(),
                title: String::new(),
                topic: String::new(),
                read: None,
                unread: None,
                mentioned: false,
                notify_every: false,
                muted: false,
            }))
        })
        .await
    }

    /// Writes a heartbeat row through the writer thread: `Ok` if the database takes writes.
    pub async fn probe(&self) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.ask(Command::Probe { reply })
            .await
            .map_err(|err| err.message)?;
        answer
            .await
            .unwrap_or_else(|_| Err("the store is not running".into()))
    }

    /// Runs a write on the writer thread, in turn with messages (accounts, sessions and the
    /// like: rare next to messages, and never two writers on the database).
    pub async fn write<T: Send + 'static>(
        &self,
        what: &'static str,
        job: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, FrameError> {
        let (reply, answer) = oneshot::channel();
        let run = move |conn: &Connection| {
            let _ = reply.send(job(conn).map_err(|err| store_failed(what, &err)));
        };
        self.ask(Command::Run(Job(Box::new(run)))).await?;
        answer.await.unwrap_or_else(|_| Err(writer_gone()))
    }

    async fn ask(&self, command: Command) -> Result<(), FrameError> {
        self.commands.send(command).await.map_err(|_| writer_gone())
    }

    /// Runs a read on a pooled read connection, off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        what: &'static str,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, FrameError> {
        // The semaphore is never closed, so acquiring only fails if it were.
        let _permit = self.reading.acquire().await.map_err(|_| writer_gone())?;
        let readers = self.readers.clone();
        let path = self.path.clone();
        let done = tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => schema::open_reader(&path).map_err(|e| store_failed(what, &e))?,
            };
            let result = query(&conn).map_err(|e| store_failed(what, &e));
            readers.lock().push(conn);
            result
        })
        .await;
        done.unwrap_or_else(|_| Err(writer_gone()))
    }
}

fn writer_gone() -> FrameError {
    FrameError::new(ErrorCode::HistoryUnavailable, "the store is not running")
}
