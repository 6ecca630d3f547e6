//! `simulate --policy F --print-aws DIR`: the scenario as the describe-* JSON the AWS CLI
//! prints, so the same files feed `--alarms/--policies/--group` and show what to create.
//! ARNs are synthesized in AWS's formats with UUIDs derived from the names (UUID v5), so the
//! output is the same on every run.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::draft::{DEFAULT_ACCOUNT_ID, DEFAULT_REGION};
use super::InputError;
use crate::scaling::aws::Documents;
use crate::scaling::scenario::{Group, ScalingService, Scenario};

/// The UUID of a synthesized ARN: stable for a (group, policy) pair.
fn policy_uuid(group: &str, policy: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("nginx-backlog-exporter/{group}/{policy}").as_bytes(),
    )
}

/// PolicyARN as AWS makes it. EC2 Auto Scaling (API_ScalingPolicy):
/// `arn:aws:autoscaling:REGION:ACCOUNT:scalingPolicy:UUID:autoScalingGroupName/GROUP:policyName/NAME`;
/// Application Auto Scaling (describe-scaling-policies example of the AWS CLI):
/// `arn:aws:autoscaling:REGION:ACCOUNT:scalingPolicy:UUID:resource/ecs/service/CLUSTER/SERVICE:policyName/NAME`.
pub(super) fn policy_arn(group: &Group, region: &str, account: &str, policy: &str) -> String {
    let uuid = policy_uuid(&group.name, policy);
    match group.service {
        ScalingService::Ec2AutoScaling => format!(
            "arn:aws:autoscaling:{region}:{account}:scalingPolicy:{uuid}:autoScalingGroupName/{}:policyName/{policy}",
            group.name
        ),
        ScalingService::ApplicationAutoScaling => format!(
            "arn:aws:autoscaling:{region}:{account}:scalingPolicy:{uuid}:resource/ecs/{}:policyName/{policy}",
            group.name
        ),
    }
}

/// Region and account of the first policy ARN (the TOML's, since it made them), else the
/// defaults.
fn region_and_account(scenario: &Scenario) -> (String, String) {
    scenario
        .policies
        .first()
        .and_then(|p| {
            let mut parts = p.arn.split(':').skip(3);
            Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
        })
        .filter(|(r, a)| !r.is_empty() && !a.is_empty())
        .unwrap_or_else(|| (DEFAULT_REGION.to_owned(), DEFAULT_ACCOUNT_ID.to_owned()))
}

/// The three documents, in file-name order: alarms.json, policies.json, group.json.
pub fn documents(scenario: &Scenario) -> [(&'static str, Value); 3] {
    let (region, account) = region_and_account(scenario);
    let documents = Documents::from_model(scenario, |name| {
        format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
    });
    // Serializing these plain structs cannot fail (no maps with non-string keys).
    [
        (
            "alarms.json",
            serde_json::to_value(&documents.alarms).unwrap_or(Value::Null),
        ),
        (
            "policies.json",
            serde_json::to_value(&documents.policies).unwrap_or(Value::Null),
        ),
        (
            "group.json",
            serde_json::to_value(&documents.groups).unwrap_or(Value::Null),
        ),
    ]
}

/// Writes alarms.json, policies.json and group.json into `dir` (created if missing); returns
/// their paths.
pub(crate) fn write_aws(scenario: &Scenario, dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    std::fs::create_dir_all(dir).map_err(|source| InputError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths = Vec::new();
    for (name, document) in documents(scenario) {
        let path = dir.join(name);
        let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
        text.push('\n');
        std::fs::write(&path, text).map_err(|source| InputError::Write {
            path: path.clone(),
            source,
        })?;
        paths.push(path);
    }
    Ok(paths)
}
