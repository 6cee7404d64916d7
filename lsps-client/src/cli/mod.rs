//! The `lsps` commands: the command line (`args`), then one module per protocol's commands
//! (`lsps0`, `lsps1`, `lsps2`; `receive` for the two that run an embedded node), with the
//! client's identity (`identity`) and what a command prints or fails with (`output`).

mod args;
mod identity;
mod lsps0;
mod lsps1;
mod lsps2;
mod order_watch;
mod output;
#[cfg(feature = "node")]
mod receive;

use std::time::Duration;

use lsps_client::transport::TransportError;
use lsps_client::transport::bolt8::NodeKey;
use lsps_client::{LspsClient, Target, connect};

pub(crate) use args::Cli;
use args::{Command, Lsps1Command, Lsps2Command};
use identity::{data_dir_key, default_data_dir};
pub(crate) use output::{Failure, emit};
use output::{Output, usage};

/// Extra time `lsps2 receive`, `lsps1 buy` and a watch get on top of the request bound: starting its node (catching up
/// with the chain) and the wait for the payment.
pub(crate) fn receive_allowance(command: &Command) -> Duration {
    match command {
        Command::Lsps1(Lsps1Command::GetOrder {
            watch: true,
            wait_secs,
            ..
        }) => Duration::from_secs(wait_secs.saturating_add(60)),
        #[cfg(feature = "node")]
        Command::Lsps2(Lsps2Command::Receive(args)) => {
            Duration::from_secs(args.wait_secs.saturating_add(120))
        }
        #[cfg(feature = "node")]
        Command::Lsps1(Lsps1Command::Buy(args)) => {
            Duration::from_secs(args.wait_secs.saturating_add(120))
        }
        _ => Duration::ZERO,
    }
}

/// Run the command `cli` names.
pub(crate) async fn run(cli: Cli) -> Result<(), Failure> {
    let target: Target = cli
        .target
        .as_deref()
        .ok_or_else(|| usage("--target (or LSPS_TARGET) is required".into()))?
        .parse()
        .map_err(|e: TransportError| usage(e.to_string()))?;
    let key = match (
        &cli.node_key_file,
        cli.data_dir.clone().or_else(default_data_dir),
    ) {
        (Some(path), _) => NodeKey::from_file(path).map_err(|e| usage(e.to_string()))?,
        (None, Some(dir)) => data_dir_key(&dir)?,
        (None, None) => NodeKey::random(),
    };
    let our_node_id = key.node_id();
    let timeout = Duration::from_millis(cli.timeout_ms);
    let connect_timeout = Duration::from_millis(cli.connect_timeout_ms);
    let out = Output { json: cli.json };

    // The commands that run an embedded node: one BOLT8 identity for LSPS and the channel.
    #[cfg(feature = "node")]
    if let Command::Lsps2(Lsps2Command::Receive(_)) | Command::Lsps1(Lsps1Command::Buy(_)) =
        cli.command
    {
        let Target::Bolt8(lsp) = target else {
            return Err(usage(
                "this command needs a BOLT8 target (<node id>@<host>:<port>): the channel comes over it".into(),
            ));
        };
        let wallet_dir = cli
            .data_dir
            .clone()
            .or_else(default_data_dir)
            .ok_or_else(|| usage("--data-dir is required (no $HOME)".into()))?
            .join("wallet");
        let link = receive::Link {
            lsp,
            data_dir: wallet_dir,
            connect_timeout,
            request_timeout: timeout,
            json_output: cli.json,
        };
        return match cli.command {
            Command::Lsps1(Lsps1Command::Buy(args)) => receive::buy_channel(args, link).await,
            Command::Lsps2(Lsps2Command::Receive(args)) => receive::run(args, link).await,
            _ => Ok(()),
        };
    }
    if let Command::Raw { payload } = &cli.command {
        return lsps0::raw(
            &target,
            key,
            connect_timeout,
            timeout,
            payload.as_bytes(),
            &out,
        )
        .await;
    }
    let transport = connect(&target, key, connect_timeout).await?;
    let client = LspsClient::from_arc(transport).with_timeout(timeout);

    match cli.command {
        Command::ListProtocols => lsps0::list_protocols(&client, &target, &out).await,
        Command::Lsps1(Lsps1Command::GetInfo) => lsps1::get_info(&client, &out).await,
        Command::Lsps1(Lsps1Command::CreateOrder(args)) => {
            lsps1::create_order(&client, &args, our_node_id, &out).await
        }
        Command::Lsps1(Lsps1Command::GetOrder {
            order_id,
            watch: true,
            wait_secs,
            poll_ms,
        }) => lsps1::watch_order(&client, order_id, wait_secs, poll_ms, &out).await,
        Command::Lsps1(Lsps1Command::GetOrder { order_id, .. }) => {
            lsps1::get_order(&client, order_id, our_node_id, &out).await
        }
        Command::Lsps2(Lsps2Command::GetInfo { token }) => {
            lsps2::get_info(&client, token, &out).await
        }
        Command::Lsps2(Lsps2Command::Buy(args)) => lsps2::buy(&client, &args, &out).await,
        #[cfg(feature = "node")]
        Command::Lsps2(Lsps2Command::Receive(_)) => Ok(()),
        #[cfg(feature = "node")]
        Command::Lsps1(Lsps1Command::Buy(_)) => Ok(()),
        Command::Raw { .. } => Ok(()),
    }
}
