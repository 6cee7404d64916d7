//! The reference server's admin listener as a test reads it: `GET path` with the bearer token
//! from `<data_dir>/admin.json` (the file the server writes at start-up), so a test can look
//! at a server running in another process.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why an admin read failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// `admin.json` missing or unreadable (the server has not started yet).
    #[error("reading admin.json: {0}")]
    File(String),
    /// The listener could not be reached or the exchange broke off.
    #[error("admin listener: {0}")]
    Io(#[from] std::io::Error),
    /// Not a 200 with a JSON body.
    #[error("admin answer: {0}")]
    Answer(String),
}

/// `GET path` on the admin listener of the server whose data dir is `data_dir`; the JSON body
/// of a 200 answer.
pub async fn get(data_dir: &Path, path: &str) -> Result<serde_json::Value, AdminError> {
    let text =
        std::fs::read(data_dir.join("admin.json")).map_err(|e| AdminError::File(e.to_string()))?;
    let file: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| AdminError::File(e.to_string()))?;
    let (Some(url), Some(token)) = (file["url"].as_str(), file["token"].as_str()) else {
        return Err(AdminError::File("no url or token".into()));
    };
    let addr = url.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await?;
    tcp.write_all(
        format!(
            "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).await?;
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        return Err(AdminError::Answer(response));
    };
    if !(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200")) {
        return Err(AdminError::Answer(format!("{head}\n{body}")));
    }
    serde_json::from_str(body).map_err(|e| AdminError::Answer(format!("{e}: {body}")))
}
