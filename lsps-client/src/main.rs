//! `lsps`: talk to an LSP from the command line.
//!
//! Exit codes: 0 success; 1 the LSP answered with an error, a client-side check refused the
//! answer, or no reply came in time; 2 usage error or the target is unreachable.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::json;

use cli::{Cli, Failure, emit};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `lsps2 receive` runs an LDK node: its log (and LDK's, target `ldk`) goes to stderr when
    // RUST_LOG asks for it; stdout stays the command's output.
    #[cfg(feature = "node")]
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let json_output = cli.json;
    // Every command makes at most three requests (get_info, then the call): bound the whole
    // run so no transport can hang it (an HTTP POST to a server that never answers).
    let bound = Duration::from_millis(cli.connect_timeout_ms)
        + Duration::from_millis(cli.timeout_ms).saturating_mul(3)
        + cli::receive_allowance(&cli.command);
    let outcome = match tokio::time::timeout(bound, cli::run(cli)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Failure {
            code: 1,
            kind: "timeout",
            message: format!("no answer within {} ms", bound.as_millis()),
            lsp_error: None,
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if json_output {
                emit(
                    &json!({"error": {
                        "kind": failure.kind,
                        "message": failure.message,
                        "lsp_error": failure.lsp_error,
                    }})
                    .to_string(),
                );
            }
            // One line: the reason, never a multi-line dump.
            let first = failure.message.lines().next().unwrap_or_default();
            eprintln!("lsps: error: {first}");
            ExitCode::from(failure.code)
        }
    }
}
