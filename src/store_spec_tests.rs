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
fn sentinel_urls_give_sentinels_master_name_credentials_and_database() {
    let spec = redis("redis+sentinel://127.0.0.1:26380,s2,[::1]:26381/mymaster");
    assert!(!spec.tls && !spec.cluster);
    assert_eq!(spec.sentinel_master.as_deref(), Some("mymaster"));
    assert_eq!(
        spec.nodes,
        vec![
            ("127.0.0.1".to_string(), 26380),
            // Sentinels listen on 26379 by default, not 6379.
            ("s2".to_string(), 26379),
            ("::1".to_string(), 26381),
        ]
    );
    assert_eq!(spec.db, 0);

    let spec = redis("rediss+sentinel://app:s%40cret@s1:5000/cache-1.eu_west/4");
    assert!(spec.tls);
    assert_eq!(spec.sentinel_master.as_deref(), Some("cache-1.eu_west"));
    assert_eq!(spec.username.as_deref(), Some("app"));
    assert_eq!(spec.password.as_ref().map(Secret::expose), Some("s@cret"));
    assert_eq!(spec.db, 4);
    assert_eq!(redis("redis+sentinel://s1/m/").db, 0);

    // Not a Sentinel URL: no master name.
    assert_eq!(redis("redis://h/2").sentinel_master, None);
}

#[test]
fn bad_sentinel_urls_are_invalid_options() {
    for text in [
        "redis+sentinel://s1",
        "redis+sentinel://s1/",
        "redis+sentinel://s1//2",
        "redis+sentinel://s1/my%20master",
        "redis+sentinel://s1/my:master",
        "redis+sentinel://s1/m/x",
        "redis+sentinel://s1/m/2/3",
        "redis+sentinel://s1:0/m",
        "redis+sentinel://s1,/m",
        "redis+sentinel:///m",
        "redis+sentinel://s1/m?x=1",
        "redis-sentinel://s1/m",
    ] {
        let err = StoreSpec::parse(text).unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidOptions, "{text}");
    }
    let long_name = format!("redis+sentinel://s1/{}", "m".repeat(129));
    assert!(StoreSpec::parse(&long_name).is_err());
}

#[test]
fn a_sentinel_password_never_shows_in_errors_or_debug() {
    let password = "hunter2-sentinel-password";
    for text in [
        format!("redis+sentinel://u:{password}@s1"),
        format!("redis+sentinel://u:{password}@s1/"),
        format!("rediss+sentinel://:{password}@s1:x/m"),
        format!("redis+sentinel://u:{password}@s1/m/db"),
        format!("redis+sentinel://u:{password}@s1/bad name"),
    ] {
        let err = StoreSpec::parse(&text).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(password), "{text}");
    }
    let spec = StoreSpec::parse(&format!(
        "rediss+sentinel://user:{password}@s1,s2:1/mymaster/2"
    ))
    .unwrap();
    let shown = format!("{spec:?} {spec:#?}");
    assert!(!shown.contains(password), "{shown}");
    assert_eq!(
        format!("{spec:?}"),
        "rediss+sentinel://user:[redacted]@s1:26379,s2:1/mymaster/2"
    );
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
    // Sentinel stores differ by master name, and from a server at that address
    assert_ne!(key("redis+sentinel://s/a"), key("redis+sentinel://s/b"));
    assert_ne!(key("redis+sentinel://s/a/1"), key("redis+sentinel://s/a/2"));
    assert_ne!(key("redis+sentinel://s:26379/a"), key("redis://s:26379"));
    assert_eq!(
        key("redis+sentinel://S/a/0"),
        key("redis+sentinel://s:26379/a")
    );
    assert_ne!(
        key("redis+sentinel://:a@s/m"),
        key("redis+sentinel://:b@s/m")
    );
    // user "a:b" with no password vs user "a" with password "b"
    assert_ne!(key("redis://a%3Ab@h"), key("redis://a:b@h"));
}
