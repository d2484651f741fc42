//! A small blocking HTTPS client for the SimpleFIN Bridge: claim a setup
//! token once for an Access URL, then fetch the Account Set with the Access
//! URL's credentials. Async callers run it in `tokio::task::spawn_blocking`.
//!
//! Rules kept here: HTTPS only (plain http only to this machine, and only
//! when [`HttpConfig::allow_loopback_http`] says so); certificates checked
//! against the platform's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured);
//! no redirects followed, so the credentials go to their own host only; the
//! credentials travel in an `Authorization` header, never in the request
//! URL; no error, log line or `Debug` output holds the password, the user
//! name or the setup token; a body larger than [`HttpConfig::max_body`] is
//! refused without being buffered.

mod url;

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ureq::http::{HeaderValue, Response, header};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, Body};

use self::url::{Scheme, Target};

/// What can go wrong talking to a bridge. No variant holds a secret: texts
/// from elsewhere are scrubbed first.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("refused {0}: SimpleFIN is only spoken over https")]
    NotHttps(String),
    #[error("the SimpleFIN setup token is not valid: {0}; copy it again from the bridge")]
    BadToken(String),
    #[error("the SimpleFIN access URL is not valid: {0}")]
    BadUrl(String),
    #[error(
        "the setup token was already used or does not exist; if you did not use it, it may be \
         compromised: disable it at the bridge"
    )]
    TokenUsed,
    #[error("the SimpleFIN bridge wants payment (HTTP 402): check your subscription at the bridge")]
    PaymentRequired,
    #[error(
        "the SimpleFIN bridge refused the access URL (HTTP 403): access was revoked; link the bank \
         again with a new setup token"
    )]
    AccessRevoked,
    #[error("the SimpleFIN bridge answered HTTP {0}")]
    Status(u16),
    #[error("the SimpleFIN bridge's answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the SimpleFIN bridge did not answer in time")]
    Timeout,
    #[error("could not talk to the SimpleFIN bridge: {0}")]
    Network(String),
}

/// How the client talks to a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Time to open the connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time for the whole exchange, the last body byte included.
    pub read_timeout: Duration,
    /// The largest body taken; a larger one is [`HttpError::TooLarge`].
    pub max_body: usize,
    /// Allows `http://` to 127.0.0.1, ::1 and localhost. For tests only.
    pub allow_loopback_http: bool,
    /// A PEM file of certificate authorities trusted besides the platform's.
    /// For tests only (a real bridge has a public certificate).
    pub extra_roots: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_body: 4 << 20,
            allow_loopback_http: false,
            extra_roots: None,
        }
    }
}

/// A setup token: Base64 of a one-time claim URL. Whoever holds it can claim
/// the access, so it is never shown: `Debug` and `Display` print the claim
/// URL with its last segment hidden.
#[derive(Clone, PartialEq, Eq)]
pub struct SetupToken {
    target: Target,
    /// The token as given, blanks removed (only to scrub texts).
    text: String,
}

