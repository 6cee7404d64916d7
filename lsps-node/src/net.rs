//! BOLT8 sockets: every accepted or dialled TCP stream gets TCP_NODELAY before it is handed to
//! lightning-net-tokio (without it each fresh connection waits ~40 ms on delayed ACKs).

use std::net::SocketAddr;
use std::ops::Deref;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::peer_handler::APeerManager;
use lightning_net_tokio::SocketDescriptor;

/// Turns a tokio socket into a std socket with TCP_NODELAY set, as lightning-net-tokio takes it.
pub fn nodelay_std(stream: tokio::net::TcpStream) -> std::io::Result<std::net::TcpStream> {
    stream.set_nodelay(true)?;
    stream.into_std()
}

/// Accepts BOLT8 connections on `listener` for `peer_manager` until the task is dropped or
/// aborted; a failed accept or socket is skipped.
pub async fn accept_inbound<PM>(listener: tokio::net::TcpListener, peer_manager: PM)
where
    PM: Deref + Clone + Send + Sync + 'static,
    PM::Target: APeerManager<Descriptor = SocketDescriptor>,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let Ok(std_stream) = nodelay_std(stream) else {
            continue;
        };
        tokio::spawn(lightning_net_tokio::setup_inbound(
            peer_manager.clone(),
            std_stream,
        ));
    }
}

/// Dials `addr` with TCP_NODELAY and starts the BOLT8 handshake towards `their_node_id`;
/// returns once the connection task is spawned (wait for the peer to appear in
/// `list_peers` to know the handshake finished).
pub async fn connect_outbound<PM>(
    peer_manager: PM,
    their_node_id: PublicKey,
    addr: SocketAddr,
) -> std::io::Result<()>
where
    PM: Deref + Clone + Send + Sync + 'static,
    PM::Target: APeerManager<Descriptor = SocketDescriptor>,
{
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let std_stream = nodelay_std(stream)?;
    tokio::spawn(lightning_net_tokio::setup_outbound(
        peer_manager,
        their_node_id,
        std_stream,
    ));
    Ok(())
}
