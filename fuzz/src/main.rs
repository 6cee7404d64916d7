//! `lsps-fuzz`: a mutation fuzzer for lsps-core's decoders that runs on the stable toolchain.
//!
//! Why not cargo-fuzz: it needs nightly-only sanitizer flags (or `RUSTC_BOOTSTRAP=1`) and a C++
//! libFuzzer build; the decoders are pure functions, so a plain loop over mutated inputs, with
//! every panic caught and the input saved, finds the same class of bugs (panics, overflow,
//! broken round trips) without coverage feedback. The seed corpus is every payload in
//! `spec/vectors/` (requests, and expected replies turned into responses), which already
//! reaches every method and every error class.
//!
//! ```text
//! cargo run --release --manifest-path fuzz/Cargo.toml -- [--target envelope|response|types|all]
//!     [--runs N] [--seed S] [--corpus DIR] [--crashes DIR]
//! ```
//! Exit status 0: no finding; 1: a panic or a broken invariant (input written to `--crashes`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use lsps_core::jsonrpc::{Method, decode_request, decode_response, decode_result};
use lsps_core::types::{
    Datetime, DatetimeMode, FeeRate, Msat, NodeId, OnchainAddress, Outpoint, Ppm, Sat, Scid, Txid,
};
use serde_json::Value;

/// xorshift64*: deterministic and dependency-free; quality is irrelevant for mutation choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens that make JSON decoders take unusual branches.
const DICTIONARY: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1e400",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "4294967296",
    "0.5",
    "\"2.0\"",
    "\"jsonrpc\"",
    "\"id\"",
    "\"method\"",
    "\"params\"",
    "\"result\"",
    "\"error\"",
    "\"code\"",
    "\"message\"",
    "\"data\"",
    "\"lsps0.list_protocols\"",
    "\"lsps1.get_info\"",
    "\"lsps1.create_order\"",
    "\"lsps1.get_order\"",
    "\"lsps2.get_info\"",
    "\"lsps2.buy\"",
    "\"opening_fee_params\"",
    "\"promise\"",
    "\"valid_until\"",
    "\"2023-02-23T08:47:30.511Z\"",
    "\"9999-12-31T23:59:59.999Z\"",
    "\"1970-01-01T00:00:00Z\"",
    "\"order_id\"",
    "\"payment_size_msat\"",
    "\"lsp_balance_sat\"",
    "\"token\"",
    "\"unrecognized\"",
    "\u{0}",
    "\u{feff}",
    "\u{ff}",
    "\"1x2x3\"",
    "\"0x0x0\"",
    "\"02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619\"",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = b"{}[],:\"\\0-9eE.+ \x00\xff"[rng.below(18)];
            }
            2 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())].as_bytes();
                let at = rng.below(len + 1);
                input.splice(at..at, token.iter().copied());
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                input.drain(start..end);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(32)).min(len);
                let chunk: Vec<u8> = input[start..end].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            5 if !corpus.is_empty() => {
                // Splice: our head, another seed's tail.
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            6 if len > 0 => input.truncate(rng.below(len)),
            7 => {
                // Replace a quoted string or a number with a dictionary token.
                if let Some(start) = (0..len)
                    .map(|_| rng.below(len))
                    .find(|&i| input[i] == b'"' || input[i].is_ascii_digit())
                {
                    let end = input[start + 1..]
                        .iter()
                        .position(|&b| b == b'"' || b == b',' || b == b'}')
                        .map_or(len, |p| start + 1 + p + usize::from(input[start] == b'"'));
                    let token = DICTIONARY[rng.below(DICTIONARY.len())].as_bytes();
                    input.splice(start..end.min(len), token.iter().copied());
                }
            }
            _ => {
                let at = rng.below(len + 1);
                input.insert(at, rng.next() as u8);
            }
        }
    }
    // BOLT8 carries at most 65533 bytes; longer inputs only slow the loop down.
    input.truncate(65_533);
}

/// A broken invariant (a panic is caught separately).
type Finding = String;

/// The envelope classifier: any bytes get a typed request or a reply that is a JSON-RPC error;
/// a typed request re-encodes to bytes that decode to the same request.
fn envelope(input: &[u8]) -> Result<(), Finding> {
    match decode_request(input) {
        Ok(request) => {
            let bytes = request.to_bytes();
            match decode_request(&bytes) {
                Ok(again) if again == request => Ok(()),
                Ok(again) => Err(format!("re-decoded differently: {again:?} vs {request:?}")),
                Err(reply) => Err(format!("own encoding refused: {reply:?}")),
            }
        }
        Err(reply) => {
            let bytes = reply.to_bytes();
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("error reply is not JSON ({e})"))?;
            if value.get("error").is_some_and(Value::is_object) {
                Ok(())
            } else {
                Err(format!("error reply without error object: {value}"))
            }
        }
    }
}

/// Every method's response decoder (the client side) and result decoder.
fn response(input: &[u8]) -> Result<(), Finding> {
    for method in Method::ALL {
        let _ = decode_response(input, &|_| Some(method));
        if let Ok(value) = serde_json::from_slice::<Value>(input) {
            let result = value.get("result").cloned().unwrap_or(value);
            let _ = decode_result(method, result);
        }
    }
    let _ = decode_response(input, &|_| None);
    Ok(())
}

