//! The SimpleFIN Bridge's two requests, blocking (a feed runs them off the
//! async runtime): the claim of an Access URL with a setup token, and
//! `GET /accounts`. HTTPS only, certificates checked against the system's
//! roots (and `SSL_CERT_FILE` / `SSL_CERT_DIR`, as curl reads them), no
//! redirects (the credentials go to their own host only), timeouts and a
//! cap on the answer's size. The credentials travel in an `Authorization`
//! header, never in the URL asked, and no error or log line holds them.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// A setup token: Base64 of a claim URL, usable once. A secret.
pub struct SetupToken {
    claim: String,
}

/// An Access URL, `https://user:pass@host/path`: a key to every linked
/// bank. Shown only as [`AccessUrl::redacted`].
#[derive(Clone)]
pub struct AccessUrl {
    url: String,
    /// The URL without its credentials.
    root: String,
    host: String,
    user: String,
    pass: String,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    /// For the whole exchange, answer included.
    pub read_timeout: Duration,
    pub max_body: usize,
    /// Lets `http://` through to 127.0.0.1 / ::1 / localhost only: for
    /// tests, never set by a normal build.
    pub allow_loopback_http: bool,
    /// A certificate authority to trust besides the system's (PEM file).
    pub extra_roots: Option<std::path::PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_body: 4 * 1024 * 1024,
            allow_loopback_http: false,
            extra_roots: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("refused {0}: SimpleFIN is spoken over https only")]
    NotHttps(String),
    #[error("that is not a SimpleFIN setup token ({0}); copy the whole token from the bridge")]
    BadToken(String),
    #[error("not a SimpleFIN URL: {0}")]
    BadUrl(String),
    #[error(
        "the bridge refused the setup token: it was used already or does not exist. If you did not use it, it \
         may be compromised: disable it at the bridge and make a new one"
    )]
    TokenUsed,
    #[error("the bridge wants payment (402): renew your SimpleFIN subscription")]
    PaymentRequired,
    #[error("the bridge refused finbox's access (403): it was revoked or disabled")]
    AccessRevoked,
    #[error("the bridge answered {0}")]
    Status(u16),
    #[error("the bridge's answer is larger than {} MB; refused", limit / (1024 * 1024))]
    TooLarge { limit: usize },
    #[error("the bridge did not answer in time")]
    Timeout,
    #[error("cannot reach the bridge: {0}")]
    Network(String),
}

impl std::fmt::Debug for SetupToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetupToken(***)")
    }
}

impl std::fmt::Debug for AccessUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessUrl({})", self.redacted())
    }
}

impl std::fmt::Display for AccessUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl SetupToken {
    /// A token as pasted: Base64 (padding optional) of an https claim URL.
    pub fn parse(text: &str, cfg: &HttpConfig) -> Result<SetupToken, HttpError> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let bytes = engine.decode(&text).map_err(|_| HttpError::BadToken("it is not Base64".into()))?;
        let claim = String::from_utf8(bytes).map_err(|_| HttpError::BadToken("it does not hold a URL".into()))?;
        let (_, host, _) = split_url(&claim).ok_or_else(|| HttpError::BadToken("it does not hold a URL".into()))?;
        check_scheme(&claim, &host, cfg)
            .map_err(|_| HttpError::NotHttps(format!("the token's claim URL at {host}")))?;
        Ok(SetupToken { claim })
    }
}

impl AccessUrl {
    pub fn parse(text: &str, cfg: &HttpConfig) -> Result<AccessUrl, HttpError> {
        let url = text.trim().trim_end_matches('/').to_string();
        let (scheme, host, rest) =
            split_url(&url).ok_or_else(|| HttpError::BadUrl("the bridge's answer is not an Access URL".into()))?;
        let (auth, hostport) = match host.rsplit_once('@') {
            Some((a, h)) => (a.to_string(), h.to_string()),
            None => return Err(HttpError::BadUrl("the Access URL holds no credentials".into())),
        };
        let (user, pass) = auth.split_once(':').unwrap_or((&auth, ""));
        let decode = |s: &str| percent_decode(s);
        let plain_host = hostport.split(':').next().unwrap_or(&hostport).trim_matches(['[', ']']).to_string();
        check_scheme(&url, &plain_host, cfg)
            .map_err(|_| HttpError::NotHttps(format!("the Access URL at {hostport}")))?;
        Ok(AccessUrl {
            root: format!("{scheme}://{hostport}{rest}"),
            host: hostport,
            user: decode(user),
            pass: decode(pass),
            url,
        })
    }

