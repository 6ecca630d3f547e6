//! `check`'s alarm side against ministack's CloudWatch and EC2 Auto Scaling APIs: the test
//! creates the Auto Scaling group, its step policies and the alarms (with the SDK, as a
//! deployment would), then `check` reads them back with DescribeAlarmsForMetric and
//! DescribePolicies. Refused reads come from ministack's own IAM (`AUTH=true`) and from the
//! fault proxy. Application Auto Scaling (the ECS path) is not served by ministack: moto's
//! server holds the ECS service and its policies, and `check` reaches it through the SDK's
//! per-service endpoint variable, as it would a VPC endpoint.

use nginx_backlog_exporter_test_support as support;

use std::process::Stdio;

use aws_sdk_autoscaling::types::StepAdjustment;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use support::fault_proxy::{Fault, FaultProxy};
use support::*;

const INSTANCE: &str = "i-0alarms";
const REGION: &str = "us-east-1";
const NAMESPACE: &str = "Test/Alarms";

/// One datum per second at high resolution, per instance and for the fleet {Service=nginx}.
/// `instance_id` and `region` are given, so no IMDS is needed.
fn config(status_url: &str, extra_cloudwatch: &str) -> String {
    format!(
        "[nginx]\nstatus_url = \"{status_url}\"\n\n[cloudwatch]\nnamespace = \"{NAMESPACE}\"\n\
         instance_id = \"{INSTANCE}\"\nregion = \"{REGION}\"\n{extra_cloudwatch}\n\
         [cloudwatch.fleet_dimensions]\nService = \"nginx\"\n"
    )
}

const HIGH_RESOLUTION: &str = "sample_interval = \"500ms\"\nperiod = \"1s\"";

/// nginx for stub_status, so that `check` itself passes and only the alarm lines vary.
struct Rig {
    _upstream: SlowUpstream,
    nginx: Nginx,
    ministack: Ministack,
    dir: tempfile::TempDir,
}

