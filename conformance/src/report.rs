//! The report model. Every output format is rendered from a [`Report`].
//!
//! The JSON form is versioned ([`SCHEMA_VERSION`]). Everything that changes from one run to the
//! next against the same target (times, durations, the runner's node key, the target's address,
//! random request ids, promises and other LSP-generated values inside transcripts) is either kept
//! in the separate [`RunInfo`] block or rewritten by [`Report::normalize`], so two runs diff
//! cleanly.

use crate::verdict::{Level, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Version of the JSON report layout. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
/// The lightning/blips commit the case catalog is written against.
pub const SPEC_COMMIT: &str = "ba7a34b";
/// The date of [`SPEC_COMMIT`].
pub const SPEC_DATE: &str = "2026-01-14";

/// A complete conformance report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Version of `lsps-conformance` that produced the report.
    pub runner_version: String,
    /// The pinned bLIP revision.
    pub spec: SpecPin,
    /// What was tested.
    pub target: TargetInfo,
    /// The options that shaped the verdicts.
    pub options: RunOptions,
    /// Count of cases per verdict (all nine verdicts are always present).
    pub summary: Summary,
    /// Headline findings, e.g. a protocol that is advertised but broken.
    pub headline: Vec<String>,
    /// One entry per case in the catalog, in catalog order.
    pub cases: Vec<CaseReport>,
    /// Volatile facts about this particular run.
    pub run: RunInfo,
    /// The flow tier only: setting its nodes up, step by step, and what the run left on the
    /// LSP (channels to the runner's nodes, orders, buys).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub flow: Option<FlowInfo>,
}

/// What the flow tier did besides its cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowInfo {
    /// The wallet's node id (the identity the LSP sees for buys, orders and channels).
    pub wallet_node_id: String,
    /// The payer's node id.
    pub payer_node_id: String,
    /// Setting the payer and the wallet up.
    pub setup_steps: Vec<StepTime>,
    /// What the run left on the LSP.
    pub left_on_lsp: crate::flow::LeftOnLsp,
}

/// The time one step of a flow case took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTime {
    /// What happened, e.g. `payment sent -> channel ready`.
    pub step: String,
    /// How long it took, in ms (volatile; zeroed by [`Report::normalize`]).
    pub ms: u64,
}

impl StepTime {
    /// The step `step`, which started at `started` and ends now.
    pub fn since(step: &str, started: std::time::Instant) -> Self {
        StepTime {
            step: step.to_owned(),
            ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The pinned specification revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecPin {
    /// Repository holding the bLIPs.
    pub repository: String,
    /// Commit (abbreviated).
    pub commit: String,
    /// Commit date.
    pub date: String,
}

impl Default for SpecPin {
    fn default() -> Self {
        SpecPin {
            repository: "lightning/blips".into(),
            commit: SPEC_COMMIT.into(),
            date: SPEC_DATE.into(),
        }
    }
}

/// The target under test.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TargetInfo {
    /// `bolt8` or `http`.
    pub transport: String,
    /// The LSP's node id (BOLT8 targets).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub node_id: Option<String>,
    /// The endpoint URL (HTTP targets).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// Protocols the target listed in `lsps0.list_protocols` (`None` if the probe failed).
    pub advertised_protocols: Option<Vec<u16>>,
}

impl TargetInfo {
    /// How reports name the target: its node id, else its URL, else `?`.
    pub fn name(&self) -> &str {
        self.node_id
            .as_deref()
            .or(self.url.as_deref())
            .unwrap_or("?")
    }
}

/// Options that influence verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    /// `must`, `should` or `all`.
    pub level: String,
    /// WARN counts as a failure.
    pub strict: bool,
    /// Baseline file, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub baseline: Option<String>,
    /// `--run` globs.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub run: Vec<String>,
    /// `--skip` globs.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skip: Vec<String>,
    /// Per-request timeout.
    pub timeout_ms: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            level: "all".into(),
            strict: false,
            baseline: None,
            run: Vec::new(),
            skip: Vec::new(),
            timeout_ms: 5_000,
        }
    }
}

