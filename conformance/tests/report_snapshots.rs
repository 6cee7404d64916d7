//! insta snapshots of every report format for a fixed synthetic run (one case per verdict,
//! with text that needs escaping), and a check that normalized reports of two live runs are
//! identical.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_conformance::render::Format;
use lsps_conformance::report::{
    CaseReport, Direction, Expectation, Report, RunInfo, RunOptions, SpecPin, Summary, TargetInfo,
    TranscriptEntry,
};
use lsps_conformance::runner::{RunConfig, run};
use lsps_conformance::transport::memory::MemoryTarget;
use lsps_conformance::verdict::{Level, Verdict};
use std::sync::Arc;
use std::time::Duration;

fn case(id: &str, verdict: Verdict, message: &str) -> CaseReport {
    CaseReport {
        id: id.into(),
        requirements: vec!["LSPS0-R45".into()],
        level: if verdict == Verdict::Warn { Level::Should } else { Level::Must },
        verdict,
        message: message.into(),
        expected: None,
        duration_ms: 12,
        steps: Vec::new(),
        transcript: vec![
            TranscriptEntry {
                conn: 1,
                dir: Direction::Sent,
                payload: r#"{"jsonrpc":"2.0","id":"ab","method":"lsps0.zz_nope","params":{}}"#.into(),
            },
            TranscriptEntry {
                conn: 1,
                dir: Direction::Received,
                payload: r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"<parse> & \"error\""}}"#.into(),
            },
            TranscriptEntry {
                conn: 1,
                dir: Direction::Event,
                payload: "no message within 1000 ms".into(),
            },
        ],
    }
}

fn synthetic() -> Report {
    let mut xfail = case(
        "lsps0.bad-format.two-objects.gets-32700",
        Verdict::XFail,
        "answered the first object",
    );
    xfail.expected = Some(Expectation {
        verdict: Verdict::Fail,
        reason: "serde_json stops after the first value".into(),
    });
    let mut xpass = case(
        "lsps0.list-protocols.excludes-0",
        Verdict::XPass,
        "passed, but the baseline expects FAIL",
    );
    xpass.expected = Some(Expectation {
        verdict: Verdict::Fail,
        reason: "listed 0 in an old version".into(),
    });
    let cases = vec![
        case(
            "lsps0.unknown-method.gets-32601",
            Verdict::Fail,
            "expected error -32601, got error -32700 \"parse error\" <script>alert(1)</script> | pipe",
        ),
        case(
            "lsps0.list-protocols.answers",
            Verdict::Pass,
            "protocols [1, 2]",
        ),
        case(
            "lsps2.get-info.valid-until-10-min-ahead",
            Verdict::Warn,
            "valid_until is 60 s ahead",
        ),
        case(
            "lsps1.create-order.confirmations-below-min.gets-100",
            Verdict::Skip,
            "precondition: min_required_channel_confirmations is 0",
        ),
        case(
            "lsps1.get-info.answers",
            Verdict::NotApplicable,
            "LSPS1 is not advertised",
        ),
        case(
            "lsps2.get-info.answers",
            Verdict::Timeout,
            "no reply to lsps2.get_info within 1000 ms",
        ),
        case(
            "lsps2.buy.result-shape",
            Verdict::Error,
            "harness: cannot connect",
        ),
        xfail,
        xpass,
    ];
    let mut report = Report {
        schema_version: lsps_conformance::report::SCHEMA_VERSION,
        runner_version: "0.1.0".into(),
        spec: SpecPin::default(),
        target: TargetInfo {
            transport: "bolt8".into(),
            node_id: Some("02".to_owned() + &"ab".repeat(32)),
            url: None,
            advertised_protocols: Some(vec![2]),
        },
        options: RunOptions {
            baseline: Some("baselines/example.yaml".into()),
            ..RunOptions::default()
        },
        summary: Summary::default(),
        headline: vec![
            "LSPS1 is advertised but lsps1.get_info answers error -32601 \"<nope>\"".into(),
        ],
        cases,
        run: RunInfo {
            started_at: "2026-01-14T00:00:00.000Z".into(),
            finished_at: "2026-01-14T00:00:01.000Z".into(),
            duration_ms: 1000,
            target_address: "127.0.0.1:9735".into(),
            runner_node_id: Some("03".to_owned() + &"cd".repeat(32)),
        },
        flow: None,
    };
    report.recount();
    report
}

#[test]
fn terminal() {
    insta::assert_snapshot!(Format::Terminal.render(&synthetic()));
}

#[test]
fn json() {
    insta::assert_snapshot!(Format::Json.render(&synthetic()));
}

#[test]
fn junit() {
    insta::assert_snapshot!(Format::Junit.render(&synthetic()));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(Format::Markdown.render(&synthetic()));
}