impl Rig {
    async fn start(ministack_env: &[(&str, &str)]) -> Rig {
        let upstream = SlowUpstream::start().await;
        let nginx = Nginx::start(upstream.port).await;
        let ministack = Ministack::start_with(ministack_env).await;
        Rig {
            _upstream: upstream,
            nginx,
            ministack,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> aws_config::SdkConfig {
        self.ministack.sdk_config(REGION, "test", "test")
    }

    /// `check` with `extra_cloudwatch` and the given access key: (exit code, stdout and stderr).
    async fn check(&self, extra_cloudwatch: &str, key: &str, secret: &str) -> (i32, String) {
        self.check_via(&self.ministack.endpoint(), extra_cloudwatch, key, secret)
            .await
    }

    /// The same with AWS at `endpoint`.
    async fn check_via(&self, endpoint: &str, extra_cloudwatch: &str, key: &str, secret: &str) -> (i32, String) {
        self.check_with(endpoint, &[], extra_cloudwatch, key, secret).await
    }

    /// The same with more environment (a per-service endpoint).
    async fn check_with(
        &self,
        endpoint: &str,
        env: &[(&str, &str)],
        extra_cloudwatch: &str,
        key: &str,
        secret: &str,
    ) -> (i32, String) {
        let path = write_config(self.dir.path(), &config(&self.nginx.status_url(), extra_cloudwatch));
        let (code, stdout, stderr) = run_exporter(
            exporter()
                .env("AWS_ENDPOINT_URL", endpoint)
                .envs(env.iter().copied())
                .env("AWS_ACCESS_KEY_ID", key)
                .env("AWS_SECRET_ACCESS_KEY", secret)
                .arg("--config")
                .arg(&path)
                .arg("check"),
        )
        .await;
        (code, format!("{stdout}{stderr}"))
    }
}

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

fn step(lower: Option<f64>, upper: Option<f64>, adjustment: i32) -> StepAdjustment {
    StepAdjustment::builder()
        .set_metric_interval_lower_bound(lower)
        .set_metric_interval_upper_bound(upper)
        .scaling_adjustment(adjustment)
        .build()
}

/// The group and its two step policies: (scale-out ARN, scale-in ARN).
async fn group_with_policies(sdk: &aws_config::SdkConfig) -> (String, String) {
    let autoscaling = aws_sdk_autoscaling::Client::new(sdk);
    autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name("web-asg")
        .launch_configuration_name("web")
        .min_size(1)
        .max_size(10)
        .desired_capacity(2)
        .availability_zones("us-east-1a")
        .send()
        .await
        .expect("CreateAutoScalingGroup");
    let scale_out = autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name("web-asg")
        .policy_name("web-scale-out")
        .policy_type("StepScaling")
        .adjustment_type("ChangeInCapacity")
        .estimated_instance_warmup(120)
        .step_adjustments(step(Some(0.0), Some(20.0), 1))
        .step_adjustments(step(Some(20.0), None, 3))
        .send()
        .await
        .expect("PutScalingPolicy scale-out");
    let scale_in = autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name("web-asg")
        .policy_name("web-scale-in")
        .policy_type("StepScaling")
        .adjustment_type("ChangeInCapacity")
        .step_adjustments(step(None, Some(0.0), -1))
        .send()
        .await
        .expect("PutScalingPolicy scale-in");
    (
        scale_out.policy_arn().expect("scale-out ARN").to_owned(),
        scale_in.policy_arn().expect("scale-in ARN").to_owned(),
    )
}

/// An alarm on `Test/Alarms/PendingRequests` with the given dimensions.
struct AlarmSpec {
    name: String,
    dimensions: Vec<Dimension>,
    statistic: Statistic,
    period: i32,
    evaluation_periods: i32,
    datapoints_to_alarm: i32,
    threshold: f64,
    comparison: ComparisonOperator,
    treat_missing_data: String,
    actions: Vec<String>,
}

async fn put_alarm(sdk: &aws_config::SdkConfig, alarm: AlarmSpec) {
    aws_sdk_cloudwatch::Client::new(sdk)
        .put_metric_alarm()
        .alarm_name(alarm.name)
        .namespace(NAMESPACE)
        .metric_name("PendingRequests")
        .set_dimensions(Some(alarm.dimensions))
        .statistic(alarm.statistic)
        .period(alarm.period)
        .evaluation_periods(alarm.evaluation_periods)
        .datapoints_to_alarm(alarm.datapoints_to_alarm)
        .threshold(alarm.threshold)
        .comparison_operator(alarm.comparison)
        .treat_missing_data(alarm.treat_missing_data)
        .set_alarm_actions(Some(alarm.actions))
        .send()
        .await
        .expect("PutMetricAlarm");
}

fn scale_out_alarm(name: &str, period: i32, treat_missing_data: &str, arn: &str) -> AlarmSpec {
    AlarmSpec {
        name: name.to_owned(),
        dimensions: vec![dimension("InstanceId", INSTANCE)],
        statistic: Statistic::Maximum,
        period,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        threshold: 20.0,
        comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
        treat_missing_data: treat_missing_data.to_owned(),
        actions: vec![arn.to_owned()],
    }
}

fn contains_all(output: &str, expected: &[&str]) {
    for e in expected {
        assert!(output.contains(e), "missing {e:?} in:\n{output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_no_alarm_watches_a_series_when_none_does() {
    let rig = Rig::start(&[]).await;
    // Alarms on the same metric name that watch other series: another instance, and a
    // dimension set that adds one (a different set is a different metric).
    let mut other_instance = scale_out_alarm("other-instance", 10, "missing", "arn:aws:sns:us-east-1:000000000000:t");
    other_instance.dimensions = vec![dimension("InstanceId", "i-0other")];
    put_alarm(&rig.root(), other_instance).await;
    let mut wider = scale_out_alarm("wider-set", 10, "missing", "arn:aws:sns:us-east-1:000000000000:t");
    wider.dimensions = vec![dimension("InstanceId", INSTANCE), dimension("Service", "nginx")];
    put_alarm(&rig.root(), wider).await;

    let (code, output) = rig.check(HIGH_RESOLUTION, "test", "test").await;
    assert_eq!(code, 0, "no alarm is not a failure of check:\n{output}");
    contains_all(
        &output,
        &[
            "alarms        Test/Alarms/PendingRequests {InstanceId=i-0alarms}: no alarm watches this series",
            "alarms        Test/Alarms/PendingRequests {Service=nginx}: no alarm watches this series",
        ],
    );
    assert!(!output.contains("other-instance"), "{output}");
    assert!(!output.contains("wider-set"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_lists_each_alarm_with_its_policy_steps_and_flags_missing_data() {
    let rig = Rig::start(&[("SERVICES", "cloudwatch,autoscaling")]).await;
    let sdk = rig.root();
    let (scale_out, scale_in) = group_with_policies(&sdk).await;
    put_alarm(&sdk, scale_out_alarm("web-pending-high", 10, "missing", &scale_out)).await;
    put_alarm(
        &sdk,
        AlarmSpec {
            name: "web-pending-low".into(),
            dimensions: vec![dimension("InstanceId", INSTANCE)],
            statistic: Statistic::Average,
            period: 60,
            evaluation_periods: 15,
            datapoints_to_alarm: 15,
            threshold: 5.0,
            comparison: ComparisonOperator::LessThanThreshold,
            // Removes capacity whenever the exporter cannot see nginx.
            treat_missing_data: "breaching".into(),
            actions: vec![scale_in],
        },
    )
    .await;
    let mut fleet = scale_out_alarm("fleet-pending-high", 10, "notBreaching", &scale_out);
    fleet.dimensions = vec![dimension("Service", "nginx")];
    put_alarm(&sdk, fleet).await;

    let (code, output) = rig.check(HIGH_RESOLUTION, "test", "test").await;
    assert_eq!(code, 0, "{output}");
    contains_all(
        &output,
        &[
            "alarms        Test/Alarms/PendingRequests {InstanceId=i-0alarms}: 2 alarm(s) watch this series",
            "alarm \"web-pending-high\" (scale-out): Maximum over 10 s (ok for StorageResolution 1 and a datum every \
             1s), 2 of 3 periods >= 20, TreatMissingData missing",
            "runs EC2 Auto Scaling policy \"web-scale-out\" (group web-asg): StepScaling ChangeInCapacity, steps +1 \
             at [20, 40), +3 at [40, +inf), aggregation Average, warmup 120 s",
            "alarm \"web-pending-low\" (scale-in): Average over 60 s (ok for StorageResolution 1 and a datum every \
             1s), 15 of 15 periods < 5, TreatMissingData breaching",
            "runs EC2 Auto Scaling policy \"web-scale-in\" (group web-asg): StepScaling ChangeInCapacity, steps -1 at \
             (-inf, 5]",
            "warning: breaching on a scale-in alarm",
            "alarms        Test/Alarms/PendingRequests {Service=nginx}: 1 alarm(s) watch this series",
            "alarm \"fleet-pending-high\" (scale-out)",
            "warning: notBreaching on a scale-out alarm",
        ],
    );
    // Exactly the two flagged alarms are flagged.
    assert_eq!(output.matches("warning:").count(), 2, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_flags_a_10s_alarm_on_standard_resolution() {
    let rig = Rig::start(&[("SERVICES", "cloudwatch,autoscaling")]).await;
    let sdk = rig.root();
    let (scale_out, _) = group_with_policies(&sdk).await;
    put_alarm(&sdk, scale_out_alarm("web-pending-high", 10, "missing", &scale_out)).await;
    let mut minute = scale_out_alarm("web-pending-minute", 60, "missing", &scale_out);
    minute.datapoints_to_alarm = 3;
    put_alarm(&sdk, minute).await;

    let standard = "storage_resolution = 60\nperiod = \"60s\"\nsample_interval = \"1s\"";
    let (code, output) = rig.check(standard, "test", "test").await;
    assert_eq!(code, 0, "{output}");
    contains_all(
        &output,
        &[
            "alarm \"web-pending-high\" (scale-out): Maximum over 10 s (does not fit the published series: see the \
             warning)",
            "warning: a 10 s alarm period needs the metric at high resolution: the config's \
             cloudwatch.storage_resolution is 60, so the alarm gets a datapoint only at the attempts on the minute and \
             lapses into INSUFFICIENT_DATA between them (API_PutMetricAlarm, Period; set it to 1)",
            "alarm \"web-pending-minute\" (scale-out): Maximum over 60 s (ok for StorageResolution 60 and a datum \
             every 1m), 3 of 3 periods >= 20",
        ],
    );
    assert_eq!(output.matches("warning:").count(), 1, "{output}");
}

/// Runs `script` with the venv's Python (boto3) and returns what it printed.
fn python(script: &str) -> String {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let output = std::process::Command::new(&python)
        .args(["-c", script])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    assert!(
        output.status.success(),
        "the boto3 setup failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Creates an IAM user allowed `actions` only, with boto3 (the crate has no IAM client):
/// (access key id, secret).
fn iam_user(ministack: &Ministack, actions: &[&str]) -> (String, String) {
    let script = format!(
        "import boto3, json\n\
         iam = boto3.client('iam', endpoint_url='{}', region_name='{REGION}', aws_access_key_id='test', \
         aws_secret_access_key='test')\n\
         iam.create_user(UserName='proxy')\n\
         iam.put_user_policy(UserName='proxy', PolicyName='exporter', PolicyDocument=json.dumps(\
         {{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': {actions:?}, 'Resource': '*'}}]}}))\n\
         key = iam.create_access_key(UserName='proxy')['AccessKey']\n\
         print(key['AccessKeyId'], key['SecretAccessKey'])\n",
        ministack.endpoint()
    );
    let text = python(&script);
    let (key, secret) = text.trim().split_once(' ').expect("key and secret");
    (key.to_owned(), secret.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_a_missing_permission_in_one_line_and_goes_on() {
    // AUTH=true: ministack checks each request against the IAM policies of its signer.
    let rig = Rig::start(&[("SERVICES", "cloudwatch,autoscaling,iam,sts"), ("AUTH", "true")]).await;
    let sdk = rig.root();
    let (scale_out, _) = group_with_policies(&sdk).await;
    put_alarm(&sdk, scale_out_alarm("web-pending-high", 10, "missing", &scale_out)).await;
    // The instance role of the guide plus the alarm read, without autoscaling:DescribePolicies.
    let (key, secret) = iam_user(
        &rig.ministack,
        &["cloudwatch:PutMetricData", "cloudwatch:DescribeAlarmsForMetric"],
    );

    let (code, output) = rig.check(HIGH_RESOLUTION, &key, &secret).await;
    assert_eq!(code, 0, "an optional read refused is not a failure of check:\n{output}");
    contains_all(
        &output,
        &[
            "alarm \"web-pending-high\" (scale-out): Maximum over 10 s",
            "runs EC2 Auto Scaling policy \"web-scale-out\" (group web-asg): not read \
             (autoscaling:DescribePolicies: AccessDenied: ",
            // check goes on to the next series.
            "alarms        Test/Alarms/PendingRequests {Service=nginx}: no alarm watches this series",
        ],
    );
    assert_eq!(
        output.matches("autoscaling:DescribePolicies: AccessDenied").count(),
        1,
        "{output}"
    );
    // ministack does not apply IAM to CloudWatch's rpc-v2-cbor requests (the SDK's protocol):
    // the refused DescribeAlarmsForMetric is the next test's, through the fault proxy.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_a_refused_alarm_listing_once_and_exits_0() {
    let rig = Rig::start(&[]).await;
    // CloudWatch's AccessDenied, in its rpc-v2-cbor shape, to every call.
    let proxy = FaultProxy::start(&rig.ministack.endpoint()).await;
    proxy.set(Fault::AccessDenied).await;

    // STS past the proxy: only CloudWatch's calls go through it.
    let sts = rig.ministack.endpoint();
    let (code, output) = rig
        .check_with(
            &proxy.endpoint(),
            &[("AWS_ENDPOINT_URL_STS", &sts)],
            HIGH_RESOLUTION,
            "test",
            "test",
        )
        .await;
    assert_eq!(code, 0, "an optional read refused is not a failure of check:\n{output}");
    let lines: Vec<&str> = output.lines().filter(|l| l.starts_with("alarms ")).collect();
    assert_eq!(lines.len(), 1, "one line for the refused read:\n{output}");
    assert!(
        lines[0].starts_with("alarms        cannot list (cloudwatch:DescribeAlarmsForMetric: AccessDenied: User: "),
        "{output}"
    );
    assert!(
        lines[0].ends_with(
            "not checked for Test/Alarms/PendingRequests {InstanceId=i-0alarms}, \
             Test/Alarms/PendingRequests {Service=nginx}"
        ),
        "{output}"
    );
    // The second series is not asked again after the first was refused.
    assert_eq!(proxy.calls().len(), 1, "{:?}", proxy.calls());
}

/// An ECS service in moto (cluster, task definition, service), its scalable target and two
/// step policies, with boto3 (the crate has no ECS client): (scale-out ARN, scale-in ARN).
fn ecs_service_with_policies(moto: &Moto) -> (String, String) {
    let script = format!(
        "import boto3\n\
         kw = dict(endpoint_url='{}', region_name='{REGION}', aws_access_key_id='test', aws_secret_access_key='test')\n\
         ecs = boto3.client('ecs', **kw)\n\
         ecs.create_cluster(clusterName='web-cluster')\n\
         ecs.register_task_definition(family='web', containerDefinitions=[{{'name': 'web', 'image': 'nginx', 'memory': 128}}])\n\
         ecs.create_service(cluster='web-cluster', serviceName='web', taskDefinition='web', desiredCount=2)\n\
         aas = boto3.client('application-autoscaling', **kw)\n\
         target = dict(ServiceNamespace='ecs', ResourceId='service/web-cluster/web', ScalableDimension='ecs:service:DesiredCount')\n\
         aas.register_scalable_target(MinCapacity=2, MaxCapacity=20, **target)\n\
         out = aas.put_scaling_policy(PolicyName='web-tasks-out', PolicyType='StepScaling', StepScalingPolicyConfiguration={{\n\
             'AdjustmentType': 'ChangeInCapacity', 'Cooldown': 60, 'MetricAggregationType': 'Maximum',\n\
             'StepAdjustments': [{{'MetricIntervalLowerBound': 0, 'ScalingAdjustment': 2}}]}}, **target)\n\
         inn = aas.put_scaling_policy(PolicyName='web-tasks-in', PolicyType='StepScaling', StepScalingPolicyConfiguration={{\n\
             'AdjustmentType': 'ChangeInCapacity', 'Cooldown': 300,\n\
             'StepAdjustments': [{{'MetricIntervalUpperBound': 0, 'ScalingAdjustment': -1}}]}}, **target)\n\
         print(out['PolicyARN'], inn['PolicyARN'])\n",
        moto.endpoint()
    );
    let text = python(&script);
    let (scale_out, scale_in) = text.trim().split_once(' ').expect("two ARNs");
    (scale_out.to_owned(), scale_in.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_the_ecs_service_policies_from_application_auto_scaling() {
    let rig = Rig::start(&[]).await;
    let moto = Moto::start().await;
    let (scale_out, scale_in) = ecs_service_with_policies(&moto);
    // The ECS design scales the service on the fleet series.
    let mut high = scale_out_alarm("tasks-high", 10, "missing", &scale_out);
    high.dimensions = vec![dimension("Service", "nginx")];
    put_alarm(&rig.root(), high).await;
    put_alarm(
        &rig.root(),
        AlarmSpec {
            name: "tasks-low".into(),
            dimensions: vec![dimension("Service", "nginx")],
            statistic: Statistic::Average,
            period: 60,
            evaluation_periods: 5,
            datapoints_to_alarm: 5,
            threshold: 2.0,
            comparison: ComparisonOperator::LessThanOrEqualToThreshold,
            // Keeps removing tasks while the exporter is blind in ALARM.
            treat_missing_data: "ignore".into(),
            actions: vec![scale_in],
        },
    )
    .await;

    let moto_endpoint = moto.endpoint();
    let (code, output) = rig
        .check_with(
            &rig.ministack.endpoint(),
            &[("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING", &moto_endpoint)],
            HIGH_RESOLUTION,
            "test",
            "test",
        )
        .await;
    assert_eq!(code, 0, "{output}");
    contains_all(
        &output,
        &[
            "alarms        Test/Alarms/PendingRequests {InstanceId=i-0alarms}: no alarm watches this series",
            "alarms        Test/Alarms/PendingRequests {Service=nginx}: 2 alarm(s) watch this series",
            "alarm \"tasks-high\" (scale-out): Maximum over 10 s (ok for StorageResolution 1 and a datum every 1s), 2 \
             of 3 periods >= 20, TreatMissingData missing",
            "runs Application Auto Scaling policy \"web-tasks-out\" (ecs service/web-cluster/web): StepScaling \
             ChangeInCapacity, steps +2 at [20, +inf), aggregation Maximum, cooldown 60 s",
            "alarm \"tasks-low\" (scale-in): Average over 60 s (ok for StorageResolution 1 and a datum every 1s), 5 of \
             5 periods <= 2, TreatMissingData ignore",
            "runs Application Auto Scaling policy \"web-tasks-in\" (ecs service/web-cluster/web): StepScaling \
             ChangeInCapacity, steps -1 at (-inf, 2], aggregation Average, cooldown 300 s",
            "warning: ignore on a scale-in alarm",
        ],
    );
    assert_eq!(output.matches("warning:").count(), 1, "{output}");
}

/// The credentials line of `check`'s output.
fn credentials_line(output: &str) -> &str {
    output
        .lines()
        .find(|l| l.starts_with("credentials"))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_ok_only_for_credentials_sts_accepts() {
    // AUTH=true: ministack knows its IAM users' keys and refuses others, as AWS does.
    let rig = Rig::start(&[("SERVICES", "cloudwatch,iam,sts"), ("AUTH", "true")]).await;
    let (key, secret) = iam_user(&rig.ministack, &["cloudwatch:PutMetricData"]);
    let (code, output) = rig.check(HIGH_RESOLUTION, &key, &secret).await;
    assert_eq!(code, 0, "{output}");
    // IAM names a user arn:aws:iam::ACCOUNT:user/NAME; ministack's account is 000000000000.
    assert_eq!(
        credentials_line(&output),
        format!(
            "credentials   ok: arn:aws:iam::000000000000:user/proxy (access key {}..., verified by STS GetCallerIdentity)",
            &key[..4]
        ),
        "{output}"
    );

    // Made-up keys (AWS's documentation example pair): refused, named, and a failure of check.
    let (code, output) = rig
        .check(
            HIGH_RESOLUTION,
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .await;
    assert_eq!(code, 1, "{output}");
    let line = credentials_line(&output);
    assert!(
        line.starts_with(&format!(
            "credentials   FAILED: access key AKIA... refused by STS GetCallerIdentity at {}: InvalidClientTokenId: \
             The security token included in the request is invalid",
            rig.ministack.endpoint()
        )),
        "{output}"
    );
    assert!(output.contains("check found 1 problem(s)"), "{output}");
    assert!(!output.contains("ok:"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_found_not_verified_when_sts_gives_no_verdict() {
    // ministack serving CloudWatch only: its STS answer is not an STS response.
    let rig = Rig::start(&[]).await;
    let (code, output) = rig.check(HIGH_RESOLUTION, "test", "test").await;
    assert_eq!(code, 0, "not verified is not a failure:\n{output}");
    assert!(
        credentials_line(&output).starts_with(&format!(
            "credentials   found, not verified: STS GetCallerIdentity at {}: ",
            rig.ministack.endpoint()
        )),
        "{output}"
    );
    // Nothing listens at STS's endpoint: the cause in one line, no Debug dump.
    let (code, output) = rig
        .check_with(
            &rig.ministack.endpoint(),
            &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")],
            HIGH_RESOLUTION,
            "test",
            "test",
        )
        .await;
    assert_eq!(code, 0, "{output}");
    let line = credentials_line(&output);
    assert!(
        line.starts_with("credentials   found, not verified: STS GetCallerIdentity at http://127.0.0.1:9: ")
            && line.contains("Connection refused")
            && line.ends_with("(access key test...)"),
        "{output}"
    );
    assert!(
        !line.contains("DispatchFailure") && !line.contains("ConnectorError"),
        "{line}"
    );
}
