//! Transports: BOLT8 custom message 37913 and the HTTP/WebSocket binding. Both hand raw request
//! payloads to one [`Dispatch`] implementation (the [`crate::dispatch::Dispatcher`]) and send
//! back whatever it answers, so every transport gives the same answer to the same bytes.

pub mod bolt8;
pub mod http;
pub mod lanes;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::net::IpAddr;

use bitcoin::secp256k1::PublicKey;
use lsps_core::jsonrpc::{Method, Response};

/// Who sent a payload, as far as the transport knows.
///
/// Over BOLT8 the node id is proven by the Noise handshake; over HTTP it is only stated
/// (`spec/bindings/http.md`), so the limits account an HTTP caller by where it connects from
/// and never against the BOLT8 peer whose id it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A BOLT8 peer, authenticated by the handshake.
    Bolt8(PublicKey),
    /// An HTTP or WebSocket caller: the node id it stated and the address it connected from.
    Http {
        /// The `X-Lsps-Node-Id` it stated (not proven).
        stated: PublicKey,
        /// The TCP peer address it connected from.
        source: IpAddr,
    },
}

impl Caller {
    /// The node id the handlers see (proven or stated).
    pub fn node_id(&self) -> PublicKey {
        match self {
            Caller::Bolt8(id) => *id,
            Caller::Http { stated, .. } => *stated,
        }
    }
}

/// The answer to one inbound payload.
pub enum Dispatched {
    /// Reply with these bytes now.
    Reply(Vec<u8>),
    /// Send nothing (only reachable through a `faults` build).
    NoReply,
    /// The answer needs I/O first (durable writes); await it, then send it if `Some`.
    Pending(Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send>>),
}

impl Dispatched {
    /// Wait for the answer, whichever form it takes.
    pub async fn resolve(self) -> Option<Vec<u8>> {
        match self {
            Dispatched::Reply(bytes) => Some(bytes),
            Dispatched::NoReply => None,
            Dispatched::Pending(fut) => fut.await,
        }
    }
}

/// What a transport calls for each inbound LSPS payload.
pub trait Dispatch: Send + Sync + 'static {
    /// Answer one raw payload from `caller`.
    fn dispatch_from(&self, caller: Caller, payload: &[u8]) -> Dispatched;
    /// The caller's connection (BOLT8 session or WebSocket) closed.
    fn caller_disconnected(&self, caller: Caller);
    /// Answer one raw payload from the BOLT8 peer `peer`.
    fn dispatch(&self, peer: PublicKey, payload: &[u8]) -> Dispatched {
        self.dispatch_from(Caller::Bolt8(peer), payload)
    }
    /// The BOLT8 peer `peer` disconnected.
    fn peer_disconnected(&self, peer: PublicKey) {
        self.caller_disconnected(Caller::Bolt8(peer));
    }
    /// Answer `payload` with code 1 `client_rejected` and `reason` without handling it (a
    /// transport's own limit refused it); bad input still gets its LSPS0 answer.
    fn refuse(&self, caller: Caller, payload: &[u8], reason: &str) -> Dispatched {
        let _ = caller;
        let reply = match lsps_core::jsonrpc::decode_request(payload) {
            Ok(request) => Response::error(
                Some(request.id),
                lsps_core::jsonrpc::ErrorObject::client_rejected(reason),
            ),
            Err(reply) => reply,
        };
        Dispatched::Reply(reply.to_bytes())
    }
}

/// What the `method` member of a payload names, read without decoding the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodProbe {
    /// A method this server knows.
    Known(Method),
    /// A method name it does not know.
    Unknown,
    /// JSON without a `method` member.
    Absent,
    /// Not JSON (or `method` is not a string).
    Invalid,
}

impl MethodProbe {
    /// Probe `payload`.
    pub fn of(payload: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Probe<'a> {
            #[serde(borrow)]
            method: Option<std::borrow::Cow<'a, str>>,
        }
        match serde_json::from_slice::<Probe>(payload) {
            Ok(Probe { method: Some(name) }) => {
                Method::from_name(&name).map_or(MethodProbe::Unknown, MethodProbe::Known)
            }
            Ok(_) => MethodProbe::Absent,
            Err(_) => MethodProbe::Invalid,
        }
    }

    /// Whether it names a request that writes (and so takes the write lane).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            MethodProbe::Known(Method::Lsps1CreateOrder | Method::Lsps2Buy)
        )
    }
}

