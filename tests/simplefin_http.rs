//! The SimpleFIN client against a test bridge over real HTTPS with the
//! bridge's own certificate authority.

#[allow(dead_code)] // the helpers for the built binary are not used here
mod common;

use std::time::{Duration, Instant};

use common::simplefin::{Bridge, ENDLESS_CAP};
use finbox::feed::simplefin::http::{AccessUrl, AccountsQuery, HttpConfig, HttpError, SetupToken, claim, get_accounts};
use serde_json::{Value, json};

/// A client that trusts `bridge`'s CA (besides the platform's roots).
fn cfg(bridge: &Bridge) -> HttpConfig {
    HttpConfig { extra_roots: Some(bridge.ca_file()), ..HttpConfig::default() }
}

fn access(bridge: &Bridge) -> AccessUrl {
    AccessUrl::parse(&bridge.access_url(), &cfg(bridge)).unwrap()
}

fn account_set() -> Value {
    let txn = |id: &str, posted: i64, pending: bool| json!({"id": id, "posted": posted, "amount": "-1.00", "description": id, "pending": pending});
    json!({
        "errors": [],
        "accounts": [
            {"id": "ACT-1", "name": "Checking", "currency": "USD", "balance": "100.00", "balance-date": 1_700_000_000,
             "transactions": [txn("t1", 1_700_000_100, false), txn("t2", 1_700_000_200, true), txn("t3", 1_700_900_000, false)]},
            {"id": "ACT 2", "name": "Savings", "currency": "USD", "balance": "5.00", "balance-date": 1_700_000_000,
             "transactions": [txn("s1", 1_700_000_300, false)]},
            {"id": "ACT-3", "name": "Card", "currency": "USD", "balance": "-7.00", "balance-date": 1_700_000_000,
             "transactions": []},
        ]
    })
}

fn fetch(bridge: &Bridge, q: &AccountsQuery) -> Value {
    serde_json::from_slice(&get_accounts(&access(bridge), q, &cfg(bridge)).unwrap()).unwrap()
}

/// No secret of `bridge` (nor `tokens`) in the error's Display or Debug.
fn assert_clean(bridge: &Bridge, tokens: &[&str], e: &HttpError) {
    let shown = format!("{e} {e:?}");
    for secret in [bridge.password(), bridge.user()].iter().map(String::as_str).chain(tokens.iter().copied()) {
        assert!(!shown.contains(secret), "{secret:?} leaked: {shown}");
    }
}

/// The raw token inside a setup token (the claim URL's last segment).
fn raw_token(setup: &str) -> String {
    use base64::Engine as _;
    let url = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(setup).unwrap()).unwrap();
    url.rsplit('/').next().unwrap().to_string()
}

#[test]
fn a_setup_token_claims_once_then_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    let setup = bridge.setup_token();
    let token = SetupToken::parse(&format!("  {setup}\n")).unwrap();
    let got = claim(&token, &cfg(&bridge)).unwrap();
    assert_eq!(got.expose(), bridge.access_url());
    assert_eq!(got.host(), "127.0.0.1");
    let e = claim(&token, &cfg(&bridge)).unwrap_err();
    assert!(matches!(e, HttpError::TokenUsed), "{e:?}");
    assert!(e.to_string().contains("may be compromised"), "{e}");
    assert_clean(&bridge, &[&setup, &raw_token(&setup)], &e);
    // A token the bridge never issued.
    let made_up = SetupToken::parse(&{
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bridge.claim_url("nosuchtoken"))
    })
    .unwrap();
    assert!(matches!(claim(&made_up, &cfg(&bridge)), Err(HttpError::TokenUsed)));
    let requests = bridge.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.method == "POST" && r.path.starts_with("/simplefin/claim/") && !r.had_auth));
}