/// A heading for a protocol group: `lsps1` → `LSPS1 (bLIP-51)`.
pub fn protocol_title(protocol: &str) -> String {
    match protocol
        .strip_prefix("lsps")
        .and_then(|n| n.parse::<u16>().ok())
    {
        Some(n) => format!("LSPS{n} (bLIP-{})", 50 + n),
        None => protocol.to_owned(),
    }
}

/// Verdict counts, serialized as an object with every verdict name as a key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary(pub BTreeMap<Verdict, usize>);

impl Summary {
    /// Counts the verdicts of `cases`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseReport>) -> Summary {
        let mut map: BTreeMap<Verdict, usize> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
        for case in cases {
            *map.entry(case.verdict).or_insert(0) += 1;
        }
        Summary(map)
    }

    /// Count for one verdict.
    pub fn get(&self, verdict: Verdict) -> usize {
        self.0.get(&verdict).copied().unwrap_or(0)
    }

    /// The verdicts that occur, with their counts, as every report writes them:
    /// `3 PASS, 1 FAIL` (in [`Verdict::ALL`] order).
    pub fn counts_text(&self) -> String {
        let counts: Vec<String> = Verdict::ALL
            .iter()
            .filter(|v| self.get(**v) > 0)
            .map(|v| format!("{} {}", self.get(*v), v.as_str()))
            .collect();
        counts.join(", ")
    }
}

impl Serialize for Summary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(Verdict::ALL.len()))?;
        for verdict in Verdict::ALL {
            map.serialize_entry(verdict.as_str(), &self.get(verdict))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Summary {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, usize>::deserialize(deserializer)?;
        let mut map = BTreeMap::new();
        for (name, count) in raw {
            let verdict = Verdict::from_name(&name)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown verdict {name}")))?;
            map.insert(verdict, count);
        }
        Ok(Summary(map))
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// Stable case id.
    pub id: String,
    /// Requirement ids from `spec/requirements/*.yaml`.
    pub requirements: Vec<String>,
    /// Level of the case.
    pub level: Level,
    /// Verdict.
    pub verdict: Verdict,
    /// What was observed (for a failure: expected vs actual).
    pub message: String,
    /// The baseline's expectation and reason, when a baseline entry exists for this case.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expected: Option<Expectation>,
    /// Wall time of the case (volatile; zeroed by [`Report::normalize`]).
    pub duration_ms: u64,
    /// Messages sent and received, in order.
    pub transcript: Vec<TranscriptEntry>,
    /// Flow cases: the time of each step (payment sent -> channel ready, ...).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub steps: Vec<StepTime>,
}

/// What a run left on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideEffects {
    /// LSPS1 orders created (never paid: they expire unpaid).
    pub orders: usize,
    /// LSPS2 buys accepted (each holds a JIT SCID until its `valid_until`).
    pub buys: usize,
}

/// A baseline expectation attached to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// The verdict the baseline expects.
    pub verdict: Verdict,
    /// Why (one line).
    pub reason: String,
}

/// Direction of a transcript entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The runner sent this payload.
    Sent,
    /// The target sent this payload.
    Received,
    /// Something happened that is not a message (a timeout, a closed connection).
    Event,
}

/// One line of a case transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// Which connection of the case (1 = the first one the case opened).
    pub conn: u32,
    /// Direction.
    pub dir: Direction,
    /// The payload as text; bytes that are not UTF-8 are written as `\xNN`.
    pub payload: String,
}

/// Volatile facts about a run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunInfo {
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 end time.
    pub finished_at: String,
    /// Total wall time.
    pub duration_ms: u64,
    /// The address actually dialled (`host:port` or URL).
    pub target_address: String,
    /// The runner's own node id on its first connection (BOLT8).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub runner_node_id: Option<String>,
}

/// JSON keys whose string values change from run to run: values the LSP generates afresh
/// (promises, timestamps, order ids, SCIDs, invoices, offers, addresses) and values the runner
/// makes up per run (random tokens, refund addresses). [`Report::normalize`] masks them.
const VOLATILE_KEYS: &[&str] = &[
    "promise",
    "order_id",
    "jit_channel_scid",
    "invoice",
    "offer",
    "address",
    "token",
    "refund_onchain_address",
    "funding_outpoint",
    "txid",
    "scid",
];

