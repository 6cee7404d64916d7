//! A minimal Bitcoin Core JSON-RPC client (HTTP/1.1 POST, Basic auth, one connection per
//! call): what `lsps-server dev mine|send` and the tests use to talk to a dev chain (or Core).
//! The same POST, with a bearer token, reaches the dev server's admin listener (`dev pay`).

use std::net::SocketAddr;
use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest reply read (a 1 000-transaction block in hex is well under this).
const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcCallError {
    /// The URL is not `http://HOST:PORT` with a numeric address.
    #[error("RPC URL must be http://IP:PORT, not {0}")]
    BadUrl(String),
    /// Connecting, sending or reading failed.
    #[error("RPC transport: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered with an HTTP status and no JSON-RPC error.
    #[error("RPC HTTP status {0}")]
    Http(u16),
    /// The reply is not JSON-RPC.
    #[error("RPC reply is not JSON-RPC: {0}")]
    Malformed(String),
    /// The server answered with a JSON-RPC error.
    #[error("RPC error {code}: {message}")]
    Rpc {
        /// Core's error code.
        code: i64,
        /// Core's message.
        message: String,
    },
}

/// A Core RPC endpoint.
#[derive(Debug, Clone)]
pub struct RpcClient {
    addr: SocketAddr,
    authorization: String,
}

impl RpcClient {
    /// `url` is `http://IP:PORT`; `user_password` is `user:password` (a cookie file's content).
    pub fn new(url: &str, user_password: &str) -> Result<Self, RpcCallError> {
        let addr = url
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'))
            .and_then(|hostport| hostport.parse().ok())
            .ok_or_else(|| RpcCallError::BadUrl(url.to_owned()))?;
        Ok(Self {
            addr,
            authorization: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(user_password.trim())
            ),
        })
    }

    /// A loopback HTTP endpoint that wants `Authorization: Bearer <token>` (the dev server's
    /// admin listener), for [`RpcClient::post_path`].
    pub fn with_bearer(url: &str, token: &str) -> Result<Self, RpcCallError> {
        let mut client = Self::new(url, "")?;
        client.authorization = format!("Bearer {}", token.trim());
        Ok(client)
    }

    /// The endpoint's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base64 `user:password` of Basic auth (what lightning-block-sync's RPC client takes),
    /// if this client uses Basic auth.
    pub fn basic_credentials(&self) -> Option<&str> {
        self.authorization.strip_prefix("Basic ")
    }

    /// Authenticate with a cookie file.
    pub fn with_cookie(url: &str, cookie_file: &Path) -> Result<Self, RpcCallError> {
        let cookie = std::fs::read_to_string(cookie_file)?;
        Self::new(url, &cookie)
    }

    /// Call `method` with positional `params`; the `result`, or the error Core answered.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcCallError> {
        let (status, body) = self
            .post(&json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}))
            .await?;
        let reply: Value = serde_json::from_slice(&body).map_err(|e| {
            if status == 200 {
                RpcCallError::Malformed(e.to_string())
            } else {
                RpcCallError::Http(status)
            }
        })?;
        match reply.get("error") {
            Some(Value::Null) | None => reply
                .get("result")
                .cloned()
                .ok_or_else(|| RpcCallError::Malformed("no result".into())),
            Some(error) => Err(RpcCallError::Rpc {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
        }
    }

    /// POST `body` to `/`; the status and body of the reply.
    pub async fn post(&self, body: &Value) -> Result<(u16, Vec<u8>), RpcCallError> {
        self.post_path("/", body).await
    }

    /// POST `body` to `path`; the status and body of the reply.
    pub async fn post_path(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<(u16, Vec<u8>), RpcCallError> {
        let body = body.to_string();
        let mut stream = tokio::net::TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            path,
            self.addr,
            self.authorization,
            body.len(),
            body
        );
        stream.write_all(request.as_bytes()).await?;
        let mut reply = Vec::new();
        (&mut stream)
            .take(MAX_REPLY_BYTES as u64)
            .read_to_end(&mut reply)
            .await?;
        let split = reply
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| RpcCallError::Malformed("no HTTP header end".into()))?;
        let head = String::from_utf8_lossy(&reply[..split]);
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| RpcCallError::Malformed("no HTTP status".into()))?;
        let chunked = head.lines().any(|l| {
            l.to_ascii_lowercase()
                .starts_with("transfer-encoding: chunked")
        });
        let raw = &reply[split + 4..];
        let body = if chunked { dechunk(raw)? } else { raw.to_vec() };
        Ok((status, body))
    }
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, RpcCallError> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| RpcCallError::Malformed("bad chunk".into()))?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| RpcCallError::Malformed("bad chunk size".into()))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size + 2 {
            return Err(RpcCallError::Malformed("short chunk".into()));
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}
