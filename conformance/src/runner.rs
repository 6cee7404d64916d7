//! The runner: probe, select, run cases concurrently on their own connections, judge, apply
//! the baseline, and assemble the [`Report`].

use crate::baseline::Baseline;
use crate::case::{Case, Phase};
use crate::catalog;
use crate::code;
use crate::ctx::{Abort, CaseCtx, Incoming, Probe, Shared};
use crate::report::{CaseReport, Report, RunInfo, RunOptions, SpecPin, Summary};
use crate::schema::SchemaSet;
use crate::target::Target;
use crate::verdict::{Level, Verdict};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which levels run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelFilter {
    /// MUST cases only.
    Must,
    /// MUST and SHOULD cases.
    Should,
    /// Every case.
    All,
}

impl LevelFilter {
    /// `must`, `should` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            LevelFilter::Must => "must",
            LevelFilter::Should => "should",
            LevelFilter::All => "all",
        }
    }

    fn admits(self, level: Level) -> bool {
        match self {
            LevelFilter::Must => level == Level::Must,
            LevelFilter::Should => level != Level::May,
            LevelFilter::All => true,
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Level filter.
    pub level: LevelFilter,
    /// WARN fails the run.
    pub strict: bool,
    /// Only cases matching one of these globs (empty = all).
    pub run: Vec<String>,
    /// Cases matching one of these globs are skipped.
    pub skip: Vec<String>,
    /// Per-request timeout: no reply within it is TIMEOUT.
    pub timeout: Duration,
    /// Replies slower than this are an interop WARN.
    pub slow: Duration,
    /// Token for LSPs that serve only clients with one.
    pub token: Option<String>,
    /// Cases running at the same time.
    pub concurrency: usize,
    /// Baseline (its file name for the report, and its content).
    pub baseline: Option<(String, Baseline)>,
    /// The flow tier's nodes (`None`: flow cases are SKIP).
    pub flow: Option<Arc<crate::flow::FlowEnv>>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            level: LevelFilter::All,
            strict: false,
            run: Vec::new(),
            skip: Vec::new(),
            timeout: Duration::from_secs(60),
            slow: crate::ctx::SLOW_REPLY,
            token: None,
            concurrency: 4,
            baseline: None,
            flow: None,
        }
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A bad `--run`/`--skip` glob.
    #[error("bad glob {0:?}: {1}")]
    BadGlob(String, String),
    /// The target could not be reached at all.
    #[error("target unreachable: {0}")]
    Unreachable(String),
}

/// Progress events for live output.
#[derive(Debug)]
pub enum Progress<'a> {
    /// The probe finished; `total` cases will be reported.
    Probed {
        /// Protocols advertised.
        protocols: Option<&'a [u16]>,
        /// Cases in the report.
        total: usize,
    },
    /// One case finished.
    CaseDone(&'a CaseReport),
}

fn globset(patterns: &[String]) -> Result<Option<GlobSet>, RunError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| RunError::BadGlob(p.clone(), e.to_string()))?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| RunError::BadGlob(patterns.join(","), e.to_string()))
}

