use proptest::prelude::*;

use super::*;
use crate::connection::Role;

fn ext(name: &str, params: &[(&str, Option<&str>)]) -> Extension {
    Extension {
        name: name.to_owned(),
        params: params
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.map(str::to_owned)))
            .collect(),
    }
}

fn server(offer: &str) -> Option<(DeflateParams, String)> {
    negotiate_server(offer, &DeflateConfig::default())
}

fn params(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: sbits,
        client_max_window_bits: cbits,
    }
}

#[test]
fn the_grammar_of_rfc_6455_9_1() {
    assert_eq!(parse_extensions("").unwrap(), vec![]);
    assert_eq!(parse_extensions(" , ,").unwrap(), vec![]);
    assert_eq!(
        parse_extensions("permessage-deflate; client_max_window_bits, foo;a=1 ;b=\"2\"").unwrap(),
        vec![
            ext("permessage-deflate", &[("client_max_window_bits", None)]),
            ext("foo", &[("a", Some("1")), ("b", Some("2"))]),
        ]
    );
    // Quoted-string escapes are undone; the result must be a token.
    assert_eq!(
        parse_extensions("x; p=\"1\\5\"").unwrap(),
        vec![ext("x", &[("p", Some("15"))])]
    );
    assert_eq!(
        parse_extensions("x\t;\tp = 9 ,\ty").unwrap(),
        vec![ext("x", &[("p", Some("9"))]), ext("y", &[])]
    );
    for bad in [
        "x;",
        "x; =1",
        "x; p=",
        "x; p=\"\"",
        "x; p=\"a b\"",
        "x; p=\"open",
        "x p",
        "x; p=1 2",
        "\"x\"",
        "x; p=@",
        ";p",
        "x;; p",
    ] {
        assert!(parse_extensions(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_bare_offer_is_accepted_as_is() {
    let (p, response) = server("permessage-deflate").unwrap();
    assert_eq!(p, DeflateParams::default());
    assert_eq!(response, "permessage-deflate");
    // The name is matched without regard to case.
    assert!(server("PerMessage-Deflate").is_some());
}

#[test]
fn the_server_grants_what_the_client_asks() {
    let (p, response) = server(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=11",
    )
    .unwrap();
    assert_eq!(p, params(true, true, 10, 11));
    assert_eq!(
        response,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=11"
    );
    // A bare client_max_window_bits needs no answer at 15.
    let (p, response) = server("permessage-deflate; client_max_window_bits").unwrap();
    assert_eq!(p, DeflateParams::default());
    assert_eq!(response, "permessage-deflate");
}

#[test]
fn the_server_configuration_limits_and_adds() {
    let cfg = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 12,
        client_max_window_bits: 10,
        ..DeflateConfig::default()
    };
    // §7.1.1: both no-context-takeover parameters may be added unasked;
    // §7.1.2.1: a smaller server window may be announced unasked;
    // §7.1.2.2: a client window only to a client that offered the parameter.
    let (p, response) = negotiate_server("permessage-deflate", &cfg).unwrap();
    assert_eq!(p, params(true, true, 12, 15));
    assert_eq!(
        response,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=12"
    );
    let (p, response) = negotiate_server(
        "permessage-deflate; server_max_window_bits=14; client_max_window_bits",
        &cfg,
    )
    .unwrap();
    assert_eq!(p, params(true, true, 12, 10));
    assert!(response.ends_with("server_max_window_bits=12; client_max_window_bits=10"));
    // Never more than the client offered.
    let (p, _) = negotiate_server(
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
        &cfg,
    )
    .unwrap();
    assert_eq!((p.server_max_window_bits, p.client_max_window_bits), (9, 9));
}

#[test]
fn a_window_of_8_is_agreed_and_our_side_then_sends_uncompressed() {
    let (p, response) = server("permessage-deflate; server_max_window_bits=8").unwrap();
    assert_eq!(response, "permessage-deflate; server_max_window_bits=8");
    assert_eq!(p.send_window(Role::Server), None);
    assert_eq!(p.receive_window(Role::Server), 15);
    // The client side of the same agreement compresses and reads with 9.
    assert_eq!(p.send_window(Role::Client), Some(15));
    assert_eq!(p.receive_window(Role::Client), 9);
}

#[test]
fn invalid_offers_are_declined_and_the_next_one_tried() {
    for bad in [
        "permessage-deflate; foo",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"x\"",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=1000",
        "permessage-deflate; Server_No_Context_Takeover",
    ] {
        assert_eq!(server(bad), None, "{bad}");
        let (p, _) = server(&format!(
            "{bad}, x-other, permessage-deflate; server_max_window_bits=\"11\""
        ))
        .unwrap_or_else(|| panic!("fallback after {bad}"));
        assert_eq!(p.server_max_window_bits, 11, "{bad}");
    }
    // Other extensions are not ours to accept; bad grammar declines all.
    assert_eq!(server("x-webkit-deflate-frame"), None);
    assert_eq!(server("permessage-deflate; a=\"unterminated"), None);
}

#[test]
fn the_client_offer_says_what_the_configuration_wants() {
    assert_eq!(
        client_offer(&DeflateConfig::default()),
        "permessage-deflate; client_max_window_bits"
    );
    let cfg = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 10,
        client_max_window_bits: 4, // clamped to 9
        ..DeflateConfig::default()
    };
    assert_eq!(
        client_offer(&cfg),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=9"
    );
}

#[test]
fn the_client_accepts_valid_answers() {
    let cfg = DeflateConfig::default();
    assert_eq!(validate_response(None, &cfg), Ok(None));
    assert_eq!(validate_response(Some(""), &cfg), Ok(None));
    assert_eq!(
        validate_response(Some("permessage-deflate"), &cfg),
        Ok(Some(DeflateParams::default()))
    );
    // §7.1.1: both takeover parameters may come unasked; §7.1.2.1 the
    // server may announce any window when we did not limit it.
    assert_eq!(
        validate_response(
            Some(
                "permessage-deflate;server_no_context_takeover;client_no_context_takeover;\
                 server_max_window_bits=9;client_max_window_bits=12"
            ),
            &cfg
        ),
        Ok(Some(params(true, true, 9, 12)))
    );
    // A window of 8 for us: agreed, and we send uncompressed.
    let p = validate_response(Some("permessage-deflate; client_max_window_bits=8"), &cfg)
        .unwrap()
        .unwrap();
    assert_eq!(p.send_window(Role::Client), None);
    // Our own client_no_context_takeover hint holds whatever the answer.
    let hint = DeflateConfig {
        client_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    let p = validate_response(Some("permessage-deflate"), &hint)
        .unwrap()
        .unwrap();
    assert!(p.send_resets(Role::Client));
}

#[test]
fn the_client_fails_answers_it_cannot_accept() {
    let asks = DeflateConfig {
        server_no_context_takeover: true,
        server_max_window_bits: 10,
        client_max_window_bits: 12,
        ..DeflateConfig::default()
    };
    let full = "permessage-deflate; server_no_context_takeover; server_max_window_bits=10";
    assert!(validate_response(Some(full), &asks).unwrap().is_some());
    for bad in [
        "x-foo",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate, x-foo",
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; foo",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover; server_max_window_bits=10",
        // A request of ours that the answer ignores.
        "permessage-deflate; server_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover",
        // A larger window than we asked for or offered.
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=13",
        // client_max_window_bits must have a value in a response.
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=abc",
        "permessage-deflate; server_no_context_takeover=yes; server_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=\"unterminated",
    ] {
        assert!(validate_response(Some(bad), &asks).is_err(), "{bad}");
    }
}

fn any_config() -> impl Strategy<Value = DeflateConfig> {
    (any::<bool>(), any::<bool>(), 9u8..=15, 9u8..=15).prop_map(|(s, c, sb, cb)| DeflateConfig {
        server_no_context_takeover: s,
        client_no_context_takeover: c,
        server_max_window_bits: sb,
        client_max_window_bits: cb,
        ..DeflateConfig::default()
    })
}

/// One parameter of an offer: absent, or present with some value, valid
/// or not.
fn any_param(name: &'static str) -> impl Strategy<Value = Option<(String, Option<String>)>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some((name.to_owned(), None))),
        2 => (6u8..=17).prop_map(move |n| Some((name.to_owned(), Some(n.to_string())))),
        1 => Just(Some((name.to_owned(), Some("08".to_owned())))),
    ]
}

proptest! {
    /// Our client's offer, whatever its configuration, is accepted by our
    /// server, whatever its own; the client accepts the answer and both
    /// sides agree on the same parameters, within both configurations.
    #[test]
    fn every_configuration_pair_agrees(client in any_config(), server_cfg in any_config()) {
        let offer = client_offer(&client);
        let (agreed, response) = negotiate_server(&offer, &server_cfg).unwrap();
        let seen = validate_response(Some(&response), &client).unwrap().unwrap();
        prop_assert_eq!(seen, agreed);
        prop_assert!(agreed.server_max_window_bits <= server_cfg.server_bits());
        prop_assert!(agreed.server_max_window_bits <= client.server_bits());
        prop_assert!(agreed.client_max_window_bits <= client.client_bits());
        prop_assert!(agreed.client_max_window_bits <= server_cfg.client_bits());
        prop_assert_eq!(
            agreed.server_no_context_takeover,
            client.server_no_context_takeover || server_cfg.server_no_context_takeover
        );
        prop_assert_eq!(
            agreed.client_no_context_takeover,
            client.client_no_context_takeover || server_cfg.client_no_context_takeover
        );
    }

    /// Every combination of the four parameters, each absent, bare or with
    /// any value: the server accepts exactly the valid offers, and its
    /// answer is one a client that made that offer accepts.
    #[test]
    fn every_offer_is_accepted_or_declined_by_the_rules(
        snct in any_param(SERVER_NO_CONTEXT_TAKEOVER),
        cnct in any_param(CLIENT_NO_CONTEXT_TAKEOVER),
        sbits in any_param(SERVER_MAX_WINDOW_BITS),
        cbits in any_param(CLIENT_MAX_WINDOW_BITS),
        server_cfg in any_config(),
    ) {
        let params: Vec<_> = [snct, cnct, sbits, cbits].into_iter().flatten().collect();
        let valid = params.iter().all(|(name, value)| match name.as_str() {
            SERVER_NO_CONTEXT_TAKEOVER | CLIENT_NO_CONTEXT_TAKEOVER => value.is_none(),
            SERVER_MAX_WINDOW_BITS => value.as_deref().and_then(window_bits).is_some(),
            _ => value.as_deref().is_none_or(|v| window_bits(v).is_some()),
        });
        let mut offer = String::from(EXTENSION_NAME);
        for (name, value) in &params {
            offer.push_str("; ");
            offer.push_str(name);
            if let Some(v) = value {
                offer.push('=');
                offer.push_str(v);
            }
        }
        let outcome = negotiate_server(&offer, &server_cfg);
        prop_assert_eq!(outcome.is_some(), valid, "{}", offer);
        if let Some((agreed, response)) = outcome {
            // The client that made this offer: its requests as stated.
            let stated = |n: &str| params.iter().find(|(name, _)| name == n).map(|(_, v)| v.clone());
            let bits = |v: Option<Option<String>>| v.flatten().and_then(|v| window_bits(&v));
            let client = DeflateConfig {
                server_no_context_takeover: stated(SERVER_NO_CONTEXT_TAKEOVER).is_some(),
                client_no_context_takeover: stated(CLIENT_NO_CONTEXT_TAKEOVER).is_some(),
                server_max_window_bits: bits(stated(SERVER_MAX_WINDOW_BITS)).unwrap_or(15),
                client_max_window_bits: bits(stated(CLIENT_MAX_WINDOW_BITS)).unwrap_or(15),
                ..DeflateConfig::default()
            };
            // Offers of 8 are stated as 9 by our own client (it cannot ask
            // for 8); compare what the response says, not our offer.
            if stated(SERVER_MAX_WINDOW_BITS).flatten().as_deref() != Some("8")
                && stated(CLIENT_MAX_WINDOW_BITS).flatten().as_deref() != Some("8")
                && stated(CLIENT_MAX_WINDOW_BITS).is_some()
            {
                let seen = validate_response(Some(&response), &client).unwrap().unwrap();
                prop_assert_eq!(seen, agreed);
            }
            if let Some(Some(n)) = stated(SERVER_MAX_WINDOW_BITS) {
                prop_assert!(agreed.server_max_window_bits <= window_bits(&n).unwrap());
            }
            if stated(CLIENT_MAX_WINDOW_BITS).is_none() {
                prop_assert_eq!(agreed.client_max_window_bits, 15);
                prop_assert!(!response.contains(CLIENT_MAX_WINDOW_BITS));
            }
        }
    }

    /// The parser never panics, and what it accepts it accepts again when
    /// written back out.
    #[test]
    fn parsing_is_total_and_stable(value in "[ -~\t]{0,60}") {
        if let Ok(list) = parse_extensions(&value) {
            let written: Vec<String> = list
                .iter()
                .map(|e| {
                    let mut s = e.name.clone();
                    for (n, v) in &e.params {
                        s.push(';');
                        s.push_str(n);
                        if let Some(v) = v {
                            s.push('=');
                            s.push_str(v);
                        }
                    }
                    s
                })
                .collect();
            prop_assert_eq!(parse_extensions(&written.join(",")).unwrap(), list);
        }
    }
}
