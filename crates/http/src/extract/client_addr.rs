//! The client address: the socket peer, or the first untrusted hop of
//! `X-Forwarded-For` when the peer is a trusted proxy (API.md "Client
//! address"). Every `X-Forwarded-For` line of the request is one list, read
//! right to left; a hop may carry a port; a hop that does not parse ends the
//! walk and is the client, so a forged value can never skip the hops a
//! trusted proxy appended.

use std::future::{Ready, ready};
use std::net::{IpAddr, SocketAddr};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use ipnet::IpNet;

use crate::error::ApiError;
use crate::state::AppState;

/// Characters of an unparsable hop kept as the client's name.
const UNPARSED_CHARS: usize = 64;

/// Proxies whose `X-Forwarded-For` we believe (empty: the header is ignored).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

/// One hop of the forwarded chain.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hop {
    Ip(IpAddr),
    /// Not an address: ends the walk.
    Unparsed(String),
}

/// Reads `1.2.3.4`, `1.2.3.4:5555`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:443`; IPv4-mapped IPv6 becomes IPv4, so one client has one key.
fn parse_hop(hop: &str) -> Hop {
    let parsed = hop
        .parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| {
            hop.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .ok_or(())
                .and_then(|inner| inner.parse::<IpAddr>().map_err(|_| ()))
        });
    match parsed {
        Ok(ip) => Hop::Ip(ip.to_canonical()),
        Err(_) => Hop::Unparsed(
            hop.chars()
                .filter(|c| c.is_ascii_graphic())
                .take(UNPARSED_CHARS)
                .collect(),
        ),
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Resolves the client address from the peer and every
    /// `X-Forwarded-For` line (in the order received), as text: an IP
    /// address, `unparsed:<hop>` when the walk ended on a hop that is not
    /// one, or `unknown` without a peer.
    pub fn client_of(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> String {
        let Some(peer) = peer.map(|p| p.to_canonical()) else {
            return "unknown".into();
        };
        if !self.trusts(peer) {
            return peer.to_string();
        }
        // Empty list elements are no hops (RFC 9110 lists allow them).
        let hops: Vec<&str> = forwarded_for
            .iter()
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect();
        let mut client = Hop::Ip(peer);
        for hop in hops.iter().rev() {
            client = parse_hop(hop);
            match &client {
                Hop::Ip(ip) if self.trusts(*ip) => continue,
                _ => break,
            }
        }
        match client {
            Hop::Ip(ip) => ip.to_string(),
            Hop::Unparsed(text) => format!("unparsed:{text}"),
        }
    }
}

/// The resolved client address, as text (for rate-limit keys and logs).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequest for ClientAddr {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let proxies = req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.trusted_proxies.clone())
            .unwrap_or_default();
        let peer = req.peer_addr().map(|a| a.ip());
        // A line that is not text still counts: it cannot parse, so it ends the walk.
        let lines: Vec<String> = req
            .headers()
            .get_all("x-forwarded-for")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        ready(Ok(ClientAddr(proxies.client_of(peer, &lines))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies(vec![
            "10.0.0.0/8".parse().expect("cidr"),
            "fd00::/8".parse().expect("cidr"),
        ])
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_of(Some(ip("10.0.0.1")), &["1.2.3.4"]),
            "10.0.0.1"
        );
        assert_eq!(none.client_of(None, &["1.2.3.4"]), "unknown");
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let proxies = proxies();
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            proxies.client_of(peer, &["6.6.6.6, 1.2.3.4, 10.0.0.7"]),
            "1.2.3.4",
            "a spoofed leftmost entry is not believed"
        );
        assert_eq!(
            proxies.client_of(Some(ip("8.8.8.8")), &["1.2.3.4"]),
            "8.8.8.8"
        );
        assert_eq!(proxies.client_of(peer, &[]), "10.0.0.1");
        assert_eq!(
            proxies.client_of(peer, &["10.0.0.9, 10.0.0.8"]),
            "10.0.0.9",
            "only proxies: the leftmost hop is the client"
        );
    }

    #[test]
    fn every_line_is_one_list_read_right_to_left() {
        let proxies = proxies();
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            proxies.client_of(peer, &["6.6.6.6", "1.2.3.4"]),
            "1.2.3.4",
            "a forged first line cannot pick the address"
        );
        assert_eq!(
            proxies.client_of(peer, &["6.6.6.6", "1.2.3.4, 10.0.0.5", ""]),
            "1.2.3.4"
        );
        assert_eq!(proxies.client_of(peer, &["6.6.6.6,,1.2.3.4"]), "1.2.3.4");
    }

    #[test]
    fn hops_may_carry_ports_and_brackets() {
        let proxies = proxies();
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            proxies.client_of(peer, &["6.6.6.6, 1.2.3.4:5555"]),
            "1.2.3.4"
        );
        assert_eq!(
            proxies.client_of(peer, &["6.6.6.6, [2001:db8::1]:443"]),
            "2001:db8::1"
        );
        assert_eq!(
            proxies.client_of(peer, &["6.6.6.6, [2001:db8::1]"]),
            "2001:db8::1"
        );
        assert_eq!(
            proxies.client_of(peer, &["2001:db8::2, [fd00::1]:80"]),
            "2001:db8::2",
            "a trusted hop with a port is walked past"
        );
        assert_eq!(
            proxies.client_of(peer, &["::ffff:1.2.3.4"]),
            "1.2.3.4",
            "IPv4-mapped IPv6 is the IPv4 client"
        );
    }

    #[test]
    fn a_hop_that_does_not_parse_ends_the_walk_as_the_client() {
        let proxies = proxies();
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            proxies.client_of(peer, &["1.2.3.4, nonsense, 10.0.0.3"]),
            "unparsed:nonsense",
            "the forged 1.2.3.4 behind it is never reached"
        );
        assert_eq!(
            proxies.client_of(peer, &["1.2.3.4", "unknown"]),
            "unparsed:unknown"
        );
        let long = format!("1.2.3.4, {}", "x ".repeat(200));
        let client = proxies.client_of(peer, &[long.as_str()]);
        assert!(
            client.len() <= "unparsed:".len() + UNPARSED_CHARS,
            "{client}"
        );
    }
}