#[test]
fn html() {
    let html = Format::Html.render(&synthetic());
    assert!(!html.contains("<script>"), "text must be escaped");
    insta::assert_snapshot!(html);
}

#[test]
fn json_round_trips_and_counts() {
    let report = synthetic();
    let text = Format::Json.render(&report);
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
    assert_eq!(report.passed(), 1);
    // FAIL, TIMEOUT and XPASS count as failed; WARN only under --strict.
    assert_eq!(report.failed(), 3);
    let last = Format::Terminal.render(&report);
    assert_eq!(last.lines().last().unwrap(), "1 passed, 3 failed");
}

#[test]
fn normalized_json_is_the_same_whatever_the_volatile_values() {
    let a = synthetic();
    let mut b = synthetic();
    b.run.started_at = "2030-01-01T00:00:00.000Z".into();
    b.run.runner_node_id = Some("02".to_owned() + &"ee".repeat(32));
    b.cases[0].duration_ms = 999;
    b.cases[0].transcript[0].payload =
        r#"{"jsonrpc":"2.0","id":"zz","method":"lsps0.zz_nope","params":{}}"#.into();
    let (mut a, mut b) = (a, b);
    a.normalize();
    b.normalize();
    assert_eq!(Format::Json.render(&a), Format::Json.render(&b));
}

/// A tiny LSP: LSPS0 only, answers list_protocols, -32601 for other methods and -32700 with
/// id null for anything that is not a JSON object with a string id and method.
fn tiny_lsp(_conn: u64, payload: &[u8]) -> Option<Vec<Vec<u8>>> {
    let reply = match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(v) if v.get("id").is_some_and(|i| i.is_string()) && v.get("method").is_some() => {
            let id = v["id"].clone();
            if v["method"] == "lsps0.list_protocols" {
                serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"protocols":[]}})
            } else {
                serde_json::json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":"Method not found"}})
            }
        }
        _ => {
            serde_json::json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})
        }
    };
    Some(vec![reply.to_string().into_bytes()])
}

#[tokio::test]
async fn two_live_runs_diff_cleanly_after_normalizing() {
    let config = RunConfig {
        timeout: Duration::from_millis(300),
        ..RunConfig::default()
    };
    let mut a = run(Arc::new(MemoryTarget::new(tiny_lsp)), &config, &|_| {})
        .await
        .unwrap();
    let mut b = run(Arc::new(MemoryTarget::new(tiny_lsp)), &config, &|_| {})
        .await
        .unwrap();
    a.normalize();
    b.normalize();
    assert_eq!(Format::Json.render(&a), Format::Json.render(&b));
    // The tiny LSP ignores unknown params: that case must fail, not pass vacuously.
    let unknown_param = a
        .cases
        .iter()
        .find(|c| c.id == "lsps0.list-protocols.unknown-param.gets-32602")
        .unwrap();
    assert_eq!(unknown_param.verdict, Verdict::Fail);
}

/// The JSON report follows its own versioned schema (`conformance/schema/report.v1.json`):
/// the synthetic report with every verdict, and a live run.
#[tokio::test]
async fn json_reports_follow_the_report_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schema/report.v1.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let config = RunConfig {
        timeout: Duration::from_millis(300),
        ..RunConfig::default()
    };
    let live = run(Arc::new(MemoryTarget::new(tiny_lsp)), &config, &|_| {})
        .await
        .unwrap();
    for report in [synthetic(), live] {
        let json: serde_json::Value = serde_json::from_str(&Format::Json.render(&report)).unwrap();
        assert_eq!(
            json["schema_version"],
            lsps_conformance::report::SCHEMA_VERSION
        );
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
}

/// The HTML report as a browser reads it (headless Chromium's DOM): spec links and the
/// verdict filter are elements, transcripts are collapsible, and text from the target (a
/// `<script>` in a message) stays text. Skipped, saying so, when no Chromium is installed
/// (`apt-get install chromium`).
#[test]
fn html_report_in_headless_chromium() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let path = std::env::temp_dir().join(format!("lsps-report-{}.html", std::process::id()));
    std::fs::write(&path, Format::Html.render(&synthetic())).unwrap();
    let mut child = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", path.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Bounded: a browser that hangs must not hang the test suite.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let dom = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        dom.contains("<a class=\"spec\" href=\"https://github.com/lightning/blips/blob/ba7a34b"),
        "{dom}"
    );
    assert!(
        dom.contains("<details><summary>transcript</summary>"),
        "{dom}"
    );
    assert!(
        dom.contains("<input type=\"radio\" name=\"filter\" id=\"f-FAIL\""),
        "{dom}"
    );
    assert!(dom.contains("<h2>Interop</h2>"), "{dom}");
    assert!(
        !dom.contains("<script"),
        "text from the target became markup: {dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom}"
    );
}
