//! `policy render` checked by the tools that read its output: cfn-lint for the CloudFormation
//! template, python-hcl2 for the Terraform (only the four resource types, only their
//! documented arguments), bash for the CLI script (run against a stand-in `aws` that records
//! its calls); and `policy lint` against an exporter config that publishes elsewhere.
//! cfn-lint and python-hcl2 come from .venv (scripts/setup.sh installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn venv(tool: &str) -> PathBuf {
    let path = repo(".venv/bin").join(tool);
    assert!(path.exists(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

const ECS: &str = "config/scaling-policy.toml";
const ECS_TARGET_TRACKING: &str = "tests/fixtures/policy-ecs-target-tracking.toml";
const EC2: &str = "tests/fixtures/policy-ec2-asg.toml";
const ECS_DAEMON: &str = "tests/fixtures/policy-ecs-daemon-asg.toml";
const ECS_PER_TASK: &str = "tests/fixtures/policy-ecs-backlog-per-task.toml";

fn exporter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nginx-backlog-exporter"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the exporter")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn render(policy: &str, format: &str) -> String {
    let output = exporter(&["policy", "render", "--policy", policy, "--format", format]);
    assert!(
        output.status.success(),
        "render {policy} {format}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn cfn_lint(template: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.json");
    std::fs::write(&path, template).unwrap();
    Command::new(venv("cfn-lint"))
        .arg(&path)
        .output()
        .expect("run cfn-lint")
}

#[test]
fn cfn_lint_accepts_every_rendered_template() {
    for policy in [ECS, ECS_TARGET_TRACKING, ECS_PER_TASK, EC2, ECS_DAEMON] {
        let template = render(policy, "cloudformation");
        let output = cfn_lint(&template);
        assert!(
            output.status.success(),
            "cfn-lint on {policy}:\n{}{}\n{template}",
            text(&output.stdout),
            text(&output.stderr)
        );
    }
}

#[test]
fn cfn_lint_refuses_a_property_the_resource_does_not_have() {
    // The check above can fail: the same template with one misspelt property does not pass.
    let template = render(ECS, "cloudformation").replace("\"Cooldown\"", "\"CoolDown\"");
    assert!(!cfn_lint(&template).status.success());
}

/// Argument names per resource type, from the hashicorp/aws provider's documentation: a
/// string is an argument, a nested object a block with its own arguments.
///
/// Confirmed against the provider's own pages, website/docs/r/NAME.html.markdown of
/// hashicorp/terraform-provider-aws (stored copies, read 2026-12-03), for every name the render
/// writes:
/// - appautoscaling_policy (the version with `region` and identity import): name, policy_type,
///   resource_id, scalable_dimension, service_namespace; step_scaling_policy_configuration
///   {adjustment_type, cooldown, metric_aggregation_type, min_adjustment_magnitude,
///   step_adjustment {metric_interval_lower_bound, metric_interval_upper_bound,
///   scaling_adjustment}}; target_tracking_scaling_policy_configuration {target_value,
///   disable_scale_in, scale_in_cooldown, scale_out_cooldown, customized_metric_specification
///   {dimensions {name, value}, metric_name, namespace, statistic, unit, metrics {expression, id,
///   label, return_data, metric_stat {stat, unit, metric {metric_name, namespace, dimensions
///   {name, value}}}}}} (its "Create target tracking scaling policy using metric math" example
///   is ECS RunningTaskCount, as rendered here); attribute `arn`.
/// - autoscaling_policy (6c6ae512): name, autoscaling_group_name, adjustment_type, policy_type,
///   estimated_instance_warmup, enabled, min_adjustment_magnitude, cooldown,
///   scaling_adjustment, metric_aggregation_type, step_adjustment {...},
///   target_tracking_configuration {target_value, disable_scale_in,
///   customized_metric_specification {metric_dimension {name, value}, metric_name, namespace,
///   statistic, unit, metrics}}; attribute `arn`.
/// - appautoscaling_target: max_capacity, min_capacity, resource_id, role_arn,
///   scalable_dimension, service_namespace, tags.
/// - cloudwatch_metric_alarm (0248d0de): alarm_name, comparison_operator, evaluation_periods,
///   metric_name, namespace, period, statistic, threshold, actions_enabled, alarm_actions,
///   alarm_description, datapoints_to_alarm, dimensions, insufficient_data_actions,
///   ok_actions, unit, extended_statistic, treat_missing_data,
///   evaluate_low_sample_count_percentiles, tags (threshold_metric_id is a later version's).
///
/// Added for issue 21, from the provider's generated bindings in public repositories (its
/// schema, not its pages): appautoscaling_target `suspended_state {dynamic_scaling_in_suspended,
/// dynamic_scaling_out_suspended, scheduled_scaling_suspended}`; appautoscaling_policy's
/// target_tracking_scaling_policy_configuration `predefined_metric_specification
/// {predefined_metric_type, resource_label}`. No `evaluation_window` was found for
/// cloudwatch_metric_alarm: the render writes it as a comment.
///
/// The allow-list below keeps only those; Terraform itself (`terraform validate` with the
/// provider's schema) is not run: it needs the provider binary from the Terraform registry.
const TERRAFORM_ARGUMENTS: &str = r#"{
  "aws_cloudwatch_metric_alarm": {
    "alarm_name": 0, "comparison_operator": 0, "evaluation_periods": 0, "metric_name": 0,
    "namespace": 0, "period": 0, "statistic": 0, "threshold": 0, "actions_enabled": 0,
    "alarm_actions": 0, "alarm_description": 0, "datapoints_to_alarm": 0, "dimensions": 0,
    "insufficient_data_actions": 0, "ok_actions": 0, "unit": 0, "extended_statistic": 0,
    "treat_missing_data": 0, "evaluate_low_sample_count_percentiles": 0, "threshold_metric_id": 0,
    "tags": 0
  },
  "aws_autoscaling_policy": {
    "name": 0, "autoscaling_group_name": 0, "adjustment_type": 0, "policy_type": 0,
    "estimated_instance_warmup": 0, "enabled": 0, "min_adjustment_magnitude": 0, "cooldown": 0,
    "scaling_adjustment": 0, "metric_aggregation_type": 0,
    "step_adjustment": {"scaling_adjustment": 0, "metric_interval_lower_bound": 0, "metric_interval_upper_bound": 0},
    "target_tracking_configuration": {
      "target_value": 0, "disable_scale_in": 0,
      "customized_metric_specification": {
        "metric_name": 0, "namespace": 0, "statistic": 0, "unit": 0,
        "metric_dimension": {"name": 0, "value": 0}
      }
    }
  },
  "aws_appautoscaling_target": {
    "max_capacity": 0, "min_capacity": 0, "resource_id": 0, "role_arn": 0, "scalable_dimension": 0,
    "service_namespace": 0, "tags": 0,
    "suspended_state": {
      "dynamic_scaling_in_suspended": 0, "dynamic_scaling_out_suspended": 0, "scheduled_scaling_suspended": 0
    }
  },
  "aws_appautoscaling_policy": {
    "name": 0, "policy_type": 0, "resource_id": 0, "scalable_dimension": 0, "service_namespace": 0,
    "step_scaling_policy_configuration": {
      "adjustment_type": 0, "cooldown": 0, "metric_aggregation_type": 0, "min_adjustment_magnitude": 0,
      "step_adjustment": {"scaling_adjustment": 0, "metric_interval_lower_bound": 0, "metric_interval_upper_bound": 0}
    },
    "target_tracking_scaling_policy_configuration": {
      "target_value": 0, "disable_scale_in": 0, "scale_in_cooldown": 0, "scale_out_cooldown": 0,
      "predefined_metric_specification": {"predefined_metric_type": 0, "resource_label": 0},
      "customized_metric_specification": {
        "metric_name": 0, "namespace": 0, "statistic": 0, "unit": 0,
        "dimensions": {"name": 0, "value": 0},
        "metrics": {
          "id": 0, "label": 0, "expression": 0, "return_data": 0,
          "metric_stat": {
            "stat": 0, "unit": 0,
            "metric": {"metric_name": 0, "namespace": 0, "dimensions": {"name": 0, "value": 0}}
          }
        }
      }
    }
  }
}"#;

