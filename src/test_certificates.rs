//! Client certificates for tests, made at run time with `openssl` (RSA or
//! P-256, self-signed, valid one day), and their keys in each encoding.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `openssl` with `input` on its standard input; its output, or `None`.
fn openssl(args: &[&str], input: &str) -> Option<String> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).ok())
        .flatten()
}

/// A self-signed certificate and its PKCS#8 key: `"rsa"` or `"ec"`. `None`
/// without `openssl` (a line on stderr; with `CI=true` the test fails).
pub fn self_signed(kind: &str) -> Option<(String, String)> {
    let new_key = match kind {
        "rsa" => "rsa:2048",
        _ => "ec",
    };
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        new_key,
        "-nodes",
        "-keyout",
        "/dev/stdout",
        "-out",
        "/dev/stdout",
        "-days",
        "1",
        "-subj",
        "/CN=m2m-token test client",
    ];
    if kind != "rsa" {
        args.extend(["-pkeyopt", "ec_paramgen_curve:P-256"]);
    }
    let Some(both) = openssl(&args, "") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is not installed; with CI=true a test that cannot run fails"
        );
        eprintln!("skipped: openssl is not installed (a client certificate test)");
        return None;
    };
    let blocks = pem::parse_many(both.as_bytes()).ok()?;
    let text = |tag: &str| blocks.iter().find(|b| b.tag() == tag).map(pem::encode);
    Some((text("CERTIFICATE")?, text("PRIVATE KEY")?))
}

/// The same key as PKCS#1 (RSA) or SEC1 (EC).
pub fn traditional(pkcs8: &str) -> String {
    openssl(&["pkey", "-traditional"], pkcs8).expect("openssl converts a key it made")
}
