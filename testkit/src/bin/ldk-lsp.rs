//! Starts the testkit LDK LSPS0+LSPS2 service on loopback and prints `node_id@addr`, then
//! serves until interrupted. Used to try the `lsps` CLI and the conformance runner by hand.

use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = LdkLspConfig::default();
    if let Some(addr) = std::env::args().nth(1) {
        config.listen = addr.parse()?;
    }
    let lsp = LdkLsp::start(config).await?;
    println!("{}", lsp.connection_string());
    tokio::signal::ctrl_c().await?;
    lsp.shutdown();
    Ok(())
}
