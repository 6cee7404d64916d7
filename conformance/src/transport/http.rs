//! HTTP target over lsps-client's `HttpTransport` (this project's binding,
//! `spec/bindings/http.md`): each payload is one POST and its body is the reply. A
//! "connection" is a caller identity: a random node id named in the binding's header.

use super::adapt;
use crate::report::TargetInfo;
use crate::target::{BoxFuture, RawConnection, Target, TargetError};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use lsps_client::transport::http::HttpTransport;
use std::sync::Arc;

/// An LSP reachable at an `http(s)://` URL.
pub struct HttpTarget {
    url: String,
}

impl HttpTarget {
    /// A target at `url`; the URL is checked by opening (not connecting) a transport.
    pub fn new(url: &str) -> Result<Self, TargetError> {
        HttpTransport::new(url, None).map_err(|e| TargetError::BadAddress(e.to_string()))?;
        Ok(HttpTarget {
            url: url.to_owned(),
        })
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
            let key = SecretKey::from_slice(&rand::random::<[u8; 32]>())
                .map_err(|e| TargetError::Unreachable(e.to_string()))?;
            let node_id = key.public_key(&Secp256k1::new()).to_string();
            let transport = HttpTransport::new(&self.url, Some(node_id.clone()))
                .map_err(|e| TargetError::BadAddress(e.to_string()))?;
            Ok(adapt(Arc::new(transport), Some(node_id)))
        })
    }
}
