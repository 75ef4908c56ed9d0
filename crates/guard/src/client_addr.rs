//! Who the client is, by address, when there is no token to say so.
//!
//! Behind an Ingress every connection comes from the controller, so the peer address alone
//! would put every anonymous caller of a district in one rate bucket. The controller names
//! the client in `X-Forwarded-For`, but so can anyone: the header is read only when the
//! connection comes from a proxy the operator listed in `trusted_proxies`, and then from the
//! right, skipping further trusted proxies, so the address taken is the last one a trusted
//! hop saw. Whatever a client writes to the left of that is ignored (the usual "recursive
//! real IP" rule of nginx and Envoy).

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The `trusted_proxies` setting: addresses (`10.0.0.7`) or CIDR blocks (`10.244.0.0/16`).
pub fn parse_trusted(entries: &[String]) -> anyhow::Result<Vec<IpNet>> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("trusted_proxies: {entry:?} is not an address or CIDR block")
                })
        })
        .collect()
}

/// The client's address: the peer's, or the one trusted proxies forwarded.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.ip();
    if !is_trusted(&client) {
        return client;
    }
    // Several headers count as one list, in order (RFC 9110 §5.3).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            // A hop we cannot read ends what we can trust.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        let list: Vec<String> = list.iter().map(|n| n.to_string()).collect();
        parse_trusted(&list).unwrap()
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40_000)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let ip = client_ip(peer("203.0.113.9"), &headers(&["198.51.100.1"]), &nets(&[]));
        assert_eq!(ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        let ip = client_ip(
            peer("203.0.113.9"),
            &headers(&["198.51.100.1"]),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(ip, "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_a_forged_left_part_is_ignored() {
        // The client wrote "1.2.3.4" itself; the controller appended the address it saw.
        let ip = client_ip(
            peer("10.1.0.5"),
            &headers(&["1.2.3.4, 198.51.100.7"]),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn chained_trusted_proxies_are_skipped_across_headers() {
        let ip = client_ip(
            peer("10.1.0.5"),
            &headers(&["198.51.100.7", "10.2.0.1"]),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks_and_nothing_else() {
        let trusted = nets(&["10.0.0.7", " 10.244.0.0/16 ", "fd00::/8"]);
        assert!(trusted[0].contains(&"10.0.0.7".parse::<IpAddr>().unwrap()));
        assert!(!trusted[0].contains(&"10.0.0.8".parse::<IpAddr>().unwrap()));
        assert!(trusted[1].contains(&"10.244.9.1".parse::<IpAddr>().unwrap()));
        for bad in ["10.0.0.0/33", "ingress", ""] {
            let error = parse_trusted(&[bad.to_owned()]).unwrap_err().to_string();
            assert!(error.contains("trusted_proxies"), "{error}");
        }
    }

    #[test]
    fn without_a_readable_header_the_proxy_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
        assert_eq!(
            client_ip(peer("10.1.0.5"), &headers(&[]), &trusted),
            "10.1.0.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer("10.1.0.5"), &headers(&["not-an-ip"]), &trusted),
            "10.1.0.5".parse::<IpAddr>().unwrap()
        );
        // Garbage to the left of a readable hop does not hide the hop.
        assert_eq!(
            client_ip(peer("fd00::1"), &headers(&["junk, 2001:db8::2"]), &trusted),
            "2001:db8::2".parse::<IpAddr>().unwrap()
        );
    }
}
