//! The web crate's black-box tests: one binary, the real server on port 0.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod api;
mod audit;
mod browser;
mod documents;
mod openapi;
