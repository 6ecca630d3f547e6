//! AWS calls that failed, said in one line: the endpoint and the cause in the words of the
//! error's own causes, never the SDK's Debug dump (`DispatchFailure { source: ConnectorError
//! { kind: Io, ...`) that `DisplayErrorContext` appends. PutMetricData (the daemon, `once`),
//! `check`'s reads, `simulate --from-cloudwatch`'s GetMetricData and the IMDSv2 lookups all
//! say their failures through it; the caller puts the operation in front.

use std::error::Error;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// IMDSv2's address unless `AWS_EC2_METADATA_SERVICE_ENDPOINT` names another (as the SDK reads
/// it); IPv6 mode uses `[fd00:ec2::254]`.
pub(crate) fn imds_endpoint() -> String {
    match std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => match std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") {
            Ok(mode) if mode.eq_ignore_ascii_case("ipv6") => "http://[fd00:ec2::254]".to_owned(),
            _ => "http://169.254.169.254".to_owned(),
        },
    }
}

/// Where calls to the service whose endpoint prefix is `prefix` (`monitoring` for CloudWatch,
/// `autoscaling`, `application-autoscaling`) go: the configured endpoint (`AWS_ENDPOINT_URL`),
/// else AWS's regional one.
pub fn endpoint(sdk_config: &SdkConfig, prefix: &str) -> String {
    match sdk_config.endpoint_url() {
        Some(url) => url.to_owned(),
        None => format!(
            "https://{prefix}.{}.amazonaws.com",
            sdk_config.region().map_or("(no region)", |region| region.as_ref())
        ),
    }
}

/// Why a call to `endpoint` failed: the service's answer (`HTTP 403 AccessDenied: ...`), a
/// timeout, or the causes of a request that got no usable answer.
pub fn reason<E>(endpoint: &str, error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("error");
            match service.err().message() {
                Some(message) if !message.is_empty() => format!("{endpoint} answered HTTP {status} {code}: {message}"),
                _ => format!("{endpoint} answered HTTP {status} {code}"),
            }
        }
        SdkError::TimeoutError(_) => format!("no answer from {endpoint} in time (timed out)"),
        SdkError::DispatchFailure(_) => format!("no answer from {endpoint}: {}", causes(error)),
        SdkError::ResponseError(_) => format!("unreadable answer from {endpoint}: {}", causes(error)),
        _ => format!("request to {endpoint} not sent: {}", causes(error)),
    }
}

/// The Display of each cause below `error`, joined with ": ", a cause that repeats the one
/// before left out; `error`'s own Display when it has no cause.
pub(crate) fn causes(error: &dyn Error) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && said.last().is_none_or(|last| !last.contains(&text)) {
            said.push(text);
        }
        source = cause.source();
    }
    if said.is_empty() {
        error.to_string()
    } else {
        said.join(": ")
    }
}

/// Why an IMDSv2 lookup failed: its status, or the causes of getting no answer.
pub(crate) fn imds_reason(error: &aws_config::imds::client::error::ImdsError) -> String {
    use aws_config::imds::client::error::ImdsError;
    let endpoint = imds_endpoint();
    match error {
        // Its Display appends the Debug dump of the whole HTTP response.
        ImdsError::ErrorResponse(answer) => {
            format!("{endpoint} answered HTTP {}", answer.response().status().as_u16())
        }
        other => format!("no answer from {endpoint}: {other}: {}", causes(other)),
    }
}
