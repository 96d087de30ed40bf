//! The `serial-ledger` command line as an operator uses it.

// Helpers here are not #[test]s, so clippy does not see them as test code; a failed unwrap
// is the test failure we want.
#![allow(clippy::unwrap_used)]

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

fn run_ok(args: &[&str], url: &str) -> String {
    let output = serial_ledger()
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn tenants_and_tokens_are_created_revoked_and_stored_only_as_hashes() {
    use application::auth::{Auth, Role};
    use projections::ReadDb;
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
    run_ok(
        &["tenant", "create", "corner-shop", "--name", "Corner Shop"],
        &url,
    );
    let token = run_ok(
        &[
            "token",
            "create",
            "--tenant",
            "corner-shop",
            "--role",
            "pos",
            "--label",
            "till 1",
        ],
        &url,
    )
    .trim()
    .to_owned();
    assert!(token.starts_with("sl_"), "{token}");

    let store = store::AnyStore::connect(&url).await.unwrap();
    let auth = Auth::new(ReadDb::of(&store));
    let principal = auth.authenticate(&token).await.unwrap();
    assert_eq!(principal.role, Role::Pos);
    assert_eq!(principal.label, "till 1");
    assert_eq!(
        principal.tenant_id,
        auth.tenant_by_slug("corner-shop").await.unwrap().tenant_id
    );
    let database = std::fs::read(directory.path().join("ledger.db")).unwrap();
    let wal = std::fs::read(directory.path().join("ledger.db-wal")).unwrap_or_default();
    let needle = token.as_bytes();
    for bytes in [&database, &wal] {
        assert!(
            !bytes.windows(needle.len()).any(|window| window == needle),
            "token stored in clear"
        );
    }

    run_ok(&["token", "revoke", &principal.token_id.to_string()], &url);
    assert!(
        auth.authenticate(&token).await.is_err(),
        "a revoked token no longer works"
    );
    assert!(auth.authenticate("sl_forged").await.is_err());

    let duplicate = serial_ledger()
        .args(["tenant", "create", "corner-shop", "--name", "Again"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let bad_role = serial_ledger()
        .args([
            "token",
            "create",
            "--tenant",
            "corner-shop",
            "--role",
            "owner",
        ])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));
}

#[test]
fn serve_demo_seeds_a_retailer_prints_a_token_per_role_answers_and_stops_on_sigterm() {
    use std::io::{Read, Write};
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
    let (mut server, mut lines) = spawn_demo_server(&url);
    let mut tokens = 0;
    let address = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if line.contains(" token: sl_") {
            tokens += 1;
        }
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    assert_eq!(tokens, 5, "a token per role");

    let mut connection = std::net::TcpStream::connect(&address).unwrap();
    write!(
        connection,
        "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    connection.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""status":"ok""#), "{response}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stopped after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0");
}

/// `serve --demo` on `url` at a free port, with the lines it prints.
fn spawn_demo_server(
    url: &str,
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let mut server = serial_ledger()
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    (server, lines)
}

/// A database seeded by `serve --demo`, the server stopped again.
fn seeded_demo_database(directory: &tempfile::TempDir) -> String {
    let url = format!("sqlite://{}", directory.path().join("demo.db").display());
    let (mut server, lines) = spawn_demo_server(&url);
    for line in lines {
        if line.unwrap().contains("listening on") {
            break;
        }
    }
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(server.wait().unwrap().success());
    url
}

fn run(args: &[&str], url: &str) -> (bool, String, String) {
    let output = serial_ledger()
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn an_auditor_replays_a_serial_exports_the_evidence_checks_it_offline_and_looks_back_in_time() {
    let directory = tempfile::tempdir().unwrap();
    let url = seeded_demo_database(&directory);

    // The returned, re-issued phone of the demo, typed in lower case.
    let table = run_ok(&["replay", "serial", "f2lfaulty001"], &url);
    for expected in [
        "serial F2LFAULTY001 of iPhone 15 128GB",
        "now: RETURNED on invoice INV-1005",
        "ASSIGNED",
        "FULFILLED",
        "RETURNED",
        "reason: screen faulty",
        "REISSUED",
        "re-issue of invoice INV-1005 line 1",
    ] {
        assert!(table.contains(expected), "{expected:?} in\n{table}");
    }
    let scanned = run_ok(&["replay", "serial", "F2LFAULTY001", "--scan"], &url);
    let without_footer = |text: &str| text.lines().take(8).collect::<Vec<_>>().join("\n");
    assert_eq!(without_footer(&scanned), without_footer(&table));

    // The evidence file: checked offline, and an edit to it is caught.
    let file = directory.path().join("evidence.json");
    let file = file.to_str().unwrap();
    run_ok(
        &[
            "replay",
            "serial",
            "F2LFAULTY001",
            "--format",
            "json",
            "--output",
            file,
        ],
        &url,
    );
    // The demo signed its checkpoint with a key it made beside the database.
    let public_key = directory.path().join("demo.db.signing-key.pub");
    let public_key = public_key.to_str().unwrap();
    let checked = run_ok(
        &["replay", "check-evidence", file, "--public-key", public_key],
        &url,
    );
    assert!(
        checked.contains("intact and complete: 1 unit(s), 4 events"),
        "{checked}"
    );
    assert!(
        checked.contains("checkpoint signature verified"),
        "{checked}"
    );
    // In an empty directory, with only the file and the key and no database anywhere.
    let alone = tempfile::tempdir().unwrap();
    std::fs::copy(file, alone.path().join("evidence.json")).unwrap();
    std::fs::copy(public_key, alone.path().join("ledger.pub")).unwrap();
    let verified = serial_ledger()
        .current_dir(alone.path())
        .env_clear()
        .args([
            "replay",
            "check-evidence",
            "evidence.json",
            "--public-key",
            "ledger.pub",
        ])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    let mut left = std::fs::read_dir(alone.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect::<Vec<_>>();
    left.sort();
    assert_eq!(left, ["evidence.json", "ledger.pub"], "nothing was created");
    // Leaving out an event, and recomputing the hash of an edited one, are both refused.
    let mut short: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    short["units"][0]["history"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    let short_file = directory.path().join("short.json");
    std::fs::write(&short_file, short.to_string()).unwrap();
    let (ok, out, _) = run(
        &[
            "replay",
            "check-evidence",
            short_file.to_str().unwrap(),
            "--public-key",
            public_key,
        ],
        &url,
    );
    assert!(
        !ok && out.contains("HISTORY_INCOMPLETE") && out.contains("leaves out"),
        "{out}"
    );
    // The log against every checkpoint, signatures verified.
    let verify = run_ok(&["replay", "verify", "--public-key", public_key], &url);
    assert!(verify.contains("1 signature(s) verified"), "{verify}");
    assert!(
        verify.contains("the log matches every checkpoint"),
        "{verify}"
    );
    let kept = directory.path().join("kept.checkpoint");
    run_ok(
        &["checkpoint", "export", "--out", kept.to_str().unwrap()],
        &url,
    );
    let consistent = run_ok(
        &[
            "replay",
            "check-consistency",
            "--checkpoint",
            kept.to_str().unwrap(),
            "--public-key",
            public_key,
        ],
        &url,
    );
    assert!(consistent.contains("CONSISTENT"), "{consistent}");
    let text = std::fs::read_to_string(file).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    let returned_at = document["units"][0]["history"][2]["position"]
        .as_str()
        .unwrap()
        .to_owned();
    let assigned_at = document["units"][0]["history"][0]["position"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(file, text.replace("screen faulty", "not faulty")).unwrap();
    let (ok, out, _) = run(&["replay", "check-evidence", file], &url);
    assert!(!ok);
    assert!(out.contains("BROKEN") && out.contains("altered"), "{out}");

    let csv = run_ok(
        &["replay", "serial", "F2LFAULTY001", "--format", "csv"],
        &url,
    );
    assert_eq!(csv.lines().count(), 5, "a header and four events:\n{csv}");

    // Back in time: allocated when assigned, returned after the return.
    let then = run_ok(
        &["replay", "as-of", &assigned_at, "--serial", "F2LFAULTY001"],
        &url,
    );
    assert!(
        then.contains("now: ALLOCATED on invoice INV-1005"),
        "{then}"
    );
    let then = run_ok(
        &["replay", "as-of", &returned_at, "--serial", "F2LFAULTY001"],
        &url,
    );
    assert!(then.contains("now: RETURNED on invoice INV-1005"), "{then}");
    let sale_id = document["units"][0]["history"][0]["sale_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sale = run_ok(&["replay", "as-of", &assigned_at, "--sale", &sale_id], &url);
    assert!(sale.contains("invoice INV-1005"), "{sale}");
    assert!(
        sale.contains("F2LFAULTY001") && sale.contains("open"),
        "{sale}"
    );

    // Mistakes are named.
    let (ok, _, err) = run(&["replay", "serial", "NEVER-SOLD"], &url);
    assert!(!ok && err.contains("was never recorded"), "{err}");
    let (ok, _, err) = run(&["replay", "serial", "bad serial"], &url);
    assert!(!ok && err.contains("must not contain spaces"), "{err}");
    let (ok, _, err) = run(&["replay", "as-of", "yesterday", "--serial", "X"], &url);
    assert!(!ok && err.contains("COMMIT:PREPARE"), "{err}");
    let (ok, _, err) = run(
        &["replay", "serial", "F2LFAULTY001", "--tenant", "nobody"],
        &url,
    );
    assert!(!ok && err.contains("--tenant"), "{err}");
}

#[test]
fn staff_export_the_sales_detail_pick_lists_and_an_invoice_to_files() {
    let directory = tempfile::tempdir().unwrap();
    let url = seeded_demo_database(&directory);
    let path = |name: &str| directory.path().join(name).to_str().unwrap().to_owned();

    let csv = path("sales-detail.csv");
    run_ok(&["export", "sales-detail", "--output", &csv], &url);
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("Serial Number") && header.contains("Delivery Mode"),
        "{header}"
    );
    assert!(text.contains("F2LFAULTY001"), "{text}");

    let xlsx = path("sales-detail.xlsx");
    run_ok(&["export", "sales-detail", "--output", &xlsx], &url);
    let bytes = std::fs::read(&xlsx).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX is a zip archive");

    let pick_list = path("pick-list.pdf");
    run_ok(
        &[
            "export",
            "pick-list",
            "--kind",
            "serial",
            "--output",
            &pick_list,
        ],
        &url,
    );
    assert!(std::fs::read(&pick_list).unwrap().starts_with(b"%PDF-"));
    assert!(
        !directory.path().join("pick-list.pdf.partial").exists(),
        "written whole, then renamed"
    );

    // An unknown sale is named, and no file is left behind.
    let invoice = path("invoice.pdf");
    let (ok, _, err) = run(
        &[
            "export",
            "invoice",
            "01900000-0000-7000-8000-00000000ffff",
            "--output",
            &invoice,
        ],
        &url,
    );
    assert!(!ok, "{err}");
    assert!(!std::path::Path::new(&invoice).exists());
}

#[test]
fn a_witness_cosigns_checkpoints_that_extend_the_last_it_verified_and_refuses_the_rest() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("demo.db").display());
    let (mut server, mut lines) = spawn_demo_server(&url);
    let mut auditor = None;
    let address = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if line.trim_start().starts_with("auditor ")
            && let Some(token) = line.split("token: ").nth(1)
        {
            auditor = Some(token.trim().to_owned());
        }
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    let auditor = auditor.expect("an auditor token");
    let path = |name: &str| directory.path().join(name).to_str().unwrap().to_owned();
    let log_key = path("demo.db.signing-key.pub");
    run_ok(
        &[
            "keys",
            "generate",
            "--witness",
            "--name",
            "test-witness",
            "--out",
            &path("witness.key"),
        ],
        &url,
    );
    let cosign = |state: &str| {
        run(
            &[
                "witness",
                "cosign",
                "--url",
                &format!("http://{address}"),
                "--token",
                &auditor,
                "--log-key",
                &log_key,
                "--witness-key-file",
                &path("witness.key"),
                "--state",
                state,
            ],
            &url,
        )
    };
    // First sight, then again: the same checkpoint still extends what it verified.
    let (ok, out, err) = cosign(&path("witness.state"));
    assert!(
        ok && out.contains("cosigned the checkpoint of"),
        "{out}{err}"
    );
    let (ok, out, err) = cosign(&path("witness.state"));
    assert!(ok, "{out}{err}");
    let kept = std::fs::read_to_string(path("witness.state")).unwrap();
    let kept = ledger_proof::checkpoint::read_checkpoint_unverified(&kept).unwrap();

    // States the ledger cannot extend: a newer checkpoint than it presents (so it presents
    // an older one as its newest), and another root for the same size (a fork). Both are
    // signed with the ledger's own key, as a ledger rewriting its history could.
    let key_text = std::fs::read_to_string(path("demo.db.signing-key")).unwrap();
    let key = ledger_proof::checkpoint::SigningKey::from_text(&key_text).unwrap();
    let newer = ledger_proof::checkpoint::Checkpoint {
        tree_size: kept.tree_size + 10,
        root: [7; 32],
        ..kept.clone()
    };
    std::fs::write(path("newer.state"), key.sign(&newer).unwrap()).unwrap();
    let (ok, _, err) = cosign(&path("newer.state"));
    assert!(
        !ok && err.contains("REFUSED") && err.contains("older checkpoint"),
        "{err}"
    );
    let fork = ledger_proof::checkpoint::Checkpoint {
        root: [9; 32],
        ..kept.clone()
    };
    std::fs::write(path("fork.state"), key.sign(&fork).unwrap()).unwrap();
    let (ok, _, err) = cosign(&path("fork.state"));
    assert!(
        !ok && err.contains("REFUSED") && err.contains("fork"),
        "{err}"
    );
    let earlier = ledger_proof::checkpoint::Checkpoint {
        tree_size: kept.tree_size - 3,
        root: [5; 32],
        ..kept.clone()
    };
    std::fs::write(path("earlier.state"), key.sign(&earlier).unwrap()).unwrap();
    let (ok, _, err) = cosign(&path("earlier.state"));
    assert!(
        !ok && err.contains("REFUSED") && err.contains("does not extend"),
        "{err}"
    );

    // The ledger keeps the cosignature beside its checkpoint.
    let listed = run_ok(&["checkpoint", "list"], &url);
    assert!(listed.contains("cosigned by test-witness"), "{listed}");
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(server.wait().unwrap().success());
}
