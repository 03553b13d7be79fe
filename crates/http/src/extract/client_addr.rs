//! The client address: the socket peer, or the first untrusted hop of
//! `X-Forwarded-For` when the peer is a trusted proxy.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use ipnet::IpNet;

use crate::error::ApiError;
use crate::state::AppState;

/// Proxies whose `X-Forwarded-For` we believe (empty: the header is ignored).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Resolves the client address from the peer and the forwarded chain.
    pub fn client_of(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<IpAddr> = forwarded_for
            .unwrap_or_default()
            .split(',')
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        // Walk from the nearest hop back; the first one we do not trust is the client.
        Some(
            hops.iter()
                .rev()
                .copied()
                .find(|ip| !self.trusts(*ip))
                .or(hops.first().copied())
                .unwrap_or(peer),
        )
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
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let ip = proxies.client_of(peer, forwarded);
        ready(Ok(ClientAddr(
            ip.map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown".into()),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_of(Some(ip("10.0.0.1")), Some("1.2.3.4")),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn the_first_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies(vec!["10.0.0.0/8".parse().expect("cidr")]);
        let got = proxies.client_of(Some(ip("10.0.0.1")), Some("6.6.6.6, 1.2.3.4, 10.0.0.7"));
        assert_eq!(
            got,
            Some(ip("1.2.3.4")),
            "a spoofed leftmost entry is not believed"
        );
        assert_eq!(
            proxies.client_of(Some(ip("8.8.8.8")), Some("1.2.3.4")),
            Some(ip("8.8.8.8"))
        );
        assert_eq!(
            proxies.client_of(Some(ip("10.0.0.1")), None),
            Some(ip("10.0.0.1"))
        );
    }
}
