//! The little URL handling SimpleFIN needs: splitting a claim or access URL
//! into its parts, percent-coding, and taking secrets out of any text.
//! Error texts here never quote the URL they refuse: it may hold a secret.

/// `https`, or `http` where the caller allows it (loopback, tests only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Https,
    Http,
}

/// Where a request goes: everything of a URL but its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub scheme: Scheme,
    /// As written in the URL, lower-cased (an IPv6 address keeps its brackets).
    pub host: String,
    pub port: Option<u16>,
    /// Empty or starting with `/`, never ending with `/`.
    pub path: String,
}

impl Target {
    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        match self.port {
            Some(port) => format!("{scheme}://{}:{port}", self.host),
            None => format!("{scheme}://{}", self.host),
        }
    }

    /// The host is this machine (127.0.0.1, ::1 or localhost).
    pub fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "[::1]" | "localhost")
    }
}

/// Splits `scheme://[userinfo@]host[:port][/path]` into a [`Target`] and the
/// raw user info. Refuses queries, fragments, other schemes, blanks and
/// control characters.
pub(super) fn split(url: &str) -> Result<(Target, Option<&str>), String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains blanks or control characters".into());
    }
    let (scheme, rest) = url.split_once("://").ok_or("it does not start with https://")?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        _ => return Err("it does not start with https://".into()),
    };
    if rest.contains(['?', '#']) {
        return Err("it has a query or a fragment".into());
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport)?;
    Ok((Target { scheme, host, port, path: path.trim_end_matches('/').to_string() }, userinfo))
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport.find(']').ok_or("its IPv6 host has no closing ]")?;
        let (host, rest) = hostport.split_at(end + 1);
        let ok = host[1..end].chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        if !ok || end == 1 {
            return Err("its IPv6 host is not valid".into());
        }
        (host, rest.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let host_ok = host.starts_with('[') || host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if host.is_empty() || !host_ok {
        return Err("its host name is missing or not valid".into());
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or("its port is not a number from 1 to 65535")?),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Decodes `%XX` escapes (user names and passwords in a URL).
pub(super) fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or("its user name or password has a bad % escape")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "its user name or password is not UTF-8".into())
}

/// Percent-encodes a query value (everything but the unreserved characters).
pub(super) fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Secrets shorter than this are not searched for in free text (they would
/// blank out ordinary words); the user-info rule still hides them in URLs.
const MIN_SECRET: usize = 3;

/// `text` with every secret replaced by `***` and the user info of every URL
/// in it (`scheme://user:pass@`) hidden: for error texts that come from
/// elsewhere (the HTTP library, the operating system).
pub(super) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= MIN_SECRET) {
        out = out.replace(secret, "***");
    }
    hide_userinfo(&out)
}

fn hide_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace()).unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_url_with_credentials_port_and_path() {
        let (t, user) = split("HTTPS://u:p@Bridge.Example.org:8443/simplefin/").unwrap();
        assert_eq!(user, Some("u:p"));
        assert_eq!(t.host, "bridge.example.org");
        assert_eq!(t.port, Some(8443));
        assert_eq!(t.path, "/simplefin");
        assert_eq!(t.origin(), "https://bridge.example.org:8443");
        let (t, user) = split("http://[::1]:80").unwrap();
        assert_eq!((user, t.host.as_str(), t.path.as_str(), t.scheme), (None, "[::1]", "", Scheme::Http));
        assert!(t.is_loopback());
    }

    #[test]
    fn refuses_what_is_not_a_plain_url() {
        for bad in [
            "bridge.example.org/x",
            "ftp://h/x",
            "https://h/x?a=1",
            "https://h/x#f",
            "https:// h/x",
            "https://h:0/x",
            "https://h:99999/x",
            "https://h:x/",
            "https:///x",
            "https://u:p@/x",
            "https://[zz]/x",
            "https://[::1/x",
            "https://ho_st/x",
        ] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percent_codes_both_ways() {
        assert_eq!(percent_decode("a%3Ab%40c").unwrap(), "a:b@c");
        assert!(percent_decode("a%4").is_err());
        assert!(percent_decode("a%zz").is_err());
        assert_eq!(encode_query("ACT-1 /é"), "ACT-1%20%2F%C3%A9");
    }

    #[test]
    fn scrub_hides_user_info_and_secrets() {
        let text = "failed https://user:s3cret@h.example/x and http://a@b then tok123 ://@";
        let out = scrub(text, &["tok123", "ab"]);
        assert_eq!(out, "failed https://***@h.example/x and http://***@b then *** ://***@");
        assert!(!out.contains("s3cret") && !out.contains("user"));
    }
}