/// Parses `terraform` with python-hcl2 and returns (resource types, unknown names).
fn terraform_check(terraform: &str) -> (Vec<String>, Vec<String>) {
    let script = r#"
import json, sys, hcl2
allowed = json.loads(sys.argv[1])
doc = hcl2.loads(sys.stdin.read())
types, errors = set(), []
def walk(body, rules, where):
    for key, value in body.items():
        if key.startswith("__"):
            continue
        is_block = isinstance(value, list) and value and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
        if key not in rules:
            errors.append(f"{where}.{key}")
        elif isinstance(rules[key], dict) != bool(is_block):
            errors.append(f"{where}.{key} (block vs argument)")
        elif is_block:
            for v in value:
                walk(v, rules[key], f"{where}.{key}")
for top, items in doc.items():
    if top.startswith("__"):
        continue
    if top != "resource":
        errors.append(top)
        continue
    for item in items:
        for rtype, named in item.items():
            rtype = rtype.strip('"')
            types.add(rtype)
            if rtype not in allowed:
                errors.append(rtype)
                continue
            for name, body in named.items():
                walk(body, allowed[rtype], f"{rtype}.{name.strip(chr(34))}")
print(json.dumps({"types": sorted(types), "errors": errors}))
"#;
    let mut child = Command::new(venv("python"))
        .arg("-c")
        .arg(script)
        .arg(TERRAFORM_ARGUMENTS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python-hcl2");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), terraform.as_bytes()).unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python-hcl2 could not parse:\n{}\n{terraform}",
        text(&output.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let strings = |key: &str| -> Vec<String> {
        parsed[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    (strings("types"), strings("errors"))
}

#[test]
fn terraform_parses_and_names_only_the_four_resource_types_and_their_arguments() {
    for (policy, expected) in [
        (
            ECS,
            vec![
                "aws_appautoscaling_policy",
                "aws_appautoscaling_target",
                "aws_cloudwatch_metric_alarm",
            ],
        ),
        (
            ECS_TARGET_TRACKING,
            vec![
                "aws_appautoscaling_policy",
                "aws_appautoscaling_target",
                "aws_cloudwatch_metric_alarm",
            ],
        ),
        (
            ECS_PER_TASK,
            vec![
                "aws_appautoscaling_policy",
                "aws_appautoscaling_target",
                "aws_cloudwatch_metric_alarm",
            ],
        ),
        (EC2, vec!["aws_autoscaling_policy", "aws_cloudwatch_metric_alarm"]),
        (
            ECS_DAEMON,
            vec!["aws_autoscaling_policy", "aws_cloudwatch_metric_alarm"],
        ),
    ] {
        let terraform = render(policy, "terraform");
        let (types, errors) = terraform_check(&terraform);
        assert_eq!(types, expected, "{policy}");
        assert!(errors.is_empty(), "{policy}: not documented: {errors:?}\n{terraform}");
    }
}

#[test]
fn terraform_check_refuses_an_undocumented_argument() {
    let terraform = render(ECS, "terraform").replace("cooldown ", "cool_down ");
    let (_, errors) = terraform_check(&terraform);
    assert!(
        errors
            .iter()
            .any(|e| e.ends_with("step_scaling_policy_configuration.cool_down")),
        "{errors:?}"
    );
}

/// Runs the rendered script with a stand-in `aws` first on PATH that records each call and
/// prints an ARN for put-scaling-policy; returns the recorded calls, one per line.
fn run_script(policy: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let fake = dir.path().join("aws");
    std::fs::write(
        &fake,
        format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >> {log}\nif [ \"$2\" = put-scaling-policy ]; then\n  \
             while [ $# -gt 0 ]; do [ \"$1\" = --policy-name ] && echo \"arn:aws:test:policy/$2\"; shift; done\nfi\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = dir.path().join("render.sh");
    std::fs::write(&script, render(policy, "cli")).unwrap();
    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("bash").arg(&script).env("PATH", path).output().unwrap();
    assert!(output.status.success(), "the script failed: {}", text(&output.stderr));
    std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn cli_script_passes_each_put_scaling_policy_arn_to_its_alarm() {
    let calls = run_script(ECS);
    assert!(
        calls[0].starts_with("application-autoscaling register-scalable-target"),
        "{calls:?}"
    );
    let alarm = |name: &str| {
        calls
            .iter()
            .find(|c| c.starts_with("cloudwatch put-metric-alarm") && c.contains(&format!("--alarm-name {name} ")))
            .unwrap_or_else(|| panic!("no put-metric-alarm for {name}: {calls:?}"))
            .clone()
    };
    assert!(alarm("web-pending-high").ends_with("--alarm-actions arn:aws:test:policy/web-scale-out"));
    assert!(alarm("web-pending-low").ends_with("--alarm-actions arn:aws:test:policy/web-scale-in"));

    let calls = run_script(EC2);
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("autoscaling put-scaling-policy"))
            .count(),
        3
    );
    assert!(calls
        .iter()
        .any(|c| c.contains("--alarm-actions arn:aws:test:policy/web-scale-out")));
}

/// The line of the first line of `file` (from the repo) starting with `prefix`, counted from 1.
fn line_of(file: &str, prefix: &str, nth: usize) -> usize {
    let text = std::fs::read_to_string(repo(file)).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with(prefix))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap()
}

/// The shipped exporter config with the one edit it needs (its namespace, MyApp as in the
/// shipped policy), `replace` applied and `append` added, in a temp dir.
fn exporter_config(dir: &Path, replace: Option<(&str, &str)>, append: &str) -> PathBuf {
    let shipped = std::fs::read_to_string(repo("config/nginx-backlog-exporter.toml")).unwrap();
    let mut text = shipped.replacen("# namespace = \"MyApp\"", "namespace = \"MyApp\"", 1);
    assert_ne!(text, shipped, "the shipped config's commented-out namespace line");
    if let Some((from, to)) = replace {
        assert!(text.contains(from), "{from:?} not in the shipped config");
        text = text.replace(from, to);
    }
    let path = dir.join("exporter.toml");
    std::fs::write(&path, format!("{text}\n{append}")).unwrap();
    path
}

/// `--config CONFIG policy lint --policy POLICY`.
fn lint(config: &Path, policy: &str) -> Output {
    exporter(&[
        "--config",
        config.to_str().unwrap(),
        "policy",
        "lint",
        "--policy",
        policy,
    ])
}

#[test]
fn lint_reports_an_alarm_on_another_namespace_with_its_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = exporter_config(
        dir.path(),
        Some(("namespace = \"MyApp\"", "namespace = \"OtherApp\"")),
        "",
    );
    let output = lint(&config, ECS);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for (index, alarm) in ["web-pending-high", "web-pending-low"].into_iter().enumerate() {
        // The field's own line, not the [[alarm]] header's.
        let line = line_of(ECS, "namespace = ", index);
        let expected = format!(
            "error: {ECS}:{line}: alarm[{index}].namespace: alarm \"{alarm}\" watches namespace \"MyApp\", \
             the exporter publishes to \"OtherApp\""
        );
        assert!(stdout.contains(&expected), "{expected:?} not in:\n{stdout}");
    }
}

#[test]
fn lint_passes_the_shipped_policy_against_the_shipped_config_with_instance_id_set() {
    let dir = tempfile::tempdir().unwrap();
    let config = exporter_config(
        dir.path(),
        Some((
            "# instance_id = \"i-0123456789abcdef0\"",
            "instance_id = \"i-0123456789abcdef0\"",
        )),
        "",
    );
    let output = lint(&config, ECS);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), format!("{ECS}: ok\n"));
}

/// The README's "common silent mistake": the alarm names another instance. Same names, another
/// value is another series: an error naming both values and where each was given.
#[test]
fn lint_refuses_an_alarm_on_another_instance_naming_both_values() {
    let dir = tempfile::tempdir().unwrap();
    let config = exporter_config(
        dir.path(),
        Some((
            "# instance_id = \"i-0123456789abcdef0\"",
            "instance_id = \"i-0aaaaaaaaaaaaaaaa\"",
        )),
        "",
    );
    let output = lint(&config, ECS);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}{}", text(&output.stderr));
    for (index, alarm) in ["web-pending-high", "web-pending-low"].into_iter().enumerate() {
        let line = line_of(ECS, "dimensions = ", index);
        let expected = format!(
            "error: {ECS}:{line}: alarm[{index}].dimensions: alarm \"{alarm}\" watches InstanceId=i-0123456789abcdef0 \
             (given here), the exporter publishes InstanceId=i-0aaaaaaaaaaaaaaaa (cloudwatch.instance_id in {})",
            config.display()
        );
        assert!(stdout.contains(&expected), "{expected:?} not in:\n{stdout}");
    }
    assert!(!stdout.contains(": ok"), "{stdout}");
}

