//! A real `redis-server` (Debian's package) on a free loopback port, with its data in a
//! temporary folder, stopped when dropped. Never a mock: cluster mode is tested against Redis.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::PATIENCE;

pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts Redis with append-only persistence (fsync on every write), so a restart keeps
    /// everything, as the README tells operators to run it.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port).await
    }

    /// Starts Redis on `port`.
    pub async fn start_on(port: u16) -> Self {
        let mut redis = RedisServer {
            port,
            dir: tempfile::tempdir().expect("temporary folder"),
            child: None,
        };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops Redis at once (SIGKILL: no goodbye to anyone).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts Redis again on the same port and data (after [`RedisServer::kill`]).
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server is installed (scripts/bootstrap.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(mut conn) = self.connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// A plain connection, for tests that look into or change Redis directly.
    pub async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
