//! The LSPS0 JSON-RPC 2.0 envelope: ids, methods, requests, responses, error objects, and
//! the classifying decoders for both directions.
//!
//! - LSP side: [`decode_request`] returns a typed [`Request`] or the exact error [`Response`]
//!   LSPS0 prescribes; answer with [`Response::to_bytes`].
//! - Client side: [`decode_response`] classifies what arrives (response to a known id, error
//!   with null id, unknown id, notification) or says why it is a [`BadMessage`].

mod decode;
mod error;
mod fast;
mod id;
mod message;
mod method;
mod params;
mod parse;

pub use decode::{
    BadMessage, IncomingMessage, Strictness, decode_request, decode_response, decode_response_with,
};
pub use error::{ErrorObject, code};
pub use id::RequestId;
pub use message::{EncodedResult, Notification, Request, RequestParams, Response, ResponseResult};
pub use method::Method;
pub use params::{InvalidProperty, Params, decode_result, from_value_at_path, param_names};
pub use parse::{FormatError, parse_message};
