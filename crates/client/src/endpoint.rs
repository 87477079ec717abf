//! URLs: the API base and every path and query built on it.
//!
//! The filter's query value comes from nxlog-filter's encoder (every byte
//! outside `A-Z a-z 0-9 - . _ ~` as `%XX`) and is set as the query text
//! directly. The `url` crate leaves `%XX` and unreserved bytes alone, so the
//! value is encoded exactly once; `query_pairs_mut` is not used because it
//! form-encodes a space as `+`.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use url::{Origin, Url};

use crate::error::{ConfigError, escape_controls};

/// What a path segment must encode: the URL standard's path-segment set.
/// `*` is not in it, so `agents/*` stays literal.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%');

/// Query keys this client sets itself; a base URL may not carry them.
const OWN_KEYS: [&str; 3] = ["filter", "offset", "limit"];

/// The validated API base, and the builder of every request URL.
#[derive(Clone, Debug)]
pub(crate) struct Endpoints {
    /// Ends in `/api/<org>/api/v1/`, without query or fragment.
    api_base: Url,
    /// The query text the base URL carried, kept as given (already encoded).
    base_query: Option<String>,
    org: String,
}

impl Endpoints {
    /// Validates the base URL and organisation id, and works out the API base.
    pub(crate) fn new(base_url: &str, org: &str) -> Result<Endpoints, ConfigError> {
        let org = check_org(org)?;
        let input = base_url.trim();
        let refuse = |reason: &str| ConfigError::BaseUrl {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };

        let mut url = Url::parse(input).map_err(|e| refuse(&e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::BaseUrlCredentials);
        }
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(refuse(&format!(
                "expected scheme `http` or `https`, found `{}`",
                url.scheme()
            )));
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(refuse("expected a host"));
        }
        if url.fragment().is_some() {
            return Err(refuse("expected no fragment (`#...`)"));
        }

        // A query on the base (say, a gateway's routing key) is kept as it
        // was given and sent first on every request; only our own keys clash.
        let base_query = url.query().filter(|q| !q.is_empty()).map(str::to_owned);
        if let Some(query) = &base_query {
            for (key, _) in url.query_pairs() {
                if OWN_KEYS.contains(&key.as_ref()) {
                    return Err(refuse(&format!(
                        "expected no `{key}` in the query, found `{query}`; the client sets it"
                    )));
                }
            }
        }
        url.set_query(None);

        // Either the platform base (append the API path) or the full API
        // base already ending in `api/<org>/api/v1`. The base's path is
        // already percent-encoded: its segments are kept byte for byte
        // (`a%20b` stays `a%20b`, never `a%2520b`) and only compared
        // decoded. Empty segments (`//`) are dropped.
        let path = {
            let segments: Vec<&str> = url
                .path_segments()
                .map(|s| s.filter(|s| !s.is_empty()).collect())
                .unwrap_or_default();
            let decoded: Vec<_> =
                segments.iter().map(|s| percent_decode_str(s).decode_utf8_lossy()).collect();
            let mut path = String::with_capacity(url.path().len() + org.len() + 16);
            for segment in &segments {
                path.push('/');
                path.push_str(segment);
            }
            match decoded.as_slice() {
                [.., api, named, api2, v1] if api == "api" && api2 == "api" && v1 == "v1" => {
                    if named != &org {
                        return Err(refuse(&format!(
                            "expected the api path of organisation `{org}`, found that of `{}`; \
                             give the platform base or the matching organisation",
                            escape_controls(named)
                        )));
                    }
                }
                _ => {
                    path.push_str("/api/");
                    path.push_str(&org);
                    path.push_str("/api/v1");
                }
            }
            // The API base ends in `/`, so request paths are appended to it.
            path.push('/');
            path
        };
        // `set_path` encodes only what may not appear in a path; `%XX`
        // stays as it is.
        url.set_path(&path);

