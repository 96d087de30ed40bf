//! The auditor's binary, run as an auditor would: in an empty directory holding only the
//! evidence file and the key file, with no access to the ledger.

mod common;

use common::story;
use serde_json::json;
use std::process::Command;

fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_serial-ledger-verify"))
        .current_dir(dir)
        .args(args)
        .env_clear()
        .output()
        .expect("run the verifier");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn the_binary_accepts_a_genuine_file_and_refuses_a_forged_one() {
    let story = story();
    let dir = tempfile::tempdir().expect("tempdir");
    let genuine = story.genuine();
    std::fs::write(dir.path().join("evidence.json"), genuine.to_string()).expect("write");
    std::fs::write(
        dir.path().join("ledger.pub"),
        format!("{}\n", story.ledger.verifier.text()),
    )
    .expect("write");

    let (code, text) = run(dir.path(), &["evidence.json", "--public-key", "ledger.pub"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        text.trim(),
        "evidence for serial F2LFAULTY001 verified against checkpoint of tree size 12 signed by serial-ledger.example/log: 2 unit(s), 4 events, complete"
    );

    // The key text itself works too.
    let (code, _) = run(
        dir.path(),
        &[
            "evidence.json",
            "--public-key",
            story.ledger.verifier.text(),
        ],
    );
    assert_eq!(code, 0);

    let mut forged = genuine;
    forged["units"][0]["history"][1]["event"]["payload"]["line_number"] = json!(9);
    std::fs::write(dir.path().join("forged.json"), forged.to_string()).expect("write");
    let (code, text) = run(dir.path(), &["forged.json", "--public-key", "ledger.pub"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("[EVENT_ALTERED]"), "{text}");
    assert!(text.contains("history entry 1"), "{text}");
}

#[test]
fn usage_errors_and_unreadable_files_exit_2() {
    let story = story();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ledger.pub"), story.ledger.verifier.text()).expect("write");
    assert_eq!(run(dir.path(), &[]).0, 2);
    assert_eq!(
        run(dir.path(), &["missing.json", "--public-key", "ledger.pub"]).0,
        2
    );
    assert_eq!(run(dir.path(), &["x.json"]).0, 2, "no key is a usage error");
    assert_eq!(
        run(dir.path(), &["x.json", "--public-key", "not a key"]).0,
        2
    );
    std::fs::write(dir.path().join("bad.json"), "{").expect("write");
    assert_eq!(
        run(dir.path(), &["bad.json", "--public-key", "ledger.pub"]).0,
        1
    );
}