#[test]
fn accounts_go_with_basic_auth_and_every_query_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    bridge.set_accounts(account_set());
    let q = AccountsQuery {
        start: Some(1_700_000_000),
        end: Some(1_700_500_000),
        pending: true,
        accounts: vec!["ACT-1".into(), "ACT 2".into()],
        balances_only: false,
    };
    let set = fetch(&bridge, &q);
    let ids: Vec<&str> = set["accounts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ACT-1", "ACT 2"]);
    let txns: Vec<&str> =
        set["accounts"][0]["transactions"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(txns, ["t1", "t2"], "t3 is after end-date");
    let r = bridge.requests().pop().unwrap();
    assert_eq!((r.method.as_str(), r.path.as_str(), r.had_auth, r.auth_ok), ("GET", "/simplefin/accounts", true, true));
    let pairs: Vec<(&str, &str)> = r.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("version", "2"),
            ("start-date", "1700000000"),
            ("end-date", "1700500000"),
            ("pending", "1"),
            ("account", "ACT-1"),
            ("account", "ACT 2"),
        ]
    );
    // The credentials went in the header only.
    let sent = format!("{} {}", r.target, r.headers.join("\n"));
    assert!(!sent.contains(&bridge.password()) && !sent.contains(&bridge.user()), "{sent}");
    assert!(r.headers.iter().any(|h| h.to_ascii_lowercase().starts_with("authorization: basic ")));
}

#[test]
fn pending_and_balances_only_shape_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    bridge.set_accounts(account_set());
    let set = fetch(&bridge, &AccountsQuery::default());
    assert_eq!(set["accounts"].as_array().unwrap().len(), 3);
    assert_eq!(set["accounts"][0]["transactions"].as_array().unwrap().len(), 2, "no pending one without pending=1");
    let set = fetch(&bridge, &AccountsQuery { balances_only: true, ..AccountsQuery::default() });
    assert!(set["accounts"].as_array().unwrap().iter().all(|a| a.get("transactions").is_none()));
    let r = bridge.requests().pop().unwrap();
    assert_eq!(r.query, [("version".to_string(), "2".to_string()), ("balances-only".into(), "1".into())]);
}

#[test]
fn statuses_map_to_errors_and_redirects_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    let access = access(&bridge);
    let q = AccountsQuery::default();
    for (status, want) in [(402, "PaymentRequired"), (403, "AccessRevoked"), (500, "Status(500)"), (302, "Status(302)")]
    {
        bridge.set_status(status);
        let e = get_accounts(&access, &q, &cfg(&bridge)).unwrap_err();
        assert_eq!(format!("{e:?}"), want);
        assert_clean(&bridge, &[], &e);
    }
    assert_eq!(bridge.requests().len(), 4, "the 302 was not followed");
    bridge.set_status(200);
    assert!(get_accounts(&access, &q, &cfg(&bridge)).is_ok());
    // Wrong credentials: the bridge's 403.
    let wrong = bridge.access_url().replace(&bridge.password(), "not-the-password");
    let wrong = AccessUrl::parse(&wrong, &cfg(&bridge)).unwrap();
    let e = get_accounts(&wrong, &q, &cfg(&bridge)).unwrap_err();
    assert!(matches!(e, HttpError::AccessRevoked), "{e:?}");
    assert!(!bridge.requests().pop().unwrap().auth_ok);
}

