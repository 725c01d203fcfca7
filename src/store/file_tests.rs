use super::super::backend::Slot;
use super::*;
use crate::store::test_support::TempDir;
use std::os::unix::fs::PermissionsExt;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn records_are_written_atomically_into_a_private_folder() {
    let temp = TempDir::new("file-modes");
    let dir = temp.path().join("nested").join("store");
    let backend = FileBackend::new(dir.clone());
    assert_eq!(backend.read("abc", Slot::Token).await.unwrap(), None);
    backend
        .write(
            "abc",
            Slot::Token,
            b"sealed-1".to_vec(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    backend
        .write(
            "abc",
            Slot::Token,
            b"sealed-2".to_vec(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(
        backend.read("abc", Slot::Token).await.unwrap().as_deref(),
        Some(&b"sealed-2"[..])
    );
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("abc.tok")), 0o600);
    // no temporary file is left behind
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["abc.rec".to_string(), "abc.tok".to_string()]);
    assert_eq!(mode(&dir.join("abc.rec")), 0o600);
}

#[tokio::test]
async fn an_invalidation_does_not_wait_for_a_request_in_flight() {
    let temp = TempDir::new("file-busy");
    let backend = FileBackend::new(temp.path().to_path_buf());
    let ttl = Duration::from_secs(60);
    backend
        .write("abc", Slot::Token, b"old".to_vec(), ttl)
        .await
        .unwrap();
    // Another holder is fetching: the entry's fleet lock is taken.
    let held = backend.try_lock("abc", ttl).await.unwrap().expect("free");
    let deleted = tokio::time::timeout(
        Duration::from_millis(200),
        backend.delete_if_equals("abc", Slot::Token, b"old".to_vec()),
    )
    .await
    .expect("the compare-and-delete waited for the fleet lock");
    assert!(deleted.unwrap());
    assert_eq!(backend.read("abc", Slot::Token).await.unwrap(), None);
    held.release().await.unwrap();
}

#[tokio::test]
async fn a_folder_others_can_write_or_a_linked_record_is_refused() {
    let temp = TempDir::new("file-strict");
    let dir = temp.path().join("store");
    let backend = FileBackend::new(dir.clone());
    let ttl = Duration::from_secs(60);
    backend
        .write("abc", Slot::Token, b"mine".to_vec(), ttl)
        .await
        .unwrap();
    for loose in [0o777, 0o720, 0o702] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(loose)).unwrap();
        assert!(
            backend.read("abc", Slot::Token).await.is_err(),
            "mode {loose:o}"
        );
        assert!(backend
            .write("abc", Slot::Token, b"x".to_vec(), ttl)
            .await
            .is_err());
        assert!(backend.try_lock("abc", ttl).await.is_err());
        assert!(backend.publish("abc", b"f".to_vec()).await.is_err());
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(
        backend.read("abc", Slot::Token).await.unwrap().as_deref(),
        Some(&b"mine"[..])
    );
    // A record or lock file that is a symbolic link is never opened.
    let elsewhere = temp.path().join("elsewhere");
    fs::write(&elsewhere, b"planted").unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("linked.tok")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("linked.lock")).unwrap();
    assert!(backend.read("linked", Slot::Token).await.is_err());
    assert!(backend.try_lock("linked", ttl).await.is_err());
    assert_eq!(fs::read(&elsewhere).unwrap(), b"planted");
}

#[tokio::test]
async fn the_lock_is_exclusive_until_released() {
    let temp = TempDir::new("file-lock");
    let backend = FileBackend::new(temp.path().to_path_buf());
    let ttl = Duration::from_secs(5);
    let held = backend
        .try_lock("abc", ttl)
        .await
        .unwrap()
        .expect("free at first");
    assert!(!held.needs_renewal());
    assert!(backend.try_lock("abc", ttl).await.unwrap().is_none());
    assert!(backend.try_lock("other", ttl).await.unwrap().is_some());
    assert_eq!(mode(&temp.path().join("abc.lock")), 0o600);
    held.release().await.unwrap();
    assert!(backend.try_lock("abc", ttl).await.unwrap().is_some());
}

#[tokio::test]
async fn delete_if_equals_keeps_a_record_that_changed() {
    let temp = TempDir::new("file-delete");
    let backend = FileBackend::new(temp.path().to_path_buf());
    let ttl = Duration::from_secs(60);
    backend
        .write("abc", Slot::Token, b"new".to_vec(), ttl)
        .await
        .unwrap();
    assert!(!backend
        .delete_if_equals("abc", Slot::Token, b"old".to_vec())
        .await
        .unwrap());
    assert!(backend.read("abc", Slot::Token).await.unwrap().is_some());
    assert!(backend
        .delete_if_equals("abc", Slot::Token, b"new".to_vec())
        .await
        .unwrap());
    assert_eq!(backend.read("abc", Slot::Token).await.unwrap(), None);
}

#[tokio::test]
async fn an_oversized_file_is_not_read_whole() {
    let temp = TempDir::new("file-big");
    let backend = FileBackend::new(temp.path().to_path_buf());
    fs::create_dir_all(temp.path()).unwrap();
    fs::write(
        temp.path().join("abc.tok"),
        vec![b'x'; 10 * MAX_RECORD_BYTES],
    )
    .unwrap();
    let read = backend.read("abc", Slot::Token).await.unwrap().unwrap();
    assert_eq!(read.len(), MAX_RECORD_BYTES + 1);
}

#[tokio::test]
async fn published_messages_reach_followers_and_old_ones_do_not() {
    use crate::store::events::Message;
    use crate::store::seal::EntrySeal;
    let temp = TempDir::new("file-events");
    let backend = Arc::new(FileBackend::new(temp.path().to_path_buf()));
    let seal = Arc::new(EntrySeal::derive(b"secret", &[3; 32]));
    // A message from before anyone followed the entry is not news.
    backend
        .publish(seal.name(), Message::Failed.encode())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let hub = Arc::new(EventHub::default());
    backend.clone().start_events(Arc::downgrade(&hub));
    let heard = Arc::new(std::sync::Mutex::new(0u32));
    let sink = heard.clone();
    let on_remote: crate::store::RemoteInvalidation =
        Arc::new(move |_, _| *sink.lock().unwrap() += 1);
    let watched = hub.watch(&seal, [3; 32], &on_remote);
    tokio::time::sleep(MESSAGE_POLL * 2).await;
    assert_eq!(watched.failures(), 0);
    backend
        .publish(seal.name(), Message::Failed.encode())
        .await
        .unwrap();
    backend
        .publish(seal.name(), Message::Invalidated([1; 32]).encode())
        .await
        .unwrap();
    // both are seen, though published between two polls
    tokio::time::sleep(MESSAGE_POLL * 3).await;
    assert_eq!(watched.failures(), 1);
    assert_eq!(*heard.lock().unwrap(), 1);
    // and each only once
    tokio::time::sleep(MESSAGE_POLL * 2).await;
    assert_eq!(watched.failures(), 1);
    assert_eq!(*heard.lock().unwrap(), 1);
    assert_eq!(
        mode(&temp.path().join(format!("{}.ev", seal.name()))),
        0o600
    );
}
