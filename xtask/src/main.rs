//! `cargo xtask <command>`: maintenance commands for the spec data in `spec/`, and the
//! instruction-count comparison of the handler bench.
#![forbid(unsafe_code)]

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask coverage [--open]
       cargo xtask instructions

commands:
  coverage      print requirements x {by case, by test, excluded, deferred, open} per
                protocol and in total (rule: spec/README.md, section \"Coverage\")
  instructions  instructions per request of lsps-server's handler bench against
                lightning-liquidity's, under valgrind's callgrind (lsps-server/BENCHMARKS.md)
options:
  --open        (coverage) also list the IDs of open requirements";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("coverage") => {
            let mut list_open = false;
            for arg in &args[1..] {
                match arg.as_str() {
                    "--open" => list_open = true,
                    other => {
                        eprintln!("unknown option {other}\n\n{USAGE}");
                        return ExitCode::from(2);
                    }
                }
            }
            print_report(xtask::coverage_report(&xtask::workspace_root(), list_open))
        }
        Some("instructions") => print_report(xtask::instructions::instructions_report(
            &xtask::workspace_root(),
        )),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Prints a report to stdout, or the error to stderr with a failing exit code.
fn print_report(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
