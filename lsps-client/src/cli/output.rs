//! What a command prints and how it fails: the `--json` or text output, and the exit code and
//! error line of a failure.

use std::io::Write as _;

use lsps_client::ClientError;
use lsps_client::transport::TransportError;
use serde_json::{Value, json};

/// A failure, with the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) lsp_error: Option<Value>,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let (code, kind) = match &e {
            ClientError::Transport(TransportError::Payload(_)) => (1, "transport"),
            ClientError::Transport(_) => (2, "transport"),
            ClientError::Timeout { .. } => (1, "timeout"),
            ClientError::Disconnected { .. } => (1, "disconnected"),
            ClientError::Lsp { .. } => (1, "lsp_error"),
            _ => (1, "check_failed"),
        };
        let lsp_error = match &e {
            ClientError::Lsp { error, .. } => Some(json!({
                "code": error.code,
                "name": error.code_name(),
                "message": error.message,
                "data": error.data,
            })),
            _ => None,
        };
        let mut message = e.to_string();
        if let ClientError::Timeout { method, .. } = &e
            && method.protocol() != 0
        {
            // LDK answers nothing at all for protocols it does not serve (spike.md §2).
            message.push_str(&format!(
                " (the LSP may not support LSPS{}; see `lsps list-protocols`)",
                method.protocol()
            ));
        }
        Self {
            code,
            kind,
            message,
            lsp_error,
        }
    }
}

impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Self {
        ClientError::from(e).into()
    }
}

pub(crate) fn usage(message: String) -> Failure {
    Failure {
        code: 2,
        kind: "usage",
        message,
        lsp_error: None,
    }
}

/// Writes one line to stdout; a closed pipe (`lsps … | head`) ends the output quietly instead
/// of panicking as `println!` would.
pub(crate) fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Where a command's result goes: pretty JSON (`--json`) or the text form.
pub(crate) struct Output {
    pub(crate) json: bool,
}

impl Output {
    pub(crate) fn print<T: serde::Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(s) => emit(&s),
                Err(e) => eprintln!("lsps: cannot encode output: {e}"),
            }
        } else {
            emit(&text());
        }
    }
}

/// The wire name of an enum value (`CREATED`, `EXPECT_PAYMENT`, …).
pub(crate) fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
