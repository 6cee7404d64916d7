//! `cargo xtask <command>`: maintenance commands for the spec data in `spec/`, and the
//! instruction-count comparison of the handler bench.
#![forbid(unsafe_code)]

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask test [--plain] [-- <runner args>]
       cargo xtask coverage [--open]
       cargo xtask instructions

commands:
  test          every test of the workspace with all features: the doc tests, then the
                rest with cargo-nextest when it is installed (one process per test, in
                parallel), otherwise with plain `cargo test`. `--plain` (or
                LSPS_TEST_RUNNER=cargo) forces `cargo test`; .ci/run calls exactly this
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
        Some("test") => run_tests(&args[1..]),
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

/// `cargo xtask test`: doc tests, then nextest if available, else `cargo test`.
fn run_tests(args: &[String]) -> ExitCode {
    let (own, passed): (&[String], &[String]) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[]),
    };
    let mut plain = std::env::var("LSPS_TEST_RUNNER").is_ok_and(|v| v == "cargo");
    for arg in own {
        match arg.as_str() {
            "--plain" => plain = true,
            other => {
                eprintln!("unknown option {other}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |args: &[&str]| -> bool {
        eprintln!("xtask: {cargo} {}", args.join(" "));
        std::process::Command::new(&cargo)
            .args(args)
            .args(passed)
            .current_dir(xtask::workspace_root())
            .status()
            .is_ok_and(|status| status.success())
    };
    // Doc tests first, so the run closes on the main runner's summary.
    let docs_ok = {
        eprintln!("xtask: {cargo} test --doc --workspace --all-features");
        std::process::Command::new(&cargo)
            .args(["test", "--doc", "--workspace", "--all-features"])
            .current_dir(xtask::workspace_root())
            .status()
            .is_ok_and(|status| status.success())
    };
    let nextest = !plain
        && std::process::Command::new(&cargo)
            .args(["nextest", "--version"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
    let tests_ok = if nextest {
        run(&[
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ])
    } else {
        eprintln!("xtask: cargo-nextest not found; running plain cargo test");
        run(&[
            "test",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
            "--lib",
            "--bins",
            "--tests",
        ])
    };
    if docs_ok && tests_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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
