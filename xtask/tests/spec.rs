//! Checks of the spec data in `spec/`: requirement catalogue, JSON Schemas and vectors.
//!
//! Formats and rules: `spec/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "spec/vectors.rs"]
mod vectors;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use xtask::{PROTOCOLS, is_requirement_id, load_requirements, workspace_root};

/// Base URI of every schema `$id` (a reserved `.invalid` host: never fetched).
pub const SCHEMA_BASE: &str = "https://lsps-spec.invalid/schemas/";

const LEVEL_WORDS: [&str; 5] = ["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"];

fn level_is_well_formed(level: &str) -> bool {
    if level == "informative" {
        return true;
    }
    let core = level.strip_suffix(" (implied)").unwrap_or(level);
    core.split(" / ").all(|w| LEVEL_WORDS.contains(&w))
}

/// Expected entry counts: the spec catalogue's §6.1–6.3 rules plus the ones added here.
const EXPECTED_COUNTS: [(u16, usize); 3] = [(0, 65), (1, 68), (2, 68)];

#[test]
fn requirement_entries_are_well_formed() {
    let root = workspace_root();
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for protocol in PROTOCOLS {
        let file = load_requirements(&root, protocol).unwrap();
        assert_eq!(file.spec.lsps, protocol);
        assert_eq!(file.spec.repository, "lightning/blips");
        assert!(
            file.spec.commit.len() == 40 && file.spec.commit.bytes().all(|b| b.is_ascii_hexdigit()),
            "lsps{protocol}.yaml: commit must be a full 40-hex commit id"
        );
        let expected = EXPECTED_COUNTS
            .iter()
            .find(|(p, _)| *p == protocol)
            .unwrap()
            .1;
        assert_eq!(
            file.requirements.len(),
            expected,
            "lsps{protocol}.yaml entry count"
        );
        let mut previous_number = 0u32;
        for req in &file.requirements {
            let id = &req.id;
            let mut bad = |what: &str| problems.push(format!("{id}: {what}"));
            if !is_requirement_id(id) {
                bad("ID does not match LSPS[012]-R<n>");
                continue;
            }
            if !id.starts_with(&format!("LSPS{protocol}-")) {
                bad("ID belongs to another protocol's file");
            }
            if !seen.insert(id.clone()) {
                bad("duplicate ID");
            }
            let number: u32 = id.rsplit('R').next().unwrap().parse().unwrap();
            if number != previous_number + 1 {
                bad("IDs must be consecutive in file order (never renumbered, never skipped)");
            }
            previous_number = number;
            if !level_is_well_formed(&req.level) {
                bad(
                    "level must be MUST/MUST NOT/SHOULD/SHOULD NOT/MAY joined by ' / ', optionally '(implied)', or 'informative'",
                );
            }
            if !["LSP", "client", "both"].contains(&req.binds.as_str()) {
                bad("binds must be LSP, client or both");
            }
            if !["yes", "partly", "no"].contains(&req.checkable.as_str()) {
                bad("checkable must be yes, partly or no");
            }
            if req.statement.trim().len() < 20 {
                bad("statement missing or too short");
            }
            let section_ok = ["blip-0050.md#", "blip-0051.md#", "blip-0052.md#"]
                .iter()
                .any(|p| req.section.starts_with(p) && req.section.len() > p.len())
                && req.section.matches('#').count() == 1
                && !req.section.contains(char::is_whitespace);
            if !section_ok {
                bad("section must be <bLIP file>#<anchor>");
            }
            let expected_file = ["blip-0050.md", "blip-0051.md", "blip-0052.md"][protocol as usize];
            if !req.section.starts_with(expected_file) {
                bad("section points into another bLIP");
            }
            if let Some(status) = &req.status
                && status != "withdrawn"
            {
                bad("the only status is `withdrawn`");
            }
            match (&req.cases, &req.excluded) {
                (Some(_), Some(_)) => bad("has both cases and excluded"),
                (None, None) => bad("needs `cases` (possibly empty) or `excluded: <reason>`"),
                (None, Some(reason)) if reason.trim().len() < 10 => bad("excluded needs a reason"),
                _ => {}
            }
            if let Some(reason) = &req.deferred {
                if reason.trim().len() < 10 {
                    bad("deferred needs a reason naming the capability it waits for");
                }
                if !req.case_ids().is_empty() {
                    bad("deferred but has cases (a rule with a case is checkable now)");
                }
                if req.excluded.is_some() {
                    bad("both deferred and excluded");
                }
            }
            if req.checkable == "yes" && req.excluded.is_some() {
                bad("a checkable rule cannot be excluded");
            }
            if req.checkable == "no" && req.excluded.is_none() && req.note.is_none() {
                bad("checkable: no without excluded needs a note saying how it is tested");
            }
            for case in req.case_ids() {
                if !is_case_id(case) {
                    bad(&format!("case ID {case:?} is not a dotted lowercase path"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "requirement problems:\n{}",
        problems.join("\n")
    );
}

/// Case IDs are path-like: `lsps0.unknown-method.gets-32601`.
fn is_case_id(s: &str) -> bool {
    s.starts_with("lsps")
        && s.split('.').count() >= 2
        && s.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

/// Case → requirement mapping from the conformance catalog.
fn catalog_mapping() -> BTreeMap<String, BTreeSet<String>> {
    let mut by_requirement: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for case in lsps_conformance::catalog::all() {
        for req in case.requirements {
            by_requirement
                .entry((*req).to_string())
                .or_default()
                .insert(case.id.to_string());
        }
    }
    by_requirement
}

#[test]
fn named_case_ids_exist_in_the_conformance_catalog() {
    let known: BTreeSet<&str> = lsps_conformance::catalog::all_case_ids()
        .into_iter()
        .collect();
    let root = workspace_root();
    let mut problems = Vec::new();
    for protocol in PROTOCOLS {
        for req in load_requirements(&root, protocol).unwrap().requirements {
            for case in req.case_ids() {
                if !known.contains(case.as_str()) {
                    problems.push(format!(
                        "{}: case {case} is not in the conformance catalog",
                        req.id
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn catalog_cases_name_existing_requirements() {
    let root = workspace_root();
    let mut ids = BTreeMap::new();
    for protocol in PROTOCOLS {
        for req in load_requirements(&root, protocol).unwrap().requirements {
            ids.insert(req.id.clone(), req);
        }
    }
    let mut problems = Vec::new();
    for case in lsps_conformance::catalog::all() {
        assert!(
            is_case_id(case.id),
            "case id {} is not a dotted lowercase path",
            case.id
        );
        for req in case.requirements {
            match ids.get(*req) {
                None => problems.push(format!("case {} names unknown requirement {req}", case.id)),
                Some(r) if r.is_withdrawn() => problems.push(format!(
                    "case {} names withdrawn requirement {req}",
                    case.id
                )),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The YAML `cases` lists are the catalog's mapping written back (issue 6). With
/// `UPDATE_SPEC_CASES=1` this test rewrites them (only the `cases:` lines change); otherwise it
/// fails on any difference and says how to update.
#[test]
fn yaml_cases_lists_match_the_conformance_catalog() {
    let root = workspace_root();
    let mapping = catalog_mapping();
    let update = std::env::var_os("UPDATE_SPEC_CASES").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    for protocol in PROTOCOLS {
        let path = root.join(format!("spec/requirements/lsps{protocol}.yaml"));
        let file = load_requirements(&root, protocol).unwrap();
        let mut text = fs::read_to_string(&path).unwrap();
        let mut changed = false;
        for req in &file.requirements {
            let want: Vec<String> = mapping
                .get(&req.id)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            let have: Vec<String> = {
                let mut v = req.case_ids().to_vec();
                v.sort();
                v
            };
            if want == have {
                continue;
            }
            if req.excluded.is_some() {
                problems.push(format!(
                    "{}: excluded, yet the catalog checks it with {want:?}",
                    req.id
                ));
                continue;
            }
            if !update {
                problems.push(format!("{}: cases {have:?}, catalog says {want:?}", req.id));
                continue;
            }
            let start = text.find(&format!("  - id: {}\n", req.id)).unwrap();
            let end = text[start + 4..]
                .find("\n  - id: ")
                .map_or(text.len(), |e| start + 4 + e);
            let block = &text[start..end];
            let line_start = block.find("\n    cases:").unwrap() + 1;
            let line_end = block[line_start..]
                .find('\n')
                .map_or(block.len(), |e| line_start + e);
            let new_line = format!("    cases: [{}]", want.join(", "));
            let new_block = format!("{}{}{}", &block[..line_start], new_line, &block[line_end..]);
            text.replace_range(start..end, &new_block);
            changed = true;
        }
        if changed {
            fs::write(&path, text).unwrap();
        }
    }
    assert!(
        problems.is_empty(),
        "requirement `cases` lists differ from lsps_conformance::catalog; run\n  \
         UPDATE_SPEC_CASES=1 cargo nextest run -p xtask -E 'test(yaml_cases)'\n\
         and commit spec/requirements:\n{}",
        problems.join("\n")
    );
}

#[test]
fn coverage_report_renders_and_counts_every_requirement() {
    let root = workspace_root();
    let report = xtask::coverage_report(&root, true).unwrap();
    let total_line = report.lines().find(|l| l.starts_with("total")).unwrap();
    let numbers: Vec<usize> = total_line
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    let expected_total: usize = EXPECTED_COUNTS.iter().map(|(_, n)| n).sum();
    // Columns: total, by case, by test, excluded, deferred, open, withdrawn.
    assert_eq!(numbers.len(), 7, "{report}");
    assert_eq!(numbers[0] + numbers[6], expected_total, "{report}");
    // Each open requirement is listed by ID.
    assert_eq!(report.matches("\n  LSPS").count(), numbers[5], "{report}");
}

// ---------------------------------------------------------------------------------------------
// Schemas

/// Resolves `https://lsps-spec.invalid/schemas/<path>` to `spec/schemas/<path>` on disk.
struct LocalSchemas {
    dir: PathBuf,
}

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let rel = uri
            .as_str()
            .strip_prefix(SCHEMA_BASE)
            .ok_or_else(|| format!("schema {uri} is outside {SCHEMA_BASE}"))?;
        let text = fs::read_to_string(self.dir.join(rel))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn schema_dir() -> PathBuf {
    workspace_root().join("spec/schemas")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compiles the schema file `name` (relative to `spec/schemas`).
pub fn compile_schema(name: &str) -> jsonschema::Validator {
    let schema = read_json(&schema_dir().join(name));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_retriever(LocalSchemas { dir: schema_dir() })
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"))
}

/// Compiled validators by schema file name, built once.
pub fn validators() -> &'static BTreeMap<String, jsonschema::Validator> {
    static CELL: OnceLock<BTreeMap<String, jsonschema::Validator>> = OnceLock::new();
    CELL.get_or_init(|| {
        schema_files()
            .into_iter()
            .map(|name| {
                let v = compile_schema(&name);
                (name, v)
            })
            .collect()
    })
}

fn schema_files() -> Vec<String> {
    let dir = schema_dir();
    xtask::walk_files(&dir, "json")
        .unwrap()
        .into_iter()
        .map(|p| {
            p.strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

/// Validation errors of `instance` against schema `name`, as text (empty = valid).
pub fn schema_errors(name: &str, instance: &Value) -> Vec<String> {
    let v = validators()
        .get(name)
        .unwrap_or_else(|| panic!("no schema {name}"));
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

const METHODS: [&str; 6] = [
    "lsps0.list_protocols",
    "lsps1.get_info",
    "lsps1.create_order",
    "lsps1.get_order",
    "lsps2.get_info",
    "lsps2.buy",
];

#[test]
fn every_schema_compiles_with_draft_2020_12_and_ids_match_paths() {
    let files = schema_files();
    for method in METHODS {
        for kind in ["params", "result"] {
            let name = format!("{method}.{kind}.json");
            assert!(files.contains(&name), "missing schema {name}");
        }
    }
    for name in [
        "common.json",
        "error.json",
        "envelope.request.json",
        "envelope.response.json",
        "error-data/-32602.json",
        "error-data/1.json",
        "error-data/100.json",
        "error-data/101.json",
        "error-data/102.json",
    ] {
        assert!(files.contains(&name.to_string()), "missing schema {name}");
    }
    for name in &files {
        let schema = read_json(&schema_dir().join(name));
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}: $schema"
        );
        assert_eq!(schema["$id"], format!("{SCHEMA_BASE}{name}"), "{name}: $id");
        compile_schema(name);
    }
}

#[test]
fn common_patterns_bound_values_exactly() {
    let msat = compile_schema("common.json");
    let _ = msat; // common.json itself has no root constraint; check through its $defs:
    let check = |def: &str, value: Value, ok: bool| {
        let schema = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("{SCHEMA_BASE}probe.json"),
            "$ref": format!("common.json#/$defs/{def}"),
        });
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_retriever(LocalSchemas { dir: schema_dir() })
            .build(&schema)
            .unwrap();
        assert_eq!(v.is_valid(&value), ok, "{def} {value}");
    };
    check("msat", "18446744073709551615".into(), true);
    check("msat", "18446744073709551616".into(), false);
    check("msat", "99999999999999999999".into(), false);
    check("msat", "0".into(), true);
    check("msat", "007".into(), false);
    check("msat", "".into(), false);
    check("msat", serde_json::json!(5), false);
    check("sat", "10000000000000000000".into(), true);
    check("scid", "16777215x16777215x65535".into(), true);
    check("scid", "16777216x0x0".into(), false);
    check("scid", "0x16777216x0".into(), false);
    check("scid", "1x2x65536".into(), false);
    check("scid", "539268X845X1".into(), false);
    check("datetime", "2023-02-23T08:47:30.511Z".into(), true);
    check("datetime", "2023-02-23T08:47:30Z".into(), false);
    check("datetime", "2023-02-23T08:47:30.511000Z".into(), false);
    check("datetime", "2023-02-23T08:47:30.511+00:00".into(), false);
    check(
        "outpoint",
        format!("{}:65535", "ab".repeat(32)).into(),
        true,
    );
    check(
        "outpoint",
        format!("{}:65536", "ab".repeat(32)).into(),
        false,
    );
    check("promise", "a".repeat(512).into(), true);
    check("promise", "a".repeat(513).into(), false);
    check("promise", "ab\"c".into(), false);
    check("promise", "ab\\c".into(), false);
    check("promise", "é".into(), false);
    check("ppm", serde_json::json!(1.5), false);
    check("ppm", serde_json::json!(-1), false);
}

#[test]
fn spec_snapshots_validate_against_their_schemas() {
    // lsps-core's insta tests store canonical encodings under spec/snapshots/, named
    // `<method>.<params|result>[-variant].snap`, `envelope.<kind>.snap` and `error.<name>.snap`.
    let dir = workspace_root().join("spec/snapshots");
    let files = if dir.exists() {
        xtask::walk_files(&dir, "snap").unwrap()
    } else {
        Vec::new()
    };
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let Some(schema) = snapshot_schema(path) else {
            problems.push(format!(
                "{}: no schema for this snapshot name",
                path.display()
            ));
            continue;
        };
        // An insta snapshot is a `---` header block followed by the body.
        let body = text.splitn(3, "---").nth(2).unwrap_or("").trim();
        let value: Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{}: body is not JSON: {e}", path.display()));
                continue;
            }
        };
        checked += 1;
        let errors = schema_errors(&schema, &value);
        if !errors.is_empty() {
            problems.push(format!("{}: {schema}: {errors:?}", path.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("validated {checked} snapshots");
}

/// The schema a snapshot must satisfy, by its file name.
fn snapshot_schema(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_string();
    if name.starts_with("envelope.request") {
        return Some("envelope.request.json".into());
    }
    if name.starts_with("envelope.") || name.starts_with("error.") {
        return Some("envelope.response.json".into());
    }
    for method in METHODS {
        for kind in ["params", "result"] {
            if name.starts_with(&format!("{method}.{kind}")) {
                return Some(format!("{method}.{kind}.json"));
            }
        }
    }
    None
}

/// Keywords that constrain an instance, as `spec/tools/schema_audit.py` lists them.
const SCHEMA_CONSTRAINTS: &[&str] = &[
    "type",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "not",
    "dependentRequired",
    "oneOf",
    "anyOf",
    "if",
];

fn schema_constraints(value: &Value, pointer: &str, file: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for key in SCHEMA_CONSTRAINTS {
                if map.contains_key(*key) {
                    let at = if pointer.is_empty() { "/" } else { pointer };
                    out.insert(format!("| `{file}` | `{at}` | `{key}` |"));
                }
            }
            for (key, inner) in map {
                if [
                    "description",
                    "title",
                    "$id",
                    "$schema",
                    "$comment",
                    "examples",
                    "const",
                    "enum",
                    "required",
                    "dependentRequired",
                ]
                .contains(&key.as_str())
                {
                    continue;
                }
                let escaped = key.replace('~', "~0").replace('/', "~1");
                schema_constraints(inner, &format!("{pointer}/{escaped}"), file, out);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                schema_constraints(inner, &format!("{pointer}/{i}"), file, out);
            }
        }
        _ => {}
    }
}

/// spec/schema-audit.md has a row for every constraint of spec/schemas (schema, pointer,
/// keyword), each with a keyword as written, a source, a sentence and the runner's treatment;
/// and no row for a constraint that is gone.
#[test]
fn the_schema_audit_traces_every_schema_constraint() {
    let root = workspace_root();
    let schemas = root.join("spec/schemas");
    let mut wanted = BTreeSet::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [schemas.clone(), schemas.join("error-data")] {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    for path in files {
        let name = path
            .strip_prefix(&schemas)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let value: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        schema_constraints(&value, "", &name, &mut wanted);
    }
    let audit = fs::read_to_string(root.join("spec/schema-audit.md")).unwrap();
    let mut found = BTreeSet::new();
    let mut problems = Vec::new();
    for line in audit.lines().filter(|l| l.starts_with("| `")) {
        // schema | pointer | constraint | value | keyword | source | sentence | runner
        let cells: Vec<&str> = line.split(" | ").collect();
        let key = cells
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" | ")
            + " |";
        if cells.len() < 8
            || cells[4..]
                .iter()
                .any(|c| c.trim().trim_end_matches('|').trim().is_empty())
        {
            problems.push(format!("incomplete row: {line}"));
        }
        found.insert(key);
    }
    for missing in wanted.difference(&found) {
        problems.push(format!(
            "no audit row for {missing} (run spec/tools/schema_audit.py)"
        ));
    }
    for stale in found.difference(&wanted) {
        problems.push(format!("audit row for a constraint that is gone: {stale}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
