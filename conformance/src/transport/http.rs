//! HTTP target for this project's HTTP binding (`spec/bindings/http.md`): every payload is
//! POSTed as the request body and the response body is the reply. A "connection" is a caller
//! identity (a random node id sent in a header); each payload uses its own HTTP/1.1 exchange
//! over plain TCP (`https://` is not supported by this minimal client).

use crate::report::TargetInfo;
use crate::target::{BoxFuture, RawConnection, Target, TargetError};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Header carrying the caller's node id.
pub const NODE_ID_HEADER: &str = "X-LSPS-Node-Id";

/// An LSP reachable at an `http://` URL.
pub struct HttpTarget {
    url: String,
    host_port: String,
    path: String,
}

impl HttpTarget {
    /// Parses `http://host:port/path`.
    pub fn new(url: &str) -> Result<Self, TargetError> {
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(TargetError::BadAddress(format!(
                "{url}: only http:// is supported by the built-in HTTP client"
            )));
        };
        let (host_port, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let host_port = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:80")
        };
        Ok(HttpTarget {
            url: url.to_owned(),
            host_port,
            path: path.to_owned(),
        })
    }
}

async fn post(host_port: &str, path: &str, node_id: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = tokio::net::TcpStream::connect(host_port).await?;
    stream.set_nodelay(true)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\n\
{NODE_ID_HEADER}: {node_id}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP header end"))?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let body = response[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        return Ok(dechunk(&body));
    }
    Ok(body)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < line_end + 2 + size {
            return out;
        }
        out.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[(line_end + 4 + size).min(body.len())..];
    }
}

impl Target for HttpTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            transport: "http".into(),
            node_id: None,
            url: Some(self.url.clone()),
            advertised_protocols: None,
        }
    }

    fn address(&self) -> String {
        self.url.clone()
    }

    fn is_session_oriented(&self) -> bool {
        false
    }

    fn connect(&self) -> BoxFuture<'_, Result<RawConnection, TargetError>> {
        Box::pin(async move {
            let secp = Secp256k1::new();
            let key = SecretKey::from_slice(&rand::random::<[u8; 32]>())
                .map_err(|e| TargetError::Unreachable(e.to_string()))?;
            let node_id = key.public_key(&secp).to_string();
            let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
            let (in_tx, in_rx) = mpsc::unbounded_channel::<Vec<u8>>();
            let (host_port, path, caller) =
                (self.host_port.clone(), self.path.clone(), node_id.clone());
            let task = tokio::spawn(async move {
                while let Some(payload) = out_rx.recv().await {
                    let (hp, p, c, tx) = (
                        host_port.clone(),
                        path.clone(),
                        caller.clone(),
                        in_tx.clone(),
                    );
                    // Each exchange runs on its own so pipelined requests behave as on BOLT8.
                    tokio::spawn(async move {
                        if let Ok(body) = post(&hp, &p, &c, &payload).await
                            && !body.iter().all(u8::is_ascii_whitespace)
                        {
                            let _ = tx.send(body);
                        }
                    });
                }
            });
            Ok(RawConnection {
                outgoing: out_tx,
                incoming: in_rx,
                local_node_id: Some(node_id),
                keepalive: Box::new(super::memory::AbortOnDrop(task)),
            })
        })
    }
}
