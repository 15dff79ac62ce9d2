//! The OpenAPI document is generated from the code; its snapshot catches unintended
//! contract changes, and it must describe exactly the API routes that exist.

use std::collections::BTreeSet;

use legion_web::openapi::ApiDoc;
use utoipa::OpenApi;

#[test]
fn openapi_snapshot() {
    let spec = ApiDoc::openapi();
    let json = serde_json::to_value(&spec).unwrap();
    assert!(json["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1");
    insta::assert_json_snapshot!("openapi", json);
}

#[test]
fn spec_and_router_agree() {
    let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let routed: BTreeSet<String> = legion_web::route_table()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(documented, routed, "every /api/v1 route is documented, and nothing else");
}