/// Keys holding datetimes: masked as `<key>` without a number, because two different datetimes
/// can coincide to the millisecond in one run and not in the next; any datetime in free text
/// becomes `<datetime>`.
const DATETIME_KEYS: &[&str] = &["valid_until", "created_at", "expires_at", "funded_at"];

/// The volatile values of one report, each with the placeholder that replaces it everywhere
/// (transcripts, messages, headline). Placeholders are numbered per key in order of first
/// appearance, so a value that recurs (an order id in `get_order` after `create_order`) keeps
/// one placeholder and the link stays visible in the normalized report.
#[derive(Default)]
struct VolatileValues {
    placeholders: Vec<(String, String)>,
    per_key: BTreeMap<String, usize>,
}

impl VolatileValues {
    fn collect(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match inner {
                        Value::String(text)
                            if VOLATILE_KEYS.contains(&key.as_str()) && !text.is_empty() =>
                        {
                            self.add(key, text);
                        }
                        Value::Number(n) if VOLATILE_KEYS.contains(&key.as_str()) => {
                            self.add(key, &n.to_string());
                        }
                        other => self.collect(other),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.collect(v)),
            _ => {}
        }
    }

    fn add(&mut self, key: &str, text: &str) {
        if text.starts_with('<') || self.placeholders.iter().any(|(v, _)| v == text) {
            return;
        }
        let n = self.per_key.entry(key.to_owned()).or_insert(0);
        *n += 1;
        self.placeholders
            .push((text.to_owned(), format!("<{key}-{n}>")));
    }

    fn placeholder(&self, text: &str) -> Option<&str> {
        self.placeholders
            .iter()
            .find(|(v, _)| v == text)
            .map(|(_, p)| p.as_str())
    }

    /// In a JSON payload, the values of volatile keys (whatever their length).
    fn mask_json(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    let masked = match &*inner {
                        Value::String(_) if DATETIME_KEYS.contains(&key.as_str()) => {
                            *inner = Value::String(format!("<{key}>"));
                            continue;
                        }
                        Value::String(text) if VOLATILE_KEYS.contains(&key.as_str()) => {
                            self.placeholder(text)
                        }
                        Value::Number(n) if VOLATILE_KEYS.contains(&key.as_str()) => {
                            self.placeholder(&n.to_string())
                        }
                        _ => None,
                    };
                    match masked {
                        Some(p) => *inner = Value::String(p.to_owned()),
                        None => self.mask_json(inner),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }

    /// A payload: structurally when it is JSON (the original bytes are kept when nothing in it
    /// is volatile: they may be deliberately odd), then as free text.
    fn apply_payload(&self, payload: &str) -> String {
        let structural = match serde_json::from_str::<Value>(payload.trim()) {
            Ok(original) => {
                let mut value = original.clone();
                self.mask_json(&mut value);
                if value == original {
                    payload.to_owned()
                } else {
                    value.to_string()
                }
            }
            Err(_) => payload.to_owned(),
        };
        self.apply(&structural)
    }

    /// Free text: every collected value long enough not to match by accident (6 characters;
    /// shorter ones are masked only where a JSON key marks them), longest first so a value
    /// that contains another is replaced whole; then any datetime.
    fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let mut by_length: Vec<&(String, String)> = self
            .placeholders
            .iter()
            .filter(|(v, _)| v.len() >= 6)
            .collect();
        by_length.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        for (value, placeholder) in by_length {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), placeholder);
            }
        }
        datetime_pattern()
            .replace_all(&out, "<datetime>")
            .into_owned()
    }
}

/// An RFC 3339 / ISO 8601 date-time as it appears in messages and transcripts.
fn datetime_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")
            .unwrap_or_else(|_| unreachable!("a constant pattern"))
    })
}

impl Report {
    /// Recomputes [`Report::summary`] from the cases.
    pub fn recount(&mut self) {
        self.summary = Summary::of(&self.cases);
    }

