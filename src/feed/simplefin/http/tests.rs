use super::*;

const CLAIM: &str = "https://bridge.simplefin.org/simplefin/claim/demo-token-01234567890";
const ACCESS: &str = "https://u5er:pa55word@bridge.simplefin.org/simplefin";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn loopback_cfg() -> HttpConfig {
    HttpConfig { allow_loopback_http: true, ..HttpConfig::default() }
}

/// Every secret of the fixtures; no text shown to anyone may hold one.
fn assert_clean(text: &str) {
    for secret in ["demo-token-01234567890", &b64(CLAIM), "pa55word", "u5er"] {
        assert!(!text.contains(secret), "{secret:?} leaked in {text:?}");
    }
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let cfg = HttpConfig::default();
    assert_eq!(cfg.connect_timeout, Duration::from_secs(10));
    assert_eq!(cfg.read_timeout, Duration::from_secs(30));
    assert_eq!(cfg.max_body, 4 * 1024 * 1024);
    assert!(!cfg.allow_loopback_http);
    assert_eq!(cfg.extra_roots, None);
}

#[test]
fn a_token_decodes_with_blanks_and_without_padding() {
    let padded = b64(CLAIM);
    assert!(padded.ends_with('='), "the fixture should need padding");
    let unpadded = padded.trim_end_matches('=');
    let wrapped = format!("  {}\n{}\t\n", &unpadded[..20], &unpadded[20..]);
    for text in [padded.as_str(), unpadded, &wrapped] {
        let token = SetupToken::parse(text).unwrap();
        assert_eq!(token.host(), "bridge.simplefin.org");
        assert_eq!(token.redacted(), "https://bridge.simplefin.org/simplefin/claim/***");
    }
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("https://h.example/claim/a>>>b??");
    assert!(SetupToken::parse(&url_safe).is_err(), "a query is not a claim URL");
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("https://h.example/claim/a>>>~~~b");
    assert!(url_safe.contains(['-', '_']), "the fixture should use the URL-safe letters: {url_safe}");
    assert_eq!(SetupToken::parse(&url_safe).unwrap().redacted(), "https://h.example/claim/***");
}