/// Longest pause between two `accept` attempts while they keep failing.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// What a listener does after `accept` fails (typically `EMFILE`: out of file descriptors).
/// Retrying at once spins a core and floods the log (seen: ~95 MB/s of warnings), so the loop
/// pauses, doubling the pause while failures go on, and logs once per burst of failures.
#[derive(Debug)]
pub struct AcceptBackoff {
    listener: &'static str,
    first: Duration,
    next: Duration,
    failures: u64,
}

impl AcceptBackoff {
    /// Backoff for the listener named `listener`, first pause `first` (at least 1 ms).
    pub fn new(listener: &'static str, first: Duration) -> Self {
        let first = first.max(Duration::from_millis(1));
        Self {
            listener,
            first,
            next: first,
            failures: 0,
        }
    }

    /// `accept` failed with `error`: logs if this starts a burst, returns how long to pause.
    pub fn failed(&mut self, error: &std::io::Error) -> Duration {
        if self.failures == 0 {
            tracing::warn!(
                listener = self.listener,
                "accept failed: {error}; pausing between retries until it succeeds"
            );
        }
        self.failures += 1;
        let pause = self.next;
        self.next = (self.next * 2).min(MAX_ACCEPT_BACKOFF);
        pause
    }

    /// `accept` succeeded: ends a burst (logging how long it was) and resets the pause.
    pub fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::warn!(
                listener = self.listener,
                failures = self.failures,
                "accept works again"
            );
        }
        self.failures = 0;
        self.next = self.first;
    }

    /// Failures in the current burst.
    pub fn failures(&self) -> u64 {
        self.failures
    }
}

/// One step of a listener's loop: wait for a free connection slot, accept, pause with `backoff`
/// on accept failures, and set TCP_NODELAY. `None` when the listener is shutting down (or the
/// slots are closed). Both transports' accept loops are this plus what they do with the socket.
pub async fn accept_next(
    listener: &tokio::net::TcpListener,
    slots: &std::sync::Arc<tokio::sync::Semaphore>,
    backoff: &mut AcceptBackoff,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<(
    tokio::sync::OwnedSemaphorePermit,
    tokio::net::TcpStream,
    std::net::SocketAddr,
)> {
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.ok()?,
            _ = shutdown.changed() => return None,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return None,
        };
        match accepted {
            Ok((stream, remote)) => {
                backoff.succeeded();
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(%remote, "set_nodelay failed: {e}");
                }
                return Some((slot, stream, remote));
            }
            Err(e) => {
                let pause = backoff.failed(&e);
                drop(slot);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => return None,
                }
            }
        }
    }
}

/// The largest number of connections a listener may hold: `configured`, lowered to a quarter of
/// the process's open-file limit (after raising the soft limit to the hard one) so that the two
/// listeners together never take more than half the descriptors and the node, the store and the
/// other listener keep theirs.
pub fn connection_cap(configured: usize) -> usize {
    // Raising the soft limit is what servers usually do at start; failure leaves it as it was.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, _)) => {
            let quarter = usize::try_from(soft / 4).unwrap_or(usize::MAX);
            configured.min(quarter.max(1))
        }
        Err(_) => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_log_once_per_burst_and_back_off_up_to_a_second() {
        let mut backoff = AcceptBackoff::new("test", Duration::from_millis(10));
        let e = std::io::Error::other("EMFILE");
        let pauses: Vec<Duration> = (0..10).map(|_| backoff.failed(&e)).collect();
        assert_eq!(pauses[0], Duration::from_millis(10));
        assert_eq!(pauses[1], Duration::from_millis(20));
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(
            *pauses.last().unwrap_or(&Duration::ZERO),
            MAX_ACCEPT_BACKOFF
        );
        assert_eq!(backoff.failures(), 10);
        backoff.succeeded();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.failed(&e), Duration::from_millis(10));
    }

    #[test]
    fn connection_cap_never_exceeds_the_configured_value() {
        assert!(connection_cap(7) <= 7);
        assert!(connection_cap(1) >= 1);
    }
}