#[test]
fn a_body_over_the_limit_is_refused_with_or_without_a_length() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    let access = access(&bridge);
    let q = AccountsQuery::default();
    bridge.set_raw_body(Some(vec![b' '; 5 << 20]));
    for no_length in [false, true] {
        bridge.set_no_length(no_length);
        let e = get_accounts(&access, &q, &cfg(&bridge)).unwrap_err();
        assert!(matches!(e, HttpError::TooLarge { limit } if limit == 4 << 20), "no_length {no_length}: {e:?}");
    }
    // The limit itself is allowed, one byte more is not.
    let small = HttpConfig { max_body: 1000, ..cfg(&bridge) };
    for no_length in [false, true] {
        bridge.set_no_length(no_length);
        bridge.set_raw_body(Some(vec![b'x'; 1000]));
        assert_eq!(get_accounts(&access, &q, &small).unwrap().len(), 1000);
        bridge.set_raw_body(Some(vec![b'x'; 1001]));
        let e = get_accounts(&access, &q, &small).unwrap_err();
        assert!(matches!(e, HttpError::TooLarge { limit: 1000 }), "no_length {no_length}: {e:?}");
    }
    // A body without end: the client stops reading just past the limit.
    bridge.set_endless(true);
    let e = get_accounts(&access, &q, &small).unwrap_err();
    assert!(matches!(e, HttpError::TooLarge { limit: 1000 }), "endless: {e:?}");
    let sent = bridge.endless_sent().expect("the endless answer ended");
    assert!(sent < ENDLESS_CAP / 3, "the client read on: {sent} bytes sent");
    bridge.set_endless(false);
    // Malformed JSON is the caller's business: the bytes come back as sent.
    bridge.set_no_length(false);
    bridge.set_raw_body(Some(b"{not json".to_vec()));
    assert_eq!(get_accounts(&access, &q, &cfg(&bridge)).unwrap(), b"{not json");
}

#[test]
fn a_slow_bridge_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    bridge.set_delay(Duration::from_secs(4));
    let quick = HttpConfig { read_timeout: Duration::from_secs(1), ..cfg(&bridge) };
    let started = Instant::now();
    let e = get_accounts(&access(&bridge), &AccountsQuery::default(), &quick).unwrap_err();
    assert!(matches!(e, HttpError::Timeout), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    let setup = bridge.setup_token();
    let e = claim(&SetupToken::parse(&setup).unwrap(), &quick).unwrap_err();
    assert!(matches!(e, HttpError::Timeout), "{e:?}");
}

#[test]
fn plain_http_only_to_loopback_and_only_with_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start_http(dir.path());
    bridge.set_accounts(account_set());
    let url = bridge.access_url();
    assert!(url.starts_with("http://"), "{url}");
    let e = AccessUrl::parse(&url, &HttpConfig::default()).unwrap_err();
    assert!(matches!(&e, HttpError::NotHttps(shown) if shown.starts_with("http://***@127.0.0.1:")), "{e:?}");
    assert_clean(&bridge, &[], &e);
    let on = HttpConfig { allow_loopback_http: true, ..HttpConfig::default() };
    let access = AccessUrl::parse(&url, &on).unwrap();
    let e = get_accounts(&access, &AccountsQuery::default(), &HttpConfig::default()).unwrap_err();
    assert!(matches!(e, HttpError::NotHttps(_)), "{e:?}");
    assert!(bridge.requests().is_empty(), "nothing was sent without the switch");
    let set: Value = serde_json::from_slice(&get_accounts(&access, &AccountsQuery::default(), &on).unwrap()).unwrap();
    assert_eq!(set["accounts"].as_array().unwrap().len(), 3);
    // Claiming too.
    let token = SetupToken::parse(&bridge.setup_token()).unwrap();
    assert!(matches!(claim(&token, &HttpConfig::default()), Err(HttpError::NotHttps(_))));
    assert_eq!(claim(&token, &on).unwrap().expose(), url);
    // Not to another host, switch or not.
    let remote = url.replace("127.0.0.1", "bridge.example.org");
    assert!(matches!(AccessUrl::parse(&remote, &on), Err(HttpError::NotHttps(_))));
}

#[test]
fn an_untrusted_certificate_is_an_error_not_data() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    bridge.set_accounts(account_set());
    let other_dir = tempfile::tempdir().unwrap();
    let other = Bridge::start(other_dir.path());
    for untrusting in [HttpConfig::default(), cfg(&other)] {
        let e = get_accounts(&access(&bridge), &AccountsQuery::default(), &untrusting).unwrap_err();
        assert!(matches!(&e, HttpError::Network(m) if m.contains("certificate")), "{e:?}");
        assert_clean(&bridge, &[], &e);
        let setup = bridge.setup_token();
        let e = claim(&SetupToken::parse(&setup).unwrap(), &untrusting).unwrap_err();
        assert!(matches!(&e, HttpError::Network(m) if m.contains("certificate")), "{e:?}");
        assert_clean(&bridge, &[&setup, &raw_token(&setup)], &e);
    }
    assert!(bridge.requests().is_empty(), "no request got through the handshake");
}

