//! The basis table against the catalog and the pinned bLIP text.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::verdict::Level;

#[test]
fn every_case_has_a_basis_and_every_entry_names_a_case() {
    for case in crate::catalog::all() {
        assert!(!of(case.id).is_empty(), "{} has no basis", case.id);
    }
    for (id, _) in entries() {
        assert!(crate::catalog::find(id).is_some(), "{id} is no case");
    }
    let mut ids: Vec<&str> = entries().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "a case is listed twice");
}

/// The judge's rule: MUST cases quote a MUST binding the LSP; others quote none that would
/// make them MUST without saying why not.
#[test]
fn levels_follow_the_keywords() {
    for case in crate::catalog::all() {
        let mandatory = of(case.id).iter().any(Basis::binds_lsp_mandatorily);
        match case.level {
            Level::Must => assert!(mandatory, "{} is MUST without a MUST", case.id),
            Level::Should | Level::May => assert!(
                !mandatory,
                "{} is {} but quotes a MUST binding the LSP without a note",
                case.id, case.level
            ),
        }
    }
}

/// The pinned bLIP text as sentences are quoted: Markdown links reduced to their text,
/// `<del>` marks, list markers and block-quote marks dropped, lines joined, whitespace
/// collapsed.
fn pinned_text(file: &str) -> String {
    let raw = match file {
        "blip-0050.md" => include_str!("../../../spec/blips/ba7a34b/blip-0050.md"),
        "blip-0051.md" => include_str!("../../../spec/blips/ba7a34b/blip-0051.md"),
        "blip-0052.md" => include_str!("../../../spec/blips/ba7a34b/blip-0052.md"),
        other => panic!("no pinned copy of {other}"),
    };
    let reference_link = regex::Regex::new(r"\[([^\]]*)\]\[[^\]]*\]").unwrap();
    let inline_link = regex::Regex::new(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)").unwrap();
    let marker = regex::Regex::new(r"^\s*(?:[-*]\s+|\d+\.\s+|>\s?)").unwrap();
    let text = reference_link.replace_all(raw, "$1");
    let text = inline_link.replace_all(&text, "$1");
    let text = text.replace("<del>", "").replace("</del>", "");
    let joined: Vec<String> = text
        .lines()
        .map(|l| marker.replace(l, "").trim().to_owned())
        .collect();
    joined
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The pieces of a quote that must each appear in the text: fragments between `[...]`
/// elisions, cut after each `.` or `:` that ends a sentence or an introducing clause (a
/// list item is quoted with the clause that introduces it).
fn quoted_pieces(quote: &str) -> Vec<String> {
    let quote = quote.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut pieces = Vec::new();
    for fragment in quote.split("[...]") {
        let chars: Vec<char> = fragment.chars().collect();
        let mut start = 0;
        for i in 0..chars.len() {
            let ends = matches!(chars[i], '.' | ':')
                && chars.get(i + 1) == Some(&' ')
                && chars
                    .get(i + 2)
                    .is_some_and(|c| c.is_ascii_uppercase() || matches!(c, '`' | '*' | '"'));
            if ends {
                pieces.push(chars[start..=i].iter().collect::<String>());
                start = i + 2;
            }
        }
        pieces.push(chars[start..].iter().collect::<String>());
    }
    pieces
        .into_iter()
        .map(|p| p.trim().trim_end_matches(':').trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn missing_pieces(quote: &str, file: &str) -> Vec<String> {
    let text = pinned_text(file);
    quoted_pieces(quote)
        .into_iter()
        .filter(|p| !text.contains(p.as_str()) && !text.contains(p.trim_end_matches('.')))
        .collect()
}

/// Every sentence the runner quotes is in the bLIP text at the pinned commit: each case's
/// basis, and the quotes (`bLIP-5N: "..."`) in the flow cases' verdicts.
#[test]
fn quoted_sentences_are_in_the_pinned_blips() {
    let mut problems = Vec::new();
    for (case, basis) in entries() {
        for b in *basis {
            let Some((file, _)) = b.section.split_once('#') else {
                continue;
            };
            if !file.starts_with("blip-") {
                continue;
            }
            for piece in missing_pieces(b.sentence, file) {
                problems.push(format!("{case} ({}): {piece:?}", b.requirement));
            }
        }
    }
    let quoted = regex::Regex::new(r#"\\"((?:[^"\\]|\\[^"])*)\\""#).unwrap();
    for (source, file) in [
        (include_str!("../catalog/flow_lsps1.rs"), "blip-0051.md"),
        (
            include_str!("../catalog/flow_lsps1_onchain.rs"),
            "blip-0051.md",
        ),
        (include_str!("../catalog/flow_lsps2.rs"), "blip-0052.md"),
        (
            include_str!("../catalog/flow_lsps2_open.rs"),
            "blip-0052.md",
        ),
    ] {
        let mut checked = 0;
        for quote in quoted.captures_iter(source) {
            let quote = &quote[1];
            if !["MUST", "SHOULD", "MAY"].iter().any(|k| quote.contains(k)) {
                continue;
            }
            checked += 1;
            for piece in missing_pieces(quote, file) {
                problems.push(format!("a flow verdict quoting {file}: {piece:?}"));
            }
        }
        assert!(checked > 0, "no quote found in a flow source of {file}");
    }
    assert!(
        problems.is_empty(),
        "not in the pinned bLIP text:\n{}",
        problems.join("\n")
    );
}

#[test]
fn quote_checks_can_fail() {
    assert!(missing_pieces("MUST release the preimage.", "blip-0051.md").is_empty());
    assert_eq!(
        missing_pieces("MUST release the preimage at once.", "blip-0051.md"),
        ["MUST release the preimage at once."]
    );
    assert_eq!(
        quoted_pieces("If x: MUST a. [...] MUST b."),
        ["If x", "MUST a.", "MUST b."]
    );
}

#[test]
fn sentences_are_in_the_requirement_section_files() {
    for (_, basis) in entries() {
        for b in *basis {
            assert!(!b.sentence.is_empty());
            assert!(
                b.section.starts_with("blip-005") || b.section.starts_with("jsonrpc#"),
                "{}",
                b.section
            );
            if b.keyword != Keyword::Defines {
                assert!(
                    b.sentence.contains(b.keyword.as_str()),
                    "{:?} does not contain its keyword {}",
                    b.sentence,
                    b.keyword.as_str()
                );
            }
        }
    }
}
