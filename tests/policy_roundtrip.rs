//! `policy render --format cli` deployed for real: the script runs under bash with the real
//! AWS CLI (.venv/bin/aws) against moto's server on loopback, the alarms and policies are read
//! back with describe-alarms / describe-policies / describe-scaling-policies, and `simulate` on
//! that JSON must give the timeline `simulate` gives on the TOML, and hold every field
//! `--print-aws` writes: render and import agree through AWS's own API shapes.
//!
//! Every AWS variable of the caller is dropped (the child environment is cleared), the CLI's
//! config, credentials and HOME live in the test's temp dir, and every call goes to
//! AWS_ENDPOINT_URL on 127.0.0.1.

use nginx_backlog_exporter_test_support as support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{load_test, replay_csv, Moto};

const ECS: &str = "config/scaling-policy.toml";
const EC2: &str = "tests/fixtures/policy-ec2-asg.toml";
const REGION: &str = "us-east-1";

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn venv_bin() -> PathBuf {
    let bin = repo(".venv/bin");
    assert!(
        bin.join("aws").exists(),
        "{} is missing: run scripts/setup.sh (it installs awscli in .venv)",
        bin.join("aws").display()
    );
    bin
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// moto 5.2.5 answers EC2 Auto Scaling's PutScalingPolicy with an empty result (AWS returns
/// PolicyARN and, for target tracking, Alarms), so the script's `--query PolicyARN --output
/// text` prints "None" and each alarm would get "None" as its action. This wrapper, first on
/// PATH, passes every call to the real CLI unchanged and, only when that answer is "None",
/// prints the ARN the way AWS would have, from describe-policies.
const MOTO_POLICY_ARN_WORKAROUND: &str = r#"#!/usr/bin/env bash
set -euo pipefail
if [ "${1:-} ${2:-}" != "autoscaling put-scaling-policy" ]; then
    exec "$AWS_CLI" "$@"
fi
answer=$("$AWS_CLI" "$@")
if [ "$answer" != None ]; then
    printf '%s\n' "$answer"
    exit 0
fi
args=("$@") group="" name=""
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
    case ${args[i]} in
        --auto-scaling-group-name) group=${args[i + 1]} ;;
        --policy-name) name=${args[i + 1]} ;;
    esac
done
exec "$AWS_CLI" autoscaling describe-policies --auto-scaling-group-name "$group" --policy-names "$name" \
    --query 'ScalingPolicies[0].PolicyARN' --output text
"#;

/// The AWS CLI pointed at one moto server, configured inside one temp dir.
struct Aws {
    dir: tempfile::TempDir,
    moto: Moto,
}