/// With instance_id left to IMDSv2 (the shipped config), the value cannot be compared: a
/// warning that says so, not "ok".
#[test]
fn lint_warns_that_an_instance_id_left_to_imds_cannot_be_compared() {
    let dir = tempfile::tempdir().unwrap();
    let config = exporter_config(dir.path(), None, "");
    let output = lint(&config, ECS);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    let line = line_of(ECS, "dimensions = ", 0);
    let expected = format!(
        "warning: {ECS}:{line}: alarm[0].dimensions: alarm \"web-pending-high\" watches InstanceId=i-0123456789abcdef0; \
         {} leaves cloudwatch.instance_id to IMDSv2, so the value cannot be compared here",
        config.display()
    );
    assert!(stdout.contains(&expected), "{expected:?} not in:\n{stdout}");
    assert!(!stdout.contains(": ok"), "{stdout}");
}

/// The fleet series: the alarm's dimension names are the exporter's, a value is not.
#[test]
fn lint_refuses_a_fleet_alarm_on_another_fleet_value() {
    let dir = tempfile::tempdir().unwrap();
    let config = exporter_config(
        dir.path(),
        None,
        "[cloudwatch.fleet_dimensions]\nAutoScalingGroupName = \"web-proxies-blue\"\n",
    );
    let output = lint(&config, ECS_TARGET_TRACKING);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}{}", text(&output.stderr));
    let line = line_of(ECS_TARGET_TRACKING, "dimensions = ", 0);
    let expected = format!(
        "error: {ECS_TARGET_TRACKING}:{line}: alarm[0].dimensions: alarm \"web-pending-high\" watches \
         AutoScalingGroupName=web-proxies (given here), the exporter publishes AutoScalingGroupName=web-proxies-blue \
         (cloudwatch.fleet_dimensions in {})",
        config.display()
    );
    assert!(stdout.contains(&expected), "{expected:?} not in:\n{stdout}");
}

