//! Checks and reports over the machine-readable LSPS specification data in `spec/`.
//!
//! The binary (`cargo xtask coverage`) prints the requirement coverage table; the integration
//! tests in `tests/spec.rs` check that requirements, schemas and vectors are well-formed and agree
//! with `lsps-core`. See `spec/README.md` for the data formats and the coverage rule.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod instructions;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The protocols whose requirements live in `spec/requirements/lsps<N>.yaml`.
pub const PROTOCOLS: [u16; 3] = [0, 1, 2];

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// One `spec/requirements/lsps<N>.yaml` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementFile {
    /// Which bLIP text the requirements were taken from.
    pub spec: SpecSource,
    /// One entry per normative rule, in ID order.
    pub requirements: Vec<Requirement>,
}

/// The pinned bLIP source of a requirement file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecSource {
    /// The bLIP number, e.g. `bLIP-50`.
    pub blip: String,
    /// The LSPS number the bLIP defines.
    pub lsps: u16,
    /// The repository the bLIP text comes from (`lightning/blips`).
    pub repository: String,
    /// The pinned commit of that repository.
    pub commit: String,
    /// The commit date (YYYY-MM-DD).
    pub date: String,
    /// The file inside the repository.
    pub file: String,
}

/// One normative rule of a bLIP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable ID `LSPS<N>-R<k>`; never renumbered.
    pub id: String,
    /// RFC 2119 level as written in the bLIP (`MUST`, `SHOULD NOT`, `MUST / SHOULD`, …).
    pub level: String,
    /// Which party the rule binds: `LSP`, `client` or `both`.
    pub binds: String,
    /// Whether a black-box peer can check it: `yes`, `partly` or `no`.
    pub checkable: String,
    /// The rule in this project's words.
    pub statement: String,
    /// The bLIP section anchor the rule comes from.
    pub section: String,
    /// Conformance case IDs that check the rule (filled by the conformance runner's authors).
    #[serde(default)]
    pub cases: Option<Vec<String>>,
    /// Why the rule cannot be checked by exchanging messages nor by a test.
    #[serde(default)]
    pub excluded: Option<String>,
    /// The capability of a later tier the rule waits for (e.g. "money-flow tier: HTLC
    /// interception"); the rule is addressed but not yet checkable. Never with `cases`.
    #[serde(default)]
    pub deferred: Option<String>,
    /// `withdrawn` for a rule that no longer exists (the ID is kept, never reused).
    #[serde(default)]
    pub status: Option<String>,
    /// Free-form remarks (ambiguities, implementation divergences).
    #[serde(default)]
    pub note: Option<String>,
}

impl Requirement {
    /// True if the entry is marked `status: withdrawn`.
    pub fn is_withdrawn(&self) -> bool {
        self.status.as_deref() == Some("withdrawn")
    }

    /// The conformance case IDs named by this entry (empty if none).
    pub fn case_ids(&self) -> &[String] {
        self.cases.as_deref().unwrap_or(&[])
    }
}

/// Reads and parses `spec/requirements/lsps<protocol>.yaml` under `root`.
pub fn load_requirements(root: &Path, protocol: u16) -> Result<RequirementFile> {
    let path = root
        .join("spec/requirements")
        .join(format!("lsps{protocol}.yaml"));
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// True if `s` has the shape `LSPS<0|1|2>-R<digits>` with no leading zero.
pub fn is_requirement_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("LSPS") else {
        return false;
    };
    let mut chars = rest.chars();
    if !matches!(chars.next(), Some('0' | '1' | '2')) {
        return false;
    }
    let Some(num) = chars.as_str().strip_prefix("-R") else {
        return false;
    };
    !num.is_empty() && !num.starts_with('0') && num.bytes().all(|b| b.is_ascii_digit())
}

/// Every requirement ID (`LSPS<N>-R<k>`, any N) that occurs as a whole token in `text`.
///
/// A token ends at the first non-digit after `-R`, so `LSPS0-R1` is not found inside `LSPS0-R10`.
pub fn requirement_ids_in(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(pos) = text[start..].find("LSPS") {
        let at = start + pos;
        start = at + 4;
        // Must not be glued to a preceding identifier character (e.g. `XLSPS0-R1`).
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let mut end = at + 4;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end == at + 4 || !text[end..].starts_with("-R") {
            continue;
        }
        let digits_start = end + 2;
        let mut digits_end = digits_start;
        while digits_end < bytes.len() && bytes[digits_end].is_ascii_digit() {
            digits_end += 1;
        }
        if digits_end > digits_start {
            found.insert(text[at..digits_end].to_string());
        }
    }
    found
}