#[test]
fn no_error_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    let (cfg, access, q) = (cfg(&bridge), access(&bridge), AccountsQuery::default());
    let setup = bridge.setup_token();
    let token = SetupToken::parse(&setup).unwrap();
    let mut errors = Vec::new();
    claim(&token, &cfg).unwrap();
    errors.push(claim(&token, &cfg).unwrap_err());
    errors.push(AccessUrl::parse(&bridge.access_url().replace("https", "http"), &cfg).unwrap_err());
    errors.push(AccessUrl::parse(&format!("{}?x", bridge.access_url()), &cfg).unwrap_err());
    errors.push(AccessUrl::parse(&bridge.access_url().replace("127.0.0.1", "bad host"), &cfg).unwrap_err());
    for status in [402, 403, 500] {
        bridge.set_status(status);
        errors.push(get_accounts(&access, &q, &cfg).unwrap_err());
    }
    bridge.set_status(200);
    bridge.set_raw_body(Some(vec![0; 5 << 20]));
    errors.push(get_accounts(&access, &q, &cfg).unwrap_err());
    bridge.set_delay(Duration::from_secs(3));
    errors.push(
        get_accounts(&access, &q, &HttpConfig { read_timeout: Duration::from_millis(500), ..cfg.clone() }).unwrap_err(),
    );
    errors.push(get_accounts(&access, &q, &HttpConfig::default()).unwrap_err());
    // Nobody listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let gone =
        AccessUrl::parse(&bridge.access_url().replace(&bridge.port().to_string(), &closed.to_string()), &cfg).unwrap();
    errors.push(get_accounts(&gone, &q, &cfg).unwrap_err());
    let kinds: Vec<String> = errors.iter().map(|e| format!("{e:?}").split('(').next().unwrap().to_string()).collect();
    assert_eq!(
        kinds.iter().map(|k| k.split(' ').next().unwrap()).collect::<Vec<_>>(),
        [
            "TokenUsed",
            "NotHttps",
            "BadUrl",
            "BadUrl",
            "PaymentRequired",
            "AccessRevoked",
            "Status",
            "TooLarge",
            "Timeout",
            "Network",
            "Network"
        ]
    );
    for e in &errors {
        assert_clean(&bridge, &[&setup, &raw_token(&setup)], e);
    }
}

/// The platform-roots path: `SSL_CERT_FILE` alone makes the bridge trusted.
/// The variable is set only in a child process (this test binary again,
/// running the ignored test below), so no other test sees it.
#[test]
fn the_platform_roots_honour_ssl_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::start(dir.path());
    bridge.set_accounts(account_set());
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_trusts_ssl_cert_file", "--ignored", "--nocapture", "--test-threads=1"])
        .env("SSL_CERT_FILE", bridge.ca_file())
        .env_remove("SSL_CERT_DIR")
        .env("FINBOX_TEST_ACCESS_URL", bridge.access_url())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD OK 3 accounts"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(bridge.requests().len(), 1);
}

#[test]
#[ignore = "run by the_platform_roots_honour_ssl_cert_file with SSL_CERT_FILE set"]
fn child_trusts_ssl_cert_file() {
    let Ok(url) = std::env::var("FINBOX_TEST_ACCESS_URL") else { return };
    let cfg = HttpConfig::default();
    let body = get_accounts(&AccessUrl::parse(&url, &cfg).unwrap(), &AccountsQuery::default(), &cfg).unwrap();
    let set: Value = serde_json::from_slice(&body).unwrap();
    println!("CHILD OK {} accounts", set["accounts"].as_array().unwrap().len());
}
