//! The AWS credential chain, built from its named providers so that a failure can say which
//! providers were tried and what each one said, one line each, instead of the SDK's
//! "an error occurred while loading credentials" and a Debug dump of the HTTP response.
//!
//! The providers and their order are the SDK's default chain (`DefaultCredentialsChain`):
//! environment, profile, web identity token, ECS container, EC2 instance metadata. The chain
//! goes on past a provider that has nothing configured and stops at the first that fails.

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::ProviderChainError;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;

/// The default chain's providers, in its order, under the names it gives them.
fn providers(conf: &ProviderConfig, imds: &imds::Client) -> Vec<(&'static str, SharedCredentialsProvider)> {
    vec![
        (
            "Environment",
            SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()),
        ),
        (
            "Profile",
            SharedCredentialsProvider::new(ProfileFileCredentialsProvider::builder().configure(conf).build()),
        ),
        (
            "WebIdentityToken",
            SharedCredentialsProvider::new(WebIdentityTokenCredentialsProvider::builder().configure(conf).build()),
        ),
        (
            "EcsContainer",
            SharedCredentialsProvider::new(EcsCredentialsProvider::builder().configure(conf).build()),
        ),
        (
            "Ec2InstanceMetadata",
            SharedCredentialsProvider::new(
                ImdsCredentialsProvider::builder()
                    .configure(conf)
                    .imds_client(imds.clone())
                    .build(),
            ),
        ),
    ]
}

/// The chain the CloudWatch client signs with (`conf` carries the region, for STS).
pub(super) fn chain(conf: &ProviderConfig, imds: &imds::Client) -> CredentialsProviderChain {
    let mut providers = providers(conf, imds).into_iter();
    let (name, first) = providers.next().expect("the chain has providers");
    providers.fold(
        CredentialsProviderChain::first_try(name, first),
        |chain, (name, provider)| chain.or_else(name, provider),
    )
}

/// What one provider answered when asked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderOutcome {
    /// It has credentials: the first four characters of the access key id.
    Credentials { key_prefix: String },
    /// Nothing configured for it: the chain goes on to the next.
    NotConfigured(String),
    /// It is configured but failed: the chain stops here.
    Failed(String),
    /// The chain stopped before it (an earlier provider had credentials or failed).
    NotTried,
}

/// Asks each provider of the chain in turn, as the chain does, and says what each answered
/// (for `check`, after the chain failed).
pub(super) async fn probe(conf: &ProviderConfig, imds: &imds::Client) -> Vec<(&'static str, ProviderOutcome)> {
    let mut outcomes = Vec::new();
    let mut stopped = false;
    for (name, provider) in providers(conf, imds) {
        if stopped {
            outcomes.push((name, ProviderOutcome::NotTried));
            continue;
        }
        let outcome = match provider.provide_credentials().await {
            Ok(credentials) => ProviderOutcome::Credentials {
                key_prefix: key_prefix(&credentials),
            },
            Err(error @ CredentialsError::CredentialsNotLoaded(_)) => {
                ProviderOutcome::NotConfigured(what_it_said(&error))
            }
            Err(error) => ProviderOutcome::Failed(what_it_said(&error)),
        };
        stopped = !matches!(outcome, ProviderOutcome::NotConfigured(_));
        outcomes.push((name, outcome));
    }
    outcomes
}

/// The first four characters (not bytes: a key id from the environment may be anything) of
/// the access key id, enough to tell two keys apart without printing one.
pub fn key_prefix(credentials: &Credentials) -> String {
    credentials.access_key_id().chars().take(4).collect()
}

/// One line per provider, `Name: what it said`, for a failed chain.
pub fn outcome_lines(outcomes: &[(&'static str, ProviderOutcome)]) -> Vec<String> {
    outcomes
        .iter()
        .map(|(name, outcome)| match outcome {
            ProviderOutcome::Credentials { key_prefix } => {
                format!("{name}: has credentials (access key {key_prefix}...)")
            }
            ProviderOutcome::NotConfigured(said) => format!("{name}: {said}"),
            ProviderOutcome::Failed(said) => format!("{name}: FAILED, the chain stops here: {said}"),
            ProviderOutcome::NotTried => format!("{name}: not tried"),
        })
        .collect()
}

/// What a credentials error says, without the variant's generic sentence when there is more
/// ("the credential provider was not enabled", "an error occurred while loading
/// credentials"), on one line. A failed chain lists its providers, one line each.
pub fn describe(error: &CredentialsError) -> String {
    let source = std::error::Error::source(error);
    if let Some(chain) = source.and_then(|s| s.downcast_ref::<ProviderChainError<CredentialsError>>()) {
        let mut text = String::from("no AWS credentials; the chain tried");
        for attempt in chain.attempts() {
            text.push_str(&format!("\n  {}: {}", attempt.name(), what_it_said(attempt.error())));
        }
        return text;
    }
    match error {
        CredentialsError::CredentialsNotLoaded(_) => format!("no AWS credentials: {}", what_it_said(error)),
        _ => format!("AWS credentials failed: {}", what_it_said(error)),
    }
}

/// The error's causes, joined by ": " on one line; the error's own text only when it has none.
fn what_it_said(error: &CredentialsError) -> String {
    let mut parts = Vec::new();
    if let CredentialsError::ProviderTimedOut(_) = error {
        parts.push(error.to_string());
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    if parts.is_empty() {
        // Alone, CredentialsNotLoaded's text is "the credential provider was not enabled".
        parts.push(match error {
            CredentialsError::CredentialsNotLoaded(_) => "not configured".to_owned(),
            _ => error.to_string(),
        });
    }
    parts.join(": ").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefix_counts_characters_not_bytes() {
        for (key, prefix) in [
            ("AKIAEXAMPLE", "AKIA"),
            ("aéééé", "aééé"),
            ("日本語キー", "日本語キ"),
            ("ab", "ab"),
            ("", ""),
        ] {
            let credentials = Credentials::new(key, "secret", None, None, "test");
            assert_eq!(key_prefix(&credentials), prefix, "{key:?}");
        }
    }

    #[test]
    fn describe_drops_the_generic_sentence_and_keeps_the_cause() {
        let error = CredentialsError::provider_error(std::io::Error::other("failed to load IMDS session token"));
        assert_eq!(
            describe(&error),
            "AWS credentials failed: failed to load IMDS session token"
        );
        let error = CredentialsError::not_loaded("environment variable not set");
        assert_eq!(describe(&error), "no AWS credentials: environment variable not set");
        let error = CredentialsError::not_loaded_no_source();
        assert_eq!(describe(&error), "no AWS credentials: not configured");
        let error = CredentialsError::unhandled("unexpected");
        assert_eq!(describe(&error), "AWS credentials failed: unexpected");
    }
}