/// Source files and vectors scanned for requirement IDs ("covered by test").
///
/// The rule (documented in `spec/README.md`): an ID counts as covered by a test when it occurs
/// as a whole token in a `.rs` file anywhere under a top-level directory whose name starts with
/// `lsps-` or under `conformance/`, or in the `requirements` list of a vector under
/// `spec/vectors/`. `target/` directories are skipped.
pub fn test_mentions(root: &Path) -> Result<BTreeMap<String, BTreeSet<PathBuf>>> {
    let mut mentions: BTreeMap<String, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut source_dirs = Vec::new();
    for entry in fs::read_dir(root).with_context(|| format!("listing {}", root.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() && (name.starts_with("lsps-") || name == "conformance") {
            source_dirs.push(entry.path());
        }
    }
    for dir in source_dirs {
        for file in walk_files(&dir, "rs")? {
            let text = fs::read_to_string(&file)?;
            for id in requirement_ids_in(&text) {
                mentions
                    .entry(id)
                    .or_default()
                    .insert(relative(root, &file));
            }
        }
    }
    for vector in load_vectors(root)? {
        for id in &vector.file.requirements {
            mentions
                .entry(id.clone())
                .or_default()
                .insert(relative(root, &vector.path));
        }
    }
    Ok(mentions)
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// All files under `dir` (recursively, skipping `target` and hidden directories) whose
/// extension is `ext`, sorted.
pub fn walk_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(dir).into_iter().filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        e.depth() == 0 || !(name == "target" || name.starts_with('.'))
    });
    for entry in walker {
        let entry = entry?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == ext) {
            files.push(entry.into_path());
        }
    }
    files.sort();
    Ok(files)
}

/// A vector file as stored under `spec/vectors/` (see `spec/README.md` for the format).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// What the vector exercises.
    pub description: String,
    /// Requirement IDs the vector demonstrates.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// `request` (arrives at the LSP) or `response` (arrives at the client).
    pub direction: String,
    /// For response vectors: the method of the pending request the client issued for `pending_id`.
    #[serde(default)]
    pub method: Option<String>,
    /// For response vectors: the request id the client is waiting on (absent = none pending).
    #[serde(default)]
    pub pending_id: Option<String>,
    /// The raw payload, as UTF-8 text.
    #[serde(default)]
    pub payload: Option<String>,
    /// The raw payload as hex, for payloads that are not valid UTF-8.
    #[serde(default)]
    pub payload_hex: Option<String>,
    /// LSP-side state the outcome depends on (business errors), see `spec/README.md`.
    #[serde(default)]
    pub context: Option<serde_json::Value>,
    /// `false` for a payload that readers accept but that breaks a writer rule the schemas
    /// encode (the test then requires the schema to reject it). Default `true`.
    #[serde(default)]
    pub schema_valid: Option<bool>,
    /// For response vectors that decode: the requirement IDs the payload breaks that only
    /// code can see (lsps-core's reader checks, see spec/README.md). Default: none.
    #[serde(default)]
    pub violates: Vec<String>,
    /// The expected outcome.
    pub expect: serde_json::Value,
}

impl VectorFile {
    /// The raw payload bytes (from `payload` or `payload_hex`).
    pub fn payload_bytes(&self) -> Result<Vec<u8>> {
        match (&self.payload, &self.payload_hex) {
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(text)) => hex::decode(text).context("payload_hex is not hex"),
            _ => bail!("a vector needs exactly one of `payload` and `payload_hex`"),
        }
    }
}

/// A vector file together with where it was read from.
#[derive(Debug, Clone)]
pub struct Vector {
    /// Path of the file.
    pub path: PathBuf,
    /// Parsed contents.
    pub file: VectorFile,
}

/// Reads every `*.json` file under `spec/vectors/`.
pub fn load_vectors(root: &Path) -> Result<Vec<Vector>> {
    let dir = root.join("spec/vectors");
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for path in walk_files(&dir, "json")? {
        let text = fs::read_to_string(&path)?;
        let file: VectorFile =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        out.push(Vector { path, file });
    }
    Ok(out)
}

/// Coverage of one protocol's requirements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Requirements that are not withdrawn.
    pub total: usize,
    /// Requirements with at least one conformance case.
    pub by_case: usize,
    /// Requirements mentioned by a test source file or a vector.
    pub by_test: usize,
    /// Requirements marked `excluded`.
    pub excluded: usize,
    /// Requirements marked `deferred` (waiting for a later tier's capability).
    pub deferred: usize,
    /// Requirements with none of the above.
    pub open: usize,
    /// Requirements marked `status: withdrawn` (not counted in `total`).
    pub withdrawn: usize,
    /// IDs of the open requirements.
    pub open_ids: Vec<String>,
}

