//! Who a request came from when Agora sits behind reverse proxies or load
//! balancers.
//!
//! The connection's peer is the client unless an operator listed it as a
//! trusted proxy (`AGORA_TRUSTED_PROXIES`). Only then is `X-Forwarded-For`
//! read, right to left, skipping the trusted hops: the first address that
//! is not a trusted proxy is the client. Entries left of it were written by
//! the client itself and are never believed, so nobody can pick the address
//! their rate limits are counted under. A list of only trusted hops gives
//! the leftmost; an entry that is not an address ends the walk at the hop
//! that wrote it.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::egress::policy::{canonical, parse_net};

/// The address rate limits, monitoring and logs attribute a request to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma- or space-separated list of CIDRs and addresses; the
    /// error names the entry and the rule.
    pub fn parse(list: &str) -> Result<Self, String> {
        let nets = list
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|entry| parse_net(entry).ok_or_else(|| format!("{entry:?} is neither a CIDR (10.0.0.0/8, fd00::/8) nor an address")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn nets(&self) -> &[IpNet] {
        &self.0
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` carrying these `X-Forwarded-For`
    /// header values, in the order they arrived.
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>) -> ClientAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return ClientAddr(peer);
        }
        let hops: Vec<&str> = forwarded_for.into_iter().flat_map(|value| value.split(',')).map(str::trim).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        ClientAddr(client)
    }
}

/// An `X-Forwarded-For` entry: an address, optionally with a port
/// (`203.0.113.7:4711`, `[2001:db8::1]:4711`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(canonical(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.5"), ["203.0.113.7"]), ClientAddr(ip("10.0.0.5")));
    }

    #[test]
    fn a_peer_that_is_not_trusted_cannot_name_another_client() {
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(trusted.client(ip("198.51.100.9"), ["203.0.113.7"]), ClientAddr(ip("198.51.100.9")));
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted = proxies("10.0.0.0/8, 192.168.1.1");
        // The client wrote "1.2.3.4" itself; the proxies appended the rest.
        let client = trusted.client(ip("10.0.0.5"), ["1.2.3.4, 203.0.113.7", "192.168.1.1"]);
        assert_eq!(client, ClientAddr(ip("203.0.113.7")));
    }

    #[test]
    fn only_trusted_hops_give_the_leftmost_and_no_header_gives_the_proxy() {
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(trusted.client(ip("10.0.0.5"), ["10.1.1.1, 10.2.2.2"]), ClientAddr(ip("10.1.1.1")));
        assert_eq!(trusted.client(ip("10.0.0.5"), []), ClientAddr(ip("10.0.0.5")));
    }

    #[test]
    fn garbage_ends_the_walk_at_the_hop_that_wrote_it() {
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(trusted.client(ip("10.0.0.5"), ["203.0.113.7, unknown"]), ClientAddr(ip("10.0.0.5")));
        assert_eq!(trusted.client(ip("10.0.0.5"), ["nonsense, 203.0.113.8"]), ClientAddr(ip("203.0.113.8")));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let trusted = proxies("127.0.0.1, fd00::/8");
        assert_eq!(trusted.client(ip("::ffff:127.0.0.1"), ["203.0.113.7:4711"]), ClientAddr(ip("203.0.113.7")));
        assert_eq!(trusted.client(ip("fd00::1"), ["[2001:db8::1]:4711"]), ClientAddr(ip("2001:db8::1")));
        assert_eq!(trusted.client(ip("fd00::1"), ["[2001:db8::2]"]), ClientAddr(ip("2001:db8::2")));
    }

    #[test]
    fn a_bad_entry_is_named() {
        let err = TrustedProxies::parse("10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(err.contains("\"proxy.internal\""), "{err}");
    }
}
