//! This project's HTTP binding of LSPS (`spec/bindings/http.md`): a JSON-RPC request is the
//! body of a `POST` to the endpoint URL (status 200 carries the reply, JSON-RPC errors
//! included; 204 no reply; other statuses are HTTP-level refusals); the WebSocket variant
//! (`GET /ws`) carries one payload per frame (text, or binary when not UTF-8). The caller states its node id in the
//! [`NODE_ID_HEADER`] header (HTTP has no BOLT8 identity).
//!
//! Library choice: hyper (client) for POST and tokio-tungstenite for WebSocket, both raw
//! bytes in and out. A JSON-RPC client library (jsonrpsee) would build and parse the envelope
//! itself, so it could neither send the malformed payloads the conformance runner and
//! `lsps raw` need nor hand back a reply verbatim. hyper is already in the graph via jsonrpsee.
//!
//! `https://` and `wss://` use rustls (ring provider, the OS trust store) with the default
//! cargo feature `tls`; without it they are refused with a clear error.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{
    BoxFuture, ConnectionId, Transport, TransportError, TransportEvent, next_connection_id,
};

/// Header carrying the caller's node id (66 hex characters) on HTTP and WebSocket requests.
pub const NODE_ID_HEADER: &str = "X-Lsps-Node-Id";

#[cfg(not(feature = "tls"))]
fn prepare_tls(url: &str) -> Result<(), TransportError> {
    if url.starts_with("https://") || url.starts_with("wss://") {
        return Err(TransportError::Unsupported(format!(
            "{url}: this build has no TLS (cargo feature `tls`); use http:// or ws://"
        )));
    }
    Ok(())
}

#[cfg(feature = "tls")]
fn prepare_tls(_url: &str) -> Result<(), TransportError> {
    // rustls needs a process-wide crypto provider when more than one is compiled in; ring is
    // ours. An error only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(())
}

#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

/// How long [`HttpTransport::new`] waits for the TCP connection (and TLS handshake) before a
/// POST fails with [`TransportError::ConnectTimeout`]; without it an unreachable host that
/// drops SYNs holds a POST for the kernel's retry budget (minutes).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn connector(connect_timeout: Duration) -> Result<Connector, TransportError> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    #[cfg(feature = "tls")]
    {
        http.enforce_http(false);
        Ok(hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| TransportError::Http(format!("loading the OS trust store: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http))
    }
    #[cfg(not(feature = "tls"))]
    Ok(http)
}

/// JSON-RPC over HTTP POST: each send is one request, its response body is the reply.
pub struct HttpTransport {
    url: hyper::Uri,
    node_id: Option<String>,
    client: Client<Connector, Full<Bytes>>,
    // Each POST is its own exchange; there is nothing to disconnect, so one id serves all.
    connection: ConnectionId,
    sink: mpsc::UnboundedSender<TransportEvent>,
    inbound: Mutex<mpsc::UnboundedReceiver<TransportEvent>>,
}

impl HttpTransport {
    /// A transport posting to `url` (`http(s)://host:port/`, the binding's `POST /`, or a
    /// base URL with a prefix),
    /// naming `node_id` (hex) in [`NODE_ID_HEADER`] if given, with the
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn new(url: &str, node_id: Option<String>) -> Result<Self, TransportError> {
        Self::with_connect_timeout(url, node_id, DEFAULT_CONNECT_TIMEOUT)
    }

    /// As [`HttpTransport::new`], with each POST's connect (TCP, and TLS for `https://`) bounded
    /// by `connect_timeout`: past it the POST fails with [`TransportError::ConnectTimeout`].
    pub fn with_connect_timeout(
        url: &str,
        node_id: Option<String>,
        connect_timeout: Duration,
    ) -> Result<Self, TransportError> {
        prepare_tls(url)?;
        let url: hyper::Uri = url
            .parse()
            .map_err(|e| TransportError::InvalidTarget(format!("{url}: {e}")))?;
        if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
            return Err(TransportError::InvalidTarget(format!(
                "{url}: expected http(s)://host[:port][/path]"
            )));
        }
        let client = Client::builder(TokioExecutor::new()).build(connector(connect_timeout)?);
        let (sink, inbound) = mpsc::unbounded_channel();
        Ok(Self {
            url,
            node_id,
            client,
            connection: next_connection_id(),
            sink,
            inbound: Mutex::new(inbound),
        })
    }

    async fn post(&self, payload: Vec<u8>) -> Result<ConnectionId, TransportError> {
        let mut request = hyper::Request::post(self.url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(node_id) = &self.node_id {
            request = request.header(NODE_ID_HEADER, node_id);
        }
        let request = request
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| TransportError::Http(e.to_string()))?;
        let response = self.client.request(request).await.map_err(|e| {
            if e.is_connect() && caused_by_timeout(&e) {
                TransportError::ConnectTimeout(self.url.to_string())
            } else {
                TransportError::Http(format!("POST {}: {e}", self.url))
            }
        })?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| TransportError::Http(e.to_string()))?
            .to_bytes();
        // spec/bindings/http.md: every JSON-RPC reply (errors included) comes with 200; 204
        // means no reply; anything else is refused at the HTTP level (400: node id).
        if status == hyper::StatusCode::OK {
            let _ = self.sink.send(TransportEvent::Message(body.to_vec()));
            Ok(self.connection)
        } else if status.is_success() {
            Ok(self.connection)
        } else {
            let text = String::from_utf8_lossy(&body);
            Err(TransportError::Http(format!(
                "POST {} answered {status}: {}",
                self.url,
                crate::sanitize(text.trim())
            )))
        }
    }
}