    /// The URL itself, to keep in the store. Never print it.
    pub fn expose(&self) -> &str {
        &self.url
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// `https://***@host/path`.
    pub fn redacted(&self) -> String {
        redact(&self.url)
    }
}

/// (scheme, authority, the rest) of `scheme://authority/rest`.
fn split_url(url: &str) -> Option<(String, String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    (!authority.is_empty()).then(|| (scheme.to_ascii_lowercase(), authority.to_string(), path.to_string()))
}

fn check_scheme(url: &str, host: &str, cfg: &HttpConfig) -> Result<(), ()> {
    let lower = url.to_ascii_lowercase();
    let loopback = matches!(host, "127.0.0.1" | "::1" | "localhost")
        || host.starts_with("127.0.0.1:")
        || host.starts_with("localhost:");
    if lower.starts_with("https://") || (lower.starts_with("http://") && cfg.allow_loopback_http && loopback) {
        Ok(())
    } else {
        Err(())
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Any `scheme://user:pass@host` in `text` as `scheme://***@host`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'').unwrap_or(tail.len());
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

/// The query of `GET /accounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountsQuery {
    /// Unix seconds, inclusive.
    pub start: Option<i64>,
    /// Unix seconds, exclusive.
    pub end: Option<i64>,
    pub pending: bool,
    /// Only these accounts (all, when empty).
    pub accounts: Vec<String>,
    pub balances_only: bool,
}

/// Claims the token's Access URL (the bridge answers it once).
pub fn claim(token: &SetupToken, cfg: &HttpConfig) -> Result<AccessUrl, HttpError> {
    let agent = agent(cfg)?;
    let resp = agent.post(&token.claim).send_empty().map_err(|e| transport(e, cfg))?;
    match resp.status().as_u16() {
        200 => {}
        403 => return Err(HttpError::TokenUsed),
        s => return Err(HttpError::Status(s)),
    }
    let body = read_body(resp, cfg)?;
    let text = String::from_utf8(body).map_err(|_| HttpError::BadUrl("the claim's answer is not text".into()))?;
    AccessUrl::parse(&text, cfg)
}

/// `GET /accounts` (protocol version 2): the answer's bytes.
pub fn get_accounts(access: &AccessUrl, q: &AccountsQuery, cfg: &HttpConfig) -> Result<Vec<u8>, HttpError> {
    let agent = agent(cfg)?;
    let mut req = agent.get(format!("{}/accounts", access.root)).query("version", "2");
    if let Some(s) = q.start {
        req = req.query("start-date", s.to_string());
    }
    if let Some(e) = q.end {
        req = req.query("end-date", e.to_string());
    }
    if q.pending {
        req = req.query("pending", "1");
    }
    if q.balances_only {
        req = req.query("balances-only", "1");
    }
    for a in &q.accounts {
        req = req.query("account", a);
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", access.user, access.pass));
    tracing::debug!(url = %access.redacted(), "asking the bridge for accounts");
    let resp = req.header("Authorization", format!("Basic {basic}")).call().map_err(|e| transport(e, cfg))?;
    match resp.status().as_u16() {
        200 => read_body(resp, cfg),
        402 => Err(HttpError::PaymentRequired),
        403 | 401 => Err(HttpError::AccessRevoked),
        s => Err(HttpError::Status(s)),
    }
}

fn read_body(resp: ureq::http::Response<ureq::Body>, cfg: &HttpConfig) -> Result<Vec<u8>, HttpError> {
    let limit = cfg.max_body as u64;
    resp.into_body().with_config().limit(limit).read_to_vec().map_err(|e| match e {
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge { limit: cfg.max_body },
        e => transport(e, cfg),
    })
}

fn transport(e: ureq::Error, cfg: &HttpConfig) -> HttpError {
    match e {
        ureq::Error::Timeout(_) => HttpError::Timeout,
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge { limit: cfg.max_body },
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => HttpError::Timeout,
        e => HttpError::Network(redact(&e.to_string())),
    }
}

fn agent(cfg: &HttpConfig) -> Result<ureq::Agent, HttpError> {
    let tls = TlsConfig::builder().root_certs(roots(cfg)?).build();
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(cfg.connect_timeout))
        .timeout_global(Some(cfg.read_timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .https_only(!cfg.allow_loopback_http)
        .tls_config(tls)
        .build();
    Ok(config.into())
}

/// The system's roots (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`), and
/// the configured extra authority.
fn roots(cfg: &HttpConfig) -> Result<RootCerts, HttpError> {
    let found = rustls_native_certs::load_native_certs();
    let mut certs: Vec<Certificate<'static>> =
        found.certs.iter().map(|c| Certificate::from_der(c).to_owned()).collect();
    if let Some(path) = &cfg.extra_roots {
        let pem =
            std::fs::read(path).map_err(|e| HttpError::Network(format!("cannot read {}: {e}", path.display())))?;
        for item in ureq::tls::parse_pem(&pem) {
            if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                certs.push(c.to_owned());
            }
        }
    }
    if certs.is_empty() {
        return Err(HttpError::Network("no trusted certificate authorities found (see SSL_CERT_FILE)".into()));
    }
    Ok(RootCerts::Specific(Arc::new(certs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_everywhere() {
        let cfg = HttpConfig::default();
        let a = AccessUrl::parse("https://user123:pass456@bridge.simplefin.org/simplefin\n", &cfg).unwrap();
        assert_eq!(a.redacted(), "https://***@bridge.simplefin.org/simplefin");
        assert_eq!(a.host(), "bridge.simplefin.org");
        for shown in [format!("{a}"), format!("{a:?}")] {
            assert!(!shown.contains("pass456") && !shown.contains("user123"), "{shown}");
        }
        assert_eq!(
            redact("error sending to https://u:p@h.example/x: refused (also http://a:b@c)"),
            "error sending to https://***@h.example/x: refused (also http://***@c)"
        );
    }

    #[test]
    fn only_https_unless_a_test_allows_loopback() {
        let cfg = HttpConfig::default();
        let err = AccessUrl::parse("http://u:p@bridge.example/simplefin", &cfg).unwrap_err();
        assert!(matches!(err, HttpError::NotHttps(_)) && !err.to_string().contains(":p@"), "{err}");
        let loose = HttpConfig { allow_loopback_http: true, ..HttpConfig::default() };
        assert!(AccessUrl::parse("http://u:p@127.0.0.1:8080/s", &loose).is_ok());
        assert!(AccessUrl::parse("http://u:p@bridge.example/s", &loose).is_err());
        assert!(matches!(AccessUrl::parse("https://bridge.example/s", &cfg), Err(HttpError::BadUrl(_))));
    }

    #[test]
    fn tokens_decode_to_https_claim_urls() {
        let cfg = HttpConfig::default();
        // The protocol's demo token.
        let t =
            SetupToken::parse("aHR0cHM6Ly9icmlkZ2Uuc2ltcGxlZmluLm9yZy9zaW1wbGVmaW4vY2xhaW0vZGVtbw==\n", &cfg).unwrap();
        assert_eq!(t.claim, "https://bridge.simplefin.org/simplefin/claim/demo");
        assert_eq!(format!("{t:?}"), "SetupToken(***)");
        let http = base64::engine::general_purpose::STANDARD.encode("http://bridge.example/claim/x");
        assert!(matches!(SetupToken::parse(&http, &cfg), Err(HttpError::NotHttps(_))));
        assert!(matches!(SetupToken::parse("not base64!", &cfg), Err(HttpError::BadToken(_))));
    }
}