#[test]
fn a_token_that_is_not_a_claim_url_is_refused() {
    let cases = [
        ("", "empty"),
        ("not base64 at all!", "not Base64"),
        (&base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, 0x00]), "does not decode"),
        (&b64("hello there"), "not valid"),
        (&b64("https://bridge.simplefin.org"), "no path"),
        (&b64("https://a:b@bridge.simplefin.org/claim/x"), "user name"),
    ];
    for (text, why) in cases {
        match SetupToken::parse(text) {
            Err(HttpError::BadToken(m)) => assert!(m.contains(why), "{text:?}: {m}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn a_plain_http_token_is_refused_unless_it_points_here() {
    let e = SetupToken::parse(&b64("http://bridge.simplefin.org/simplefin/claim/demo-token-01234567890")).unwrap_err();
    assert!(matches!(&e, HttpError::NotHttps(u) if u == "http://bridge.simplefin.org/simplefin/claim/***"), "{e:?}");
    assert_clean(&format!("{e} {e:?}"));
    let local = SetupToken::parse(&b64("http://127.0.0.1:8080/claim/demo-token-01234567890")).unwrap();
    // Parsing lets it through; claiming still wants the switch.
    let e = claim(&local, &HttpConfig::default()).unwrap_err();
    assert!(matches!(&e, HttpError::NotHttps(u) if u == "http://127.0.0.1:8080/claim/***"), "{e:?}");
}

#[test]
fn a_token_never_shows_itself() {
    let token = SetupToken::parse(&b64(CLAIM)).unwrap();
    let shown = format!("{token} {token:?}");
    assert!(shown.contains("bridge.simplefin.org/simplefin/claim/***"), "{shown}");
    assert_clean(&shown);
}

#[test]
fn an_access_url_parses_and_redacts() {
    let access = AccessUrl::parse(&format!(" {ACCESS}/ \n"), &HttpConfig::default()).unwrap();
    assert_eq!(access.expose(), format!("{ACCESS}/"));
    assert_eq!(access.host(), "bridge.simplefin.org");
    assert_eq!(access.redacted(), "https://***@bridge.simplefin.org/simplefin");
    let shown = format!("{access} {access:?} {}", access.scrub(&format!("oops {ACCESS} pa55word")));
    assert!(shown.contains("AccessUrl(https://***@bridge.simplefin.org/simplefin)"), "{shown}");
    assert_clean(&shown);
    let with_port = AccessUrl::parse("https://a%40b:p%3Aw@H.example:8443", &HttpConfig::default()).unwrap();
    assert_eq!(with_port.redacted(), "https://***@h.example:8443");
    assert_eq!((with_port.user.as_str(), with_port.pass.as_str()), ("a@b", "p:w"));
}

#[test]
fn an_access_url_without_credentials_or_with_junk_is_refused() {
    for bad in [
        "https://bridge.simplefin.org/simplefin",
        "https://u5er@bridge.simplefin.org/simplefin",
        "https://:pa55word@bridge.simplefin.org/simplefin",
        "https://u5er:pa55word@bridge.simplefin.org/simplefin?x=1",
        "https://u5er:pa55word%zz@bridge.simplefin.org/simplefin",
        "u5er:pa55word@bridge.simplefin.org",
        "<html>pa55word</html>",
    ] {
        let e = AccessUrl::parse(bad, &HttpConfig::default()).unwrap_err();
        assert!(matches!(e, HttpError::BadUrl(_)), "{bad}: {e:?}");
        assert_clean(&format!("{e} {e:?}"));
    }
}

#[test]
fn plain_http_is_refused_but_for_loopback_with_the_switch() {
    let remote = "http://u5er:pa55word@bridge.simplefin.org/simplefin";
    for cfg in [HttpConfig::default(), loopback_cfg()] {
        let e = AccessUrl::parse(remote, &cfg).unwrap_err();
        assert!(matches!(&e, HttpError::NotHttps(u) if u == "http://***@bridge.simplefin.org/simplefin"), "{e:?}");
        assert_clean(&format!("{e} {e:?}"));
    }
    for host in ["127.0.0.1:9", "[::1]:9", "LOCALHOST:9"] {
        let local = format!("http://u5er:pa55word@{host}/simplefin");
        assert!(matches!(AccessUrl::parse(&local, &HttpConfig::default()), Err(HttpError::NotHttps(_))));
        assert!(AccessUrl::parse(&local, &loopback_cfg()).is_ok(), "{local}");
    }
    // An access URL allowed once is still refused by a client without the switch.
    let local = AccessUrl::parse("http://u5er:pa55word@127.0.0.1:9/simplefin", &loopback_cfg()).unwrap();
    let e = get_accounts(&local, &AccountsQuery::default(), &HttpConfig::default()).unwrap_err();
    assert!(matches!(e, HttpError::NotHttps(_)), "{e:?}");
}

#[test]
fn the_query_always_asks_for_version_2() {
    assert_eq!(AccountsQuery::default().to_query(), "version=2");
    let q = AccountsQuery {
        start: Some(1_700_000_000),
        end: Some(1_700_086_400),
        pending: true,
        accounts: vec!["ACT-1".into(), "a b&c".into()],
        balances_only: true,
    };
    assert_eq!(
        q.to_query(),
        "version=2&start-date=1700000000&end-date=1700086400&pending=1&account=ACT-1&account=a%20b%26c&balances-only=1"
    );
}

#[test]
fn the_basic_auth_header_is_sensitive() {
    let value = basic_auth("u5er", "pa55word");
    assert_eq!(value.to_str().unwrap(), format!("Basic {}", b64("u5er:pa55word")));
    assert!(value.is_sensitive());
    assert_clean(&format!("{value:?}"));
}

#[test]
fn transport_errors_are_scrubbed_and_timeouts_named() {
    let access = AccessUrl::parse(ACCESS, &HttpConfig::default()).unwrap();
    let echo = ureq::Error::BadUri(format!("{ACCESS}/accounts pa55word u5er"));
    let e = from_ureq(echo, &access.secrets(), &access.redacted());
    assert!(matches!(&e, HttpError::Network(m) if m.starts_with("https://***@bridge.simplefin.org/simplefin: ")));
    assert_clean(&format!("{e} {e:?}"));
    let token = SetupToken::parse(&b64(CLAIM)).unwrap();
    let echo = ureq::Error::BadUri(format!("{CLAIM} {}", b64(CLAIM)));
    let e = from_ureq(echo, &token.secrets(), &token.redacted());
    assert_clean(&format!("{e} {e:?}"));
    assert!(matches!(from_ureq(ureq::Error::Timeout(ureq::Timeout::Global), &[], ""), HttpError::Timeout));
    let io = std::io::Error::from(std::io::ErrorKind::TimedOut);
    assert!(matches!(from_ureq(ureq::Error::Io(io), &[], ""), HttpError::Timeout));
}

#[test]
fn the_typed_errors_hold_no_secret() {
    let errors = [
        HttpError::TokenUsed,
        HttpError::PaymentRequired,
        HttpError::AccessRevoked,
        HttpError::Status(500),
        HttpError::TooLarge { limit: 10 },
        HttpError::Timeout,
    ];
    for e in errors {
        assert!(!format!("{e}").is_empty());
    }
    assert!(format!("{}", HttpError::TokenUsed).contains("may be compromised: disable it at the bridge"));
}
