//! JUnit XML (one `<testsuite>` per protocol prefix), written with quick-xml.

use crate::report::{CaseReport, Direction, Report};
use crate::verdict::Verdict;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::io::Cursor;

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

/// Text from the target made safe for XML 1.0: characters XML cannot carry even escaped (NUL
/// and the other C0 controls except tab, LF and CR, and U+FFFE/U+FFFF) are written as `\u{..}`;
/// markup characters are escaped by the writer (text is never put in CDATA, so a `]]>` from the
/// target cannot end a section early).
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

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

type W = Writer<Cursor<Vec<u8>>>;

fn write_case(w: &mut W, report: &Report, suite: &str, case: &CaseReport) -> quick_xml::Result<()> {
    let mut start = BytesStart::new("testcase");
    start.push_attribute(("classname", suite));
    start.push_attribute(("name", case.id.as_str()));
    start.push_attribute(("time", secs(case.duration_ms).as_str()));
    w.write_event(Event::Start(start))?;
    let message = xml_safe(&match &case.expected {
        Some(e) => format!("{} (baseline: {})", case.message, e.reason),
        None => case.message.clone(),
    });
    let child = match case.verdict {
        Verdict::Fail | Verdict::Timeout | Verdict::XPass => Some("failure"),
        Verdict::Warn if report.options.strict => Some("failure"),
        Verdict::Error => Some("error"),
        Verdict::Skip | Verdict::NotApplicable | Verdict::XFail => Some("skipped"),
        Verdict::Pass | Verdict::Warn => None,
    };
    if let Some(tag) = child {
        let mut el = BytesStart::new(tag);
        el.push_attribute(("message", message.as_str()));
        el.push_attribute(("type", case.verdict.as_str()));
        if tag == "skipped" {
            w.write_event(Event::Empty(el))?;
        } else {
            w.write_event(Event::Start(el))?;
            let text = format!(
                "requirements: {}\n{}\n{}",
                case.requirements.join(", "),
                message,
                transcript_text(case)
            );
            w.write_event(Event::Text(BytesText::new(&text)))?;
            w.write_event(Event::End(BytesEnd::new(tag)))?;
        }
    }
    if case.verdict == Verdict::Warn && !report.options.strict {
        w.write_event(Event::Start(BytesStart::new("system-out")))?;
        w.write_event(Event::Text(BytesText::new(&format!("WARN: {message}"))))?;
        w.write_event(Event::End(BytesEnd::new("system-out")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))?;
    Ok(())
}

fn write_all(w: &mut W, report: &Report) -> quick_xml::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut suites: Vec<&str> = Vec::new();
    for case in &report.cases {
        let prefix = case.id.split('.').next().unwrap_or("other");
        if !suites.contains(&prefix) {
            suites.push(prefix);
        }
    }
    let count = |cases: &[&CaseReport], f: &dyn Fn(Verdict) -> bool| {
        cases.iter().filter(|c| f(c.verdict)).count().to_string()
    };
    let all: Vec<&CaseReport> = report.cases.iter().collect();
    let strict = report.options.strict;
    let is_failure = move |v: Verdict| v.is_failure(strict);
    let is_error = |v: Verdict| v == Verdict::Error;
    let is_skipped =
        |v: Verdict| matches!(v, Verdict::Skip | Verdict::NotApplicable | Verdict::XFail);
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "lsps-conformance"));
    root.push_attribute(("tests", all.len().to_string().as_str()));
    root.push_attribute(("failures", count(&all, &is_failure).as_str()));
    root.push_attribute(("errors", count(&all, &is_error).as_str()));
    root.push_attribute(("skipped", count(&all, &is_skipped).as_str()));
    root.push_attribute(("time", secs(report.run.duration_ms).as_str()));
    w.write_event(Event::Start(root))?;
    for suite in suites {
        let cases: Vec<&CaseReport> = report
            .cases
            .iter()
            .filter(|c| c.id.split('.').next() == Some(suite))
            .collect();
        let mut start = BytesStart::new("testsuite");
        start.push_attribute(("name", suite));
        start.push_attribute(("tests", cases.len().to_string().as_str()));
        start.push_attribute(("failures", count(&cases, &is_failure).as_str()));
        start.push_attribute(("errors", count(&cases, &is_error).as_str()));
        start.push_attribute(("skipped", count(&cases, &is_skipped).as_str()));
        w.write_event(Event::Start(start))?;
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for (name, value) in [
            (
                "spec",
                format!("{}@{}", report.spec.repository, report.spec.commit),
            ),
            ("runner_version", report.runner_version.clone()),
            ("level", report.options.level.clone()),
        ] {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", name));
            p.push_attribute(("value", value.as_str()));
            w.write_event(Event::Empty(p))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;
        for case in cases {
            write_case(w, report, suite, case)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    Ok(())
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut writer = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
    if let Err(e) = write_all(&mut writer, report) {
        return format!("<!-- cannot render JUnit: {e} -->\n");
    }
    let mut text = String::from_utf8_lossy(&writer.into_inner().into_inner()).into_owned();
    text.push('\n');
    text
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
