//! End to end: the real server on a random port, spoken to over HTTP and WebSocket as
//! clients do. Every case runs on both backends.

use serde_json::{Value, json};
use tests::Backend;
use tests::app::TestApp;

macro_rules! on_both_servers {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let app = tests::app::TestApp::spawn(tests::Backend::Sqlite).await;
                    super::$case(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let app = tests::app::TestApp::spawn(tests::Backend::Postgres).await;
                    super::$case(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}

on_both_servers!(
    the_health_check_reports_each_projection_with_its_position_and_lag,
    graphiql_is_served_to_browsers,
    an_oversized_request_body_is_refused,
);

async fn the_health_check_reports_each_projection_with_its_position_and_lag(app: &TestApp) {
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    let names: Vec<&str> = health["projections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["products", "sales", "serials"]);
    for projection in health["projections"].as_array().unwrap() {
        assert_eq!(projection["lag"], json!(0));
        assert!(projection["position"].as_str().unwrap().contains(':'));
    }
}

async fn graphiql_is_served_to_browsers(app: &TestApp) {
    let (status, body) = app.get("/graphql").await;
    assert_eq!(status, 200);
    assert!(body.contains("graphiql"), "{body}");
}

async fn an_oversized_request_body_is_refused(app: &TestApp) {
    let huge = "x".repeat(api::server::MAX_BODY_BYTES + 1);
    let response = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": huge }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test]
async fn the_server_stops_gracefully() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), app.stop()).await;
    assert!(stopped.is_ok(), "graceful shutdown finished");
}