    /// Number of cases counted as passed in the final `N passed, N failed` line.
    pub fn passed(&self) -> usize {
        self.summary.get(Verdict::Pass)
    }

    /// Number of cases counted as failed in the final line (FAIL, TIMEOUT, XPASS, and WARN when
    /// strict).
    pub fn failed(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.verdict.is_failure(self.options.strict))
            .count()
    }

    /// Number of cases skipped because the LSP refused the runner (code 1): the run is
    /// incomplete (exit 4).
    pub fn refused(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| {
                c.verdict == Verdict::Skip && c.message.starts_with(crate::ctx::REFUSED_PREFIX)
            })
            .count()
    }

    /// What the run left on the target: LSPS1 orders created and LSPS2 buys accepted (each
    /// reserves a JIT SCID until its `valid_until`), counted from the transcripts.
    pub fn side_effects(&self) -> SideEffects {
        let mut effects = SideEffects::default();
        for case in &self.cases {
            let mut writes: std::collections::HashMap<String, &'static str> =
                std::collections::HashMap::new();
            for entry in &case.transcript {
                let Ok(value) = serde_json::from_str::<Value>(&entry.payload) else {
                    continue;
                };
                let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
                match (entry.dir, id) {
                    (Direction::Sent, Some(id)) => {
                        match value.get("method").and_then(Value::as_str) {
                            Some("lsps1.create_order") => {
                                writes.insert(id, "order");
                            }
                            Some("lsps2.buy") => {
                                writes.insert(id, "buy");
                            }
                            _ => {}
                        }
                    }
                    (Direction::Received, Some(id)) if value.get("result").is_some() => {
                        match writes.remove(&id) {
                            Some("order") => effects.orders += 1,
                            Some("buy") => effects.buys += 1,
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
        effects
    }

    /// The cases grouped per protocol (`lsps0`, `lsps1`, `lsps2`: the case id's first part), in
    /// protocol order, catalog order inside a group.
    pub fn by_protocol(&self) -> Vec<(String, Vec<&CaseReport>)> {
        let mut groups: Vec<(String, Vec<&CaseReport>)> = Vec::new();
        for case in &self.cases {
            let protocol = case.id.split('.').next().unwrap_or_default().to_owned();
            match groups.iter_mut().find(|(p, _)| *p == protocol) {
                Some((_, cases)) => cases.push(case),
                None => groups.push((protocol, vec![case])),
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups
    }

    /// Per protocol (see [`Report::by_protocol`]), the verdict counts.
    pub fn per_protocol(&self) -> Vec<(String, Summary)> {
        self.by_protocol()
            .into_iter()
            .map(|(p, cases)| (p, Summary::of(cases)))
            .collect()
    }

    /// Whether any case reached a judgement against the target.
    pub fn anything_ran(&self) -> bool {
        self.cases
            .iter()
            .any(|c| c.verdict.ran() && c.verdict != Verdict::Error)
    }

    /// Rewrites every volatile value so that two runs against the same target produce identical
    /// reports: clears [`Report::run`], zeroes durations, replaces node ids and URLs with
    /// placeholders, numbers request ids per case in order of appearance, and replaces the
    /// values of LSP-generated and per-run keys (promises, timestamps, order ids, SCIDs,
    /// invoices, offers, addresses, tokens; see `VOLATILE_KEYS`) wherever they appear — in
    /// transcripts, case messages and the headline — with numbered placeholders, and any
    /// datetime in free text with `<datetime>`.
    pub fn normalize(&mut self) {
        let mut secrets: Vec<(String, String)> = Vec::new();
        if let Some(node) = self.target.node_id.take() {
            secrets.push((node, "<target-node-id>".into()));
            self.target.node_id = Some("<target-node-id>".into());
        }
        if let Some(url) = self.target.url.take() {
            secrets.push((url, "<target-url>".into()));
            self.target.url = Some("<target-url>".into());
        }
        if let Some(node) = self.run.runner_node_id.take() {
            secrets.push((node, "<runner-node-id>".into()));
        }
        self.run = RunInfo::default();
        let mut volatile = VolatileValues::default();
        if let Some(flow) = &mut self.flow {
            for step in &mut flow.setup_steps {
                step.ms = 0;
            }
        }
        for case in &mut self.cases {
            case.duration_ms = 0;
            for step in &mut case.steps {
                step.ms = 0;
            }
            let mut ids: Vec<String> = Vec::new();
            for entry in &mut case.transcript {
                entry.payload = normalize_ids(&entry.payload, &mut ids, &secrets);
                if let Ok(value) = serde_json::from_str::<Value>(entry.payload.trim()) {
                    volatile.collect(&value);
                }
            }
        }
        for case in &mut self.cases {
            for entry in &mut case.transcript {
                entry.payload = volatile.apply_payload(&entry.payload);
            }
            for (secret, placeholder) in &secrets {
                case.message = case.message.replace(secret, placeholder);
            }
            case.message = volatile.apply(&case.message);
        }
        for line in &mut self.headline {
            for (secret, placeholder) in &secrets {
                *line = line.replace(secret, placeholder);
            }
            *line = volatile.apply(line);
        }
        // Replies to requests sent together (pipelining cases) arrive in whatever order the
        // target answers; a run of received payloads is put in one order so that two runs
        // compare equal.
        for case in &mut self.cases {
            sort_received_runs(&mut case.transcript);
        }
    }
}

/// Sort each run of consecutive received entries by connection and payload.
fn sort_received_runs(transcript: &mut [TranscriptEntry]) {
    let mut start = 0;
    while start < transcript.len() {
        let mut end = start;
        while end < transcript.len() && transcript[end].dir == Direction::Received {
            end += 1;
        }
        if end > start + 1 {
            transcript[start..end].sort_by(|a, b| (a.conn, &a.payload).cmp(&(b.conn, &b.payload)));
        }
        start = end.max(start + 1);
    }
}

/// Replaces the known secrets and numbers the request ids of one payload.
fn normalize_ids(payload: &str, ids: &mut Vec<String>, secrets: &[(String, String)]) -> String {
    let mut text = payload.to_owned();
    for (secret, placeholder) in secrets {
        text = text.replace(secret, placeholder);
    }
    // Request ids, wherever they appear (also inside batches and truncated payloads that do
    // not parse), numbered per case in order of first appearance.
    let mut rest = text.as_str();
    let mut found = Vec::new();
    while let Some(at) = rest.find("\"id\":\"") {
        let after = &rest[at + 6..];
        let end = after.find('"').unwrap_or(after.len());
        let id = &after[..end];
        if !id.is_empty() && !id.starts_with('<') {
            found.push(id.to_owned());
        }
        rest = &after[end..];
    }
    for id in found {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    for (i, id) in ids.iter().enumerate() {
        text = text.replace(&format!("\"{id}\""), &format!("\"<id-{}>\"", i + 1));
    }
    text
}

/// Writes bytes as text for a transcript: UTF-8 as is, other bytes as `\xNN`.
pub fn payload_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch == '\0' {
                out.push_str("\\x00");
            } else {
                out.push(ch);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod normalize_tests {
    use super::*;

    fn entry(dir: Direction, payload: &str) -> TranscriptEntry {
        TranscriptEntry {
            conn: 1,
            dir,
            payload: payload.into(),
        }
    }

    #[test]
    fn replies_to_pipelined_requests_compare_equal_in_any_arrival_order() {
        let sent = [entry(Direction::Sent, "a"), entry(Direction::Sent, "b")];
        let mut one = sent.to_vec();
        one.extend([
            entry(Direction::Received, "reply b"),
            entry(Direction::Received, "reply a"),
        ]);
        let mut two = sent.to_vec();
        two.extend([
            entry(Direction::Received, "reply a"),
            entry(Direction::Received, "reply b"),
        ]);
        sort_received_runs(&mut one);
        sort_received_runs(&mut two);
        assert_eq!(one, two);
        // What was sent keeps its order.
        assert_eq!(one[0].payload, "a");
        assert_eq!(one[1].payload, "b");
    }
}
