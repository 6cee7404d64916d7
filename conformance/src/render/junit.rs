//! JUnit XML (one `<testsuite>` per protocol prefix), written with `quick-junit`, the data model
//! and serializer nextest uses, so element names, counts and escaping follow the format as CI
//! systems read it instead of a hand-kept writer.

use crate::report::{CaseReport, Direction, Report};
use crate::verdict::Verdict;
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

fn transcript_text(case: &CaseReport) -> String {
    let mut out = String::new();
    for entry in &case.transcript {
        let arrow = match entry.dir {
            Direction::Sent => ">>",
            Direction::Received => "<<",
            Direction::Event => "--",
        };
        out.push_str(&format!("[{}] {arrow} {}\n", entry.conn, entry.payload));
    }
    xml_safe(&out)
}

/// Text from the target made visible where XML 1.0 cannot carry it even escaped: NUL and the
/// other C0 controls except tab, LF and CR, and U+FFFE/U+FFFF are written as `\u{..}` (the
/// serializer would otherwise drop the C0 controls silently, and passes U+FFFE/U+FFFF through,
/// which makes the document unreadable). Markup characters are escaped by the serializer, which
/// never uses CDATA, so a `]]>` from the target cannot end a section early.
fn xml_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let allowed =
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}');
        if allowed {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    out
}

fn test_case(report: &Report, suite: &str, case: &CaseReport) -> TestCase {
    let message = xml_safe(&match &case.expected {
        Some(e) => format!("{} (baseline: {})", case.message, e.reason),
        None => case.message.clone(),
    });
    let strict = report.options.strict;
    let non_success = |kind| {
        let mut status = TestCaseStatus::non_success(kind);
        status
            .set_message(message.as_str())
            .set_type(case.verdict.as_str())
            .set_description(format!(
                "requirements: {}\n{}\n{}",
                case.requirements.join(", "),
                message,
                transcript_text(case)
            ));
        status
    };
    let status = match case.verdict {
        Verdict::Fail | Verdict::Timeout | Verdict::XPass => non_success(NonSuccessKind::Failure),
        Verdict::Warn if strict => non_success(NonSuccessKind::Failure),
        Verdict::Error => non_success(NonSuccessKind::Error),
        Verdict::Skip | Verdict::NotApplicable | Verdict::XFail => {
            let mut status = TestCaseStatus::skipped();
            status
                .set_message(message.as_str())
                .set_type(case.verdict.as_str());
            status
        }
        Verdict::Pass | Verdict::Warn => TestCaseStatus::success(),
    };
    let mut test = TestCase::new(case.id.as_str(), status);
    test.set_classname(suite)
        .set_time(Duration::from_millis(case.duration_ms));
    if case.verdict == Verdict::Warn && !strict {
        test.set_system_out(format!("WARN: {message}"));
    }
    test
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut junit = quick_junit::Report::new("lsps-conformance");
    junit.set_time(Duration::from_millis(report.run.duration_ms));
    let mut suites: Vec<&str> = Vec::new();
    for case in &report.cases {
        let prefix = case.id.split('.').next().unwrap_or("other");
        if !suites.contains(&prefix) {
            suites.push(prefix);
        }
    }
    for name in suites {
        let mut suite = TestSuite::new(name);
        suite.add_properties([
            Property::new(
                "spec",
                format!("{}@{}", report.spec.repository, report.spec.commit),
            ),
            Property::new("runner_version", report.runner_version.as_str()),
            Property::new("level", report.options.level.as_str()),
        ]);
        suite.add_test_cases(
            report
                .cases
                .iter()
                .filter(|c| c.id.split('.').next() == Some(name))
                .map(|c| test_case(report, name, c)),
        );
        junit.add_test_suite(suite);
    }
    match junit.to_string() {
        Ok(text) => text,
        Err(e) => format!("<!-- cannot render JUnit: {e} -->\n"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::xml_safe;

    #[test]
    fn control_characters_cannot_reach_the_xml() {
        assert_eq!(xml_safe("a\u{0}b\tc\u{1b}"), "a\\u{0}b\tc\\u{1b}");
        assert_eq!(xml_safe("]]> <x>"), "]]> <x>");
    }
}
