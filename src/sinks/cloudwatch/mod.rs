//! The CloudWatch sink: AWS identity (region, instance id, credentials) and a
//! PutMetricData client with explicit timeouts and the SDK's retries turned off.

pub mod credentials;
pub mod encode;

use std::time::Duration;

use aws_config::imds;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::DateTime;

use super::{FailureKind, PublishError, Publisher, PutRequest};
use crate::aws_error;
use crate::config::CloudWatchConfig;

/// CloudWatch's endpoint prefix: `https://monitoring.REGION.amazonaws.com`.
pub(crate) const CLOUDWATCH_ENDPOINT_PREFIX: &str = "monitoring";
const IMDS_INSTANCE_ID: &str = "/latest/meta-data/instance-id";
const IMDS_REGION: &str = "/latest/meta-data/placement/region";

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "cannot determine the instance id: IMDSv2 GET {IMDS_INSTANCE_ID}: {reason}; off EC2, set cloudwatch.instance_id in the config"
    )]
    InstanceId { reason: String },
    #[error(
        "cannot determine the AWS region: not configured, AWS_REGION unset, and IMDSv2 GET {IMDS_REGION}: {reason}; set cloudwatch.region in the config"
    )]
    Region { reason: String },
}

/// Where a resolved value came from, for `check` and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Config,
    Environment,
    Imds,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Config => "config file",
            Source::Environment => "environment",
            Source::Imds => "IMDSv2",
        })
    }
}

/// Everything the sink needs to know about this host in AWS.
#[derive(Debug, Clone)]
pub struct Identity {
    pub region: String,
    pub(crate) region_source: Source,
    pub instance_id: String,
    pub(crate) instance_id_source: Source,
    pub sdk_config: SdkConfig,
}

/// The one HTTPS client for CloudWatch, IMDSv2 and the credential providers: the SDK's own
/// hyper + rustls client, as its `default-https-client` feature builds it (proxy settings from
/// HTTPS_PROXY/NO_PROXY included), but with rustls on ring instead of aws-lc-rs. The idle
/// daemon's memory is mostly its mapped code, and ring is about 1 MB less of it (BENCHMARKS.md,
/// "Package profile and idle memory").
fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// What the IMDS client and the credential chain are built with: this crate's HTTPS client
/// (without the SDK's default client feature they would have none).
fn provider_config(http: &SharedHttpClient) -> ProviderConfig {
    ProviderConfig::without_region().with_http_client(http.clone())
}

/// What the credential providers are built with: the region too (web identity asks STS).
fn credentials_config(http: &SharedHttpClient, region: &str) -> ProviderConfig {
    provider_config(http).with_region(Some(Region::new(region.to_owned())))
}

/// An IMDSv2 client that fails fast off EC2 instead of costing seconds per lookup.
fn imds_client(http: &SharedHttpClient, timeout: Duration) -> imds::Client {
    imds::Client::builder()
        .configure(&provider_config(http))
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .operation_timeout(timeout * 3)
        .max_attempts(1)
        .build()
}

/// The instance id alone: config first, then IMDSv2 (all `--dry-run` needs).
pub(crate) async fn resolve_instance_id(config: &CloudWatchConfig) -> Result<(String, Source), IdentityError> {
    instance_id(config, &imds_client(&https_client(), config.imds_timeout)).await
}

async fn instance_id(config: &CloudWatchConfig, imds: &imds::Client) -> Result<(String, Source), IdentityError> {
    if let Some(id) = &config.instance_id {
        return Ok((id.clone(), Source::Config));
    }
    imds.get(IMDS_INSTANCE_ID)
        .await
        .map(|id| (id.as_ref().trim().to_owned(), Source::Imds))
        .map_err(|e| IdentityError::InstanceId {
            reason: aws_error::imds_reason(&e),
        })
}