        Ok(Endpoints { api_base: url, base_query, org })
    }

    pub(crate) fn api_base(&self) -> &Url {
        &self.api_base
    }

    pub(crate) fn org(&self) -> &str {
        &self.org
    }

    /// The origin requests go to; redirects elsewhere are refused.
    pub(crate) fn origin(&self) -> Origin {
        self.api_base.origin()
    }

    /// `<api base>/<segments...>` with the given query parameters.
    ///
    /// Each segment is percent-encoded as a path segment (`*` stays
    /// literal); segments are the client's own constants and checked agent
    /// ids, never `.` or `..`. `params` values must already be
    /// percent-encoded query values.
    pub(crate) fn url(&self, segments: &[&str], params: &[(&str, &str)]) -> Url {
        // The text is composed and parsed once: this is the hot path of
        // many-id commands, and cheaper than editing a `Url` segment by
        // segment. Parsing leaves `%XX` and unreserved bytes as they are.
        let mut text = String::with_capacity(self.api_base.as_str().len() + 128);
        text.push_str(self.api_base.as_str());
        for (index, segment) in segments.iter().enumerate() {
            if index > 0 {
                text.push('/');
            }
            text.extend(utf8_percent_encode(segment, SEGMENT));
        }

        let mut query = self.base_query.clone().unwrap_or_default();
        for (key, value) in params {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(key);
            query.push('=');
            query.push_str(value);
        }
        if !query.is_empty() {
            text.push('?');
            text.push_str(&query);
        }

        // The base is a valid URL and everything added is encoded, so this
        // parses; the slower segment-by-segment path is a safe fallback.
        Url::parse(&text).unwrap_or_else(|_| self.url_by_segments(segments, &query))
    }

    fn url_by_segments(&self, segments: &[&str], query: &str) -> Url {
        let mut url = self.api_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        url
    }
}