impl Coverage {
    /// Adds another protocol's counts to this one (for the totals row).
    pub fn add(&mut self, other: &Coverage) {
        self.total += other.total;
        self.by_case += other.by_case;
        self.by_test += other.by_test;
        self.excluded += other.excluded;
        self.deferred += other.deferred;
        self.open += other.open;
        self.withdrawn += other.withdrawn;
        self.open_ids.extend(other.open_ids.iter().cloned());
    }
}

/// Computes coverage for one requirement file given the IDs mentioned by tests.
pub fn coverage(
    file: &RequirementFile,
    mentions: &BTreeMap<String, BTreeSet<PathBuf>>,
) -> Coverage {
    let mut cov = Coverage::default();
    for req in &file.requirements {
        if req.is_withdrawn() {
            cov.withdrawn += 1;
            continue;
        }
        cov.total += 1;
        let has_case = !req.case_ids().is_empty();
        let has_test = mentions.contains_key(&req.id);
        let excluded = req.excluded.is_some();
        let deferred = req.deferred.is_some();
        if has_case {
            cov.by_case += 1;
        }
        if has_test {
            cov.by_test += 1;
        }
        if excluded {
            cov.excluded += 1;
        }
        if deferred {
            cov.deferred += 1;
        }
        if !(has_case || has_test || excluded || deferred) {
            cov.open += 1;
            cov.open_ids.push(req.id.clone());
        }
    }
    cov
}

/// Checks the `deferred` and `excluded` markers of every entry: a reason must be non-empty
/// text, an entry is not both deferred and excluded, and a deferred entry has no `cases` (a
/// rule with a conformance case is checkable now, so it is not waiting for anything).
pub fn validate_markers(file: &RequirementFile) -> Result<()> {
    for req in &file.requirements {
        if let Some(reason) = &req.deferred {
            if reason.trim().is_empty() {
                bail!(
                    "{}: `deferred` needs a reason (the capability it waits for)",
                    req.id
                );
            }
            if !req.case_ids().is_empty() {
                bail!(
                    "{}: an entry may not be both `deferred` and have `cases`",
                    req.id
                );
            }
            if req.excluded.is_some() {
                bail!(
                    "{}: an entry may not be both `deferred` and `excluded`",
                    req.id
                );
            }
        }
        if let Some(reason) = &req.excluded
            && reason.trim().is_empty()
        {
            bail!("{}: `excluded` needs a reason", req.id);
        }
    }
    Ok(())
}

/// Builds the coverage table for all protocols under `root` as printable text.
pub fn coverage_report(root: &Path, list_open: bool) -> Result<String> {
    let mentions = test_mentions(root)?;
    let mut out = String::new();
    writeln!(
        out,
        "{:<8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>6} {:>10}",
        "protocol", "total", "by case", "by test", "excluded", "deferred", "open", "withdrawn"
    )?;
    let mut totals = Coverage::default();
    for protocol in PROTOCOLS {
        let file = load_requirements(root, protocol)?;
        if file.spec.lsps != protocol {
            bail!(
                "lsps{protocol}.yaml says it holds LSPS{}; fix its header",
                file.spec.lsps
            );
        }
        validate_markers(&file)?;
        let cov = coverage(&file, &mentions);
        write_row(&mut out, &format!("LSPS{protocol}"), &cov)?;
        totals.add(&cov);
    }
    write_row(&mut out, "total", &totals)?;
    writeln!(
        out,
        "\nby case: has a conformance case; by test: ID named in a test source or vector; \
         deferred: waits for a later tier's capability (the `deferred` reason); \
         a requirement may count in several columns; open: in none."
    )?;
    if list_open && !totals.open_ids.is_empty() {
        writeln!(out, "\nopen requirements:")?;
        for id in &totals.open_ids {
            writeln!(out, "  {id}")?;
        }
    }
    Ok(out)
}

