//! Fast paths for the classifying decoders: they decode a well-formed request or result
//! straight from the payload text, without building a `serde_json::Value` tree, and give up
//! (`None`) on anything else. The callers then run the full classifier, which produces the
//! exact error; so the fast paths only ever decide the *success* case, and must decide it
//! exactly as the full classifier would.
//!
//! How that equivalence holds:
//! - Pass 1 walks the whole payload with the same serde_json parser and the same calls as
//!   [`parse_message`](super::parse_message) (`deserialize_any` for every value, keys parsed as
//!   strings), so it accepts exactly the same texts (numbers out of f64 range, lone
//!   surrogates, nesting deeper than 128 all fail the same way), and it refuses a duplicate
//!   key in any object at any depth. It also reads the envelope members and, for a request,
//!   the param names, giving up on any envelope the full classifier would reject.
//! - Pass 2 deserializes only the typed params (or result) from the same text, skipping the
//!   other members. Typed deserialization from text and from a `Value` agree on every value
//!   that pass 1 accepted (same number and string parsing; unknown keys, where a type
//!   ignores them, are skipped either way); a pass-2 failure falls back to the full path,
//!   which reports it at its dotted path.
//!
//! The differential test in this module checks the claim on generated and mutated payloads.

use std::borrow::Cow;
use std::collections::HashSet;

use core::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::params::METHODS;
use super::{Method, Request, RequestId, RequestParams, ResponseResult};
use crate::{lsps0, lsps1, lsps2};

/// Past this many keys in one object, duplicates are looked up in a hash set instead of by
/// linear scan (a 65 kB payload can hold ~10k keys; a quadratic scan would be a DoS lever).
const LINEAR_KEY_LIMIT: usize = 8;

/// The keys already seen in one object: the first few inline, borrowed from the payload (no
/// allocation for the small objects LSPS messages are made of); past that, or once a key had
/// escapes (it is then an owned string), a hash set.
struct SeenKeys<'de> {
    inline: [&'de str; LINEAR_KEY_LIMIT],
    len: usize,
    set: Option<HashSet<Cow<'de, str>>>,
}

impl Default for SeenKeys<'_> {
    fn default() -> Self {
        Self {
            inline: [""; LINEAR_KEY_LIMIT],
            len: 0,
            set: None,
        }
    }
}

impl<'de> SeenKeys<'de> {
    /// Records `key`; `false` if it was already there.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert(key);
        }
        if self.inline[..self.len].contains(&key.as_ref()) {
            return false;
        }
        match key {
            Cow::Borrowed(k) if self.len < LINEAR_KEY_LIMIT => {
                self.inline[self.len] = k;
                self.len += 1;
            }
            key => {
                let mut set: HashSet<Cow<'de, str>> = self.inline[..self.len]
                    .iter()
                    .map(|k| Cow::Borrowed(*k))
                    .collect();
                set.insert(key);
                self.set = Some(set);
            }
        }
        true
    }
}

fn give_up<E: de::Error>() -> E {
    E::custom("not a plain success; use the full classifier")
}

/// An object key, borrowed from the payload unless it had escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

/// A JSON string value (anything else gives up).
struct Str;

impl<'de> DeserializeSeed<'de> for Str {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        // `deserialize_any` as pass 1 does everywhere, so a non-string fails the same way.
        d.deserialize_any(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Any JSON value, walked like `parse_message` walks it, building nothing; fails on a
/// duplicate key.
struct Check;

impl<'de> DeserializeSeed<'de> for Check {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(CheckVisitor)
    }
}

struct CheckVisitor;

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Check)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(Key)? {
            if !seen.insert(key) {
                return Err(give_up());
            }
            map.next_value_seed(Check)?;
        }
        Ok(())
    }
}

/// A JSON object (anything else gives up), checked like [`Check`]. For request params it
/// also folds each key's method mask (bit `i`: method `i` defines that param name).
struct CheckObject {
    with_mask: bool,
}

