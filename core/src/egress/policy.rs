//! Where server-side requests may go: which addresses are public, which
//! are inside (loopback, private ranges: allowed only when an operator
//! lists them) and which are never reached (link-local and the cloud
//! metadata addresses, multicast, unspecified, Agora's own listeners).
//!
//! Addresses that carry an IPv4 address inside an IPv6 one (mapped,
//! NAT64, 6to4, the old compatible form) are judged by the IPv4 address,
//! so `[::ffff:127.0.0.1]` is loopback. Decimal and octal spellings of an
//! IPv4 host (`2130706433`, `0177.0.0.1`) are parsed as the URL standard
//! says before they get here, so they are judged as what they are.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// What kind of place an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Reachable from the internet: allowed.
    Public,
    /// Inside some network (loopback, private, carrier-grade NAT):
    /// allowed only when an operator lists it.
    Inside(&'static str),
    /// Never fetched, whatever the operator lists.
    Never(&'static str),
}

/// One entry of `AGORA_MONITOR_ALLOW`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// An address range (a single address is a /32 or /128).
    Net(IpNet),
    /// Every address this host name resolves to.
    Host(String),
}

impl std::fmt::Display for Allowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Allowed::Net(net) => write!(f, "{net}"),
            Allowed::Host(host) => f.write_str(host),
        }
    }
}

/// Parses a comma- or space-separated list of CIDRs, addresses and host
/// names; the error names the entry and the rule.
pub fn parse_allowed(list: &str) -> Result<Vec<Allowed>, String> {
    list.split([',', ' ', '\n']).map(str::trim).filter(|e| !e.is_empty()).map(parse_entry).collect()
}

/// A CIDR (truncated to its network) or a single address (`[…]` allowed),
/// IPv4 inside IPv6 taken as the IPv4 address.
pub fn parse_net(entry: &str) -> Option<IpNet> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Some(net.trunc());
    }
    let ip = entry.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok()?;
    Some(IpNet::from(canonical(ip)))
}

fn parse_entry(entry: &str) -> Result<Allowed, String> {
    if let Some(net) = parse_net(entry) {
        return Ok(Allowed::Net(net));
    }
    let host = entry.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!("{entry:?} is neither a CIDR (10.0.0.0/8, fd00::/8), an address nor a host name"));
    }
    Ok(Allowed::Host(host))
}

/// The IPv4 address an IPv6 one stands for, if any; else the address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    // NAT64 (64:ff9b::/96) and the deprecated compatible form (::/96,
    // except :: and ::1 themselves).
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) || (s[..6] == [0; 6] && u32::from(low) > 1) {
        return IpAddr::V4(low);
    }
    // 6to4 (2002::/16) carries the IPv4 address in its next 32 bits.
    if s[0] == 0x2002 {
        return IpAddr::V4(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    ip
}

const INSIDE_WORDS: [&str; 4] = [
    "loopback (127.0.0.0/8, ::1)",
    "private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7)",
    "carrier-grade NAT (100.64.0.0/10)",
    "benchmarking and special-purpose (198.18.0.0/15, 192.0.0.0/24)",
];
const NEVER_WORDS: [&str; 6] = [
    "link-local and cloud metadata (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200)",
    "unspecified (0.0.0.0/8, ::)",
    "multicast and broadcast (224.0.0.0/4, 240.0.0.0/4, ff00::/8)",
    "documentation ranges",
    "Teredo and discard ranges (2001::/32, 100::/64)",
    "Agora's own listeners",
];

/// What kind of place `ip` is.
pub fn place(ip: IpAddr) -> Place {
    match canonical(ip) {
        IpAddr::V4(v4) => place_v4(v4),
        IpAddr::V6(v6) => place_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn place_v4(ip: Ipv4Addr) -> Place {
    const NEVER: [([u8; 4], u32, &str); 8] = [
        ([0, 0, 0, 0], 8, "unspecified"),
        ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
        ([100, 100, 100, 200], 32, "cloud metadata"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved or broadcast"),
    ];
    const INSIDE: [([u8; 4], u32, &str); 7] = [
        ([127, 0, 0, 0], 8, "loopback"),
        ([10, 0, 0, 0], 8, "private"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 168, 0, 0], 16, "private"),
        ([100, 64, 0, 0], 10, "shared (carrier-grade NAT)"),
        ([192, 0, 0, 0], 24, "special-purpose"),
        ([198, 18, 0, 0], 15, "benchmarking"),
    ];
    if let Some((_, _, what)) = NEVER.iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix)) {
        return Place::Never(what);
    }
    if let Some((_, _, what)) = INSIDE.iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix)) {
        return Place::Inside(what);
    }
    Place::Public
}

