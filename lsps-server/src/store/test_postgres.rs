//! A throwaway PostgreSQL for tests: a fresh database in the cluster named by
//! `LSPS_TEST_POSTGRES_URL` (what `.ci/run` starts), or else a private cluster started here
//! from the Debian `postgresql` package's binaries (as the `postgres` user when running as
//! root, since `initdb` refuses root), on a free loopback port, in a temporary directory, and
//! stopped on drop. Without PostgreSQL the caller skips with the reason, unless `CI=true`,
//! where PostgreSQL is required.
//!
//! Shared by the unit tests and (through `#[path]`) the integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::PathBuf;
use std::process::Command;

use sqlx::Connection;

/// The environment variable naming a running cluster, without a database
/// (`postgres://user@host:port`).
pub const URL_ENV: &str = "LSPS_TEST_POSTGRES_URL";

/// A database for one test; the private cluster (if any) stops when this is dropped.
pub struct TestPostgres {
    /// URL of a database of its own.
    pub url: String,
    cluster: Option<Cluster>,
}

struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = run(
            &self.bin.join("pg_ctl"),
            self.as_postgres,
            &[
                "-D",
                &data.to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

fn run(program: &std::path::Path, as_postgres: bool, args: &[&str]) -> Result<(), String> {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let out = command
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The newest installed PostgreSQL's `bin` directory.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn start_cluster() -> Result<(String, Cluster), String> {
    let bin = postgres_bin()
        .ok_or("no PostgreSQL under /usr/lib/postgresql (Debian package `postgresql`)")?;
    let as_postgres = is_root();
    let dir = tempfile::Builder::new()
        .prefix("lsps-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    if as_postgres {
        run(
            std::path::Path::new("chown"),
            false,
            &["postgres:postgres", &dir.path().to_string_lossy()],
        )?;
    }
    let data = dir.path().join("data");
    let cluster = Cluster {
        bin: bin.clone(),
        dir,
        as_postgres,
    };
    run(
        &bin.join("initdb"),
        as_postgres,
        &[
            "-D",
            &data.to_string_lossy(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=100",
        cluster.dir.path().display()
    );
    run(
        &bin.join("pg_ctl"),
        as_postgres,
        &[
            "-D",
            &data.to_string_lossy(),
            "-o",
            &options,
            "-l",
            &cluster.dir.path().join("log").to_string_lossy(),
            "-w",
            "start",
        ],
    )?;
    Ok((format!("postgres://postgres@127.0.0.1:{port}"), cluster))
}

/// A fresh database, or `None` (with the reason printed) where PostgreSQL is absent outside CI.
pub async fn postgres_or_skip(test: &str) -> Option<TestPostgres> {
    let (server, cluster) = match std::env::var(URL_ENV) {
        Ok(url) => (url.trim_end_matches('/').to_owned(), None),
        Err(_) => match start_cluster() {
            Ok((url, cluster)) => (url, Some(cluster)),
            Err(reason) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{test}: PostgreSQL is required when CI=true: {reason}");
                }
                eprintln!("{test}: SKIPPED, no PostgreSQL: {reason}");
                return None;
            }
        },
    };
    // `server` names no database (`postgres://user@host:port`); each test gets its own.
    let base = server;
    let name = format!("lsps_test_{:016x}", rand::random::<u64>());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("{test}: connecting to {base}/postgres: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = admin.close().await;
    Some(TestPostgres {
        url: format!("{base}/{name}"),
        cluster,
    })
}
