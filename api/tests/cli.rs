//! The `serial-ledger` command line as an operator uses it.

use std::process::Command;

fn serial_ledger() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_serial-ledger"));
    command.env_remove("DATABASE_URL");
    command
}

#[test]
fn help_explains_every_flag_and_its_environment_variable() {
    let output = serial_ledger()
        .args(["migrate", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success());
    assert!(help.contains("--database-url"), "{help}");
    assert!(help.contains("[env: DATABASE_URL=]"), "{help}");
    assert!(
        help.contains("[default: sqlite://serial-ledger.db]"),
        "{help}"
    );
    let top = serial_ledger().arg("--help").output().unwrap();
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.contains("migrate") && top.contains("replay"), "{top}");
}

#[test]
fn migrate_creates_the_schema_and_is_safe_to_repeat_then_verify_passes() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
    for _ in 0..2 {
        let output = serial_ledger()
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
    }
    let verify = serial_ledger()
        .args(["replay", "verify"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("all hash chains intact"));
}

#[test]
fn an_unsupported_database_url_is_a_clear_error() {
    let output = serial_ledger()
        .args(["migrate", "--database-url", "mysql://localhost/x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
}