fn place_v6(ip: Ipv6Addr) -> Place {
    let s = ip.segments();
    if ip.is_unspecified() {
        Place::Never("unspecified")
    } else if ip.is_loopback() {
        Place::Inside("loopback")
    } else if s[0] & 0xff00 == 0xff00 {
        Place::Never("multicast")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Place::Never("link-local")
    } else if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Place::Never("cloud metadata")
    } else if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
        Place::Inside("private")
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        Place::Never("documentation")
    } else if s[0] == 0x2001 && s[1] == 0 {
        Place::Never("Teredo tunnel")
    } else if s[..4] == [0x100, 0, 0, 0] {
        Place::Never("discard")
    } else {
        Place::Public
    }
}

/// Why a destination is refused. Says what the address is, never what
/// answered there (nothing did: no connection is made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused by the destination policy: {0}")]
pub struct Refused(pub String);

/// The destination policy: one for every server-side fetch.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    allowed: Vec<Allowed>,
    /// Agora's own listeners (the web server, the embedded S3 endpoint).
    own: Vec<SocketAddr>,
}

impl DestinationPolicy {
    pub fn new(allowed: Vec<Allowed>) -> Self {
        DestinationPolicy { allowed, own: Vec::new() }
    }

    /// Refuses this listener of Agora's (added once it is bound).
    pub fn with_own_listener(mut self, addr: SocketAddr) -> Self {
        self.own.push(addr);
        self
    }

    /// The policy in words: what is allowed, what is refused unless
    /// allowed, what is always refused.
    pub fn describe(&self) -> (Vec<String>, Vec<String>, Vec<&'static str>, Vec<&'static str>) {
        (
            self.allowed.iter().map(ToString::to_string).collect(),
            self.own.iter().map(ToString::to_string).collect(),
            INSIDE_WORDS.to_vec(),
            NEVER_WORDS.to_vec(),
        )
    }

    /// Whether the operator listed this host name.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.allowed.iter().any(|a| matches!(a, Allowed::Host(h) if h.eq_ignore_ascii_case(host)))
    }

    /// Checks one address a connection would go to. `host_listed`: the
    /// name it was reached by is on the operator's list.
    pub fn check(&self, addr: SocketAddr, host_listed: bool) -> Result<(), Refused> {
        let ip = canonical(addr.ip());
        if self.is_own(ip, addr.port()) {
            return Err(Refused("that is Agora's own listener".into()));
        }
        match place(ip) {
            Place::Public => Ok(()),
            Place::Never(what) => Err(Refused(format!("{what} addresses are never fetched"))),
            Place::Inside(_) if host_listed || self.allowed.iter().any(|a| matches!(a, Allowed::Net(net) if net.contains(&ip))) => Ok(()),
            Place::Inside(what) => {
                Err(Refused(format!("{what} addresses are fetched only when an operator lists them (AGORA_MONITOR_ALLOW)")))
            }
        }
    }

    fn is_own(&self, ip: IpAddr, port: u16) -> bool {
        self.own.iter().any(|own| own.port() == port && (canonical(own.ip()) == ip || (own.ip().is_unspecified() && is_this_host(ip))))
    }
}

