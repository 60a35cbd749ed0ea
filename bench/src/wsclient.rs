//! A minimal WebSocket client, lean enough to read millions of messages a second on one core.
//!
//! It does only what a load generator needs: the upgrade handshake, masked text frames out, and
//! in-place parsing of the server's (unmasked) frames from one reusable buffer, answering pings.

use std::io;
use std::net::{IpAddr, SocketAddr};

use anyhow::{bail, Context};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::target::Target;

/// A frame fits in this buffer: the server coalesces up to 64 KiB per frame, plus a header.
pub const READ_BUFFER: usize = 64 * 1024 + 64;

/// Largest server frame accepted at all (the buffer grows for it).
const MAX_FRAME: usize = 16 << 20;

/// What [`Reader::next`] found.
pub enum Event<'a> {
    /// A text frame's payload.
    Text(&'a [u8]),
    /// A ping; the caller answers it with a pong carrying the same payload.
    Ping(Vec<u8>),
    /// The server closed the connection (close frame, EOF or reset).
    Closed,
}

/// Connects from `source` and performs the upgrade handshake for `path` (the target's path and
/// query); the stream then carries frames.
pub async fn connect(
    target: &Target,
    path: &str,
    source: IpAddr,
    recv_buffer: Option<u32>,
) -> anyhow::Result<TcpStream> {
    let socket = match target.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .context("creating a socket")?;
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    socket
        .bind(SocketAddr::new(source, 0))
        .with_context(|| format!("binding to {source}"))?;
    let mut stream = socket
        .connect(target.addr)
        .await
        .with_context(|| format!("connecting to {} from {source}", target.addr))?;
    stream.set_nodelay(true)?;
    let cookie = target
        .cookie
        .as_deref()
        .map_or(String::new(), |cookie| format!("Cookie: {cookie}\r\n"));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{cookie}\r\n",
        path, target.host
    );
    stream.write_all(request.as_bytes()).await?;
    // Read the response byte by byte up to the blank line, so no frame bytes are swallowed.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            bail!("server closed the connection during the handshake");
        }
        head.push(byte[0]);
        if head.len() > 8192 {
            bail!("handshake response too long");
        }
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        let line = String::from_utf8_lossy(&head);
        bail!(
            "upgrade refused: {}",
            line.lines().next().unwrap_or_default()
        );
    }
    Ok(stream)
}

/// Appends a masked text frame carrying `payload` to `out`. Clients must mask; the key is fixed
/// because it protects nothing here.
pub fn push_text_frame(out: &mut Vec<u8>, payload: &[u8]) {
    const KEY: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
    out.push(0x81);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&KEY);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
}

/// A masked control frame (pong or close) with a short payload.
pub fn control_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + payload.len());
    push_text_frame(&mut out, payload);
    out[0] = 0x80 | opcode;
    out
}

/// Parses frames out of one reusable buffer.
pub struct Reader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            // Zeroed lazily by the OS: untouched pages of an idle client cost nothing.
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
        }
    }
}

/// A parsed frame header: opcode, payload start and end offsets in the buffer.
fn parse_header(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let b0 = *bytes.first()?;
    let b1 = *bytes.get(1)?;
    let opcode = b0 & 0x0f;
    let (len, header) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize,
            4,
        ),
        127 => {
            let raw: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(raw) as usize, 10)
        }
        n => (n as usize, 2),
    };
    Some((opcode, header, header + len))
}

impl Reader {
    /// Returns the next text frame, ping, or the end of the connection.
    pub async fn next<'a>(
        &'a mut self,
        stream: &mut (impl AsyncRead + Unpin),
    ) -> anyhow::Result<Event<'a>> {
        loop {
            if let Some((opcode, body, end)) = parse_header(&self.buf[self.start..self.end]) {
                if end > self.buf.len() {
                    // Only answers such as a `joined` with a long history are this large.
                    if end > MAX_FRAME {
                        bail!("server frame of {end} bytes exceeds {MAX_FRAME} bytes");
                    }
                    self.buf.resize(end, 0);
                }
                if self.start + end <= self.end {
                    let from = self.start + body;
                    let to = self.start + end;
                    self.start = to;
                    match opcode {
                        0x1 => return Ok(Event::Text(&self.buf[from..to])),
                        0x8 => return Ok(Event::Closed),
                        0x9 => return Ok(Event::Ping(self.buf[from..to].to_vec())),
                        _ => {} // pong, binary, continuation: not used by the server
                    }
                    continue;
                }
            }
            // Need more bytes: move the partial frame to the front, then read.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let read = match stream.read(&mut self.buf[self.end..]).await {
                Ok(0) => return Ok(Event::Closed),
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {
                    return Ok(Event::Closed)
                }
                Err(err) => return Err(err.into()),
            };
            self.end += read;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_masked_and_sized() {
        let mut out = Vec::new();
        push_text_frame(&mut out, b"hi");
        assert_eq!(out[..2], [0x81, 0x82]);
        assert_eq!(out[6] ^ out[2], b'h');
        let mut long = Vec::new();
        push_text_frame(&mut long, &[b'a'; 300]);
        assert_eq!(long[1], 0x80 | 126);
        assert_eq!(u16::from_be_bytes([long[2], long[3]]), 300);
        assert_eq!(long.len(), 4 + 4 + 300);
    }

    #[test]
    fn headers_parse() {
        assert_eq!(parse_header(&[0x81, 5]), Some((1, 2, 7)));
        assert_eq!(parse_header(&[0x81, 126, 1, 0]), Some((1, 4, 260)));
        assert_eq!(parse_header(&[0x81, 126, 1]), None);
        assert_eq!(parse_header(&[0x89]), None);
    }
}