#[test]
fn lint_warns_of_sum_on_the_fleet_series_and_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = exporter_config(
        dir.path(),
        None,
        "[cloudwatch.fleet_dimensions]\nAutoScalingGroupName = \"web-proxies\"\n",
    );
    let policy = dir.path().join("policy.toml");
    let fixture = std::fs::read_to_string(repo(ECS_TARGET_TRACKING)).unwrap();
    std::fs::write(
        &policy,
        fixture.replacen("statistic = \"Average\"", "statistic = \"Sum\"", 1),
    )
    .unwrap();
    let output = exporter(&[
        "--config",
        config.to_str().unwrap(),
        "policy",
        "lint",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    assert!(
        stdout.contains("alarm[0].statistic: Sum on the fleet series is not the fleet's total backlog"),
        "{stdout}"
    );
    assert!(!stdout.contains("error:"), "{stdout}");
}

#[test]
fn lint_refuses_a_dimension_set_the_exporter_does_not_publish() {
    let dir = tempfile::tempdir().unwrap();
    let config = exporter_config(dir.path(), None, "");
    // No fleet_dimensions in the shipped config: the fleet alarm's set names no published series.
    let output = exporter(&[
        "--config",
        config.to_str().unwrap(),
        "policy",
        "lint",
        "--policy",
        ECS_TARGET_TRACKING,
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("alarm[0].dimensions: alarm \"web-pending-high\" has the dimension set {AutoScalingGroupName}"),
        "{stdout}"
    );
}

#[test]
fn cfn_lint_and_the_terraform_check_refuse_a_misspelt_metric_math_field() {
    // The per-task Metrics list is checked field by field: one wrong name inside it fails.
    let template = render(ECS_PER_TASK, "cloudformation").replace("\"ReturnData\"", "\"ReturnDatum\"");
    assert!(!cfn_lint(&template).status.success());
    let terraform = render(ECS_PER_TASK, "terraform").replacen("return_data", "return_datum", 1);
    let (_, errors) = terraform_check(&terraform);
    assert!(
        errors
            .iter()
            .any(|e| e.ends_with("customized_metric_specification.metrics.return_datum")),
        "{errors:?}"
    );
}

#[test]
fn lint_checks_the_per_task_series_and_sample_interval_against_the_exporter_config() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = "[cloudwatch.fleet_dimensions]\nAutoScalingGroupName = \"web-proxies\"\n";
    // Publishing the fixture's fleet series at its 1 s interval: nothing to report but the
    // one-minute warning of validation.
    let config = exporter_config(dir.path(), None, fleet);
    let args = |config: &Path| {
        exporter(&[
            "--config",
            config.to_str().unwrap(),
            "policy",
            "lint",
            "--policy",
            ECS_PER_TASK,
        ])
    };
    let output = args(&config);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    assert!(!stdout.contains("backlog_per_task"), "{stdout}");

    // Sampling every 2 s: Sum × 1 s / period would be half the fleet total.
    let config = exporter_config(
        dir.path(),
        Some(("sample_interval = \"1s\"", "sample_interval = \"2s\"")),
        fleet,
    );
    let output = args(&config);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    let line = line_of(ECS_PER_TASK, "sample_interval = ", 0);
    let expected = format!(
        "error: {ECS_PER_TASK}:{line}: policy[1].target_tracking_configuration.backlog_per_task.sample_interval: \
         policy \"web-per-task\" takes the sample interval as 1 s, the exporter samples every 2 s"
    );
    assert!(stdout.contains(&expected), "{expected:?} not in:\n{stdout}");

    // One proxy's series: allowed (it is the total while that proxy is alone), with a warning.
    let policy = dir.path().join("per-instance.toml");
    let fixture = std::fs::read_to_string(repo(ECS_PER_TASK)).unwrap();
    let per_task = fixture.rfind("dimensions = ").unwrap();
    let mut edited = fixture.clone();
    edited.replace_range(
        per_task..,
        &fixture[per_task..].replacen(
            "{ name = \"AutoScalingGroupName\", value = \"web-proxies\" }",
            "{ name = \"InstanceId\", value = \"i-0123456789abcdef0\" }",
            1,
        ),
    );
    std::fs::write(&policy, edited).unwrap();
    let config = exporter_config(dir.path(), None, fleet);
    let output = exporter(&[
        "--config",
        config.to_str().unwrap(),
        "policy",
        "lint",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    assert!(
        stdout.contains("backlog_per_task.dimensions: policy \"web-per-task\" divides one proxy's series"),
        "{stdout}"
    );
}

/// The switches, a wall clock window and the ECS high-resolution CPU safety net, rendered:
/// cfn-lint takes the template (its schema has EvaluationWindow and SuspendedState), the
/// Terraform check its arguments, and the CLI script carries each as put-metric-alarm /
/// register-scalable-target flags.
#[test]
fn the_switches_the_evaluation_window_and_a_predefined_metric_are_rendered_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    let fixture = std::fs::read_to_string(repo("tests/fixtures/policy-ecs-cpu-safety-net.toml")).unwrap();
    let edited = fixture
        .replace(
            "desired_capacity = 2",
            "desired_capacity = 2\nsuspended_state = { dynamic_scaling_in_suspended = true }",
        )
        .replace(
            "alarm_actions = [\"web-scale-in\"]",
            "alarm_actions = [\"web-scale-in\"]\nactions_enabled = false",
        )
        .replace(
            "period = 10\nevaluation_periods = 6",
            "period = 60\nevaluation_periods = 1\nevaluation_window = { wall_clock_window = { timezone = \"UTC\" } }",
        );
    assert_ne!(edited, fixture);
    std::fs::write(&policy, &edited).unwrap();
    let policy = policy.to_str().unwrap();

    let template = render(policy, "cloudformation");
    let output = cfn_lint(&template);
    assert!(output.status.success(), "{}\n{template}", text(&output.stdout));
    let parsed: serde_json::Value = serde_json::from_str(&template).unwrap();
    let resources = &parsed["Resources"];
    assert_eq!(
        resources["WebPendingLowAlarm"]["Properties"]["EvaluationWindow"],
        serde_json::json!({"WallClockWindow": {"Timezone": "UTC"}})
    );
    assert_eq!(resources["WebPendingLowAlarm"]["Properties"]["ActionsEnabled"], false);
    assert_eq!(
        resources["ScalableTarget"]["Properties"]["SuspendedState"]["DynamicScalingInSuspended"],
        true
    );
    assert_eq!(
        resources["WebCpuPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
            ["PredefinedMetricSpecification"]["PredefinedMetricType"],
        "ECSServiceAverageCPUUtilizationHighResolution"
    );

    let terraform = render(policy, "terraform");
    let (_, errors) = terraform_check(&terraform);
    assert!(errors.is_empty(), "{errors:?}\n{terraform}");
    assert!(terraform.contains("actions_enabled = false"), "{terraform}");
    assert!(terraform.contains("dynamic_scaling_in_suspended = true"), "{terraform}");
    assert!(
        terraform.contains("predefined_metric_type = \"ECSServiceAverageCPUUtilizationHighResolution\""),
        "{terraform}"
    );
    assert!(terraform.contains("# EvaluationWindow"), "{terraform}");

    let script = render(policy, "cli");
    for expected in [
        "--evaluation-window '{\"WallClockWindow\":{\"Timezone\":\"UTC\"}}'",
        "--no-actions-enabled",
        "--suspended-state '{\"DynamicScalingInSuspended\":true,\"DynamicScalingOutSuspended\":false,\"ScheduledScalingSuspended\":false}'",
    ] {
        assert!(script.contains(expected), "{expected} not in:\n{script}");
    }
}

/// policy lint: a wall clock window on the backlog alarm is a warning (alarm-evaluation-window:
/// it reads only complete clock-aligned periods), and the exit code stays 0.
#[test]
fn lint_warns_of_a_wall_clock_window() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    let shipped = std::fs::read_to_string(repo(ECS)).unwrap();
    let edited = shipped.replacen(
        "period = 10\nevaluation_periods = 6\ndatapoints_to_alarm = 6",
        "period = 60\nevaluation_periods = 1\nevaluation_window = { wall_clock_window = {} }",
        1,
    );
    assert_ne!(edited, shipped);
    std::fs::write(&policy, &edited).unwrap();
    let config = exporter_config(dir.path(), None, "");
    let output = exporter(&[
        "--config",
        config.to_str().unwrap(),
        "policy",
        "lint",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    assert!(
        stdout.contains("alarm[1].evaluation_window: alarm \"web-pending-low\" has a wall clock window"),
        "{stdout}"
    );
}
