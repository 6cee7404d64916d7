//! The spec basis of every verdict: for each case, the sentences of the bLIPs (at the pinned
//! commit) that make its expectation mandatory, with the keyword as written.
//!
//! The judge's rule (the runner FAILs only for a broken bLIP MUST it can quote) is enforced by a
//! test: a case whose level is MUST names at least one MUST / MUST NOT sentence that binds the
//! LSP; a case resting on SHOULD, MAY or a bare definition is SHOULD or MAY, so a deviation is
//! WARN. Where a MUST binds someone else (spec authors, clients) or applies only under a
//! condition the runner cannot establish, the `note` says so and the case is not MUST.
//!
//! Sentences are quoted from the bLIP text with Markdown link syntax removed and line breaks
//! joined; list items are quoted with the clause that introduces them.

use serde::Serialize;

/// The lightning/blips commit every sentence is quoted from.
pub const BLIPS_COMMIT: &str = "ba7a34b2c543027e921f61bd7b0d47d7aab05859";

/// The JSON-RPC 2.0 specification (bLIP-50 adopts it: "The LSP acts as a JSON-RPC 2.0
/// server").
pub const JSONRPC_URL: &str = "https://www.jsonrpc.org/specification";

/// A keyword as written in the sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Keyword {
    /// MUST.
    #[serde(rename = "MUST")]
    Must,
    /// MUST NOT.
    #[serde(rename = "MUST NOT")]
    MustNot,
    /// SHOULD.
    #[serde(rename = "SHOULD")]
    Should,
    /// SHOULD NOT.
    #[serde(rename = "SHOULD NOT")]
    ShouldNot,
    /// MAY.
    #[serde(rename = "MAY")]
    May,
    /// A definition without a keyword (a field's meaning, a defined error code).
    #[serde(rename = "defines")]
    Defines,
}

impl Keyword {
    /// As written (`defines` for a sentence without a keyword).
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Must => "MUST",
            Keyword::MustNot => "MUST NOT",
            Keyword::Should => "SHOULD",
            Keyword::ShouldNot => "SHOULD NOT",
            Keyword::May => "MAY",
            Keyword::Defines => "defines",
        }
    }

    /// MUST or MUST NOT.
    pub fn is_mandatory(self) -> bool {
        matches!(self, Keyword::Must | Keyword::MustNot)
    }
}

/// One sentence behind a verdict.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Basis {
    /// The requirement id in `spec/requirements` (empty for a JSON-RPC 2.0 sentence).
    pub requirement: &'static str,
    /// The keyword as written.
    pub keyword: Keyword,
    /// The sentence, quoted.
    pub sentence: &'static str,
    /// `blip-005N.md#anchor`, or `jsonrpc#anchor` for the JSON-RPC 2.0 specification.
    #[serde(skip)]
    pub section: &'static str,
    /// Why a MUST does not make the case MUST, or which answers it allows (empty: none).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub note: &'static str,
}

impl Basis {
    /// A link to the section at the pinned commit.
    pub fn url(&self) -> String {
        match self.section.strip_prefix("jsonrpc#") {
            Some(anchor) => format!("{JSONRPC_URL}#{anchor}"),
            None => format!(
                "https://github.com/lightning/blips/blob/{BLIPS_COMMIT}/{}",
                self.section
            ),
        }
    }

    /// Whether this sentence alone can make a deviation a FAIL.
    pub fn binds_lsp_mandatorily(&self) -> bool {
        self.keyword.is_mandatory() && self.note.is_empty()
    }
}

/// [`Basis`] with its URL, for reports and `list --json`.
#[derive(Debug, Clone, Serialize)]
pub struct BasisEntry {
    /// The requirement id.
    pub requirement: &'static str,
    /// The keyword as written.
    pub keyword: Keyword,
    /// The sentence.
    pub sentence: &'static str,
    /// Link to the section at the pinned commit.
    pub url: String,
    /// See [`Basis::note`].
    #[serde(skip_serializing_if = "str::is_empty")]
    pub note: &'static str,
}

impl From<&Basis> for BasisEntry {
    fn from(b: &Basis) -> Self {
        BasisEntry {
            requirement: b.requirement,
            keyword: b.keyword,
            sentence: b.sentence,
            url: b.url(),
            note: b.note,
        }
    }
}

macro_rules! basis {
    ($req:literal, $kw:ident, $section:literal, $sentence:expr) => {
        Basis {
            requirement: $req,
            keyword: Keyword::$kw,
            sentence: $sentence,
            section: $section,
            note: "",
        }
    };
    ($req:literal, $kw:ident, $section:literal, $sentence:expr, note: $note:literal) => {
        Basis {
            requirement: $req,
            keyword: Keyword::$kw,
            sentence: $sentence,
            section: $section,
            note: $note,
        }
    };
}

mod flow;
mod lsps0;
mod lsps1;
mod lsps2;
mod shared;

/// `(case id, basis)` for every case of the catalog, by protocol (a test checks both
/// directions).
pub static TABLES: &[&[(&str, &[Basis])]] =
    &[lsps0::TABLE, lsps1::TABLE, lsps2::TABLE, flow::TABLE];

/// Every `(case id, basis)` entry.
pub fn entries() -> impl Iterator<Item = &'static (&'static str, &'static [Basis])> {
    TABLES.iter().flat_map(|table| table.iter())
}

/// The basis of case `id` (empty if the table has no entry; a test forbids that).
pub fn of(id: &str) -> &'static [Basis] {
    entries()
        .find(|(case, _)| *case == id)
        .map(|(_, b)| *b)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests;