/// Resolve region and instance id (config first, then environment, then IMDSv2) and
/// build the SDK config with explicit timeouts and no SDK retries.
pub async fn resolve(config: &CloudWatchConfig) -> Result<Identity, IdentityError> {
    let http = https_client();
    let imds = imds_client(&http, config.imds_timeout);
    let region = async {
        if let Some(region) = &config.region {
            return Ok((region.clone(), Source::Config));
        }
        for variable in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let Ok(region) = std::env::var(variable) {
                if !region.is_empty() {
                    return Ok((region, Source::Environment));
                }
            }
        }
        imds.get(IMDS_REGION)
            .await
            .map(|r| (r.as_ref().trim().to_owned(), Source::Imds))
            .map_err(|e| IdentityError::Region {
                reason: aws_error::imds_reason(&e),
            })
    };
    let (instance_id, region) = tokio::join!(instance_id(config, &imds), region);
    let (instance_id, instance_id_source) = instance_id?;
    let (region, region_source) = region?;

    let credentials = credentials::chain(&credentials_config(&http, &region), &imds);
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(region.clone()))
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(config.connect_timeout)
                .read_timeout(config.operation_timeout)
                .operation_attempt_timeout(config.operation_timeout)
                .operation_timeout(config.operation_timeout)
                .build(),
        )
        .load()
        .await;
    Ok(Identity {
        region,
        region_source,
        instance_id,
        instance_id_source,
        sdk_config,
    })
}

pub(crate) struct CloudWatchPublisher {
    client: aws_sdk_cloudwatch::Client,
    /// Named in every failure.
    endpoint: String,
}

impl CloudWatchPublisher {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        CloudWatchPublisher {
            client: aws_sdk_cloudwatch::Client::new(sdk_config),
            endpoint: aws_error::endpoint(sdk_config, CLOUDWATCH_ENDPOINT_PREFIX),
        }
    }
}

fn sdk_datum(datum: &encode::Datum) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(&datum.metric_name)
        .set_dimensions(Some(
            datum
                .dimensions
                .iter()
                .map(|d| Dimension::builder().name(&d.name).value(&d.value).build())
                .collect(),
        ))
        .timestamp(DateTime::from(datum.timestamp))
        .statistic_values(
            StatisticSet::builder()
                .sample_count(datum.statistic_values.sample_count)
                .sum(datum.statistic_values.sum)
                .minimum(datum.statistic_values.minimum)
                .maximum(datum.statistic_values.maximum)
                .build(),
        )
        .unit(StandardUnit::from(datum.unit))
        .storage_resolution(datum.storage_resolution)
        .build()
}

impl Publisher for CloudWatchPublisher {
    async fn put(&self, request: &PutRequest) -> Result<(), PublishError> {
        self.client
            .put_metric_data()
            .namespace(&request.namespace)
            .set_metric_data(Some(request.metric_data.iter().map(sdk_datum).collect()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&self.endpoint, &e))
    }
}

/// Decide what a failed call means for the data it carried.
fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    endpoint: &str,
    error: &SdkError<E, aws_sdk_cloudwatch::config::http::HttpResponse>,
) -> PublishError {
    let said = || format!("PutMetricData: {}", aws_error::reason(endpoint, error));
    let (kind, message) = match error {
        SdkError::TimeoutError(_) => (FailureKind::Retryable, said()),
        SdkError::DispatchFailure(_) => match credentials_error(error) {
            // Signing needs credentials before anything is sent: the chain's failure, said
            // per provider, and retried (an instance role's credentials can come later).
            Some(credentials) => (FailureKind::Retryable, credentials::describe(credentials)),
            None => (FailureKind::Retryable, said()),
        },
        SdkError::ResponseError(_) => (FailureKind::Retryable, said()),
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            let code = e.err().code().unwrap_or("");
            let kind = match code {
                "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "ExpiredToken"
                | "ExpiredTokenException" => FailureKind::Retryable,
                "AccessDenied"
                | "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "MissingAuthenticationToken"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch" => FailureKind::AccessDenied,
                _ if status == 429 || status >= 500 => FailureKind::Retryable,
                _ => FailureKind::Rejected,
            };
            let hint = if kind == FailureKind::AccessDenied {
                " (the instance role needs cloudwatch:PutMetricData for this namespace)"
            } else {
                ""
            };
            (kind, format!("{}{hint}", said()))
        }
        _ => (FailureKind::Rejected, said()),
    };
    PublishError { kind, message }
}

/// The credentials error among `error`'s causes, if that is why the call failed.
fn credentials_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a aws_credential_types::provider::error::CredentialsError> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<aws_credential_types::provider::error::CredentialsError>() {
            return Some(found);
        }
        source = cause.source();
    }
    None
}
