//! The LSPS methods this crate knows.

use core::fmt;

/// Every LSPS0/1/2 method (client to LSP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `lsps0.list_protocols`
    Lsps0ListProtocols,
    /// `lsps1.get_info`
    Lsps1GetInfo,
    /// `lsps1.create_order`
    Lsps1CreateOrder,
    /// `lsps1.get_order`
    Lsps1GetOrder,
    /// `lsps2.get_info`
    Lsps2GetInfo,
    /// `lsps2.buy`
    Lsps2Buy,
}

impl Method {
    /// All methods, in protocol order.
    pub const ALL: [Method; 6] = [
        Method::Lsps0ListProtocols,
        Method::Lsps1GetInfo,
        Method::Lsps1CreateOrder,
        Method::Lsps1GetOrder,
        Method::Lsps2GetInfo,
        Method::Lsps2Buy,
    ];

    /// The wire name, e.g. `"lsps2.buy"`.
    pub const fn name(self) -> &'static str {
        match self {
            Method::Lsps0ListProtocols => "lsps0.list_protocols",
            Method::Lsps1GetInfo => "lsps1.get_info",
            Method::Lsps1CreateOrder => "lsps1.create_order",
            Method::Lsps1GetOrder => "lsps1.get_order",
            Method::Lsps2GetInfo => "lsps2.get_info",
            Method::Lsps2Buy => "lsps2.buy",
        }
    }

    /// The method with this exact (case-sensitive) wire name.
    pub fn from_name(name: &str) -> Option<Method> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The LSPS number the method belongs to (0, 1 or 2).
    pub const fn protocol(self) -> u16 {
        match self {
            Method::Lsps0ListProtocols => 0,
            Method::Lsps1GetInfo | Method::Lsps1CreateOrder | Method::Lsps1GetOrder => 1,
            Method::Lsps2GetInfo | Method::Lsps2Buy => 2,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::from_name(m.name()), Some(m));
            assert!(m.name().starts_with(&format!("lsps{}.", m.protocol())));
        }
        assert_eq!(Method::from_name("LSPS0.list_protocols"), None);
        assert_eq!(Method::from_name("lsps0.list_protocols "), None);
    }
}
