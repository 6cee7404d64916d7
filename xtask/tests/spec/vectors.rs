//! Every vector under `spec/vectors/` is well formed, and every payload that should be
//! schema-valid is (and every one that should not be, is not); the error reply a request vector
//! expects satisfies the response schema. That each vector decodes through lsps-core as stated
//! is lsps-core's own test (`cargo test -p lsps-core --test spec_vectors`).

use std::collections::BTreeSet;

use lsps_core::jsonrpc::Method;
use serde_json::{Value, json};
use xtask::{Vector, load_vectors, workspace_root};

use super::schema_errors;

/// The issue asks for at least this many vectors.
const MIN_VECTORS: usize = 150;

fn vectors() -> Vec<Vector> {
    load_vectors(&workspace_root()).unwrap()
}

fn name(v: &Vector) -> String {
    v.path
        .strip_prefix(workspace_root())
        .unwrap_or(&v.path)
        .display()
        .to_string()
}

#[test]
fn there_are_enough_vectors_and_each_is_well_formed() {
    let all = vectors();
    assert!(all.len() >= MIN_VECTORS, "only {} vectors", all.len());
    let root = workspace_root();
    let known_ids: BTreeSet<String> = xtask::PROTOCOLS
        .iter()
        .flat_map(|p| xtask::load_requirements(&root, *p).unwrap().requirements)
        .filter(|r| !r.is_withdrawn())
        .map(|r| r.id)
        .collect();
    let mut problems = Vec::new();
    for v in &all {
        let f = &v.file;
        let n = name(v);
        if f.description.trim().is_empty() {
            problems.push(format!("{n}: empty description"));
        }
        for id in &f.requirements {
            if !known_ids.contains(id) {
                problems.push(format!("{n}: requirement {id} is not in spec/requirements"));
            }
        }
        if let Err(e) = f.payload_bytes() {
            problems.push(format!("{n}: {e}"));
        }
        match f.direction.as_str() {
            "request" => {
                if f.pending_id.is_some() {
                    problems.push(format!("{n}: pending_id only makes sense for responses"));
                }
            }
            "response" => {
                if f.method.as_deref().and_then(Method::from_name).is_none() {
                    problems.push(format!("{n}: response vectors name the pending method"));
                }
                if f.context.is_some() {
                    problems.push(format!("{n}: context only applies to requests"));
                }
            }
            other => problems.push(format!("{n}: direction {other:?}")),
        }
        // The directory names the protocol and method (or `envelope`).
        let rel = v
            .path
            .strip_prefix(workspace_root().join("spec/vectors"))
            .unwrap();
        let parts: Vec<_> = rel
            .iter()
            .map(|p| p.to_string_lossy().to_string())
            .collect();
        if parts.len() != 3 {
            problems.push(format!(
                "{n}: expected spec/vectors/<protocol>/<method>/<file>.json"
            ));
        } else if let Some(m) = &f.method
            && f.direction == "request"
            && *m != format!("{}.{}", parts[0], parts[1])
        {
            problems.push(format!("{n}: method {m} does not match its directory"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Checks the schema expectation of a payload that decoded: valid unless `schema_valid: false`,
/// in which case at least one schema must reject it (so the flag cannot go stale).
fn check_schemas(v: &Vector, checks: &[(String, Value)], problems: &mut Vec<String>) {
    let errors: Vec<String> = checks
        .iter()
        .flat_map(|(schema, instance)| {
            schema_errors(schema, instance)
                .into_iter()
                .map(move |e| format!("{schema}: {e}"))
        })
        .collect();
    let want_valid = v.file.schema_valid.unwrap_or(true);
    if want_valid && !errors.is_empty() {
        problems.push(format!(
            "{}: schema rejects a valid payload: {errors:?}",
            name(v)
        ));
    }
    if !want_valid && errors.is_empty() {
        problems.push(format!(
            "{}: schema_valid is false but every schema accepts it",
            name(v)
        ));
    }
}

fn check_request_vector(v: &Vector, problems: &mut Vec<String>) {
    let f = &v.file;
    let bytes = f.payload_bytes().unwrap();
    let expect = &f.expect;
    if let Some(method) = expect.get("ok").and_then(Value::as_str) {
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let params = raw.get("params").cloned().unwrap_or_else(|| json!({}));
        let checks = [
            ("envelope.request.json".to_owned(), raw),
            (format!("{method}.params.json"), params),
        ];
        check_schemas(v, &checks, problems);
        return;
    }
    let Some(expected_error) = expect.get("error") else {
        return problems.push(format!(
            "{}: request vectors expect {{ok}} or {{error, id}}",
            name(v)
        ));
    };
    // The reply the vector expects satisfies the error schema (lsps-core's own test checks
    // that lsps-core builds exactly this reply).
    let expected_id = expect.get("id").cloned().unwrap_or(Value::Null);
    let reply = json!({"jsonrpc": "2.0", "id": expected_id, "error": expected_error});
    let errors = schema_errors("envelope.response.json", &reply);
    if !errors.is_empty() {
        problems.push(format!(
            "{}: expected reply breaks envelope.response.json: {errors:?}",
            name(v)
        ));
    }
}

fn check_response_vector(v: &Vector, problems: &mut Vec<String>) {
    let f = &v.file;
    let bytes = f.payload_bytes().unwrap();
    let Some((kind, want)) = f.expect.as_object().and_then(|o| o.iter().next()) else {
        return problems.push(format!("{}: empty expect", name(v)));
    };
    let raw = || serde_json::from_slice::<Value>(&bytes).unwrap();
    match (kind.as_str(), want.as_str()) {
        ("ok", Some(method)) => {
            let raw = raw();
            let checks = [
                ("envelope.response.json".to_owned(), raw.clone()),
                (format!("{method}.result.json"), raw["result"].clone()),
            ];
            check_schemas(v, &checks, problems);
        }
        ("error", _) => {
            check_schemas(v, &[("envelope.response.json".to_owned(), raw())], problems);
        }
        _ => {}
    }
}

#[test]
fn every_vector_meets_its_schema_expectation() {
    let all = vectors();
    let mut problems = Vec::new();
    for v in &all {
        match v.file.direction.as_str() {
            "request" => check_request_vector(v, &mut problems),
            "response" => check_response_vector(v, &mut problems),
            _ => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems over {} vectors:\n{}",
        problems.len(),
        all.len(),
        problems.join("\n")
    )
}
