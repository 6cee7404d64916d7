//! BOLT8 sockets for the kit's `PeerManager`, through the workspace's own socket driver
//! ([`lsps_net`]: one task per connection, one shared `process_events` caller, TCP_NODELAY on
//! every socket).

pub use lsps_net::{
    EventProcessor, SharedPeerManager, SocketDescriptor, accept_inbound, connect_outbound,
    setup_inbound, setup_outbound,
};