/// Probes the target: `lsps0.list_protocols`, then each advertised protocol's `get_info`.
/// Returns the probe and headline findings (advertised but broken).
async fn probe(shared: &Arc<Shared>) -> Result<(Probe, Vec<String>), RunError> {
    let ctx = CaseCtx::new("probe", shared.clone());
    let mut conn = ctx.connect().await.map_err(|e| match e {
        Abort::Error(m)
        | Abort::Timeout(m)
        | Abort::Violation(m)
        | Abort::Precondition(m)
        | Abort::Refused(m)
        | Abort::Advisory(m)
        | Abort::NotApplicable(m) => RunError::Unreachable(m),
    })?;
    let mut probe = Probe::default();
    let mut headline = Vec::new();
    match conn.call("lsps0.list_protocols", json!({})).await {
        Ok(Incoming::Result { result, .. }) => {
            match serde_json::from_value::<lsps_core::lsps0::ListProtocolsResult>(result) {
                Ok(list) => probe.protocols = Some(list.protocols),
                Err(e) => headline.push(format!(
                    "lsps0.list_protocols result is malformed ({e}): no protocol can be tested"
                )),
            }
        }
        Ok(Incoming::Error { error, .. }) if error.code == Some(code::CLIENT_REJECTED) => {
            probe.refused.push((0, error.describe()));
            headline.push(format!(
                "the LSP refused this client on lsps0.list_protocols ({}): no protocol can be tested",
                error.describe()
            ))
        }
        Ok(Incoming::Error { error, .. }) => headline.push(format!(
            "lsps0.list_protocols answered with {}: no protocol can be tested",
            error.describe()
        )),
        Ok(Incoming::Other { why }) => headline.push(format!(
            "lsps0.list_protocols answered with {why}: no protocol can be tested"
        )),
        Err(Abort::Timeout(m)) | Err(Abort::Violation(m)) | Err(Abort::Error(m)) => {
            headline.push(format!("{m}: no protocol can be tested"))
        }
        Err(
            Abort::Precondition(m)
            | Abort::Refused(m)
            | Abort::Advisory(m)
            | Abort::NotApplicable(m),
        ) => headline.push(m),
    }
    for (n, method) in [(1u16, "lsps1.get_info"), (2, "lsps2.get_info")] {
        if !probe.advertises(n) {
            continue;
        }
        let params = match (&shared.token, n) {
            (Some(token), 2) => json!({ "token": token }),
            _ => json!({}),
        };
        match conn.call(method, params).await {
            Ok(Incoming::Result { result, .. }) if result.is_object() => {
                if n == 1 {
                    probe.lsps1_info = Some(result);
                } else {
                    probe.lsps2_info = Some(result);
                }
            }
            Ok(Incoming::Result { .. }) => headline.push(format!(
                "LSPS{n} is advertised but {method} returned a result that is not an object"
            )),
            // Code 1 is a legal answer: the cases that need this get_info are SKIP (refused).
            Ok(Incoming::Error { error, .. }) if error.code == Some(code::CLIENT_REJECTED) => {
                probe.refused.push((n, error.describe()));
            }
            Ok(Incoming::Error { error, .. }) => headline.push(format!(
                "LSPS{n} is advertised but {method} answers {}",
                error.describe()
            )),
            Ok(Incoming::Other { why }) => headline.push(format!(
                "LSPS{n} is advertised but {method} answers with {why}"
            )),
            Err(
                Abort::Timeout(m)
                | Abort::Violation(m)
                | Abort::Error(m)
                | Abort::Precondition(m)
                | Abort::Refused(m)
                | Abort::Advisory(m)
                | Abort::NotApplicable(m),
            ) => headline.push(format!("LSPS{n} is advertised but broken: {m}")),
        }
    }
    Ok((probe, headline))
}

fn judge(case: &Case, result: Result<String, Abort>) -> (Verdict, String) {
    match result {
        Ok(message) => (Verdict::Pass, message),
        Err(Abort::Violation(m)) => match case.level {
            Level::Must => (Verdict::Fail, m),
            Level::Should | Level::May => (Verdict::Warn, m),
        },
        Err(Abort::Precondition(m)) => (Verdict::Skip, format!("precondition: {m}")),
        Err(Abort::Refused(m)) => (
            Verdict::Skip,
            format!("{}: {m}", crate::ctx::REFUSED_PREFIX),
        ),
        Err(Abort::Advisory(m)) => (Verdict::Warn, m),
        Err(Abort::NotApplicable(m)) => (Verdict::NotApplicable, m),
        Err(Abort::Timeout(m)) => (Verdict::Timeout, m),
        Err(Abort::Error(m)) => (Verdict::Error, m),
    }
}

