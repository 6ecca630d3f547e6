//! No Rust reaches a user: every key of the exporter's config and of the policy TOML is given
//! every wrong kind of value, and no error says `expected i64`, names a Rust type or serde's
//! internals, or dumps Debug output. Each error names the file, the key's path and the line.
//!
//! The keys are not listed here by hand: each table's unknown-key error lists them, so a key
//! added later is swept too.

use std::path::Path;

use nginx_backlog_exporter::config;
use nginx_backlog_exporter::simulate::input::{self, Sources};

/// What must never reach a user.
const LEAKS: [&str; 14] = [
    "expected i8",
    "expected i16",
    "expected i32",
    "expected i64",
    "expected u8",
    "expected u16",
    "expected u32",
    "expected u64",
    "expected f64",
    "expected usize",
    "struct Raw",
    "$__serde",
    "Error {",
    "(syntax): unknown field",
];

/// A value of each TOML kind.
const WRONG: [&str; 6] = ["\"word\"", "10", "1.5", "true", "[1, 2]", "{ a = 1 }"];

fn assert_clean(error: &str, context: &str) {
    for leak in LEAKS {
        assert!(!error.contains(leak), "{context}: {leak:?} in {error:?}");
    }
    assert!(!error.contains("expected a sequence"), "{context}: {error:?}");
}

/// The keys a table accepts, as its unknown-key error lists them ("the keys here are `a`, `b`").
fn keys_from(error: &str) -> Vec<String> {
    let (_, list) = error
        .split_once("the keys here are ")
        .unwrap_or_else(|| panic!("no key list in {error:?}"));
    list.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

const CLOUDWATCH: &str = "[cloudwatch]\nnamespace = \"x\"\n";

fn config_error(text: &str) -> Option<String> {
    config::parse(Path::new("c.toml"), text).err().map(|e| e.to_string())
}

#[test]
fn every_config_key_given_every_wrong_kind_says_the_expected_form() {
    let mut checked = 0;
    for section in ["nginx", "cloudwatch", "daemon", "emf", "http", "access_log"] {
        let probe = if section == "cloudwatch" {
            format!("{CLOUDWATCH}zzzqqqxxx = 1\n")
        } else {
            format!("{CLOUDWATCH}[{section}]\nzzzqqqxxx = 1\n")
        };
        let keys = keys_from(&config_error(&probe).unwrap());
        assert!(!keys.is_empty(), "{section}");
        for key in keys {
            for value in WRONG {
                let text = if section == "cloudwatch" {
                    if key == "namespace" {
                        format!("[cloudwatch]\nnamespace = {value}\n")
                    } else {
                        format!("{CLOUDWATCH}{key} = {value}\n")
                    }
                } else {
                    format!("{CLOUDWATCH}[{section}]\n{key} = {value}\n")
                };
                let Some(error) = config_error(&text) else {
                    continue;
                };
                let context = format!("{section}.{key} = {value}");
                assert_clean(&error, &context);
                assert!(error.starts_with("c.toml:"), "{context}: {error}");
                if error.contains("expected ") && error.contains(", got ") {
                    assert!(error.contains(&format!("{section}.{key}")), "{context}: {error}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} wrong-type errors seen");
}

/// A valid ECS policy (the shipped example's shape, in short); the tests put one wrong value
/// into one table at a time.
const POLICY: &str = r#"[group]
kind = "ecs-service"
name = "service/demo-cluster/web"
min_capacity = 2
max_capacity = 6
desired_capacity = 2

[[alarm]]
alarm_name = "high"
namespace = "MyApp"
dimensions = [{ name = "InstanceId", value = "i-0123456789abcdef0" }]
statistic = "Average"
period = 10
evaluation_periods = 3
threshold = 20.0
comparison_operator = "GreaterThanOrEqualToThreshold"
alarm_actions = ["out"]

[[policy]]
policy_name = "out"
policy_type = "StepScaling"
adjustment_type = "ChangeInCapacity"
[[policy.step_adjustments]]
metric_interval_lower_bound = 0.0
scaling_adjustment = 1
"#;

fn policy_error(dir: &Path, text: &str) -> Option<String> {
    let path = dir.join("p.toml");
    std::fs::write(&path, text).unwrap();
    input::load(&Sources {
        policy_toml: Some(&path),
        ..Sources::default()
    })
    .err()
    .map(|e| e.to_string())
}

/// `text` with `line` added right after the first line that is exactly `after`.
fn insert_after(text: &str, after: &str, line: &str) -> String {
    let at = text.find(&format!("{after}\n")).unwrap_or_else(|| panic!("{after:?}")) + after.len() + 1;
    format!("{}{line}\n{}", &text[..at], &text[at..])
}

#[test]
fn every_policy_key_given_every_wrong_kind_says_the_expected_form() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(policy_error(dir.path(), POLICY), None, "the base policy is valid");
    let mut checked = 0;
    // Each table: the line its keys go under, and its key path in errors.
    for (header, path) in [
        ("[group]", "group"),
        ("[[alarm]]", "alarm[0]"),
        ("[[policy]]", "policy[0]"),
        ("[[policy.step_adjustments]]", "policy[0].step_adjustments[0]"),
    ] {
        let probe = insert_after(POLICY, header, "zzzqqqxxx = 1");
        let error = policy_error(dir.path(), &probe).unwrap();
        assert!(error.contains(&format!("{path}.zzzqqqxxx: unknown key")), "{error}");
        for key in keys_from(&error) {
            for value in WRONG {
                // Replace the key where the base has it, else add it.
                let text: String = if POLICY.lines().any(|l| l.starts_with(&format!("{key} = "))) {
                    let mut done = false;
                    let mut in_table = false;
                    POLICY
                        .lines()
                        .map(|l| {
                            if l == header {
                                in_table = true;
                            } else if l.starts_with('[') {
                                in_table = false;
                            }
                            if in_table && !done && l.starts_with(&format!("{key} = ")) {
                                done = true;
                                format!("{key} = {value}\n")
                            } else {
                                format!("{l}\n")
                            }
                        })
                        .collect()
                } else {
                    insert_after(POLICY, header, &format!("{key} = {value}"))
                };
                let Some(error) = policy_error(dir.path(), &text) else {
                    continue;
                };
                let context = format!("{path}.{key} = {value}");
                assert_clean(&error, &context);
                assert!(!error.contains("(syntax)"), "{context}: {error}");
                if error.contains("expected ") && error.contains(", got ") {
                    assert!(error.contains(&format!("{path}.{key}")), "{context}: {error}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} wrong-type errors seen");
}
