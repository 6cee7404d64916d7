//! The `lsps-conformance` command: list, explain, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lsps-conformance"))
}

#[test]
fn list_prints_every_case() {
    let out = bin().arg("list").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for id in lsps_conformance::catalog::all_case_ids() {
        assert!(text.contains(id), "{id} missing from list");
    }
}

#[test]
fn explain_shows_what_is_sent_and_the_requirement() {
    let out = bin()
        .args(["explain", "lsps0.unknown-method.gets-32601"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("sends:") && text.contains("LSPS0-R45"),
        "{text}"
    );
    let missing = bin().args(["explain", "no.such.case"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn unreachable_target_exits_2() {
    let key = "02".to_owned() + &"11".repeat(32);
    // Port 9 (discard) on loopback: nothing listens in the test environment.
    let out = bin()
        .args([
            "run",
            "--target",
            &format!("{key}@127.0.0.1:9"),
            "--timeout-ms",
            "500",
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let bad = bin()
        .args(["run", "--target", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn spawn_reference_conforms_and_a_filter_matching_nothing_exits_3() {
    // Each --output belongs to the --format just before it: terminal goes to stdout, JSON to
    // the file.
    let json_path =
        std::env::temp_dir().join(format!("lsps-conformance-cli-{}.json", std::process::id()));
    let out = bin()
        .args([
            "run",
            "--spawn-reference",
            "-q",
            "--format",
            "terminal",
            "--format",
            "json",
        ])
        .args(["--output", &json_path.display().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let last = text.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    let _ = std::fs::remove_file(&json_path);
    let misplaced = bin()
        .args([
            "run",
            "--spawn-reference",
            "--output",
            "x.json",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(misplaced.status.code(), Some(2));
    let nothing = bin()
        .args(["run", "--spawn-reference", "-q", "--run", "no.such.*"])
        .output()
        .unwrap();
    assert_eq!(nothing.status.code(), Some(3));
}
