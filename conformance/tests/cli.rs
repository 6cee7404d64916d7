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
fn list_json_carries_the_spec_basis_of_every_case() {
    let out = bin().args(["list", "--json"]).output().unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), lsps_conformance::catalog::all().len());
    for case in cases {
        for key in ["id", "tier", "level", "requirements"] {
            assert!(case.get(key).is_some(), "{case}: no {key}");
        }
        let basis = case["basis"].as_array().unwrap();
        assert!(!basis.is_empty(), "{}", case["id"]);
        for b in basis {
            assert!(b["sentence"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(b["keyword"].is_string());
            assert!(b["url"].as_str().unwrap().starts_with("https://"));
        }
    }
}

#[test]
fn help_documents_targets_and_every_exit_code() {
    let out = bin().args(["run", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "ws(s)://",
        "LSPS_TARGET",
        "incomplete",
        "--node-key-file",
        "--slow-ms",
    ] {
        assert!(text.contains(needle), "{needle} missing from run --help");
    }
    let out = bin().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for code in ["0  ", "1  ", "2  ", "3  ", "4  "] {
        assert!(text.contains(code), "exit code {code} undocumented");
    }
}

#[test]
fn explain_a_requirement_and_bad_numbers_and_globs() {
    let out = bin().args(["explain", "LSPS2-R26"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("lsps2.buy.tampered-promise.gets-201"),
        "{text}"
    );
    for flag in ["--timeout-ms", "--concurrency", "--slow-ms"] {
        let out = bin()
            .args(["run", "--spawn-reference", flag, "0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} 0");
    }
    let out = bin()
        .args(["run", "--spawn-reference", "--run", "lsps2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("try 'lsps2.*'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    // The bLIP sentence behind the verdict, its keyword and a link to the pinned section.
    assert!(text.contains("[MUST]"), "{text}");
    assert!(text.contains("\"Method not found\""), "{text}");
    assert!(
        text.contains("github.com/lightning/blips/blob/ba7a34b"),
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // HTTP: nothing listens, so the probe cannot even dial: exit 2 with one line, no cases.
    let out = bin()
        .args(["run", "-t", "http://127.0.0.1:9/", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
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