/// Whether an I/O timeout is somewhere in the error's causes (hyper-util reports its connect
/// timeout as an `io::ErrorKind::TimedOut` inside the connect error).
fn caused_by_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

impl Transport for HttpTransport {
    fn send(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<ConnectionId, TransportError>> {
        Box::pin(self.post(payload))
    }

    fn recv(&self) -> BoxFuture<'_, Option<TransportEvent>> {
        Box::pin(async move { self.inbound.lock().await.recv().await })
    }

    fn describe(&self) -> String {
        self.url.to_string()
    }
}

type WsSink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

/// JSON-RPC over one WebSocket connection (`ws://host:port/ws`): one payload per text frame.
pub struct WsTransport {
    url: String,
    connection: ConnectionId,
    sink: Mutex<WsSink>,
    inbound: Mutex<mpsc::UnboundedReceiver<TransportEvent>>,
    reader: tokio::task::JoinHandle<()>,
}

impl WsTransport {
    /// Opens the WebSocket, naming `node_id` (hex) in [`NODE_ID_HEADER`] if given.
    pub async fn connect(url: &str, node_id: Option<String>) -> Result<Self, TransportError> {
        prepare_tls(url)?;
        let mut request = url
            .into_client_request()
            .map_err(|e| TransportError::InvalidTarget(format!("{url}: {e}")))?;
        if let Some(node_id) = &node_id {
            let value = node_id
                .parse()
                .map_err(|_| TransportError::InvalidTarget("node id header".into()))?;
            request.headers_mut().insert(NODE_ID_HEADER, value);
        }
        let (stream, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .map_err(|e| TransportError::Http(format!("WebSocket {url}: {e}")))?;
        let (sink, mut source) = stream.split();
        let (events, inbound) = mpsc::unbounded_channel();
        let connection = next_connection_id();
        let reader = tokio::spawn(async move {
            while let Some(frame) = source.next().await {
                let payload = match frame {
                    Ok(Message::Text(text)) => text.as_bytes().to_vec(),
                    Ok(Message::Binary(bytes)) => bytes.to_vec(),
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => continue,
                };
                let _ = events.send(TransportEvent::Message(payload));
            }
            let _ = events.send(TransportEvent::Disconnected { connection });
        });
        Ok(Self {
            url: url.to_owned(),
            connection,
            sink: Mutex::new(sink),
            inbound: Mutex::new(inbound),
            reader,
        })
    }
}

impl Drop for WsTransport {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Transport for WsTransport {
    fn send(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<ConnectionId, TransportError>> {
        Box::pin(async move {
            // The binding accepts binary frames so non-UTF-8 payloads can be sent too.
            let frame = match String::from_utf8(payload) {
                Ok(text) => Message::text(text),
                Err(e) => Message::binary(e.into_bytes()),
            };
            self.sink
                .lock()
                .await
                .send(frame)
                .await
                .map(|()| self.connection)
                .map_err(|_| TransportError::Closed)
        })
    }

    fn recv(&self) -> BoxFuture<'_, Option<TransportEvent>> {
        Box::pin(async move { self.inbound.lock().await.recv().await })
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}