/// The organisation id must be one non-empty path segment of unreserved
/// characters.
fn check_org(org: &str) -> Result<String, ConfigError> {
    let org = org.trim();
    let refuse = |reason: String| ConfigError::Org { input: org.to_owned(), reason };
    if org.is_empty() {
        return Err(refuse("expected an id, found nothing".to_owned()));
    }
    if org.chars().all(|c| c == '.') {
        return Err(refuse("expected an id, found only dots".to_owned()));
    }
    if let Some((position, c)) =
        org.char_indices().find(|(_, c)| !(c.is_ascii_alphanumeric() || "-._~".contains(*c)))
    {
        return Err(refuse(format!(
            "expected letters, digits, `-`, `.`, `_` or `~`, found `{}` at byte {position}",
            c.escape_default()
        )));
    }
    Ok(org.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_base(base: &str, org: &str, expected: Result<&str, &str>) {
        let got = Endpoints::new(base, org).map(|e| e.url(&["agents", "*"], &[]).to_string());
        match (got, expected) {
            (Ok(url), Ok(want)) => assert_eq!(url, want, "base {base:?}"),
            (Err(err), Err(want)) => assert_eq!(err.to_string(), want, "base {base:?}"),
            (got, want) => panic!("base {base:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn bases() {
        let all = "https://agents.example.com/api/o/api/v1/agents/*";
        check_base("https://agents.example.com", "o", Ok(all));
        check_base("https://agents.example.com/", "o", Ok(all));
        check_base("  https://agents.example.com//  ", "o", Ok(all));
        check_base("https://agents.example.com/api/o/api/v1", "o", Ok(all));
        check_base("https://agents.example.com/api/o/api/v1/", "o", Ok(all));
        check_base(
            "https://agents.example.com/api/other/api/v1/",
            "o",
            Err(
                "invalid base url `https://agents.example.com/api/other/api/v1/`: expected the api path of organisation `o`, found that of `other`; give the platform base or the matching organisation",
            ),
        );
        check_base(
            "https://h/p/api/O/api/v1",
            "o",
            Err(
                "invalid base url `https://h/p/api/O/api/v1`: expected the api path of organisation `o`, found that of `O`; give the platform base or the matching organisation",
            ),
        );
        check_base(
            "https://h/api/%1B/api/v1",
            "o",
            Err(
                "invalid base url `https://h/api/%1B/api/v1`: expected the api path of organisation `o`, found that of `\\u{1b}`; give the platform base or the matching organisation",
            ),
        );
        check_base("https://h/api/%6F/api/v1/", "o", Ok("https://h/api/%6F/api/v1/agents/*"));
        check_base("https://h/x/api/v1/", "o", Ok("https://h/x/api/v1/api/o/api/v1/agents/*"));
        check_base("http://h/a b/", "o", Ok("http://h/a%20b/api/o/api/v1/agents/*"));
        check_base("http://h/a%20b/", "o", Ok("http://h/a%20b/api/o/api/v1/agents/*"));
        check_base("http://h/a%2Fb/c", "o", Ok("http://h/a%2Fb/c/api/o/api/v1/agents/*"));
        check_base("http://h/a%25b/", "o", Ok("http://h/a%25b/api/o/api/v1/agents/*"));
        check_base("http://h/%E6%97%A5/", "o", Ok("http://h/%E6%97%A5/api/o/api/v1/agents/*"));
        check_base("http://h/日", "o", Ok("http://h/%E6%97%A5/api/o/api/v1/agents/*"));
        check_base("http://h/a%20b/api/o/api/v1/", "o", Ok("http://h/a%20b/api/o/api/v1/agents/*"));
        check_base(
            "http://127.0.0.1:8080/prefix",
            "demo",
            Ok("http://127.0.0.1:8080/prefix/api/demo/api/v1/agents/*"),
        );
        check_base(
            "https://agents.example.com/?tenant=a%20b",
            "o",
            Ok("https://agents.example.com/api/o/api/v1/agents/*?tenant=a%20b"),
        );
        check_base(
            "https://agents.example.com/?filter=x",
            "o",
            Err(
                "invalid base url `https://agents.example.com/?filter=x`: expected no `filter` in the query, found `filter=x`; the client sets it",
            ),
        );
        check_base(
            "agents.example.com",
            "o",
            Err("invalid base url `agents.example.com`: relative URL without a base"),
        );
        check_base(
            "ftp://agents.example.com",
            "o",
            Err(
                "invalid base url `ftp://agents.example.com`: expected scheme `http` or `https`, found `ftp`",
            ),
        );
        check_base(
            "https://user:pw@agents.example.com",
            "o",
            Err("base url must not hold a user name or password; give the token instead"),
        );
        check_base(
            "https://agents.example.com/#x",
            "o",
            Err("invalid base url `https://agents.example.com/#x`: expected no fragment (`#...`)"),
        );
        check_base(
            "https://h",
            "",
            Err("invalid organisation id ``: expected an id, found nothing"),
        );
        check_base(
            "https://h",
            "..",
            Err("invalid organisation id `..`: expected an id, found only dots"),
        );
        check_base(
            "https://h",
            "a/b",
            Err(
                "invalid organisation id `a/b`: expected letters, digits, `-`, `.`, `_` or `~`, found `/` at byte 1",
            ),
        );
    }

    fn check_url(segments: &[&str], params: &[(&str, &str)], expected: &str) {
        let endpoints = Endpoints::new("http://h/?k=v", "o").unwrap();
        assert_eq!(endpoints.url(segments, params).as_str(), expected);
    }

    #[test]
    fn composed_and_segment_urls_agree() {
        let endpoints = Endpoints::new("http://h:8/p/?k=a%20b", "o").unwrap();
        for segments in [
            &["agents", "*"][..],
            &["agents", "*", "certificate", "renew"],
            &["agents", "1589a98a-66b3-11ee-80d5-4f584c6f672d", "files-sync"],
            &["a b", "c/d", "e%f", "g?h#i"],
        ] {
            for query in ["", "k=a%20b&filter=%28x%29"] {
                let composed = endpoints.url(segments, &[]);
                let mut by_segments = endpoints.url_by_segments(segments, query);
                if query.is_empty() {
                    by_segments.set_query(Some("k=a%20b"));
                }
                let mut composed = composed;
                composed.set_query(by_segments.query());
                assert_eq!(composed, by_segments, "{segments:?}");
            }
        }
    }

    #[test]
    fn urls() {
        check_url(&["agents", "*", "count"], &[], "http://h/api/o/api/v1/agents/*/count?k=v");
        check_url(
            &["agents", "*", "certificate", "renew"],
            &[("filter", "%28q%3D%22a%2Bb%26c%3Dd%22%29")],
            "http://h/api/o/api/v1/agents/*/certificate/renew?k=v&filter=%28q%3D%22a%2Bb%26c%3Dd%22%29",
        );
        check_url(
            &["agents", "*"],
            &[("filter", "%28a%20b%29"), ("offset", "2"), ("limit", "100")],
            "http://h/api/o/api/v1/agents/*?k=v&filter=%28a%20b%29&offset=2&limit=100",
        );
    }
}
