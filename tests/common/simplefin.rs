//! A SimpleFIN server for tests, on 127.0.0.1: HTTPS with a certificate
//! authority of its own (its PEM file is what finbox gets as
//! `SSL_CERT_FILE`), the protocol's claim and `GET /accounts`, and knobs for
//! the cases a real bridge has: a status instead of data, a slow answer, a
//! body that is not an account set. Minimal HTTP/1.1, a thread per
//! connection, `Connection: close`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

/// One request the bridge heard.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub auth_ok: bool,
}

#[derive(Default)]
struct State {
    /// Claim tokens, and whether each was claimed.
    tokens: HashMap<String, bool>,
    accounts: Value,
    status: u16,
    delay: Duration,
    raw: Option<Vec<u8>>,
    requests: Vec<Recorded>,
}

pub struct Bridge {
    port: u16,
    ca: PathBuf,
    user: String,
    pass: String,
    state: Arc<Mutex<State>>,
}

const ROOT: &str = "/simplefin";

impl Bridge {
    /// Starts the server; its CA certificate is written into `dir`.
    pub fn start(dir: &Path) -> Bridge {
        let (config, ca_pem) = tls();
        let ca = dir.join("bridge-ca.pem");
        std::fs::write(&ca, ca_pem).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let n = std::process::id() as u64 ^ (u64::from(port) * 7919);
        let (user, pass) = (format!("user{n:x}"), format!("Pw{n:x}x9Secret"));
        let state = Arc::new(Mutex::new(State { status: 200, ..Default::default() }));
        let bridge = Bridge { port, ca, user, pass, state: state.clone() };
        let access = bridge.access_url();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", bridge.user, bridge.pass));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, state, access, auth) = (config.clone(), state.clone(), access.clone(), auth.clone());
                std::thread::spawn(move || serve(stream, config, &state, &access, &auth));
            }
        });
        bridge
    }

    pub fn ca_file(&self) -> PathBuf {
        self.ca.clone()
    }

    pub fn password(&self) -> String {
        self.pass.clone()
    }

    fn access_url(&self) -> String {
        format!("https://{}:{}@127.0.0.1:{}{ROOT}", self.user, self.pass, self.port)
    }

    /// A fresh one-time setup token: Base64 of its claim URL.
    pub fn setup_token(&self) -> String {
        let mut s = self.state.lock().unwrap();
        let token = format!("tok{}", s.tokens.len() + 1);
        s.tokens.insert(token.clone(), false);
        let url = format!("https://127.0.0.1:{}{ROOT}/claim/{token}", self.port);
        base64::engine::general_purpose::STANDARD.encode(url)
    }

    /// The account set `GET /accounts` answers (filtered by its query).
    pub fn set_accounts(&self, json: Value) {
        self.state.lock().unwrap().accounts = json;
    }

    /// Answer `/accounts` with this status (200: with data again).
    pub fn set_status(&self, code: u16) {
        self.state.lock().unwrap().status = code;
    }

    pub fn set_delay(&self, d: Duration) {
        self.state.lock().unwrap().delay = d;
    }

    /// Answer `/accounts` 200 with these bytes instead.
    pub fn set_raw_body(&self, body: Option<Vec<u8>>) {
        self.state.lock().unwrap().raw = body;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}

/// A CA, and a certificate for 127.0.0.1 and localhost signed by it.
fn tls() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "finbox test bridge CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    (Arc::new(config), ca_cert.pem())
}

fn serve(stream: TcpStream, config: Arc<rustls::ServerConfig>, state: &Mutex<State>, access: &str, auth: &str) {
    let conn = match rustls::ServerConnection::new(config) {
        Ok(c) => c,
        Err(_) => return,
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let Some((method, target, headers)) = read_request(&mut tls) else { return };
    let (path, query) = split_target(&target);
    let auth_ok = headers.get("authorization").is_some_and(|h| h == &format!("Basic {auth}"));
    state.lock().unwrap().requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        auth_ok,
    });
    let (status, body) = answer(state, &method, &path, &query, auth_ok, access);
    let delay = state.lock().unwrap().delay;
    std::thread::sleep(delay);
    let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = tls.write_all(head.as_bytes());
    let _ = tls.write_all(&body);
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn answer(
    state: &Mutex<State>,
    method: &str,
    path: &str,
    query: &[(String, String)],
    auth_ok: bool,
    access: &str,
) -> (u16, Vec<u8>) {
    let mut s = state.lock().unwrap();
    if let Some(token) = path.strip_prefix(&format!("{ROOT}/claim/")) {
        if method != "POST" {
            return (405, Vec::new());
        }
        return match s.tokens.get_mut(token) {
            Some(claimed) if !*claimed => {
                *claimed = true;
                (200, access.as_bytes().to_vec())
            }
            _ => (403, Vec::new()),
        };
    }
    if path != format!("{ROOT}/accounts") || method != "GET" {
        return (404, Vec::new());
    }
    if !auth_ok {
        return (403, Vec::new());
    }
    if s.status != 200 {
        return (s.status, Vec::new());
    }
    if let Some(raw) = &s.raw {
        return (200, raw.clone());
    }
    (200, serde_json::to_vec(&filtered(&s.accounts, query)).unwrap())
}

/// The account set as the query asks: its accounts, since its start,
/// pending ones only with `pending=1`, no transactions with
/// `balances-only=1`.
fn filtered(set: &Value, query: &[(String, String)]) -> Value {
    let get = |k: &str| query.iter().filter(|(n, _)| n == k).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    let (only, start) = (get("account"), get("start-date").first().and_then(|s| s.parse::<i64>().ok()));
    let (pending, balances_only) = (get("pending") == ["1"], get("balances-only") == ["1"]);
    let mut set = set.clone();
    if let Some(accounts) = set.get_mut("accounts").and_then(Value::as_array_mut) {
        accounts.retain(|a| only.is_empty() || only.contains(&a["id"].as_str().unwrap_or_default()));
        for a in accounts.iter_mut() {
            if balances_only {
                a.as_object_mut().unwrap().remove("transactions");
                continue;
            }
            if let Some(txns) = a.get_mut("transactions").and_then(Value::as_array_mut) {
                txns.retain(|t| {
                    let is_pending = t["pending"].as_bool().unwrap_or(false) || t["posted"].as_i64() == Some(0);
                    let at = t["posted"].as_i64().filter(|p| *p != 0).or(t["transacted_at"].as_i64()).unwrap_or(0);
                    (pending || !is_pending) && start.is_none_or(|s| at >= s)
                });
            }
        }
    }
    set
}

type Request = (String, String, HashMap<String, String>);

fn read_request(stream: &mut impl Read) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some((method, target, headers))
}

fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    (path.to_string(), query)
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
