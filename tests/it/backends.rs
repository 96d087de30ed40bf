//! `on_both_backends!(case, ...)`: runs each case of a module on every backend.
//! `on_both_servers!(case, ...)`: the same with the real server running on each backend
//! (cases take `&TestApp`).
//! `on_each_backend!(case, ...)`: the same for cases that build what they need themselves
//! (cases take the `tests::Backend`).
//!
//! A case is an async function taking a fresh `&TestStore`; the macro generates
//! `<module>::sqlite::<case>` and `<module>::postgres::<case>` tests, so the output names
//! the backend each ran on. Declared first in `main.rs` with `#[macro_use]`, so every module
//! can use it.

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        on_backend!(sqlite: $($case),*);
        on_backend!(postgres: $($case),*);
    };
}

macro_rules! on_backend {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let store = tests::TestStore::$backend().await;
                    super::$case(&store).await;
                }
            )*
        }
    };
}

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

macro_rules! on_each_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(tests::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(tests::Backend::Postgres).await;
                }
            )*
        }
    };
}
