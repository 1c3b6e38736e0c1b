//! The value types that check themselves while being deserialised.
//!
//! A value type rejects bad text from inside its serde visitor, so serde_yaml attaches the exact
//! line and field path to the error. They are shared by the schema (`raw`) and the config
//! sections the protocols own (e.g. `protocols::igmp::config`).

use std::{fmt, marker::PhantomData, net::Ipv4Addr, str::FromStr};

use serde::{
    de::{self, Visitor},
    Deserialize, Deserializer,
};

/// Deserialises any `FromStr<Err = String>` type from a YAML scalar, failing inside the visitor
/// so the error carries the scalar's position.
struct StrVisitor<T>(PhantomData<T>, &'static str);

impl<T: FromStr<Err = String>> Visitor<'_> for StrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        s.parse().map_err(E::custom)
    }
}

macro_rules! deserialize_from_str {
    ($ty:ty, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(StrVisitor(PhantomData, $expecting))
            }
        }
    };
}

/// A port or interface name: `[A-Za-z0-9_.-]{1,32}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name(pub String);

impl FromStr for Name {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
        if s.is_empty() || s.len() > 32 || !s.chars().all(ok_char) {
            return Err(format!(
                "`{s}` is not a valid name (1 to 32 of A-Z a-z 0-9 _ . -)"
            ));
        }
        Ok(Self(s.to_string()))
    }
}
deserialize_from_str!(Name, "a name");

/// A DPDK device: a virtual device's devargs (`net_af_packet0,iface=r0`) or a PCI address
/// (`0000:3b:00.0`, optionally followed by `,devargs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Device {
    /// The text as written, passed to the EAL unchanged.
    pub devargs: String,
    /// What identifies the device to DPDK: the vdev name, or the PCI address with its domain,
    /// in lower case. Two ports with the same key would be the same device.
    pub key: String,
}

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (id, args) = match s.split_once(',') {
            Some((id, args)) => (id, Some(args)),
            None => (s, None),
        };
        // Devargs after a comma must be there and contain no blanks.
        let args_ok = !matches!(args, Some(a) if a.is_empty() || a.contains(char::is_whitespace));
        let key = if let Some(driver) = id.strip_prefix("net_") {
            let ok = !driver.is_empty()
                && driver
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            (ok && args_ok).then(|| id.to_string())
        } else {
            pci_key(id).filter(|_| args_ok)
        };
        key.map(|key| Self {
            devargs: s.to_string(),
            key,
        })
        .ok_or_else(|| {
            format!(
                "`{s}` is neither a virtual device (net_<driver>[,key=value...]) \
                 nor a PCI address (0000:3b:00.0)"
            )
        })
    }
}
deserialize_from_str!(Device, "a device");

/// `[DDDD:]BB:DD.F` in hex (device up to 0x1f, function up to 7), as `dddd:bb:dd.f`.
fn pci_key(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (domain, bus, devfn) = match parts.as_slice() {
        [domain, bus, devfn] => (*domain, *bus, *devfn),
        [bus, devfn] => ("0000", *bus, *devfn),
        _ => return None,
    };
    let (dev, func) = devfn.split_once('.')?;
    let hex = |t: &str, max_len: usize| {
        (!t.is_empty() && t.len() <= max_len && t.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(t, 16).ok())
            .flatten()
    };
    let (domain, bus, dev, func) = (hex(domain, 4)?, hex(bus, 2)?, hex(dev, 2)?, hex(func, 1)?);
    (dev <= 0x1f && func <= 7).then(|| format!("{domain:04x}:{bus:02x}:{dev:02x}.{func:x}"))
}

/// Splits `address/len` (len 0..=32): the shared front half of every prefix-shaped value.
/// `example` goes into the message when the `/len` is missing.
fn split_prefix(s: &str, example: &str) -> Result<(Ipv4Addr, u8), String> {
    let Some((addr, len)) = s.split_once('/') else {
        return Err(format!("`{s}` has no prefix length (e.g. {example})"));
    };
    let address: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an IPv4 address"))?;
    let len = len
        .parse::<u8>()
        .ok()
        .filter(|&l| l <= 32)
        .ok_or_else(|| format!("`{len}` is not a prefix length (0..=32)"))?;
    Ok((address, len))
}

/// The netmask of a prefix length (0..=32) as a host-order u32.
fn mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

/// An interface address with its prefix length, `10.0.1.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InterfaceAddress {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

