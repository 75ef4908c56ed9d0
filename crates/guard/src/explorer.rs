//! The GraphQL explorer (GraphiQL), served by the guard itself: the page at a browser's
//! `GET /graphql` and its assets under `/explorer/`, all from this binary. The router's own
//! laboratory loads its scripts from a public CDN and never loads in an intranet; here the
//! page names no external URL and its Content-Security-Policy forbids loading any.
//!
//! GraphiQL and React come from the npm packages pinned in
//! services/gateway/explorer/package-lock.json; build.rs copies their UMD bundles.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

/// The page; every URL in it is a path on this server.
pub const PAGE: &str = include_str!("explorer/index.html");
/// Where the assets are served.
pub const PREFIX: &str = "/explorer/";

/// (name under [`PREFIX`], content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(env!("OUT_DIR"), "/explorer/graphiql.min.js")),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!(concat!(env!("OUT_DIR"), "/explorer/graphiql.min.css")),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/explorer/react.production.min.js"
        )),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(
            env!("OUT_DIR"),
            "/explorer/react-dom.production.min.js"
        )),
    ),
    (
        "LICENSES.txt",
        "text/plain; charset=utf-8",
        include_bytes!(concat!(env!("OUT_DIR"), "/explorer/LICENSES.txt")),
    ),
    (
        "start.js",
        "text/javascript; charset=utf-8",
        include_bytes!("explorer/start.js"),
    ),
    (
        "explorer.css",
        "text/css; charset=utf-8",
        include_bytes!("explorer/explorer.css"),
    ),
];

/// Only this server's own scripts, styles and connections (WebSocket included: CSP 3
/// `'self'` covers `ws:` to the same host). GraphiQL sets inline styles, and its icons are
/// `data:` URLs.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Whether a request to the GraphQL path is a browser asking for the page: a GET without
/// parameters that prefers HTML and is not a WebSocket upgrade.
pub fn wants_page(method: &Method, query: Option<&str>, headers: &HeaderMap) -> bool {
    method == Method::GET
        && query.is_none_or(str::is_empty)
        && !headers.contains_key(header::UPGRADE)
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// The page.
pub fn page() -> Response {
    respond("text/html; charset=utf-8", PAGE.as_bytes(), "no-cache")
}

/// An asset by its path (`/explorer/<name>`); 404 for anything else, and for everything
/// when the explorer is off.
pub fn asset(path: &str, enabled: bool) -> Response {
    let name = path.strip_prefix(PREFIX).unwrap_or_default();
    match ASSETS.iter().find(|(n, _, _)| enabled && *n == name) {
        // The bundles change only with the package lock, i.e. with a new binary.
        Some((_, content_type, bytes)) => respond(content_type, bytes, "public, max-age=3600"),
        None => {
            let mut response = Response::new(Body::from("no such explorer asset\n"));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}

fn respond(content_type: &'static str, bytes: &'static [u8], cache: &'static str) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `src`/`href` of the page, and every URL the start script builds, is a path on
    /// this server; a CDN link would break the explorer in an intranet.
    #[test]
    fn the_page_names_no_external_url() {
        let start = std::str::from_utf8(
            ASSETS
                .iter()
                .find(|(n, _, _)| *n == "start.js")
                .map(|(_, _, b)| *b)
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        for (name, text) in [("index.html", PAGE), ("start.js", start)] {
            for needle in ["http:", "https:", "//"] {
                // `//` starts the start script's comments; a protocol-relative URL would be
                // in an attribute.
                let hits = text
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                    .filter(|line| line.contains(needle))
                    .collect::<Vec<_>>();
                assert!(hits.is_empty(), "{name} names an external URL: {hits:?}");
            }
        }
        let mut linked = 0;
        for attribute in ["src=\"", "href=\""] {
            for (_, rest) in PAGE.match_indices(attribute).map(|(i, _)| PAGE.split_at(i)) {
                let value = &rest[attribute.len()..];
                let value = &value[..value.find('"').unwrap_or(value.len())];
                assert!(
                    value.starts_with(PREFIX),
                    "the page links {value}, not an asset under {PREFIX}"
                );
                let name = &value[PREFIX.len()..];
                assert!(
                    ASSETS.iter().any(|(n, _, _)| *n == name),
                    "the page links {value}, which the guard does not serve"
                );
                linked += 1;
            }
        }
        assert_eq!(linked, 6, "two stylesheets and four scripts");
    }

    #[test]
    fn the_bundles_are_there_and_self_contained() {
        for (name, _, bytes) in ASSETS {
            assert!(!bytes.is_empty(), "{name} is empty");
        }
        let graphiql = ASSETS[0].2;
        let text = String::from_utf8_lossy(graphiql);
        // The UMD bundle takes only React and ReactDOM from the page.
        assert!(text.contains("GraphiQL=t(e.React,e.ReactDOM)"));
        assert!(!text.contains("sourceMappingURL"));
        let css = String::from_utf8_lossy(ASSETS[1].2);
        assert!(
            !css.contains("url(http") && !css.contains("@import"),
            "the stylesheet loads nothing from elsewhere"
        );
    }
}