impl Aws {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let wrapper_dir = dir.path().join("bin");
        std::fs::create_dir(&wrapper_dir).unwrap();
        let wrapper = wrapper_dir.join("aws");
        std::fs::write(&wrapper, MOTO_POLICY_ARN_WORKAROUND).unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("config"), format!("[default]\nregion = {REGION}\n")).unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            "[default]\naws_access_key_id = test\naws_secret_access_key = test\n",
        )
        .unwrap();
        Aws {
            dir,
            moto: Moto::start().await,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `program` with only the environment the CLI needs: the wrapper, then .venv/bin (the real
    /// `aws`), then the system's PATH for bash and coreutils.
    fn command(&self, program: &str) -> Command {
        let venv = venv_bin();
        let mut command = Command::new(program);
        command
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}:/usr/local/bin:/usr/bin:/bin",
                    self.path("bin").display(),
                    venv.display()
                ),
            )
            .env("AWS_CLI", venv.join("aws"))
            .env("HOME", self.dir.path())
            .env("AWS_CONFIG_FILE", self.path("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path("credentials"))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ENDPOINT_URL", self.moto.endpoint())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(self.dir.path());
        command
    }

    /// One `aws` call; its stdout.
    fn call(&self, args: &[&str]) -> String {
        let output = self.command("aws").args(args).output().expect("run aws");
        assert!(
            output.status.success(),
            "aws {}: {}",
            args.join(" "),
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// One `aws` call whose JSON answer is kept in the temp dir as `name`.
    fn save(&self, name: &str, args: &[&str]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, self.call(args)).unwrap();
        path
    }

    /// `policy render --format cli` for `policy`, run as the user would: `bash script.sh`.
    /// What render does not create and moto's RegisterScalableTarget wants: the cluster and
    /// service of the fixtures' ResourceId, service/demo-cluster/web, with 2 tasks.
    fn create_ecs_service(&self) {
        self.call(&["ecs", "create-cluster", "--cluster-name", "demo-cluster"]);
        self.call(&[
            "ecs",
            "register-task-definition",
            "--family",
            "web",
            "--container-definitions",
            r#"[{"name": "web", "image": "nginx", "memory": 128}]"#,
        ]);
        self.call(&[
            "ecs",
            "create-service",
            "--cluster",
            "demo-cluster",
            "--service-name",
            "web",
            "--task-definition",
            "web",
            "--desired-count",
            "2",
        ]);
    }

    /// A launch template `template` and a group `group` of 2 (2..10) using it, with
    /// `warmup_s` as DefaultInstanceWarmup: what render's EC2 policies attach to.
    fn create_asg(&self, template: &str, group: &str, warmup_s: &str) {
        self.call(&[
            "ec2",
            "create-launch-template",
            "--launch-template-name",
            template,
            "--launch-template-data",
            r#"{"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}"#,
        ]);
        let template = format!("LaunchTemplateName={template}");
        self.call(&[
            "autoscaling",
            "create-auto-scaling-group",
            "--auto-scaling-group-name",
            group,
            "--launch-template",
            &template,
            "--min-size",
            "2",
            "--max-size",
            "10",
            "--desired-capacity",
            "2",
            "--default-instance-warmup",
            warmup_s,
            "--availability-zones",
            "us-east-1a",
        ]);
    }

    /// describe-policies and describe-auto-scaling-groups for `group`, saved for simulate.
    fn save_ec2_policies_and_groups(&self, group: &str) -> (PathBuf, PathBuf) {
        let policies = self.save(
            "policies.json",
            &["autoscaling", "describe-policies", "--auto-scaling-group-name", group],
        );
        let groups = self.save(
            "groups.json",
            &[
                "autoscaling",
                "describe-auto-scaling-groups",
                "--auto-scaling-group-names",
                group,
            ],
        );
        (policies, groups)
    }

    /// describe-scaling-policies and describe-scalable-targets for ECS, saved for simulate.
    fn save_ecs_policies_and_targets(&self) -> (PathBuf, PathBuf) {
        let policies = self.save(
            "policies.json",
            &[
                "application-autoscaling",
                "describe-scaling-policies",
                "--service-namespace",
                "ecs",
            ],
        );
        let targets = self.save(
            "targets.json",
            &[
                "application-autoscaling",
                "describe-scalable-targets",
                "--service-namespace",
                "ecs",
            ],
        );
        (policies, targets)
    }

    fn deploy(&self, policy: &str) {
        let render = Command::new(env!("CARGO_BIN_EXE_nginx-backlog-exporter"))
            .args(["policy", "render", "--policy", policy, "--format", "cli"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run the exporter");
        assert!(render.status.success(), "render {policy}: {}", text(&render.stderr));
        let script = self.path("deploy.sh");
        std::fs::write(&script, &render.stdout).unwrap();
        let output = self.command("bash").arg(&script).output().expect("run bash");
        assert!(
            output.status.success(),
            "the rendered script for {policy} failed:\n{}\n{}",
            text(&output.stderr),
            text(&render.stdout)
        );
    }
}

/// `simulate ... --output csv`: its stdout.
fn simulate(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_nginx-backlog-exporter"))
        .arg("simulate")
        .args(args)
        .args(["--output", "csv"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the exporter");
    assert!(
        output.status.success(),
        "simulate {}: {}",
        args.join(" "),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The policies named in the CSV's activity_policy column, one per scaling activity.
fn activities(csv: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let column = header
        .iter()
        .position(|name| *name == "activity_policy")
        .expect("an activity_policy column");
    lines
        .map(|line| line.split(',').nth(column).unwrap_or_default().to_owned())
        .filter(|policy| !policy.is_empty())
        .collect()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every field `simulate --print-aws` writes for each alarm and policy (ARNs aside: AWS makes
/// its own) is what AWS holds after the script ran: render and import agree field by field,
/// also on fields this load test's timeline does not reach (the EC2 step policy's warmup).
fn assert_deployed_as_printed(aws: &Aws, policy: &str, alarms: &Path, policies: &Path) {
    let printed = aws.path("printed");
    let output = Command::new(env!("CARGO_BIN_EXE_nginx-backlog-exporter"))
        .args(["simulate", "--policy", policy, "--print-aws", path_str(&printed)])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the exporter");
    assert!(
        output.status.success(),
        "--print-aws {policy}: {}",
        text(&output.stderr)
    );
    for (file, deployed, list, name_key) in [
        ("alarms.json", alarms, "MetricAlarms", "AlarmName"),
        ("policies.json", policies, "ScalingPolicies", "PolicyName"),
    ] {
        let expected = read_json(&printed.join(file));
        let actual = read_json(deployed);
        for item in expected[list].as_array().unwrap() {
            let name = &item[name_key];
            let found = actual[list]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a[name_key] == *name)
                .unwrap_or_else(|| panic!("{name} not deployed: {actual}"));
            for (key, value) in item.as_object().unwrap() {
                if ["AlarmArn", "AlarmActions", "PolicyARN"].contains(&key.as_str()) {
                    continue;
                }
                // moto 5.2.5 keeps no Enabled on an EC2 Auto Scaling policy (describe-policies
                // leaves it out) and no EvaluationWindow on an alarm: what AWS prints for them
                // cannot be compared here. The reader takes an absent Enabled as AWS's default
                // (true), which is what --print-aws writes for these fixtures.
                if key == "Enabled" && found.get(key).is_none() && *value == serde_json::json!(true) {
                    continue;
                }
                assert_eq!(&found[key], value, "{file}: {name}.{key}");
            }
        }
    }
}

/// Each alarm read back invokes exactly the policy the TOML names, by the ARN the policy got:
/// the timeline alone would not show a lost action when another policy does all the scaling.
fn assert_alarm_actions(alarms: &Path, policies: &Path, expected: &[(&str, &str)]) {
    let (alarms, policies) = (read_json(alarms), read_json(policies));
    let arn_of = |policy: &str| {
        policies["ScalingPolicies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["PolicyName"] == policy)
            .unwrap_or_else(|| panic!("no policy {policy} read back: {policies}"))["PolicyARN"]
            .clone()
    };
    let described = alarms["MetricAlarms"].as_array().unwrap();
    assert_eq!(described.len(), expected.len(), "{alarms}");
    for (alarm, policy) in expected {
        let found = described
            .iter()
            .find(|a| a["AlarmName"] == *alarm)
            .unwrap_or_else(|| panic!("no alarm {alarm} read back: {alarms}"));
        assert_eq!(found["AlarmActions"], serde_json::json!([arn_of(policy)]), "{alarm}");
    }
}

/// The shipped ECS example: register-scalable-target, two put-scaling-policy and two
/// put-metric-alarm calls, read back and simulated, give the TOML's timeline (2 -> 6 -> 2 in
/// eight activities).
#[tokio::test]
async fn the_rendered_ecs_script_deployed_to_moto_simulates_the_same_as_the_toml() {
    let aws = Aws::start().await;
    aws.create_ecs_service();
    aws.deploy(ECS);

    let alarms = aws.save("alarms.json", &["cloudwatch", "describe-alarms"]);
    let (policies, targets) = aws.save_ecs_policies_and_targets();
    assert_alarm_actions(
        &alarms,
        &policies,
        &[
            ("web-pending-high", "web-scale-out"),
            ("web-pending-low", "web-scale-in"),
        ],
    );
    assert_deployed_as_printed(&aws, ECS, &alarms, &policies);

    let series = replay_csv(aws.dir.path(), 1_764_547_200, &load_test());
    let from_toml = simulate(&["--policy", ECS, "--series", path_str(&series)]);
    // A scalable target has no desired count: --capacity is the TOML's desired_capacity.
    let from_aws = simulate(&[
        "--alarms",
        path_str(&alarms),
        "--policies",
        path_str(&policies),
        "--group",
        path_str(&targets),
        "--capacity",
        "2",
        "--series",
        path_str(&series),
    ]);
    assert_eq!(from_toml.lines().count(), load_test().len() + 1);
    // The engine's tests hold how many activities the rules give (once a minute while in
    // ALARM, the cooldowns); here the run must scale out and back in, and AWS's JSON must
    // simulate exactly as the TOML does.
    let policies_that_scaled = activities(&from_toml);
    assert!(policies_that_scaled.len() >= 4, "{from_toml}");
    assert!(policies_that_scaled.contains(&"web-scale-out".to_owned()));
    assert!(policies_that_scaled.contains(&"web-scale-in".to_owned()));
    assert_eq!(from_aws, from_toml);
}

/// The EC2 fixture: a step, a simple and a target tracking policy on an Auto Scaling group the
/// test creates first (from a launch template), read back with describe-policies and
/// describe-auto-scaling-groups, give the TOML's timeline.
#[tokio::test]
async fn the_rendered_ec2_script_deployed_to_moto_simulates_the_same_as_the_toml() {
    let aws = Aws::start().await;
    // render does not create the group: web-asg with the fixture's [group] sizes. moto keeps no
    // DefaultInstanceWarmup (5.2.5 drops it), which this fixture's timeline does not use: every
    // policy that adds instances has its own EstimatedInstanceWarmup.
    aws.create_asg("web", "web-asg", "120");
    aws.deploy(EC2);

    let alarms = aws.save("alarms.json", &["cloudwatch", "describe-alarms"]);
    let (policies, groups) = aws.save_ec2_policies_and_groups("web-asg");
    assert_alarm_actions(
        &alarms,
        &policies,
        &[
            ("web-pending-high", "web-scale-out"),
            ("web-pending-low", "web-scale-in"),
        ],
    );
    assert_deployed_as_printed(&aws, EC2, &alarms, &policies);

    let series = replay_csv(aws.dir.path(), 1_764_547_200, &load_test());
    let from_toml = simulate(&["--policy", EC2, "--series", path_str(&series)]);
    let from_aws = simulate(&[
        "--alarms",
        path_str(&alarms),
        "--policies",
        path_str(&policies),
        "--group",
        path_str(&groups),
        "--series",
        path_str(&series),
    ]);
    assert_eq!(from_toml.lines().count(), load_test().len() + 1);
    // Target tracking on the 10 s series outruns both step alarms here: 2 -> 6 -> 10 -> 2.
    assert_eq!(activities(&from_toml), ["web-track"; 3], "{from_toml}");
    assert_eq!(from_aws, from_toml);
}

/// Target tracking on metric math (backlog per task): moto stores the Metrics list as the
/// script gave it, describe-scaling-policies reads it back field for field as `--print-aws`
/// prints it, and `simulate` on that JSON gives the TOML's timeline. describe-alarms is asked
/// for the fixture's alarm by name: AWS (and moto) add alarms of their own for a target
/// tracking policy (TargetTracking-...), which are not the policy file's.
#[tokio::test]
async fn the_rendered_metric_math_target_tracking_deployed_to_moto_simulates_the_same_as_the_toml() {
    const PER_TASK: &str = "tests/fixtures/policy-ecs-backlog-per-task.toml";
    let aws = Aws::start().await;
    aws.create_ecs_service();
    aws.deploy(PER_TASK);

    let alarms = aws.save(
        "alarms.json",
        &["cloudwatch", "describe-alarms", "--alarm-names", "web-pending-high"],
    );
    let (policies, targets) = aws.save_ecs_policies_and_targets();
    assert_alarm_actions(&alarms, &policies, &[("web-pending-high", "web-scale-out")]);
    assert_deployed_as_printed(&aws, PER_TASK, &alarms, &policies);
    let stored = read_json(&policies);
    let tracking = stored["ScalingPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["PolicyName"] == "web-per-task")
        .expect("web-per-task read back");
    let metrics = &tracking["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]["Metrics"];
    assert_eq!(metrics[2]["Expression"], "m1 / PERIOD(m1) / m2", "{metrics}");
    assert_eq!(
        metrics[1]["MetricStat"]["Metric"]["MetricName"], "RunningTaskCount",
        "{metrics}"
    );

    let series = replay_csv(aws.dir.path(), 1_764_547_200, &load_test());
    let from_toml = simulate(&["--policy", PER_TASK, "--series", path_str(&series)]);
    let from_aws = simulate(&[
        "--alarms",
        path_str(&alarms),
        "--policies",
        path_str(&policies),
        "--group",
        path_str(&targets),
        "--capacity",
        "2",
        "--series",
        path_str(&series),
    ]);
    // A backlog of 50 at 2 tasks is 25 per task: the first scale-out goes to
    // ceil(2 × 25 / 10) = 5 tasks; the burst guard at 60 never fires. (RunningTaskCount rises
    // only once the new tasks have started, so the per-task figure stays high a while longer
    // and target tracking may add more: simulate's delays.)
    let scaled = activities(&from_toml);
    assert!(
        !scaled.is_empty() && scaled.iter().all(|p| p == "web-per-task"),
        "{from_toml}"
    );
    let first = from_toml.lines().find(|row| row.contains(",web-per-task,")).unwrap();
    assert!(
        first.ends_with(",2,5"),
        "the first scale-out goes from 2 to 5 tasks: {first}"
    );
    assert_eq!(from_aws, from_toml);
}

/// The DAEMON fixture (a step policy on the cluster's own Auto Scaling group): the group is
/// created first with the fixture's sizes and DefaultInstanceWarmup, the script deployed,
/// and the read-back JSON gives the TOML's timeline.
#[tokio::test]
async fn the_rendered_daemon_script_deployed_to_moto_simulates_the_same_as_the_toml() {
    const DAEMON: &str = "tests/fixtures/policy-ecs-daemon-asg.toml";
    let aws = Aws::start().await;
    aws.create_asg("ecs-daemon", "ecs-daemon-asg", "240");
    aws.deploy(DAEMON);

    let alarms = aws.save("alarms.json", &["cloudwatch", "describe-alarms"]);
    let (policies, groups) = aws.save_ec2_policies_and_groups("ecs-daemon-asg");
    assert_alarm_actions(
        &alarms,
        &policies,
        &[
            ("daemon-pending-high", "daemon-scale-out"),
            ("daemon-pending-low", "daemon-scale-in"),
        ],
    );
    assert_deployed_as_printed(&aws, DAEMON, &alarms, &policies);

    let series = replay_csv(aws.dir.path(), 1_764_547_200, &load_test());
    let from_toml = simulate(&["--policy", DAEMON, "--series", path_str(&series)]);
    let from_aws = simulate(&[
        "--alarms",
        path_str(&alarms),
        "--policies",
        path_str(&policies),
        "--group",
        path_str(&groups),
        "--series",
        path_str(&series),
    ]);
    let scaled = activities(&from_toml);
    assert!(scaled.contains(&"daemon-scale-out".to_owned()), "{from_toml}");
    assert!(scaled.contains(&"daemon-scale-in".to_owned()), "{from_toml}");
    assert_eq!(from_aws, from_toml);
}

/// The switches through the real CLI: the shipped ECS example with its scale-in suspended
/// (register-scalable-target --suspended-state) and the scale-out alarm's actions off
/// (put-metric-alarm --no-actions-enabled). moto keeps both, and describe-scalable-targets /
/// describe-alarms read back give the TOML's timeline. (moto 5.2.5 keeps no EvaluationWindow,
/// so a wall clock window is not deployed here: the unit round trip through --print-aws covers
/// it.)
#[tokio::test]
async fn the_switches_deployed_to_moto_read_back_as_the_toml_has_them() {
    let aws = Aws::start().await;
    aws.create_ecs_service();
    let toml = std::fs::read_to_string(repo(ECS))
        .unwrap()
        .replace(
            "desired_capacity = 2",
            "desired_capacity = 2\nsuspended_state = { dynamic_scaling_in_suspended = true }",
        )
        .replace(
            "alarm_actions = [\"web-scale-out\"]",
            "alarm_actions = [\"web-scale-out\"]\nactions_enabled = false",
        );
    let policy = aws.path("switches.toml");
    std::fs::write(&policy, &toml).unwrap();
    let policy = path_str(&policy);
    aws.deploy(policy);

    let alarms = aws.save("alarms.json", &["cloudwatch", "describe-alarms"]);
    let (policies, targets) = aws.save_ecs_policies_and_targets();
    let described = read_json(&alarms);
    let high = described["MetricAlarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["AlarmName"] == "web-pending-high")
        .unwrap();
    assert_eq!(high["ActionsEnabled"], false, "{high}");
    let state = &read_json(&targets)["ScalableTargets"][0]["SuspendedState"];
    assert_eq!(state["DynamicScalingInSuspended"], true, "{state}");

    let series = replay_csv(aws.dir.path(), 1_764_547_200, &load_test());
    let from_toml = simulate(&["--policy", policy, "--series", path_str(&series)]);
    let from_aws = simulate(&[
        "--alarms",
        path_str(&alarms),
        "--policies",
        path_str(&policies),
        "--group",
        path_str(&targets),
        "--capacity",
        "2",
        "--series",
        path_str(&series),
    ]);
    assert_eq!(from_toml.lines().count(), load_test().len() + 1);
    assert_eq!(from_aws, from_toml);
}