impl FromStr for InterfaceAddress {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (address, prefix_len) = split_prefix(s, "10.0.1.1/24")?;
        if let Some(why) = not_unicast(address) {
            return Err(format!(
                "{address} is {why}; an interface needs a unicast address"
            ));
        }
        // A /31 (RFC 3021) or /32 has no network or broadcast address to avoid.
        if prefix_len <= 30 {
            let mask = mask(prefix_len);
            let bits = u32::from(address);
            let network = Ipv4Addr::from(bits & mask);
            if bits & !mask == 0 {
                return Err(format!(
                    "{address} is the network address of {network}/{prefix_len}"
                ));
            }
            if bits & !mask == !mask {
                return Err(format!(
                    "{address} is the broadcast address of {network}/{prefix_len}"
                ));
            }
        }
        Ok(Self {
            address,
            prefix_len,
        })
    }
}
deserialize_from_str!(InterfaceAddress, "an IPv4 address/prefix");

/// Why `a` cannot be a host's (or a source's) address, if it cannot.
fn not_unicast(a: Ipv4Addr) -> Option<&'static str> {
    if a.is_unspecified() {
        Some("the unspecified address")
    } else if a.is_multicast() {
        Some("a multicast address")
    } else if a.is_broadcast() {
        Some("the broadcast address")
    } else if a.is_loopback() {
        Some("a loopback address")
    } else if a.octets()[0] >= 240 {
        Some("in the reserved range 240.0.0.0/4")
    } else {
        None
    }
}

/// A group that may be routed: multicast, outside 224.0.0.0/24, whose packets routers never
/// forward (RFC 5771 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group(pub Ipv4Addr);

impl FromStr for Group {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let a: Ipv4Addr = s
            .parse()
            .map_err(|_| format!("`{s}` is not an IPv4 address"))?;
        if !a.is_multicast() {
            return Err(format!("{a} is not a multicast address"));
        }
        if a.octets()[..3] == [224, 0, 0] {
            return Err(format!(
                "{a} is in 224.0.0.0/24 (link-local control), which is never routed"
            ));
        }
        Ok(Self(a))
    }
}
deserialize_from_str!(Group, "a multicast group address");

/// A route's source: `*` for any source, or a unicast address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Source(pub Option<Ipv4Addr>);

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "*" {
            return Ok(Self(None));
        }
        let a: Ipv4Addr = s
            .parse()
            .map_err(|_| format!("`{s}` is neither \"*\" nor an IPv4 address"))?;
        match not_unicast(a) {
            Some(why) => Err(format!(
                "{a} is {why}; a source must be unicast (or \"*\" for any)"
            )),
            None => Ok(Self(Some(a))),
        }
    }
}
deserialize_from_str!(Source, "\"*\" or a source address");

/// An integer in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounded<const MIN: u64, const MAX: u64>(pub u64);

struct BoundedVisitor<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> Visitor<'_> for BoundedVisitor<MIN, MAX> {
    type Value = Bounded<MIN, MAX>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer in {MIN}..={MAX}")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        if (MIN..=MAX).contains(&v) {
            Ok(Bounded(v))
        } else {
            Err(E::custom(format!("{v} is out of range {MIN}..={MAX}")))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!("{v} is out of range {MIN}..={MAX}"))),
        }
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_u64(BoundedVisitor)
    }
}

/// A unicast destination prefix, `10.9.0.0/16` or `0.0.0.0/0`; host bits must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub network: Ipv4Addr,
    pub len: u8,
}

impl FromStr for Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (network, len) = split_prefix(s, "10.9.0.0/16")?;
        let mask = mask(len);
        if u32::from(network) & !mask != 0 {
            return Err(format!(
                "{network}/{len} has host bits set (the network is {}/{len})",
                Ipv4Addr::from(u32::from(network) & mask)
            ));
        }
        if network.is_multicast() || network.octets()[0] >= 240 {
            return Err(format!("{network}/{len} is not a unicast prefix"));
        }
        Ok(Self { network, len })
    }
}
deserialize_from_str!(Prefix, "an IPv4 network/prefix length");

/// The address of an upstream neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NextHop(pub Ipv4Addr);

impl FromStr for NextHop {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let a: Ipv4Addr = s
            .parse()
            .map_err(|_| format!("`{s}` is not an IPv4 address"))?;
        match not_unicast(a) {
            Some(why) => Err(format!("{a} is {why}; a next hop is a unicast address")),
            None => Ok(NextHop(a)),
        }
    }
}
deserialize_from_str!(NextHop, "an IPv4 address");

