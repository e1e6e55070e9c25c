//! The release check (CodeDeploy's pre-traffic hook) against the platform's own handlers,
//! in-process: it passes on this build, and fails, naming the functions, when a version answers
//! its probes wrongly.

use std::sync::Mutex;

use release_check::{HookEvent, Verdicts};
use serde_json::json;
use server::release::Handlers;

use crate::helpers::{TestApp, settings, spawn_app};
use crate::template::tagged;

/// Records verdicts instead of sending them to CodeDeploy.
#[derive(Default)]
struct Recorded(Mutex<Vec<(String, bool)>>);

impl Verdicts for Recorded {
    async fn report(&self, event: &HookEvent, passed: bool) -> Result<(), platform::Error> {
        self.0.lock().unwrap().push((event.lifecycle_event_hook_execution_id.clone(), passed));
        Ok(())
    }
}

fn hook_event() -> HookEvent {
    serde_json::from_value(json!({"DeploymentId": "d-TEST", "LifecycleEventHookExecutionId": "hook-1"})).unwrap()
}

#[tokio::test]
async fn this_build_passes_its_release_check_and_the_probes_write_nothing() {
    let app = spawn_app().await;
    let before = app.item_count().await;
    let verdicts = Recorded::default();

    let passed = release_check::handle(&Handlers(&app.app), &verdicts, hook_event()).await.unwrap();

    assert!(passed, "{:?}", release_check::check(&Handlers(&app.app)).await);
    assert_eq!(*verdicts.0.lock().unwrap(), [("hook-1".to_owned(), true)]);
    assert_eq!(app.item_count().await, before, "a probe wrote to the table");
}

#[tokio::test]
async fn a_version_that_answers_wrongly_fails_the_check_and_is_reported_failed() {
    // A release whose functions point at a table that does not exist: reads fail with 500 where
    // the contract says 404; validation still answers 400.
    let app: TestApp = spawn_app().await;
    let mut names = app.resources.names();
    names.table = "no-such-table";
    let broken =
        server::app::App::new(|_| app.sdk.clone(), app.app.template.clone(), names, settings(&app.provider_url));
    let verdicts = Recorded::default();

    let failures = release_check::check(&Handlers(&broken)).await;
    let passed = release_check::handle(&Handlers(&broken), &verdicts, hook_event()).await.unwrap();

    let failed: Vec<&str> = failures.iter().map(|f| f.function).collect();
    assert_eq!(failed, ["orders-get", "orders-cancel", "payments-get"], "{failures:?}");
    assert!(failures.iter().all(|f| f.problem.contains("expected 404 NOT_FOUND")), "{failures:?}");
    assert!(!passed);
    assert_eq!(*verdicts.0.lock().unwrap(), [("hook-1".to_owned(), false)]);
}

#[test]
fn every_api_function_has_a_probe_and_the_hook_its_version() {
    let template: serde_yaml::Value = serde_yaml::from_str(server::template::TEMPLATE_YAML).unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let hook = &template["Resources"]["ReleaseCheckFunction"]["Properties"];
    let mut routed = vec![];
    for (logical, function) in resources {
        let events = function["Properties"]["Events"].as_mapping().into_iter().flat_map(|e| e.values());
        if events.into_iter().any(|e| e["Type"] == "HttpApi") {
            let logical = logical.as_str().unwrap();
            let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
            routed.push(binary);
            let probe = release_check::PROBES.iter().find(|p| p.function == binary).expect("a probe for every route");
            let version = tagged(&hook["Environment"]["Variables"][probe.version_variable]);
            assert_eq!(version, format!("!Ref {logical}.Version"), "{binary}");
            let pre_traffic = tagged(&function["Properties"]["DeploymentPreference"]["Hooks"]["PreTraffic"]);
            assert_eq!(pre_traffic, "!Ref ReleaseCheckFunction", "{binary}");
        }
    }
    let mut probed: Vec<&str> = release_check::PROBES.iter().map(|p| p.function).collect();
    routed.sort();
    probed.sort();
    assert_eq!(routed, probed);
}