fn write_row(out: &mut String, label: &str, cov: &Coverage) -> std::fmt::Result {
    writeln!(
        out,
        "{:<8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>6} {:>10}",
        label,
        cov.total,
        cov.by_case,
        cov.by_test,
        cov.excluded,
        cov.deferred,
        cov.open,
        cov.withdrawn
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shape() {
        assert!(is_requirement_id("LSPS0-R1"));
        assert!(is_requirement_id("LSPS2-R67"));
        assert!(!is_requirement_id("LSPS3-R1"));
        assert!(!is_requirement_id("LSPS0-R01"));
        assert!(!is_requirement_id("LSPS0-R"));
        assert!(!is_requirement_id("LSPS0-R1a"));
        assert!(!is_requirement_id("lsps0-R1"));
    }

    fn req(
        id: &str,
        cases: Option<Vec<&str>>,
        excluded: Option<&str>,
        status: Option<&str>,
    ) -> Requirement {
        Requirement {
            id: id.into(),
            level: "MUST".into(),
            binds: "LSP".into(),
            checkable: "yes".into(),
            statement: "a statement long enough".into(),
            section: "blip-0050.md#x".into(),
            cases: cases.map(|c| c.into_iter().map(String::from).collect()),
            excluded: excluded.map(String::from),
            deferred: None,
            status: status.map(String::from),
            note: None,
        }
    }

    #[test]
    fn coverage_counts_each_column_and_open() {
        let file = RequirementFile {
            spec: SpecSource {
                blip: "bLIP-50".into(),
                lsps: 0,
                repository: "lightning/blips".into(),
                commit: "x".into(),
                date: "2026-01-14".into(),
                file: "blip-0050.md".into(),
            },
            requirements: vec![
                req("LSPS0-R1", Some(vec!["lsps0.a"]), None, None),
                req("LSPS0-R2", Some(vec![]), None, None),
                req("LSPS0-R3", None, Some("no way to see it"), None),
                req("LSPS0-R4", Some(vec![]), None, None),
                req("LSPS0-R5", Some(vec!["lsps0.b"]), None, None),
                req("LSPS0-R6", Some(vec![]), None, Some("withdrawn")),
            ],
        };
        let mut mentions = BTreeMap::new();
        for id in ["LSPS0-R2", "LSPS0-R5", "LSPS0-R6"] {
            mentions.insert(id.to_string(), BTreeSet::new());
        }
        let cov = coverage(&file, &mentions);
        assert_eq!(
            (
                cov.total,
                cov.by_case,
                cov.by_test,
                cov.excluded,
                cov.open,
                cov.withdrawn
            ),
            (5, 2, 2, 1, 1, 1)
        );
        assert_eq!(cov.open_ids, vec!["LSPS0-R4".to_string()]);
    }

    fn file_of(requirements: Vec<Requirement>) -> RequirementFile {
        RequirementFile {
            spec: SpecSource {
                blip: "bLIP-50".into(),
                lsps: 0,
                repository: "lightning/blips".into(),
                commit: "x".into(),
                date: "2026-01-14".into(),
                file: "blip-0050.md".into(),
            },
            requirements,
        }
    }

    #[test]
    fn deferred_is_its_own_column_and_not_open() {
        let mut deferred = req("LSPS0-R1", Some(vec![]), None, None);
        deferred.deferred = Some("money-flow tier: payments".into());
        let file = file_of(vec![deferred, req("LSPS0-R2", Some(vec![]), None, None)]);
        let cov = coverage(&file, &BTreeMap::new());
        assert_eq!((cov.total, cov.deferred, cov.open), (2, 1, 1));
        assert_eq!(cov.open_ids, vec!["LSPS0-R2".to_string()]);
        assert!(validate_markers(&file).is_ok());
    }

    #[test]
    fn deferred_markers_are_validated() {
        let mut empty = req("LSPS0-R1", None, None, None);
        empty.deferred = Some("  ".into());
        assert!(validate_markers(&file_of(vec![empty])).is_err());
        let mut with_case = req("LSPS0-R1", Some(vec!["lsps0.a"]), None, None);
        with_case.deferred = Some("money-flow tier".into());
        assert!(validate_markers(&file_of(vec![with_case])).is_err());
        let mut both = req("LSPS0-R1", None, Some("never observable"), None);
        both.deferred = Some("money-flow tier".into());
        assert!(validate_markers(&file_of(vec![both])).is_err());
        let empty_excluded = req("LSPS0-R1", None, Some(""), None);
        assert!(validate_markers(&file_of(vec![empty_excluded])).is_err());
    }

    #[test]
    fn ids_found_as_whole_tokens_only() {
        let found = requirement_ids_in("// LSPS0-R10, LSPS1-R3; XLSPS2-R4 \"LSPS2-R5\"");
        let found: Vec<_> = found.into_iter().collect();
        assert_eq!(found, vec!["LSPS0-R10", "LSPS1-R3", "LSPS2-R5"]);
    }
}
