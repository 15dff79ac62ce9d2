//! The web crate's black-box tests: one binary, the real server on port 0.

#[path = "../common/mod.rs"]
mod common;

/// Runs each named `async fn(Backend)` of the module as a test on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Postgres).await } )*
        }
    };
}

mod access;
mod api;
mod audit;
mod browser;
mod credentials;
mod documents;
mod openapi;
mod screening;