impl SetupToken {
    /// Decodes a pasted token: blanks ignored, standard or URL-safe Base64,
    /// padding optional; it must decode to an https claim URL (plain http
    /// only to this machine, and [`claim`] still wants the switch for that).
    pub fn parse(text: &str) -> Result<Self, HttpError> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if text.is_empty() {
            return Err(HttpError::BadToken("it is empty".into()));
        }
        let bytes = decode_base64(&text).ok_or_else(|| HttpError::BadToken("it is not Base64".into()))?;
        let claim_url =
            String::from_utf8(bytes).map_err(|_| HttpError::BadToken("it does not decode to a URL".into()))?;
        let (target, userinfo) = url::split(claim_url.trim())
            .map_err(|m| HttpError::BadToken(format!("its claim URL is not valid: {m}")))?;
        if userinfo.is_some() {
            return Err(HttpError::BadToken("its claim URL carries a user name".into()));
        }
        if target.path.is_empty() {
            return Err(HttpError::BadToken("its claim URL has no path".into()));
        }
        let token = SetupToken { target, text };
        if token.target.scheme == Scheme::Http && !token.target.is_loopback() {
            return Err(HttpError::NotHttps(token.redacted()));
        }
        Ok(token)
    }

    /// The claim URL's host.
    pub fn host(&self) -> &str {
        &self.target.host
    }

    /// The claim URL with its last path segment (the secret) as `***`.
    pub fn redacted(&self) -> String {
        let dir = self.target.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{}{dir}/***", self.target.origin())
    }

    fn secrets(&self) -> Vec<&str> {
        let last = self.target.path.rsplit('/').next().unwrap_or_default();
        vec![self.text.as_str(), last]
    }
}

impl fmt::Debug for SetupToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetupToken({})", self.redacted())
    }
}

impl fmt::Display for SetupToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    [alphabet::STANDARD, alphabet::URL_SAFE]
        .iter()
        .find_map(|alphabet| GeneralPurpose::new(alphabet, config).decode(text).ok())
}

/// The Access URL a claim returns: `https://user:pass@host/path`. It is a
/// password: keep it as safe as the data ([`AccessUrl::expose`] gives it for
/// storing). `Debug` and `Display` print [`AccessUrl::redacted`].
#[derive(Clone, PartialEq, Eq)]
pub struct AccessUrl {
    text: String,
    target: Target,
    /// Raw (as in the URL) and decoded user and password.
    raw_user: String,
    raw_pass: String,
    user: String,
    pass: String,
}

impl AccessUrl {
    /// Checks an Access URL: https (plain http only to this machine and with
    /// the switch), a user and a password, a host, no query.
    pub fn parse(text: &str, cfg: &HttpConfig) -> Result<Self, HttpError> {
        let text = text.trim();
        let (target, userinfo) = url::split(text).map_err(HttpError::BadUrl)?;
        let (raw_user, raw_pass) = userinfo
            .and_then(|u| u.split_once(':'))
            .filter(|(u, p)| !u.is_empty() && !p.is_empty())
            .ok_or_else(|| HttpError::BadUrl("it has no user name and password".into()))?;
        let access = AccessUrl {
            text: text.to_string(),
            user: url::percent_decode(raw_user).map_err(HttpError::BadUrl)?,
            pass: url::percent_decode(raw_pass).map_err(HttpError::BadUrl)?,
            raw_user: raw_user.to_string(),
            raw_pass: raw_pass.to_string(),
            target,
        };
        check_scheme(&access.target, cfg, || access.redacted())?;
        Ok(access)
    }

    /// The whole URL, credentials included: for the store, nothing else.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The bridge's host name (lower-case, without the port).
    pub fn host(&self) -> &str {
        &self.target.host
    }

    /// `https://***@host[:port]/path`.
    pub fn redacted(&self) -> String {
        let origin = self.target.origin();
        let (scheme, rest) = origin.split_once("://").unwrap_or(("https", &origin));
        format!("{scheme}://***@{rest}{}", self.target.path)
    }

    /// `text` with this URL's user name and password taken out (for error
    /// texts that may have seen them).
    pub fn scrub(&self, text: &str) -> String {
        url::scrub(text, &self.secrets())
    }

    fn secrets(&self) -> Vec<&str> {
        vec![&self.text, &self.raw_pass, &self.pass, &self.raw_user, &self.user]
    }
}

impl fmt::Debug for AccessUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessUrl({})", self.redacted())
    }
}

impl fmt::Display for AccessUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn check_scheme(target: &Target, cfg: &HttpConfig, redacted: impl FnOnce() -> String) -> Result<(), HttpError> {
    match target.scheme {
        Scheme::Https => Ok(()),
        Scheme::Http if cfg.allow_loopback_http && target.is_loopback() => Ok(()),
        Scheme::Http => Err(HttpError::NotHttps(redacted())),
    }
}

/// Trades a setup token for the Access URL (`POST` to the claim URL). A
/// token works once: a 403 is [`HttpError::TokenUsed`].
pub fn claim(token: &SetupToken, cfg: &HttpConfig) -> Result<AccessUrl, HttpError> {
    check_scheme(&token.target, cfg, || token.redacted())?;
    let fail = |e| from_ureq(e, &token.secrets(), &token.redacted());
    tracing::debug!(url = %token.redacted(), "simplefin: claiming a setup token");
    let agent = agent(cfg, &token.target)?;
    let url = format!("{}{}", token.target.origin(), token.target.path);
    let response = agent.post(&url).header(header::ACCEPT, "text/plain").send_empty().map_err(fail)?;
    match response.status().as_u16() {
        200 => {}
        402 => return Err(HttpError::PaymentRequired),
        403 => return Err(HttpError::TokenUsed),
        status => return Err(HttpError::Status(status)),
    }
    let body = read_capped(response, cfg.max_body).map_err(|e| e.map_ureq(fail))?;
    let text = String::from_utf8(body).map_err(|_| HttpError::BadUrl("the claim's answer is not text".into()))?;
    AccessUrl::parse(text.trim(), cfg)
}

/// What to ask `/accounts` for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountsQuery {
    /// Transactions posted at or after this Unix time.
    pub start: Option<i64>,
    /// Transactions posted before this Unix time.
    pub end: Option<i64>,
    /// Include pending transactions.
    pub pending: bool,
    /// Only these accounts (all when empty).
    pub accounts: Vec<String>,
    /// Balances only, no transactions.
    pub balances_only: bool,
}

impl AccountsQuery {
    /// The query string sent (always with `version=2`).
    pub fn to_query(&self) -> String {
        let mut pairs = vec!["version=2".to_string()];
        pairs.extend(self.start.map(|s| format!("start-date={s}")));
        pairs.extend(self.end.map(|e| format!("end-date={e}")));
        if self.pending {
            pairs.push("pending=1".into());
        }
        pairs.extend(self.accounts.iter().map(|a| format!("account={}", url::encode_query(a))));
        if self.balances_only {
            pairs.push("balances-only=1".into());
        }
        pairs.join("&")
    }
}

/// Fetches the Account Set (`GET {access}/accounts`, HTTP Basic auth) and
/// returns its bytes, at most [`HttpConfig::max_body`] of them.
pub fn get_accounts(access: &AccessUrl, q: &AccountsQuery, cfg: &HttpConfig) -> Result<Vec<u8>, HttpError> {
    check_scheme(&access.target, cfg, || access.redacted())?;
    let fail = |e| from_ureq(e, &access.secrets(), &format!("{}/accounts", access.redacted()));
    tracing::debug!(url = %access.redacted(), accounts = q.accounts.len(), "simplefin: GET accounts");
    let agent = agent(cfg, &access.target)?;
    let url = format!("{}{}/accounts?{}", access.target.origin(), access.target.path, q.to_query());
    let response = agent
        .get(&url)
        .header(header::AUTHORIZATION, basic_auth(&access.user, &access.pass))
        .header(header::ACCEPT, "application/json")
        .call()
        .map_err(fail)?;
    match response.status().as_u16() {
        200 => read_capped(response, cfg.max_body).map_err(|e| e.map_ureq(fail)),
        402 => Err(HttpError::PaymentRequired),
        403 => Err(HttpError::AccessRevoked),
        status => Err(HttpError::Status(status)),
    }
}

fn basic_auth(user: &str, pass: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).expect("Base64 is a valid header value");
    value.set_sensitive(true);
    value
}

/// One agent per exchange: nothing pooled, nothing shared between bridges.
fn agent(cfg: &HttpConfig, target: &Target) -> Result<Agent, HttpError> {
    let tls = match target.scheme {
        Scheme::Https => TlsConfig::builder().root_certs(root_certs(cfg)?).build(),
        Scheme::Http => TlsConfig::default(), // never used: no TLS to loopback http
    };
    let proxy = if target.is_loopback() { None } else { ureq::Proxy::try_from_env() };
    let config = Agent::config_builder()
        .https_only(target.scheme == Scheme::Https)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(cfg.connect_timeout))
        .timeout_global(Some(cfg.read_timeout))
        .proxy(proxy)
        .user_agent(concat!("finbox/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build();
    Ok(config.new_agent())
}

/// The platform's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` first, as curl
/// does), plus [`HttpConfig::extra_roots`].
fn root_certs(cfg: &HttpConfig) -> Result<RootCerts, HttpError> {
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::debug!(errors = native.errors.len(), "simplefin: some platform root certificates did not load");
    }
    let mut roots: Vec<Certificate<'static>> =
        native.certs.iter().map(|der| Certificate::from_der(der.as_ref()).to_owned()).collect();
    if let Some(path) = &cfg.extra_roots {
        let pem = std::fs::read(path)
            .map_err(|e| HttpError::Network(format!("reading certificates from {}: {e}", path.display())))?;
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => roots.push(cert),
                Ok(_) => {}
                Err(e) => return Err(HttpError::Network(format!("certificates in {}: {e}", path.display()))),
            }
        }
    }
    if roots.is_empty() {
        return Err(HttpError::Network("no trusted root certificates found on this machine".into()));
    }
    Ok(RootCerts::from(roots))
}

/// Why reading a body stopped: too large, or a transport error still to be
/// mapped (and scrubbed) by the caller.
enum ReadError {
    TooLarge(usize),
    Ureq(ureq::Error),
}

impl ReadError {
    fn map_ureq(self, f: impl FnOnce(ureq::Error) -> HttpError) -> HttpError {
        match self {
            ReadError::TooLarge(limit) => HttpError::TooLarge { limit },
            ReadError::Ureq(e) => f(e),
        }
    }
}

/// Reads at most `limit + 1` bytes: more than `limit` is refused.
fn read_capped(mut response: Response<Body>, limit: usize) -> Result<Vec<u8>, ReadError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX);
    if response.body().content_length().is_some_and(|len| len > cap) {
        return Err(ReadError::TooLarge(limit));
    }
    let mut body = Vec::new();
    let mut reader = response.body_mut().as_reader().take(cap.saturating_add(1));
    reader.read_to_end(&mut body).map_err(|e| ReadError::Ureq(ureq::Error::from(e)))?;
    if body.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(body)
}

/// Maps a transport error; its text is scrubbed of `secrets` and any URL's
/// user info, and names `what` (a redacted URL).
fn from_ureq(e: ureq::Error, secrets: &[&str], what: &str) -> HttpError {
    match e {
        ureq::Error::Timeout(_) => HttpError::Timeout,
        ureq::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
            HttpError::Timeout
        }
        ureq::Error::StatusCode(status) => HttpError::Status(status),
        other => HttpError::Network(url::scrub(&format!("{what}: {other}"), secrets)),
    }
}

#[cfg(test)]
mod tests;
