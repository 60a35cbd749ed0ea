use super::*;

fn message(id: u64) -> ChatMessage {
    ChatMessage {
        id,
        room: "lobby".into(),
        name: "alice".into(),
        text: "a".into(),
        ts: 2,
        cid: None,
        ..Default::default()
    }
}

#[test]
fn send_frame_has_documented_shape() {
    let frame = ClientFrame::parse(r#"{"type":"send","text":"hi"}"#);
    assert_eq!(
        frame,
        Ok(ClientFrame::Send {
            room: None,
            text: "hi".into(),
            cid: None,
            reply_to: None,
        })
    );
    let json = encode_client(&ClientFrame::Send {
        room: Some("rust".into()),
        text: "a\"b".into(),
        cid: Some("c1".into()),
        reply_to: None,
    })
    .unwrap();
    assert_eq!(
        json,
        r#"{"type":"send","room":"rust","text":"a\"b","cid":"c1"}"#
    );
}

#[test]
fn client_frames_parse_from_their_documented_json() {
    let parse = |raw: &str| ClientFrame::parse(raw).unwrap();
    assert_eq!(
        parse(r#"{"type":"hello","name":"alice","token":"t"}"#),
        ClientFrame::Hello {
            name: "alice".into(),
            token: Some("t".into())
        }
    );
    assert_eq!(
        parse(r#"{"type":"join","room":"rust","since":41,"epoch":"e"}"#),
        ClientFrame::Join {
            room: "rust".into(),
            since: Some(41),
            epoch: Some("e".into())
        }
    );
    assert_eq!(
        parse(r#"{"type":"leave","room":"rust"}"#),
        ClientFrame::Leave {
            room: "rust".into()
        }
    );
    assert_eq!(
        parse(r#"{"type":"typing","room":"rust"}"#),
        ClientFrame::Typing {
            room: "rust".into()
        }
    );
    assert_eq!(
        parse(r#"{"type":"history","room":"rust","before":57,"limit":50}"#),
        ClientFrame::History {
            room: "rust".into(),
            before: Some(57),
            around: None,
            limit: Some(50)
        }
    );
    assert_eq!(
        parse(r#"{"type":"history","room":"rust","around":12}"#),
        ClientFrame::History {
            room: "rust".into(),
            before: None,
            around: Some(12),
            limit: None
        }
    );
    assert_eq!(
        parse(r#"{"type":"send","room":"rust","text":"yes","reply_to":41}"#),
        ClientFrame::Send {
            room: Some("rust".into()),
            text: "yes".into(),
            cid: None,
            reply_to: Some(41),
        }
    );
    assert_eq!(
        parse(r#"{"type":"edit","room":"rust","id":41,"text":"fixed"}"#),
        ClientFrame::Edit {
            room: "rust".into(),
            id: 41,
            text: "fixed".into(),
        }
    );
    assert_eq!(
        parse(r#"{"type":"react","room":"rust","id":41,"emoji":"👍"}"#),
        ClientFrame::React {
            room: "rust".into(),
            id: 41,
            emoji: "👍".into(),
        }
    );
    assert_eq!(
        parse(r#"{"type":"members","room":"rust","after":"bob","limit":500}"#),
        ClientFrame::Members {
            room: "rust".into(),
            after: Some("bob".into()),
            limit: Some(500)
        }
    );
    assert_eq!(
        parse(r#"{"type":"members","room":"rust"}"#),
        ClientFrame::Members {
            room: "rust".into(),
            after: None,
            limit: None
        }
    );
}

#[test]
fn server_frames_have_documented_shapes() {
    let frame = ServerFrame::Message(ChatMessage {
        text: "hi\nthere".into(),
        ts: 1_700_000_000_000,
        ..message(7)
    });
    assert_eq!(
        encode(&frame).unwrap(),
        r#"{"type":"message","id":7,"room":"lobby","name":"alice","text":"hi\nthere","ts":1700000000000}"#
    );
    let error = FrameError::new(ErrorCode::TextTooLong, "too long").into_frame();
    assert_eq!(
        encode(&error).unwrap(),
        r#"{"type":"error","code":"text_too_long","message":"too long"}"#
    );
    let limited = FrameError::new(ErrorCode::RateLimited, "slow down")
        .in_room("rust")
        .retry_after(200)
        .into_frame();
    assert_eq!(
        encode(&limited).unwrap(),
        r#"{"type":"error","code":"rate_limited","message":"slow down","room":"rust","retry_after_ms":200}"#
    );
    let joined = ServerFrame::Joined(Joined {
        room: "rust".into(),
        epoch: "e1".into(),
        last_id: 57,
        recovered: true,
        messages: vec![],
        events: vec![],
        members: vec!["bob".into()],
        count: None,
        you: "guest-1a2b".into(),
        title: String::new(),
        topic: String::new(),
        read: None,
        unread: None,
        mentioned: false,
        notify_every: false,
        muted: false,
    });
    assert_eq!(
        encode(&joined).unwrap(),
        r#"{"type":"joined","room":"rust","epoch":"e1","last_id":57,"recovered":true,"messages":[],"members":["bob"],"you":"guest-1a2b"}"#
    );
    let ServerFrame::Joined(mut read) = joined else {
        unreachable!()
    };
    read.read = Some(50);
    assert!(encode(&ServerFrame::Joined(read))
        .unwrap()
        .ends_with(r#""you":"guest-1a2b","read":50}"#));
    assert_eq!(
        encode(&ServerFrame::Read {
            room: "rust".into(),
            id: 50
        })
        .unwrap(),
        r#"{"type":"read","room":"rust","id":50}"#
    );
    let presence = ServerFrame::Presence {
        room: "rust".into(),
        joined: vec!["bob".into()],
        left: vec![],
        count: None,
    };
    assert_eq!(
        encode(&presence).unwrap(),
        r#"{"type":"presence","room":"rust","joined":["bob"],"left":[]}"#
    );
    // A room with more members than the server lists: the count alone.
    let crowd = ServerFrame::Presence {
        room: "rust".into(),
        joined: vec![],
        left: vec![],
        count: Some(5000),
    };
    assert_eq!(
        encode(&crowd).unwrap(),
        r#"{"type":"presence","room":"rust","joined":[],"left":[],"count":5000}"#
    );
    assert_eq!(
        serde_json::from_str::<ServerFrame>(
            r#"{"type":"presence","room":"rust","joined":[],"left":[],"count":5000}"#
        )
        .unwrap(),
        crowd
    );
}

#[test]
fn a_message_from_the_first_protocol_still_parses() {
    let old = r#"{"type":"message","id":1,"text":"x","ts":2}"#;
    let Ok(ServerFrame::Message(m)) = serde_json::from_str::<ServerFrame>(old) else {
        panic!("old message frame must parse");
    };
    assert_eq!((m.id, m.room.as_str(), m.text.as_str()), (1, "", "x"));
}

#[test]
fn parse_errors_are_classified() {
    let code = |raw: &str| ClientFrame::parse(raw).unwrap_err().code;
    assert_eq!(code("{not json"), ErrorCode::MalformedJson);
    assert_eq!(code(""), ErrorCode::MalformedJson);
    assert_eq!(code(r#"{"type":"dance"}"#), ErrorCode::UnknownType);
    assert_eq!(code(r#"{"type":"send"}"#), ErrorCode::InvalidFrame);
    assert_eq!(code(r#"{"type":"send","text":5}"#), ErrorCode::InvalidFrame);
    assert_eq!(code(r#"{"type":"join"}"#), ErrorCode::InvalidFrame);
    assert_eq!(
        code(r#"{"type":"join","room":"a","since":-1}"#),
        ErrorCode::InvalidFrame
    );
    assert_eq!(code(r#"{"text":"no type"}"#), ErrorCode::InvalidFrame);
    assert_eq!(code(r#"[1,2]"#), ErrorCode::InvalidFrame);
    assert_eq!(code(r#""send""#), ErrorCode::InvalidFrame);
    assert_eq!(code(r#"["send","hi"]"#), ErrorCode::InvalidFrame);
    assert_eq!(code("[1,"), ErrorCode::MalformedJson);
}

#[test]
fn unknown_fields_are_ignored_for_forward_compatibility() {
    let frame = ClientFrame::parse(r#"{"type":"send","text":"x","mood":"later"}"#);
    assert_eq!(
        frame,
        Ok(ClientFrame::Send {
            room: None,
            text: "x".into(),
            cid: None,
            reply_to: None,
        })
    );
}

#[test]
fn an_error_code_from_a_newer_server_still_delivers_the_refusal() {
    let line = r#"{"type":"error","code":"brand_new_reason","message":"not now","cid":"c1"}"#;
    let Ok(ServerFrame::Error(error)) = serde_json::from_str::<ServerFrame>(line) else {
        panic!("an unknown code must not make the frame unreadable");
    };
    assert_eq!(error.code, ErrorCode::Unknown);
    assert_eq!(error.message, "not now");
    assert_eq!(error.cid.as_deref(), Some("c1"));
}

#[test]
fn error_code_names_match_serde() {
    for &code in <ErrorCode as strum::VariantArray>::VARIANTS {
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.as_str()));
    }
}

/// The page reads a frame's `type` by these names (`js.rs`).
#[test]
fn frame_type_names_match_serde() {
    for &kind in <crate::ServerFrameKind as strum::VariantArray>::VARIANTS {
        let json = format!("\"{}\"", <&str>::from(kind));
        assert_eq!(
            serde_json::from_str::<crate::ServerFrameKind>(&json).unwrap(),
            kind
        );
    }
}

#[test]
fn text_is_trimmed_and_bounded() {
    assert_eq!(normalize_text("  hi \n"), Ok("hi"));
    assert_eq!(
        normalize_text(" \t\n ").unwrap_err().code,
        ErrorCode::EmptyText
    );
    assert_eq!(normalize_text("").unwrap_err().code, ErrorCode::EmptyText);
    let max = "é".repeat(MAX_TEXT_CHARS);
    assert_eq!(normalize_text(&max), Ok(max.as_str()));
    let over = "a".repeat(MAX_TEXT_CHARS + 1);
    assert_eq!(
        normalize_text(&over).unwrap_err().code,
        ErrorCode::TextTooLong
    );
    let padded = format!("   {}   ", "a".repeat(MAX_TEXT_CHARS));
    assert!(
        normalize_text(&padded).is_ok(),
        "the limit applies after trimming"
    );
}

#[test]
fn names_follow_the_rules() {
    assert_eq!(normalize_name("  Alice "), Ok("Alice"));
    assert_eq!(normalize_name("😀 Zoë"), Ok("😀 Zoë"));
    let max = "é".repeat(MAX_NAME_CHARS);
    assert_eq!(normalize_name(&max), Ok(max.as_str()));
    for bad in [
        "",
        "   ",
        "a\u{0}b",
        "tab\there",
        "Guest-1234",
        &"x".repeat(MAX_NAME_CHARS + 1),
        // Invisible or reordering: each makes a name pass for another.
        "al\u{200B}ice",
        "\u{202E}ecila",
        "alice\u{2060}",
        "a\u{AD}lice",
        "\u{FEFF}bob",
        "tag\u{E0041}",
    ] {
        assert_eq!(
            normalize_name(bad).unwrap_err().code,
            ErrorCode::InvalidName,
            "{bad:?}"
        );
    }
    assert_eq!(name_key("ALICE"), name_key("alice"));
    // The zero-width joiner (U+200D) is a format character too, so emoji built with it are
    // refused as well; letters of every script are fine.
    assert!(normalize_name("dev 👩\u{200D}💻").is_err());
    assert_eq!(normalize_name("Ærøskøbing Σοφία"), Ok("Ærøskøbing Σοφία"));
}

#[test]
fn only_ascii_lowercases_into_the_guest_prefix() {
    // The guest check compares ASCII only; that is the rule only if no other character's
    // lowercase holds a character of the prefix, checked here for every character there is.
    let prefix_chars: Vec<char> = GUEST_PREFIX.chars().collect();
    for c in (0..=0x10FFFF)
        .filter_map(char::from_u32)
        .filter(|c| !c.is_ascii())
    {
        assert!(
            !c.to_lowercase().any(|lower| prefix_chars.contains(&lower)),
            "{c:?} lowercases into the guest prefix"
        );
    }
    for (name, guest) in [
        ("GUEST-1", true),
        ("gUeSt-alice", true),
        ("guest-", true),
        ("guest", false),
        ("guests-1", false),
        ("\u{130}guest-1", false),
        ("gu\u{e9}st-1", false),
    ] {
        assert_eq!(
            normalize_name(name).is_err(),
            guest,
            "{name:?}: the guest check"
        );
        assert_eq!(name_key(name).starts_with(GUEST_PREFIX), guest, "{name:?}");
    }
}

#[test]
fn room_names_follow_the_rules() {
    for good in ["lobby", "a", "rust-lang_2", &"z".repeat(MAX_ROOM_CHARS)] {
        assert!(validate_room(good).is_ok(), "{good:?}");
    }
    for bad in [
        "",
        "Rust",
        "with space",
        "ünï",
        "a/b",
        &"z".repeat(MAX_ROOM_CHARS + 1),
    ] {
        assert_eq!(
            validate_room(bad).unwrap_err().code,
            ErrorCode::InvalidRoom,
            "{bad:?}"
        );
    }
}

#[test]
fn cids_are_bounded() {
    assert!(validate_cid("abc").is_ok());
    assert!(validate_cid(&"é".repeat(MAX_CID_CHARS)).is_ok());
    assert!(validate_cid("").is_err());
    assert!(validate_cid(&"x".repeat(MAX_CID_CHARS + 1)).is_err());
}

#[test]
fn batch_skips_blank_lines_and_reports_bad_lines_alone() {
    let good = encode(&ServerFrame::Message(message(1))).unwrap();
    let batch = format!("{good}\n\nnot json\n{good}\n");
    let parsed: Vec<_> = split_batch(&batch).collect();
    assert_eq!(parsed.len(), 3);
    assert!(parsed[0].is_ok() && parsed[1].is_err() && parsed[2].is_ok());
}

#[test]
fn every_client_frame_type_is_known_and_a_broken_one_is_invalid_not_unknown() {
    use strum::VariantNames;
    for kind in ClientFrame::VARIANTS {
        let err = ClientFrame::parse(&format!(r#"{{"type":"{kind}","room":7}}"#)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidFrame, "{kind}");
    }
    let hello = encode_client(&ClientFrame::Hello {
        name: "a".into(),
        token: None,
    })
    .unwrap();
    assert!(hello.starts_with(r#"{"type":"hello""#), "{hello}");
    assert_eq!(
        ClientFrame::parse(r#"{"type":"shout"}"#).unwrap_err().code,
        ErrorCode::UnknownType
    );
}

#[test]
fn limits_are_written_flat_beside_their_type() {
    let json = encode(&ServerFrame::Limits(Limits::default())).unwrap();
    assert_eq!(
        json,
        format!(r#"{{"type":"limits","max_frame_bytes":{DEFAULT_MAX_FRAME_BYTES}}}"#)
    );
}

#[test]
fn a_reaction_is_one_emoji_in_its_fully_qualified_form() {
    use crate::reaction;
    assert_eq!(reaction("👍"), Some("👍"));
    // With a skin tone, and a family joined by zero-width joiners: one emoji each.
    assert_eq!(reaction("👍🏽"), Some("👍🏽"));
    assert_eq!(reaction("👩‍👩‍👧"), Some("👩‍👩‍👧"));
    // Typed without its variation selector, it is the same reaction.
    assert_eq!(reaction("\u{2764}"), Some("\u{2764}\u{fe0f}"));
    assert_eq!(reaction("\u{2764}"), reaction("\u{2764}\u{fe0f}"));
    for not_one in [
        "",
        "a",
        "ok",
        "👍👍",
        "👍 ",
        " 👍",
        "1",
        "#",
        ":thumbsup:",
        "<b>",
    ] {
        assert_eq!(reaction(not_one), None, "{not_one:?}");
    }
    assert_eq!(reaction(&"👍".repeat(40)), None);
}

#[test]
fn events_and_message_state_have_documented_shapes() {
    let edit = ServerFrame::Event(Event {
        id: 58,
        room: "rust".into(),
        action: Action::Edit,
        target: 42,
        name: "alice".into(),
        ts: 7,
        account: None,
        text: "fixed".into(),
        emoji: String::new(),
        format: vec![],
        mentions: vec![],
    });
    assert_eq!(
        encode(&edit).unwrap(),
        r#"{"type":"event","id":58,"room":"rust","action":"edit","target":42,"name":"alice","ts":7,"text":"fixed"}"#
    );
    let react = ServerFrame::Event(Event {
        id: 59,
        room: "rust".into(),
        action: Action::Unreact,
        target: 42,
        name: "bob".into(),
        ts: 8,
        account: Some(3),
        text: String::new(),
        emoji: "👍".into(),
        format: vec![],
        mentions: vec![],
    });
    assert_eq!(
        encode(&react).unwrap(),
        r#"{"type":"event","id":59,"room":"rust","action":"unreact","target":42,"name":"bob","ts":8,"account":3,"emoji":"👍"}"#
    );
    let mut reply = message(60);
    reply.reply = Some(Quote {
        id: 42,
        name: "alice".into(),
        text: "fixed".into(),
    });
    reply.edited = Some(9);
    reply.format = vec![("a".into(), markdown::style::STRONG)];
    reply.reactions = vec![Reaction {
        emoji: "👍".into(),
        names: vec!["bob".into(), "carol".into()],
    }];
    let json = encode(&ServerFrame::Message(reply.clone())).unwrap();
    assert_eq!(
        json,
        r#"{"type":"message","id":60,"room":"lobby","name":"alice","text":"a","ts":2,"reply":{"id":42,"name":"alice","text":"fixed"},"edited":9,"reactions":[{"emoji":"👍","names":["bob","carol"]}],"format":[["a",1]]}"#
    );
    for frame in [edit, react, ServerFrame::Message(reply)] {
        let json = encode(&frame).unwrap();
        assert_eq!(serde_json::from_str::<ServerFrame>(&json).unwrap(), frame);
    }
}

#[test]
fn a_quote_is_the_start_of_the_text() {
    assert_eq!(quote("short"), "short");
    let long = "word ".repeat(40);
    let quoted = quote(&long);
    assert!(quoted.ends_with('…'), "{quoted}");
    assert!(quoted.chars().count() <= QUOTE_CHARS + 1);
    // Characters, not bytes: never cut inside one.
    let wide = "é".repeat(QUOTE_CHARS + 5);
    assert_eq!(quote(&wide).chars().count(), QUOTE_CHARS + 1);
}

#[test]
fn an_action_reads_back_by_its_name_and_no_other() {
    for action in <Action as strum::VariantArray>::VARIANTS {
        let name: &str = (*action).into();
        assert_eq!(Action::from_name(name), Some(*action));
        assert_eq!(
            serde_json::to_string(action).unwrap(),
            format!("\"{name}\"")
        );
    }
    assert_eq!(Action::from_name("explode"), None);
    assert_eq!(Action::from_name("Edit"), None);
}

#[test]
fn a_message_is_shown_without_the_markers_its_format_took_out() {
    let mut message = ChatMessage {
        text: "**bold** and `code`".into(),
        ..Default::default()
    };
    assert_eq!(
        message.shown(),
        "**bold** and `code`",
        "no format: as it is"
    );
    message.format = crate::markdown::runs(&message.text).unwrap();
    assert_eq!(message.shown(), "bold and code");
}
