//! A SimpleFIN Bridge for tests: an HTTPS server on 127.0.0.1 with its own
//! certificate authority (the CA's PEM is written to a file a test passes as
//! `SSL_CERT_FILE` or `HttpConfig::extra_roots`). It speaks just enough
//! HTTP/1.1 (one request per connection, `Connection: close`) for the
//! protocol's two endpoints under `/simplefin`:
//!
//! - `POST /simplefin/claim/<token>`: 200 with the Access URL, once per token
//!   from [`Bridge::setup_token`]; 403 after that and for unknown tokens.
//! - `GET /simplefin/accounts`: 403 unless the Basic auth is right; then the
//!   configured status, raw body or Account Set (filtered like a bridge:
//!   `account=`, `start-date`/`end-date` on `posted`, pending ones only with
//!   `pending=1`, no `transactions` with `balances-only=1`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;

const ROOT: &str = "/simplefin";

/// Where an endless body gives up.
pub const ENDLESS_CAP: u64 = 96 << 20;

/// One request as the bridge saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    /// The request target as sent (path and query, still percent-encoded).
    pub target: String,
    /// The path, without the query.
    pub path: String,
    /// The query's pairs in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// An `Authorization` header came.
    pub had_auth: bool,
    /// It held this bridge's user name and password.
    pub auth_ok: bool,
    /// All header lines, as sent.
    pub headers: Vec<String>,
}

struct State {
    /// Setup tokens handed out, and whether each was claimed.
    tokens: HashMap<String, bool>,
    accounts: Value,
    status: u16,
    delay: Duration,
    raw_body: Option<Vec<u8>>,
    no_length: bool,
    endless: bool,
    /// Body bytes the last endless answer got out before the client hung up.
    endless_sent: Option<u64>,
    requests: Vec<Recorded>,
}

/// The running bridge; it stops accepting when dropped.
pub struct Bridge {
    port: u16,
    tls: bool,
    ca_file: PathBuf,
    user: String,
    password: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Bridge {
    /// An HTTPS bridge; its CA goes to `dir/ca.pem`.
    pub fn start(dir: &Path) -> Bridge {
        Bridge::launch(dir, true)
    }

    /// A bridge speaking plain http (for the loopback switch's tests).
    pub fn start_http(dir: &Path) -> Bridge {
        Bridge::launch(dir, false)
    }

    fn launch(dir: &Path, tls: bool) -> Bridge {
        let (ca_pem, server) = certificates();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("write ca.pem");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let bridge = Bridge {
            port: listener.local_addr().unwrap().port(),
            tls,
            ca_file,
            user: format!("user{:016x}", rand::random::<u64>()),
            password: format!("pw{:032x}", rand::random::<u128>()),
            state: Arc::new(Mutex::new(State {
                tokens: HashMap::new(),
                accounts: serde_json::json!({"errors": [], "accounts": []}),
                status: 200,
                delay: Duration::ZERO,
                raw_body: None,
                no_length: false,
                endless: false,
                endless_sent: None,
                requests: Vec::new(),
            })),
            stop: Arc::default(),
        };
        let server = Arc::new(Server {
            tls: tls.then_some(server),
            auth: format!("{}:{}", bridge.user, bridge.password),
            access_url: bridge.access_url(),
            origin: bridge.origin(),
            state: bridge.state.clone(),
        });
        let stop = bridge.stop.clone();
        std::thread::spawn(move || accept_loop(listener, server, stop));
        bridge
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://127.0.0.1:<port>` (or `http://`).
    pub fn origin(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "https" } else { "http" }, self.port)
    }

    /// The CA file that makes this bridge's certificate trusted.
    pub fn ca_file(&self) -> PathBuf {
        self.ca_file.clone()
    }

    /// Base64 of a fresh one-time claim URL.
    pub fn setup_token(&self) -> String {
        let token = format!("tok{:032x}", rand::random::<u128>());
        self.state.lock().unwrap().tokens.insert(token.clone(), false);
        base64::engine::general_purpose::STANDARD.encode(self.claim_url(&token))
    }

    /// The claim URL of `token` (a raw token, not Base64).
    pub fn claim_url(&self, token: &str) -> String {
        format!("{}{ROOT}/claim/{token}", self.origin())
    }

    /// The Access URL a claim returns.
    pub fn access_url(&self) -> String {
        let origin = self.origin();
        let (scheme, host) = origin.split_once("://").unwrap();
        format!("{scheme}://{}:{}@{host}{ROOT}", self.user, self.password)
    }