fn report_for(case: &Case, verdict: Verdict, message: String) -> CaseReport {
    CaseReport {
        id: case.id.to_owned(),
        requirements: case.requirements.iter().map(|r| (*r).to_owned()).collect(),
        level: case.level,
        verdict,
        message,
        expected: None,
        duration_ms: 0,
        transcript: Vec::new(),
        steps: Vec::new(),
    }
}

async fn run_case(case: Case, shared: Arc<Shared>) -> CaseReport {
    let started = Instant::now();
    let ctx = CaseCtx::new(case.id, shared.clone());
    // A whole-case deadline: every step has its own per-request timeout, this only catches a
    // procedure that keeps receiving unrelated messages.
    let deadline = shared.timeout * 12 + Duration::from_secs(5);
    let result = match tokio::time::timeout(deadline, (case.procedure)(ctx.clone())).await {
        Ok(r) => r,
        Err(_) => Err(Abort::Timeout(format!(
            "the case did not finish within {} ms",
            deadline.as_millis()
        ))),
    };
    let (verdict, message) = judge(&case, result);
    let mut report = report_for(&case, verdict, message);
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.transcript = ctx.transcript();
    report.steps = ctx.steps();
    report
}

/// Runs the message tier of the catalog against `target` (the flow tier needs the runner's
/// nodes: [`run_cases`] with [`catalog::flow_cases`] and [`RunConfig::flow`]).
pub async fn run(
    target: Arc<dyn Target>,
    config: &RunConfig,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Report, RunError> {
    run_cases(target, &catalog::message_cases(), config, progress).await
}

/// Runs `cases` (normally [`catalog::all`]) against `target`.
pub async fn run_cases(
    target: Arc<dyn Target>,
    cases: &[Case],
    config: &RunConfig,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Report, RunError> {
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let run_filter = globset(&config.run)?;
    let skip_filter = globset(&config.skip)?;
    let schemas = Arc::new(SchemaSet::embedded());

    let mut probe_shared = Shared::new(
        target.clone(),
        config.timeout,
        schemas.clone(),
        Probe::default(),
    );
    probe_shared.slow = config.slow;
    probe_shared.token = config.token.clone();
    let probe_shared = Arc::new(probe_shared);
    let (probe, mut headline) = probe(&probe_shared).await?;
    if !schemas.broken.is_empty() {
        headline.push(format!(
            "harness: {} schema(s) in spec/schemas do not compile: {}",
            schemas.broken.len(),
            schemas.broken.join("; ")
        ));
    }
    let mut shared = Shared::new(target.clone(), config.timeout, schemas, probe.clone());
    shared.slow = config.slow;
    shared.token = config.token.clone();
    shared.flow = config.flow.clone();
    let shared = Arc::new(shared);
    // Carry the probe's wire findings over: its messages were received from the target too.
    if let (Ok(mut into), Ok(from)) = (
        shared.wire_findings.lock(),
        probe_shared.wire_findings.lock(),
    ) {
        into.extend(from.iter().cloned());
    }
    progress(Progress::Probed {
        protocols: probe.protocols.as_deref(),
        total: cases.len(),
    });

    let mut slots: Vec<Option<CaseReport>> = vec![None; cases.len()];
    let mut exchange = Vec::new();
    let mut aggregate = Vec::new();
    let mut flow = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let skip_reason = if run_filter.as_ref().is_some_and(|g| !g.is_match(case.id)) {
            Some((Verdict::Skip, "filtered: not selected by --run".to_owned()))
        } else if skip_filter.as_ref().is_some_and(|g| g.is_match(case.id)) {
            Some((Verdict::Skip, "filtered: matched by --skip".to_owned()))
        } else if !config.level.admits(case.level) {
            Some((
                Verdict::Skip,
                format!(
                    "filtered: {} case, --level {}",
                    case.level,
                    config.level.as_str()
                ),
            ))
        } else if case.applies_to != 0 && probe.protocols.is_none() {
            Some((
                Verdict::Skip,
                "precondition: lsps0.list_protocols did not work".to_owned(),
            ))
        } else if case.applies_to != 0 && !probe.advertises(case.applies_to) {
            Some((
                Verdict::NotApplicable,
                format!("LSPS{} is not advertised", case.applies_to),
            ))
        } else {
            None
        };
        match (skip_reason, case.phase) {
            (Some((verdict, message)), _) => {
                let report = report_for(case, verdict, message);
                progress(Progress::CaseDone(&report));
                slots[index] = Some(report);
            }
            (None, Phase::Exchange) => exchange.push(index),
            (None, Phase::Aggregate) => aggregate.push(index),
            (None, Phase::Flow) => flow.push(index),
        }
    }

    // One node id for every connection (--node-key-file): connections must not overlap, as an
    // LDK peer keeps one session per node id.
    let concurrency = if target.fixed_identity() {
        1
    } else {
        config.concurrency.max(1)
    };
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for index in exchange {
        let case = cases[index];
        let shared = shared.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (index, run_case(case, shared).await)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, report)) => {
                progress(Progress::CaseDone(&report));
                slots[index] = Some(report);
            }
            Err(e) => {
                // A panicking case is a harness bug; it is reported below as ERROR.
                eprintln!("harness: a case task failed: {e}");
            }
        }
    }
    // One at a time: flow cases share the payer's channel and the wallet.
    for index in flow {
        let report = run_case(cases[index], shared.clone()).await;
        progress(Progress::CaseDone(&report));
        slots[index] = Some(report);
    }
    for index in aggregate {
        let report = run_case(cases[index], shared.clone()).await;
        progress(Progress::CaseDone(&report));
        slots[index] = Some(report);
    }

    let mut reports: Vec<CaseReport> = slots
        .into_iter()
        .zip(cases)
        .map(|(slot, case)| {
            slot.unwrap_or_else(|| {
                report_for(
                    case,
                    Verdict::Error,
                    "harness: the case task panicked".into(),
                )
            })
        })
        .collect();
    if let Some((_, baseline)) = &config.baseline {
        for report in &mut reports {
            baseline.apply(report);
        }
    }

    let refused = reports
        .iter()
        .filter(|r| r.verdict == Verdict::Skip && r.message.starts_with(crate::ctx::REFUSED_PREFIX))
        .count();
    if refused > 0 {
        headline.push(format!(
            "{refused} case(s) could not run: the LSP refused this client (client_rejected, a legal answer); the run is incomplete (exit 4). Allow-list the runner's node id (--node-key-file) or pass --token"
        ));
    }
    let mut target_info = target.info();
    target_info.advertised_protocols = probe.protocols.clone();
    let runner_node_id = shared
        .runner_node_id
        .lock()
        .ok()
        .and_then(|n| n.clone())
        .or_else(|| {
            probe_shared
                .runner_node_id
                .lock()
                .ok()
                .and_then(|n| n.clone())
        });
    let finished_at = chrono::Utc::now();
    let mut report = Report {
        schema_version: crate::report::SCHEMA_VERSION,
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        spec: SpecPin::default(),
        target: target_info,
        options: RunOptions {
            level: config.level.as_str().to_owned(),
            strict: config.strict,
            baseline: config.baseline.as_ref().map(|(name, _)| name.clone()),
            run: config.run.clone(),
            skip: config.skip.clone(),
            timeout_ms: u64::try_from(config.timeout.as_millis()).unwrap_or(u64::MAX),
        },
        summary: Summary::default(),
        headline,
        cases: reports,
        run: RunInfo {
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            finished_at: finished_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            target_address: target.address(),
            runner_node_id,
        },
        flow: config.flow.as_ref().map(|env| crate::report::FlowInfo {
            wallet_node_id: env.wallet.node_id().to_string(),
            payer_node_id: env.payer.node_id().to_string(),
            setup_steps: env.setup_steps.clone(),
            left_on_lsp: env.left_on_lsp(),
        }),
    };
    report.recount();
    Ok(report)
}

/// Extracts `value[key]` as a string, for procedures.
pub fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}