/// Parse, print, parse again: the same value (for types whose text form is canonical).
fn round_trip<T>(text: &str, name: &str) -> Result<(), Finding>
where
    T: std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
    T::Err: std::fmt::Debug,
{
    if let Ok(value) = text.parse::<T>() {
        let printed = value.to_string();
        match printed.parse::<T>() {
            Ok(again) if again == value => {}
            other => return Err(format!("{name}: {text:?} -> {printed:?} -> {other:?}")),
        }
    }
    Ok(())
}

/// The common types from text and from JSON.
fn types(input: &[u8]) -> Result<(), Finding> {
    let text = String::from_utf8_lossy(input);
    round_trip::<Msat>(&text, "Msat")?;
    round_trip::<Sat>(&text, "Sat")?;
    round_trip::<NodeId>(&text, "NodeId")?;
    round_trip::<Scid>(&text, "Scid")?;
    round_trip::<Txid>(&text, "Txid")?;
    round_trip::<Outpoint>(&text, "Outpoint")?;
    round_trip::<Datetime>(&text, "Datetime")?;
    let _ = text.parse::<Ppm>();
    let _ = text.parse::<FeeRate>();
    let _ = text.parse::<OnchainAddress>();
    for mode in [DatetimeMode::Strict, DatetimeMode::Lenient] {
        let _ = Datetime::parse(&text, mode);
    }
    let _ = serde_json::from_slice::<Msat>(input);
    let _ = serde_json::from_slice::<Sat>(input);
    let _ = serde_json::from_slice::<NodeId>(input);
    let _ = serde_json::from_slice::<Scid>(input);
    let _ = serde_json::from_slice::<Datetime>(input);
    let _ = serde_json::from_slice::<Outpoint>(input);
    let _ = serde_json::from_slice::<Ppm>(input);
    let _ = serde_json::from_slice::<FeeRate>(input);
    Ok(())
}

type Target = (&'static str, fn(&[u8]) -> Result<(), Finding>);

const TARGETS: &[Target] = &[
    ("envelope", envelope),
    ("response", response),
    ("types", types),
];

fn collect_json(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_json(&path, out);
        } else if path.extension().is_some_and(|e| e == "json")
            && let Ok(bytes) = std::fs::read(&path)
            && let Ok(vector) = serde_json::from_slice::<Value>(&bytes)
        {
            if let Some(payload) = vector.get("payload").and_then(Value::as_str) {
                out.push(payload.as_bytes().to_vec());
            }
            if let Some(Value::Object(expect)) = vector.get("expect") {
                let mut reply = expect.clone();
                reply.insert("jsonrpc".into(), Value::String("2.0".into()));
                out.push(Value::Object(reply).to_string().into_bytes());
                // The bare values feed the types target.
                for value in expect.values() {
                    out.push(value.to_string().into_bytes());
                }
            }
        }
    }
}

fn corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    collect_json(dir, &mut out);
    for token in DICTIONARY {
        out.push(token.as_bytes().to_vec());
    }
    out.push(Vec::new());
    out
}

struct Args {
    target: String,
    runs: u64,
    seed: u64,
    corpus: PathBuf,
    crashes: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        target: "all".into(),
        runs: 100_000,
        seed: 0x5eed,
        corpus: root.join("../spec/vectors"),
        crashes: root.join("crashes"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => args.target = value()?,
            "--runs" => args.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--corpus" => args.corpus = value()?.into(),
            "--crashes" => args.crashes = value()?.into(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("lsps-fuzz: {e}");
            std::process::exit(2);
        }
    };
    let seeds = corpus(&args.corpus);
    let targets: Vec<&Target> = TARGETS
        .iter()
        .filter(|(name, _)| args.target == "all" || args.target == *name)
        .collect();
    if targets.is_empty() {
        eprintln!("lsps-fuzz: unknown target {}", args.target);
        std::process::exit(2);
    }
    // Panics are caught and reported with their input; the default hook's message is enough.
    let mut findings = 0u64;
    let mut total = 0u64;
    let started = Instant::now();
    for (name, run) in targets {
        let mut rng = Rng(args.seed.max(1) ^ name.len() as u64);
        let target_started = Instant::now();
        for i in 0..args.runs {
            let mut input = seeds[rng.below(seeds.len())].clone();
            if i % 16 != 0 {
                mutate(&mut rng, &mut input, &seeds);
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| run(&input)));
            let finding = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(finding)) => Some(finding),
                Err(_) => Some("panic".to_owned()),
            };
            if let Some(finding) = finding {
                findings += 1;
                let _ = std::fs::create_dir_all(&args.crashes);
                let path = args.crashes.join(format!("{name}-{i}"));
                let _ = std::fs::write(&path, &input);
                eprintln!("{name}: {finding} (input saved to {})", path.display());
                if findings >= 10 {
                    break;
                }
            }
        }
        total += args.runs;
        println!(
            "{name}: {} runs in {:.1} s, {findings} findings so far",
            args.runs,
            target_started.elapsed().as_secs_f64()
        );
    }
    println!(
        "lsps-fuzz: {total} executions in {:.1} s, {findings} findings",
        started.elapsed().as_secs_f64()
    );
    std::process::exit(i32::from(findings > 0));
}