    pub fn user(&self) -> String {
        self.user.clone()
    }

    /// The Access URL's password (tests assert it never leaks).
    pub fn password(&self) -> String {
        self.password.clone()
    }

    /// The Account Set `/accounts` answers (before filtering).
    pub fn set_accounts(&self, json: Value) {
        self.state.lock().unwrap().accounts = json;
    }

    /// Answer `/accounts` with this status (200: normally). A 3xx carries a
    /// `Location` on this bridge.
    pub fn set_status(&self, code: u16) {
        self.state.lock().unwrap().status = code;
    }

    /// Sleep this long before answering anything.
    pub fn set_delay(&self, d: Duration) {
        self.state.lock().unwrap().delay = d;
    }

    /// Answer `/accounts` 200 with these bytes instead of the Account Set.
    pub fn set_raw_body(&self, body: Option<Vec<u8>>) {
        self.state.lock().unwrap().raw_body = body;
    }

    /// Leave `Content-Length` out of `/accounts` answers (the body ends
    /// when the connection does).
    pub fn set_no_length(&self, no_length: bool) {
        self.state.lock().unwrap().no_length = no_length;
    }

    /// Answer `/accounts` 200 with a body without end (blanks, without a
    /// length, until the client hangs up or [`ENDLESS_CAP`] bytes).
    pub fn set_endless(&self, endless: bool) {
        let mut state = self.state.lock().unwrap();
        state.endless = endless;
        state.endless_sent = None;
    }

    /// Body bytes the last endless answer wrote before the client hung up
    /// (waits up to 10 s for the answer to end).
    pub fn endless_sent(&self) -> Option<u64> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let sent = self.state.lock().unwrap().endless_sent;
            if sent.is_some() || std::time::Instant::now() > deadline {
                return sent;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

/// A CA and a leaf for 127.0.0.1 and localhost signed by it: the CA's PEM
/// and the server's TLS configuration.
fn certificates() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "finbox test bridge CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone()], key)
        .unwrap();
    (ca_cert.pem(), Arc::new(config))
}

struct Server {
    tls: Option<Arc<rustls::ServerConfig>>,
    /// `user:password`.
    auth: String,
    access_url: String,
    origin: String,
    state: Arc<Mutex<State>>,
}

trait Stream: Read + Write {
    /// Ends the answer (TLS: close_notify) so that a body without a length ends.
    fn finish(&mut self);
}

impl Stream for TcpStream {
    fn finish(&mut self) {
        let _ = self.flush();
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

impl Stream for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
    }
}

fn accept_loop(listener: TcpListener, server: Arc<Server>, stop: Arc<AtomicBool>) {
    for tcp in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = tcp else { continue };
        let server = server.clone();
        std::thread::spawn(move || {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            let mut stream: Box<dyn Stream> = match &server.tls {
                None => Box::new(tcp),
                Some(config) => match rustls::ServerConnection::new(config.clone()) {
                    Ok(conn) => Box::new(rustls::StreamOwned::new(conn, tcp)),
                    Err(_) => return,
                },
            };
            // A failed handshake (an untrusting client) or a dropped client ends here.
            if let Some(request) = read_request(&mut *stream) {
                server.answer(&mut *stream, request);
            }
        });
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<String>,
}

/// Reads the request line and headers (a body, if any, is not needed).
fn read_request(stream: &mut dyn Stream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let head = head.split("\r\n\r\n").next()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    Some(Request { method, target, headers: lines.map(str::to_string).collect() })
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    sized: bool,
    /// Repeat the body until the client hangs up (or [`ENDLESS_CAP`]).
    endless: bool,
    location: Option<String>,
}

impl Answer {
    fn text(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain",
            body: body.as_bytes().to_vec(),
            sized: true,
            endless: false,
            location: None,
        }
    }
}