/// What [`CheckObject`] found: the AND of the keys' method masks and the key count.
struct ObjectSummary {
    mask: u8,
    len: usize,
}

impl<'de> DeserializeSeed<'de> for CheckObject {
    type Value = ObjectSummary;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ObjectSummary, D::Error> {
        d.deserialize_any(self)
    }
}

/// Bit `i` is set when `METHODS[i]` defines the param `name`.
fn param_mask(name: &str) -> u8 {
    METHODS
        .iter()
        .enumerate()
        .filter(|(_, row)| row.param_names.contains(&name))
        .fold(0, |mask, (i, _)| mask | (1 << i))
}

impl<'de> Visitor<'de> for CheckObject {
    type Value = ObjectSummary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ObjectSummary, A::Error> {
        let mut seen = SeenKeys::default();
        let mut summary = ObjectSummary {
            mask: u8::MAX,
            len: 0,
        };
        while let Some(key) = map.next_key_seed(Key)? {
            if self.with_mask {
                summary.mask &= param_mask(&key);
            }
            if !seen.insert(key) {
                return Err(give_up());
            }
            summary.len += 1;
            map.next_value_seed(Check)?;
        }
        Ok(summary)
    }
}

/// Top-level members a fast path has read.
#[derive(Default)]
struct Envelope<'de> {
    jsonrpc_ok: bool,
    id: Option<Cow<'de, str>>,
    method: Option<Method>,
    /// Params (request) or result (response) object, if present.
    body: Option<ObjectSummary>,
}

/// Which envelope a fast path reads: a request (`method` and a `params` object, whose member
/// names are checked against the method's) or a result response (a `result` object).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    Response,
}

impl Kind {
    /// The member holding the body.
    fn body(self) -> &'static str {
        match self {
            Kind::Request => "params",
            Kind::Response => "result",
        }
    }

    fn expecting(self) -> &'static str {
        match self {
            Kind::Request => "a JSON-RPC request object",
            Kind::Response => "a JSON-RPC response object",
        }
    }
}

/// Pass 1: every member checked, every value walked. A request takes `jsonrpc`, a string `id`,
/// a known `method` and `params`; a response `jsonrpc`, a string `id` and `result`. Anything
/// else — a duplicate, another member, an error response, a notification, a null id — is the
/// full path's to answer.
struct Pass1(Kind);

impl<'de> Visitor<'de> for Pass1 {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.expecting())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let kind = self.0;
        let mut env = Envelope::default();
        let mut seen_jsonrpc = false;
        while let Some(key) = map.next_key_seed(Key)? {
            match key.as_ref() {
                "jsonrpc" if !seen_jsonrpc => {
                    seen_jsonrpc = true;
                    env.jsonrpc_ok = map.next_value_seed(Str)? == "2.0";
                }
                "id" if env.id.is_none() => env.id = Some(map.next_value_seed(Str)?),
                "method" if kind == Kind::Request && env.method.is_none() => {
                    let name = map.next_value_seed(Str)?;
                    // An unknown method is -32601: the full path answers it.
                    env.method = Some(Method::from_name(&name).ok_or_else(give_up)?);
                }
                name if name == kind.body() && env.body.is_none() => {
                    env.body = Some(map.next_value_seed(CheckObject {
                        with_mask: kind == Kind::Request,
                    })?);
                }
                _ => return Err(give_up()),
            }
        }
        Ok(env)
    }
}

