//! The LSPS0 BOLT8 binding's message: custom message type 37913 carrying the raw payload, as
//! an LDK wire type (feature `bolt8`). One definition for the server, the client, the test
//! fixtures and the conformance runner.
//!
//! The payload is kept as bytes with no UTF-8 requirement: malformed JSON, even invalid UTF-8,
//! must reach the LSPS0 classifier (which answers it) instead of failing the BOLT8 read (which
//! makes LDK disconnect the peer).

use lightning::io;
use lightning::ln::msgs::DecodeError;
use lightning::ln::wire::Type;
use lightning::util::ser::{LengthLimitedRead, Writeable, Writer};

pub use crate::lsps0::{LSPS_FEATURE_BIT, LSPS_MESSAGE_TYPE};

/// Largest payload a BOLT8 message can carry (65535 minus the 2-byte type).
pub const MAX_PAYLOAD_BYTES: usize = 65533;

/// A 37913 payload as raw bytes (no length prefix on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPayload(pub Vec<u8>);

impl Writeable for RawPayload {
    fn write<W: Writer>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.0)
    }
}

impl Type for RawPayload {
    fn type_id(&self) -> u16 {
        LSPS_MESSAGE_TYPE
    }
}

/// Reads a 37913 message as a [`RawPayload`], whatever its bytes; any other type is left to
/// LDK (`Ok(None)`). The allocation is bounded by BOLT8's 65535-byte message limit.
pub fn read_raw_payload<R: LengthLimitedRead>(
    message_type: u16,
    buffer: &mut R,
) -> Result<Option<RawPayload>, DecodeError> {
    if message_type != LSPS_MESSAGE_TYPE {
        return Ok(None);
    }
    let len = usize::try_from(buffer.remaining_bytes()).map_err(|_| DecodeError::InvalidValue)?;
    let mut payload = vec![0; len];
    buffer
        .read_exact(&mut payload)
        .map_err(|_| DecodeError::ShortRead)?;
    Ok(Some(RawPayload(payload)))
}
