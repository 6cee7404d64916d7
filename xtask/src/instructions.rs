//! `cargo xtask instructions`: instruction counts per request of the handler benchmark, ours
//! against lightning-liquidity's, under callgrind.
//!
//! Wall-clock ratios on a shared 2-core VM drift between runs; callgrind counts instructions,
//! which repeat exactly for the same binary and inputs. This runs the `handlers` bench binary
//! of lsps-server under `valgrind --tool=callgrind` once per group. For each side's exchange
//! function (`ours_exchange`, `ldk_exchange_from`) it takes the inclusive instruction count
//! and divides it by the number of calls.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The groups measured. `lsps2.buy` is left out because LDK's side of it calls its exchange
/// for `get_info` in untimed setup too, so the per-call average would mix the two requests.
const GROUPS: [&str; 2] = ["lsps0.list_protocols", "lsps2.get_info"];

/// The per-request functions of `lsps-server/benches/handlers.rs`.
const OURS: &str = "handlers::ours_exchange";
const LDK: &str = "handlers::ldk_exchange_from";

/// Calls and inclusive instructions of one function, summed over its callers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CallCost {
    /// Number of calls.
    pub calls: u64,
    /// Instructions executed inside the calls, callees included.
    pub inclusive_ir: u64,
}

impl CallCost {
    /// Instructions per call.
    pub fn per_call(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.inclusive_ir as f64 / self.calls as f64
        }
    }
}

/// Reads a callgrind output file (`--dump-instr=no`, the default, and the `Ir` event only) and
/// sums, per called function, the `calls=` lines and the inclusive cost on the line after
/// each. Names may be compressed (`(id) name` on first use, `(id)` after).
pub fn call_costs(callgrind_out: &str) -> BTreeMap<String, CallCost> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut costs: BTreeMap<String, CallCost> = BTreeMap::new();
    let mut callee: Option<String> = None;
    let mut pending_calls: Option<u64> = None;
    for line in callgrind_out.lines() {
        if let Some(count) = pending_calls.take() {
            // The line after `calls=`: "<position> <inclusive Ir>".
            let inclusive = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            if let Some(name) = &callee {
                let cost = costs.entry(name.clone()).or_default();
                cost.calls += count;
                cost.inclusive_ir += inclusive;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("cfn=") {
            callee = Some(resolve_name(rest, &mut names));
        } else if let Some(rest) = line.strip_prefix("fn=") {
            // Record compressed names defined on fn= lines too.
            resolve_name(rest, &mut names);
        } else if let Some(rest) = line.strip_prefix("calls=") {
            pending_calls = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok());
        }
    }
    costs
}

/// `(id) name` → name (remembered), `(id)` → the remembered name, `name` → name.
fn resolve_name(spec: &str, names: &mut BTreeMap<String, String>) -> String {
    let spec = spec.trim();
    if let Some(rest) = spec.strip_prefix('(')
        && let Some((id, name)) = rest.split_once(')')
    {
        let name = name.trim();
        if name.is_empty() {
            return names.get(id).cloned().unwrap_or_else(|| format!("({id})"));
        }
        names.insert(id.to_owned(), name.to_owned());
        return name.to_owned();
    }
    spec.to_owned()
}

/// The function whose name is exactly `name` (callgrind appends no suffix to a plain function;
/// closures inside it are `name::{{closure}}` and are not counted twice).
fn cost_of(costs: &BTreeMap<String, CallCost>, name: &str) -> CallCost {
    costs.get(name).copied().unwrap_or_default()
}

/// Builds the bench, runs each group under callgrind and returns the report.
pub fn instructions_report(root: &Path) -> Result<String> {
    let bench = handlers_bench_binary(root)?;
    let out_dir = root.join("target").join("callgrind");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut report = String::from(
        "instructions per request (callgrind, inclusive), lsps-server vs lightning-liquidity 0.2.7\n\n",
    );
    report.push_str(&format!(
        "{:<24} {:>14} {:>20} {:>8}\n",
        "group", "lsps-server", "lightning-liquidity", "ratio"
    ));
    for group in GROUPS {
        let out_file = out_dir.join(format!("{group}.out"));
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out_file.display()))
            .arg(&bench)
            .args(["--bench", &format!("{group}/")])
            .args(["--warm-up-time", "1", "--measurement-time", "1"])
            .args(["--profile-time", "2"])
            .output()
            .context("running valgrind (is it installed?)")?;
        if !status.status.success() {
            bail!(
                "valgrind on {group} failed: {}",
                String::from_utf8_lossy(&status.stderr)
            );
        }
        let text = std::fs::read_to_string(&out_file)
            .with_context(|| format!("reading {}", out_file.display()))?;
        let costs = call_costs(&text);
        let (ours, ldk) = (cost_of(&costs, OURS), cost_of(&costs, LDK));
        if ours.calls == 0 || ldk.calls == 0 {
            bail!(
                "{group}: no calls of {OURS} or {LDK} in {}",
                out_file.display()
            );
        }
        report.push_str(&format!(
            "{:<24} {:>14.0} {:>20.0} {:>8.2}\n",
            group,
            ours.per_call(),
            ldk.per_call(),
            ours.per_call() / ldk.per_call()
        ));
    }
    Ok(report)
}

/// Path of the `handlers` bench executable, built if needed.
fn handlers_bench_binary(root: &Path) -> Result<String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "bench",
            "-p",
            "lsps-server",
            "--all-features",
            "--bench",
            "handlers",
        ])
        .args(["--no-run", "--message-format=json"])
        .output()
        .context("building the handlers bench")?;
    if !output.status.success() {
        bail!(
            "building the handlers bench failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["target"]["name"] == "handlers"
            && let Some(exe) = message["executable"].as_str()
        {
            return Ok(exe.to_owned());
        }
    }
    bail!("cargo did not report the handlers bench executable")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sums_calls_and_inclusive_cost_per_callee_with_compressed_names() {
        let out = "\
events: Ir
fn=(1) main
0 10
cfn=(2) handlers::ours_exchange
calls=3 0
0 300
cfn=(3) handlers::ldk_exchange_from
calls=2 0
0 1000
fn=(4) other
0 5
cfn=(2)
calls=1 0
0 120
cfn=(5) handlers::ours_exchange::{{closure}}
calls=7 0
0 70
";
        let costs = call_costs(out);
        let ours = cost_of(&costs, OURS);
        assert_eq!(
            ours,
            CallCost {
                calls: 4,
                inclusive_ir: 420
            }
        );
        assert_eq!(ours.per_call(), 105.0);
        assert_eq!(cost_of(&costs, LDK).per_call(), 500.0);
        assert_eq!(cost_of(&costs, "absent"), CallCost::default());
    }
}