/// A duration in seconds, 0.1 to 3600, written as a number (`125`, `0.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Seconds(pub f64);

struct SecondsVisitor;

impl Visitor<'_> for SecondsVisitor {
    type Value = Seconds;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of seconds from 0.1 to 3600")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
        if (0.1..=3600.0).contains(&v) {
            Ok(Seconds(v))
        } else {
            Err(E::custom(format!(
                "{v} s is out of range (0.1 to 3600 seconds)"
            )))
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
        self.visit_f64(v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
        self.visit_f64(v as f64)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_f64(SecondsVisitor)
    }
}

/// A multicast prefix such as 232.0.0.0/8 (the SSM range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MulticastPrefix {
    pub network: Ipv4Addr,
    pub len: u8,
}

impl FromStr for MulticastPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (network, len) = split_prefix(s, "232.0.0.0/8")?;
        if len < 4 {
            return Err(format!(
                "/{len} is wider than the multicast range 224.0.0.0/4"
            ));
        }
        let mask = mask(len);
        if !network.is_multicast() || u32::from(network) & !mask != 0 {
            return Err(format!(
                "{network}/{len} is not a multicast network (inside 224.0.0.0/4, host bits zero)"
            ));
        }
        Ok(Self { network, len })
    }
}
deserialize_from_str!(MulticastPrefix, "a multicast prefix such as 232.0.0.0/8");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!("p0".parse::<Name>().is_ok());
        assert!("a.b_c-D9".parse::<Name>().is_ok());
        assert!("x".repeat(32).parse::<Name>().is_ok());
        for bad in ["", "a b", "é", "a/b", &"x".repeat(33)] {
            assert!(bad.parse::<Name>().is_err(), "{bad}");
        }
    }

    #[test]
    fn devices() {
        let key = |s: &str| s.parse::<Device>().map(|d| d.key);
        assert_eq!(
            key("net_af_packet0,iface=r0").as_deref(),
            Ok("net_af_packet0")
        );
        assert_eq!(key("net_null0").as_deref(), Ok("net_null0"));
        assert_eq!(key("0000:3B:00.0").as_deref(), Ok("0000:3b:00.0"));
        assert_eq!(key("3b:00.1").as_deref(), Ok("0000:3b:00.1"));
        assert_eq!(
            key("0000:3b:00.0,txq_inline_max=0").as_deref(),
            Ok("0000:3b:00.0")
        );
        for bad in [
            "",
            "eth0",
            "net_",
            "net_x,",
            "net_a b",
            "0000:3b:00",
            "3b:20.0",
            "3b:00.8",
            "g0:00.0",
            "1:2:3:4.0",
        ] {
            assert!(bad.parse::<Device>().is_err(), "{bad}");
        }
    }

    #[test]
    fn interface_addresses() {
        let a: InterfaceAddress = "10.0.1.1/24".parse().unwrap();
        assert_eq!((a.address, a.prefix_len), (Ipv4Addr::new(10, 0, 1, 1), 24));
        assert!("10.0.1.0/31".parse::<InterfaceAddress>().is_ok());
        assert!("10.0.1.7/32".parse::<InterfaceAddress>().is_ok());
        assert!("10.0.1.7/0".parse::<InterfaceAddress>().is_ok());
        for (bad, why) in [
            ("10.0.1.300/24", "not an IPv4 address"),
            ("10.0.1.1", "no prefix length"),
            ("10.0.1.1/33", "not a prefix length"),
            ("10.0.1.1/-1", "not a prefix length"),
            ("10.0.1.0/24", "network address"),
            ("10.0.1.255/24", "broadcast address"),
            ("0.0.0.0/8", "unspecified"),
            ("239.1.1.1/24", "multicast"),
            ("127.0.0.1/8", "loopback"),
        ] {
            let err = bad.parse::<InterfaceAddress>().unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn groups_and_sources() {
        assert!("239.1.1.1".parse::<Group>().is_ok());
        assert!("224.0.1.1".parse::<Group>().is_ok());
        assert!("224.0.0.5".parse::<Group>().is_err());
        assert!("10.1.1.1".parse::<Group>().is_err());
        assert_eq!("*".parse::<Source>(), Ok(Source(None)));
        assert_eq!(
            "10.0.1.2".parse::<Source>(),
            Ok(Source(Some(Ipv4Addr::new(10, 0, 1, 2))))
        );
        assert!("239.1.1.1".parse::<Source>().is_err());
        assert!("any".parse::<Source>().is_err());
    }
}