impl Server {
    fn answer(&self, stream: &mut dyn Stream, request: Request) {
        let (path, query) = match request.target.split_once('?') {
            Some((p, q)) => (p.to_string(), parse_query(q)),
            None => (request.target.clone(), Vec::new()),
        };
        let auth = request.headers.iter().find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.eq_ignore_ascii_case("authorization").then(|| value.trim().to_string())
        });
        let auth_ok = auth.as_deref().and_then(|a| a.strip_prefix("Basic ")).is_some_and(|b| {
            base64::engine::general_purpose::STANDARD.decode(b).is_ok_and(|d| d == self.auth.as_bytes())
        });
        let delay = {
            let mut state = self.state.lock().unwrap();
            state.requests.push(Recorded {
                method: request.method.clone(),
                target: request.target.clone(),
                path: path.clone(),
                query: query.clone(),
                had_auth: auth.is_some(),
                auth_ok,
                headers: request.headers.clone(),
            });
            state.delay
        };
        std::thread::sleep(delay);
        let answer = self.route(&request.method, &path, &query, auth_ok);
        let endless = answer.endless;
        let sent = write_answer(stream, answer);
        if endless {
            self.state.lock().unwrap().endless_sent = Some(sent);
        }
    }

    fn route(&self, method: &str, path: &str, query: &[(String, String)], auth_ok: bool) -> Answer {
        let mut state = self.state.lock().unwrap();
        if let (Some(token), "POST") = (path.strip_prefix(&format!("{ROOT}/claim/")), method) {
            return match state.tokens.get_mut(token) {
                Some(claimed) if !*claimed => {
                    *claimed = true;
                    Answer::text(200, &self.access_url)
                }
                _ => Answer::text(403, "Forbidden"),
            };
        }
        if path != format!("{ROOT}/accounts") || method != "GET" {
            return Answer::text(404, "Not found");
        }
        if !auth_ok {
            return Answer::text(403, "Forbidden");
        }
        let sized = !state.no_length;
        let answer = match (state.status, &state.raw_body) {
            (200, _) if state.endless => {
                return Answer { endless: true, sized: false, ..Answer::text(200, &" ".repeat(64 << 10)) };
            }
            (200, Some(raw)) => Answer::text(200, "").with_body(raw.clone(), "application/json"),
            (200, None) => {
                let json = filter_accounts(&state.accounts, query);
                Answer::text(200, "").with_body(serde_json::to_vec(&json).unwrap(), "application/json")
            }
            (status @ 300..=399, _) => {
                Answer { location: Some(format!("{}{ROOT}/elsewhere", self.origin)), ..Answer::text(status, "Moved") }
            }
            (status, _) => Answer::text(status, "No"),
        };
        Answer { sized, ..answer }
    }
}

impl Answer {
    fn with_body(self, body: Vec<u8>, content_type: &'static str) -> Answer {
        Answer { body, content_type, ..self }
    }
}

/// Writes the answer; returns the body bytes written.
fn write_answer(stream: &mut dyn Stream, answer: Answer) -> u64 {
    let mut head =
        format!("HTTP/1.1 {} X\r\nContent-Type: {}\r\nConnection: close\r\n", answer.status, answer.content_type);
    if answer.sized {
        head.push_str(&format!("Content-Length: {}\r\n", answer.body.len()));
    }
    if let Some(location) = answer.location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    head.push_str("\r\n");
    // The client may hang up early (a body too large, a timeout): fine.
    if stream.write_all(head.as_bytes()).is_err() {
        return 0;
    }
    let mut sent = 0;
    loop {
        if stream.write_all(&answer.body).is_err() {
            return sent;
        }
        sent += answer.body.len() as u64;
        if !answer.endless || sent >= ENDLESS_CAP {
            stream.finish();
            return sent;
        }
    }
}

/// The Account Set as a bridge would filter it for this query.
fn filter_accounts(set: &Value, query: &[(String, String)]) -> Value {
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let wanted: Vec<&str> = query.iter().filter(|(k, _)| k == "account").map(|(_, v)| v.as_str()).collect();
    let start = param("start-date").and_then(|v| v.parse::<i64>().ok());
    let end = param("end-date").and_then(|v| v.parse::<i64>().ok());
    let (pending, balances_only) = (param("pending") == Some("1"), param("balances-only") == Some("1"));
    let mut set = set.clone();
    if let Some(accounts) = set.get_mut("accounts").and_then(Value::as_array_mut) {
        accounts.retain(|a| wanted.is_empty() || a["id"].as_str().is_some_and(|id| wanted.contains(&id)));
        for account in accounts.iter_mut().filter_map(Value::as_object_mut) {
            if balances_only {
                account.remove("transactions");
            } else if let Some(txns) = account.get_mut("transactions").and_then(Value::as_array_mut) {
                txns.retain(|t| {
                    let is_pending = t["pending"].as_bool() == Some(true);
                    let posted = t["posted"].as_i64().unwrap_or(0);
                    let in_range = start.is_none_or(|s| posted >= s) && end.is_none_or(|e| posted < e);
                    if is_pending { pending } else { in_range }
                });
            }
        }
    }
    set
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