/// Whether `ip` is one of this machine's addresses (a listener bound to
/// every address answers on each of them): only those can be bound.
fn is_this_host(ip: IpAddr) -> bool {
    ip.is_loopback() || std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(addr: &str) -> SocketAddr {
        addr.parse().unwrap()
    }

    /// An address and what its place must satisfy.
    type Case = (&'static str, fn(Place) -> bool);

    #[test]
    fn places() {
        let cases: [Case; 22] = [
            ("8.8.8.8", |p| p == Place::Public),
            ("127.0.0.1", |p| p == Place::Inside("loopback")),
            ("127.255.0.9", |p| p == Place::Inside("loopback")),
            ("10.1.2.3", |p| p == Place::Inside("private")),
            ("172.31.0.1", |p| p == Place::Inside("private")),
            ("172.32.0.1", |p| p == Place::Public),
            ("192.168.1.1", |p| p == Place::Inside("private")),
            ("100.64.0.1", |p| matches!(p, Place::Inside(_))),
            ("169.254.169.254", |p| matches!(p, Place::Never(_))),
            ("100.100.100.200", |p| matches!(p, Place::Never(_))),
            ("0.0.0.0", |p| matches!(p, Place::Never(_))),
            ("224.0.0.1", |p| matches!(p, Place::Never(_))),
            ("255.255.255.255", |p| matches!(p, Place::Never(_))),
            ("::1", |p| p == Place::Inside("loopback")),
            ("::", |p| matches!(p, Place::Never(_))),
            ("::ffff:127.0.0.1", |p| p == Place::Inside("loopback")),
            ("::ffff:169.254.169.254", |p| matches!(p, Place::Never(_))),
            ("64:ff9b::7f00:1", |p| p == Place::Inside("loopback")),
            ("2002:7f00:1::", |p| p == Place::Inside("loopback")),
            ("fe80::1", |p| matches!(p, Place::Never(_))),
            ("fd00:ec2::254", |p| p == Place::Never("cloud metadata")),
            ("fd12::1", |p| p == Place::Inside("private")),
        ];
        for (ip, expected) in cases {
            let got = place(ip.parse().unwrap());
            assert!(expected(got), "{ip} is {got:?}");
        }
        assert_eq!(place("2606:4700::1111".parse().unwrap()), Place::Public);
    }

    #[test]
    fn the_allow_list_opens_inside_addresses_only() {
        let policy = DestinationPolicy::new(parse_allowed("10.0.0.0/8, 127.0.0.1 monitored.internal").unwrap());
        assert!(policy.check(v("10.9.8.7:80"), false).is_ok());
        assert!(policy.check(v("127.0.0.1:5000"), false).is_ok());
        assert!(policy.check(v("[::ffff:127.0.0.1]:5000"), false).is_ok(), "a mapped address is its IPv4 address");
        assert!(policy.check(v("127.0.0.2:5000"), false).is_err());
        assert!(policy.check(v("192.168.0.1:80"), false).is_err());
        assert!(policy.check(v("192.168.0.1:80"), true).is_ok(), "a listed host name's addresses");
        assert!(policy.check(v("169.254.169.254:80"), true).is_err(), "metadata stays refused");
        assert!(policy.allows_host("Monitored.Internal."));
        let open = DestinationPolicy::new(parse_allowed("0.0.0.0/0").unwrap());
        assert!(open.check(v("169.254.169.254:80"), false).is_err());
        assert!(open.check(v("0.0.0.0:80"), false).is_err());
    }

    #[test]
    fn own_listeners_are_refused_even_when_listed() {
        let policy = DestinationPolicy::new(parse_allowed("127.0.0.0/8").unwrap())
            .with_own_listener(v("127.0.0.1:3000"))
            .with_own_listener(v("0.0.0.0:9000"));
        assert!(policy.check(v("127.0.0.1:3000"), false).is_err());
        assert!(policy.check(v("[::ffff:127.0.0.1]:3000"), false).is_err());
        assert!(policy.check(v("127.0.0.1:3001"), false).is_ok());
        assert!(policy.check(v("127.0.0.5:9000"), false).is_err(), "a listener on every address answers on loopback too");
        assert!(policy.check(v("8.8.8.8:9000"), false).is_ok(), "not this machine");
    }

    #[test]
    fn allow_entries_are_checked() {
        assert!(parse_allowed("").unwrap().is_empty());
        assert_eq!(parse_allowed("10.0.0.1/8").unwrap(), vec![Allowed::Net("10.0.0.0/8".parse().unwrap())]);
        assert_eq!(parse_allowed("[::1]").unwrap(), vec![Allowed::Net("::1/128".parse().unwrap())]);
        for bad in ["10.0.0.0/33", "-", "a.-b", "1.2.3", "bad_host.example", "http://x"] {
            let err = parse_allowed(bad).unwrap_err();
            assert!(err.contains("neither"), "{bad}: {err}");
        }
    }
}