/// Pass 2: only the body member, read with `seed` (the typed params or result of a method);
/// every other member is skipped (pass 1 has checked them).
struct Pass2<S> {
    kind: Kind,
    seed: S,
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Pass2<S> {
    type Value = S::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.expecting())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S::Value, A::Error> {
        let member = self.kind.body();
        let mut seed = Some(self.seed);
        let mut body = None;
        while let Some(key) = map.next_key_seed(Key)? {
            match seed.take() {
                Some(typed) if key == member => body = Some(map.next_value_seed(typed)?),
                unused => {
                    seed = unused;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        body.ok_or_else(give_up)
    }
}

/// The typed params of a method, from a params object.
struct TypedParams(Method);

impl<'de> DeserializeSeed<'de> for TypedParams {
    type Value = RequestParams;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RequestParams, D::Error> {
        Ok(match self.0 {
            Method::Lsps0ListProtocols => {
                RequestParams::Lsps0ListProtocols(lsps0::ListProtocolsRequest::deserialize(d)?)
            }
            Method::Lsps1GetInfo => {
                RequestParams::Lsps1GetInfo(lsps1::GetInfoRequest::deserialize(d)?)
            }
            Method::Lsps1CreateOrder => {
                RequestParams::Lsps1CreateOrder(lsps1::CreateOrderRequest::deserialize(d)?)
            }
            Method::Lsps1GetOrder => {
                RequestParams::Lsps1GetOrder(lsps1::GetOrderRequest::deserialize(d)?)
            }
            Method::Lsps2GetInfo => {
                RequestParams::Lsps2GetInfo(lsps2::GetInfoRequest::deserialize(d)?)
            }
            Method::Lsps2Buy => RequestParams::Lsps2Buy(lsps2::BuyRequest::deserialize(d)?),
        })
    }
}

/// The typed result of a method, from a result object.
struct TypedResult(Method);

impl<'de> DeserializeSeed<'de> for TypedResult {
    type Value = ResponseResult;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ResponseResult, D::Error> {
        Ok(match self.0 {
            Method::Lsps0ListProtocols => {
                ResponseResult::Lsps0ListProtocols(lsps0::ListProtocolsResult::deserialize(d)?)
            }
            Method::Lsps1GetInfo => {
                ResponseResult::Lsps1GetInfo(lsps1::GetInfoResult::deserialize(d)?)
            }
            Method::Lsps1CreateOrder => {
                ResponseResult::Lsps1CreateOrder(lsps1::OrderResult::deserialize(d)?)
            }
            Method::Lsps1GetOrder => {
                ResponseResult::Lsps1GetOrder(lsps1::OrderResult::deserialize(d)?)
            }
            Method::Lsps2GetInfo => {
                ResponseResult::Lsps2GetInfo(lsps2::GetInfoResult::deserialize(d)?)
            }
            Method::Lsps2Buy => ResponseResult::Lsps2Buy(lsps2::BuyResult::deserialize(d)?),
        })
    }
}

/// The payload as text, if it passes the byte checks of `parse_message`.
fn payload_text(payload: &[u8]) -> Option<&str> {
    if payload.contains(&0) {
        return None;
    }
    core::str::from_utf8(payload).ok()
}

/// Runs `visitor` over the single top-level object of `text`; `None` if it fails or
/// anything but whitespace follows.
fn top_level<'de, V: Visitor<'de>>(text: &'de str, visitor: V) -> Option<V::Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de.deserialize_map(visitor).ok()?;
    de.end().ok()?;
    Some(value)
}

/// The envelope scanner's answer.
pub(super) enum Scanned<'a> {
    /// A request whose params are `{}` or absent.
    NoParams { id: &'a str, method: Method },
    /// Not something the scanner decides (params with members, escapes, anything odd).
    Undecided,
}

/// Tier 0 of the request fast path: a byte scanner for the most common request of all, an
/// envelope with empty or absent params (`lsps0.list_protocols`, both `get_info`s without a
/// token), which serde_json walks no faster than a request with params.
///
/// It decides only payloads it can read in full without judgement: one object whose members
/// are exactly `jsonrpc` = `"2.0"`, a string `id`, a known `method` and optionally `params` =
/// `{}`, each once, in any order, with JSON whitespace anywhere between tokens and after the
/// object. Strings must hold no backslash and no control character (NUL included), so that
/// the bytes are the value. It reads raw bytes: every byte outside the id is then an ASCII
/// token or matched against an ASCII name, so checking the id for UTF-8 checks the payload
/// (what [`payload_text`] does for the serde passes). Anything else is
/// [`Scanned::Undecided`] and goes on to the serde passes, so the scanner can only ever accept
/// a payload those passes and the full classifier accept, with the same id and method.
pub(super) fn scan_envelope(bytes: &[u8]) -> Scanned<'_> {
    const JSONRPC: u8 = 1;
    const ID: u8 = 2;
    const METHOD: u8 = 4;
    const PARAMS: u8 = 8;

    let mut scanner = Scanner { bytes, at: 0 };
    let mut seen = 0u8;
    let mut id = None;
    let mut method = None;
    if !scanner.token(b'{') {
        return Scanned::Undecided;
    }
    const MEMBERS: [(&[u8], u8); 4] = [
        (b"jsonrpc", JSONRPC),
        (b"id", ID),
        (b"method", METHOD),
        (b"params", PARAMS),
    ];
    loop {
        let Some(member) = scanner.one_of(&MEMBERS) else {
            return Scanned::Undecided;
        };
        if seen & member != 0 || !scanner.token(b':') {
            return Scanned::Undecided;
        }
        seen |= member;
        let value_ok = match member {
            JSONRPC => scanner.one_of(&[(b"2.0", ())]).is_some(),
            ID => {
                id = scanner
                    .string()
                    .and_then(|id| core::str::from_utf8(id).ok());
                id.is_some()
            }
            METHOD => {
                method = scanner.one_of(&METHOD_NAMES);
                method.is_some()
            }
            _ => scanner.token(b'{') && scanner.token(b'}'),
        };
        if !value_ok {
            return Scanned::Undecided;
        }
        if scanner.token(b',') {
            continue;
        }
        if scanner.token(b'}') {
            break;
        }
        return Scanned::Undecided;
    }
    scanner.skip_whitespace();
    match (scanner.at == scanner.bytes.len(), id, method) {
        (true, Some(id), Some(method)) if seen & JSONRPC != 0 => Scanned::NoParams { id, method },
        _ => Scanned::Undecided,
    }
}

/// The bytes that end a [`Scanner::string`]: the closing quote, a backslash and the control
/// characters.
const STRING_STOP: [bool; 256] = {
    let mut stop = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        stop[b] = true;
        b += 1;
    }
    stop[b'"' as usize] = true;
    stop[b'\\' as usize] = true;
    stop
};

/// Every method by its name, for [`Scanner::one_of`].
const METHOD_NAMES: [(&[u8], Method); 6] = {
    let mut names: [(&[u8], Method); 6] = [(b"", Method::Lsps0ListProtocols); 6];
    let mut i = 0;
    while i < 6 {
        names[i] = (Method::ALL[i].name().as_bytes(), Method::ALL[i]);
        i += 1;
    }
    names
};

/// A cursor over the payload for [`scan_envelope`].
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    /// Skips JSON whitespace (space, tab, line feed, carriage return).
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// Consumes `byte` after optional whitespace; false (nothing consumed) if it is not next.
    fn token(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// A string after optional whitespace that is exactly one of the `choices` (compared as
    /// bytes: a string with escapes never matches); its value.
    fn one_of<T: Copy>(&mut self, choices: &[(&[u8], T)]) -> Option<T> {
        if !self.token(b'"') {
            return None;
        }
        let rest = self.bytes.get(self.at..)?;
        let (text, value) = choices
            .iter()
            .find(|(text, _)| rest.starts_with(text) && rest.get(text.len()) == Some(&b'"'))?;
        self.at += text.len() + 1;
        Some(*value)
    }

    /// A string after optional whitespace, as the bytes between its quotes; `None` if there
    /// is none or it holds a backslash or a control character (the serde passes judge those).
    fn string(&mut self) -> Option<&'a [u8]> {
        if !self.token(b'"') {
            return None;
        }
        let start = self.at;
        let rest = self.bytes.get(start..)?;
        let len = rest.iter().position(|&b| STRING_STOP[usize::from(b)])?;
        if rest[len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        rest.get(..len)
    }
}

/// The typed params of `method` from an empty object, as the full path makes them for `{}`
/// or absent params; `None` when the method has required params.
fn empty_params(method: Method) -> Option<RequestParams> {
    // The methods whose params are all optional, built directly; a test holds these equal to
    // what serde makes of `{}`.
    Some(match method {
        Method::Lsps0ListProtocols => {
            RequestParams::Lsps0ListProtocols(lsps0::ListProtocolsRequest {})
        }
        Method::Lsps1GetInfo => RequestParams::Lsps1GetInfo(lsps1::GetInfoRequest {}),
        Method::Lsps2GetInfo => RequestParams::Lsps2GetInfo(lsps2::GetInfoRequest { token: None }),
        Method::Lsps1CreateOrder | Method::Lsps1GetOrder | Method::Lsps2Buy => {
            return TypedParams(method)
                .deserialize(&mut serde_json::Deserializer::from_str("{}"))
                .ok();
        }
    })
}

#[cfg(test)]
#[test]
fn empty_params_are_what_serde_makes_of_an_empty_object() {
    for method in Method::ALL {
        let from_serde = TypedParams(method)
            .deserialize(&mut serde_json::Deserializer::from_str("{}"))
            .ok();
        assert_eq!(empty_params(method), from_serde, "{method:?}");
    }
}

/// A request [`decode_request`](super::decode_request) would accept, decoded without a
/// `Value` tree; `None` for anything else (the caller then runs the full classifier).
pub(super) fn request(payload: &[u8]) -> Option<Request> {
    if let Scanned::NoParams { id, method } = scan_envelope(payload) {
        return Some(Request {
            id: RequestId(id.to_owned()),
            params: empty_params(method)?,
        });
    }
    let text = payload_text(payload)?;
    let env = top_level(text, Pass1(Kind::Request))?;
    let (true, Some(id), Some(method)) = (env.jsonrpc_ok, env.id, env.method) else {
        return None;
    };
    // Every param name must be one the method defines (else -32602 `unrecognized`).
    let params = match env.body {
        Some(ObjectSummary { mask, len }) if len > 0 => {
            if mask & (1 << method as usize) == 0 {
                return None;
            }
            top_level(
                text,
                Pass2 {
                    kind: Kind::Request,
                    seed: TypedParams(method),
                },
            )?
        }
        // Absent or `{}`: typed from an empty object, as the full path does.
        _ => empty_params(method)?,
    };
    Some(Request {
        id: RequestId(id.into_owned()),
        params,
    })
}

/// What the response fast path found.
#[allow(clippy::large_enum_variant)] // Returned once per message and matched at once.
pub(super) enum FastResponse {
    /// A well-formed result response; `method` is `None` when the lookup did not know the id.
    Result {
        /// The id.
        id: RequestId,
        /// The lookup's answer.
        method: Option<Method>,
        /// The typed result, when the method is known and the result typed.
        result: Option<ResponseResult>,
    },
    /// Not a plain result response: use the full classifier.
    GiveUp,
}

/// A result response as [`decode_response`](super::decode_response) would classify it,
/// decoded without a `Value` tree. The lookup is called at most once.
pub(super) fn response(
    payload: &[u8],
    lookup: &dyn Fn(&RequestId) -> Option<Method>,
) -> FastResponse {
    let Some(text) = payload_text(payload) else {
        return FastResponse::GiveUp;
    };
    let Some(env) = top_level(text, Pass1(Kind::Response)) else {
        return FastResponse::GiveUp;
    };
    let (true, Some(id), Some(_)) = (env.jsonrpc_ok, env.id, env.body) else {
        return FastResponse::GiveUp;
    };
    let id = RequestId(id.into_owned());
    let method = lookup(&id);
    let result = method.and_then(|m| {
        top_level(
            text,
            Pass2 {
                kind: Kind::Response,
                seed: TypedResult(m),
            },
        )
    });
    FastResponse::Result { id, method, result }
}
