use super::*;

fn redis(text: &str) -> RedisSpec {
    match StoreSpec::parse(text).unwrap() {
        StoreSpec::Redis(spec) => spec,
        other => panic!("not redis: {other:?}"),
    }
}

#[test]
fn memory_and_file_stores() {
    assert_eq!(StoreSpec::parse("memory").unwrap(), StoreSpec::Memory);
    match StoreSpec::parse("file:/var/cache/tokens").unwrap() {
        StoreSpec::File(file) => assert_eq!(file.dir, PathBuf::from("/var/cache/tokens")),
        other => panic!("{other:?}"),
    }
    // 'file' resolves to an absolute folder (from XDG_CACHE_HOME or HOME here).
    if let Ok(StoreSpec::File(file)) = StoreSpec::parse("file") {
        assert!(file.dir.is_absolute());
        assert!(file.dir.ends_with("m2m-token"));
    }
    assert!(StoreSpec::parse("file:relative/dir").is_err());
    assert!(StoreSpec::parse("file:").is_err());
}

#[test]
fn redis_urls_give_nodes_credentials_and_database() {
    let spec = redis("redis://127.0.0.1");
    assert_eq!(spec.nodes, vec![("127.0.0.1".to_string(), 6379)]);
    assert!(!spec.tls && !spec.cluster);
    assert_eq!((spec.username, spec.password, spec.db), (None, None, 0));

    let spec = redis("rediss://app:s%40cret@cache.example:6380/3");
    assert!(spec.tls);
    assert_eq!(spec.username.as_deref(), Some("app"));
    assert_eq!(spec.password.as_ref().map(Secret::expose), Some("s@cret"));
    assert_eq!(spec.nodes, vec![("cache.example".to_string(), 6380)]);
    assert_eq!(spec.db, 3);

    let spec = redis("redis://:pw@[::1]:7000");
    assert_eq!(spec.username, None);
    assert_eq!(spec.nodes, vec![("::1".to_string(), 7000)]);

    let spec = redis("rediss+cluster://u:p@a:7000,b:7001,c");
    assert!(spec.tls && spec.cluster);
    assert_eq!(spec.nodes.len(), 3);
    assert_eq!(spec.nodes[2], ("c".to_string(), 6379));
}

#[test]
fn bad_store_strings_are_invalid_options() {
    for text in [
        "",
        "Memory",
        "postgres://x",
        "redis://",
        "redis://host:0",
        "redis://host:99999",
        "redis://host:port",
        "redis://a:1,b:2",
        "redis://host/db",
        "redis://host/?x=1",
        "redis://ho st",
        "redis+cluster://a:1/2",
        "redis://[::1",
    ] {
        let err = StoreSpec::parse(text).unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidOptions, "{text}");
    }
}

#[test]
fn the_password_never_shows_in_errors_or_debug() {
    let password = "hunter2-store-password";
    for text in [
        format!("redis://user:{password}@host:notaport"),
        format!("redis://user:{password}@"),
        format!("redis://:{password}@a:1,b:2"),
        format!("rediss+cluster://u:{password}@a:1/5"),
        format!("redis://u:{password}@host?x"),
        format!("mongodb://u:{password}@host"),
    ] {
        let err = StoreSpec::parse(&text).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(password), "{text}");
    }
    let spec = StoreSpec::parse(&format!("redis://user:{password}@host:1/2")).unwrap();
    let shown = format!("{spec:?} {spec:#?}");
    assert!(!shown.contains(password));
    assert!(shown.contains("[redacted]"));
}

#[test]
fn key_material_differs_by_password_and_server() {
    let key = |text: &str| StoreSpec::parse(text).unwrap().key_material().to_string();
    assert_ne!(key("redis://:a@h"), key("redis://:b@h"));
    assert_ne!(key("redis://h:1"), key("redis://h:2"));
    assert_ne!(key("redis://h/1"), key("redis://h/2"));
    // the same server written two ways is one store
    assert_eq!(key("redis://H:6379"), key("redis://h"));
    assert_eq!(key("redis://h/0"), key("redis://h"));
    // user "a:b" with no password vs user "a" with password "b"
    assert_ne!(key("redis://a%3Ab@h"), key("redis://a:b@h"));
}
