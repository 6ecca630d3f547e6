//! The AWS credential chain, built from its named providers so that a failure can say which
//! providers were tried and what each one said, one line each, instead of the SDK's
//! "an error occurred while loading credentials" and a Debug dump of the HTTP response.
//!
//! The providers and their order are the SDK's default chain (`DefaultCredentialsChain`):
//! environment, profile, web identity token, ECS container, EC2 instance metadata. As there,
//! the chain goes on past a provider that has nothing configured (CredentialsNotLoaded) and
//! stops at the first that fails otherwise; unlike there, the error it returns then still
//! names every provider asked and what each said ([`ChainError`]).

use std::fmt;

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;

/// The default chain's providers, in its order, under the names it gives them.
#[derive(Debug)]
pub(crate) struct Chain {
    providers: Vec<(&'static str, Box<dyn ProvideCredentials>)>,
}

/// The chain the CloudWatch client signs with (`conf` carries the region, for STS).
pub(super) fn chain(conf: &ProviderConfig, imds: &imds::Client) -> Chain {
    Chain {
        providers: vec![
            ("Environment", Box::new(EnvironmentVariableCredentialsProvider::new())),
            (
                "Profile",
                Box::new(ProfileFileCredentialsProvider::builder().configure(conf).build()),
            ),
            (
                "WebIdentityToken",
                Box::new(WebIdentityTokenCredentialsProvider::builder().configure(conf).build()),
            ),
            (
                "EcsContainer",
                Box::new(EcsCredentialsProvider::builder().configure(conf).build()),
            ),
            (
                "Ec2InstanceMetadata",
                Box::new(
                    ImdsCredentialsProvider::builder()
                        .configure(conf)
                        .imds_client(imds.clone())
                        .build(),
                ),
            ),
        ],
    }
}

impl Chain {
    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut attempts = Vec::with_capacity(self.providers.len());
        for (name, provider) in &self.providers {
            match provider.provide_credentials().await {
                Ok(credentials) => return Ok(credentials),
                Err(error @ CredentialsError::CredentialsNotLoaded(_)) => attempts.push((*name, what_it_said(&error))),
                Err(error) => {
                    let said = what_it_said(&error);
                    let chain = ChainError {
                        attempts,
                        failed: Some((name, said)),
                    };
                    // The variant kept where it can carry the cause (a timeout cannot).
                    return Err(match error {
                        CredentialsError::InvalidConfiguration(_) => CredentialsError::invalid_configuration(chain),
                        CredentialsError::Unhandled(_) => CredentialsError::unhandled(chain),
                        _ => CredentialsError::provider_error(chain),
                    });
                }
            }
        }
        Err(CredentialsError::not_loaded(ChainError { attempts, failed: None }))
    }
}

impl ProvideCredentials for Chain {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }

    fn fallback_on_interrupt(&self) -> Option<Credentials> {
        self.providers
            .iter()
            .find_map(|(_, provider)| provider.fallback_on_interrupt())
    }
}

/// Why the chain gave no credentials: the providers that had nothing configured, and the one
/// that failed (where the chain stopped), each with what it said.
#[derive(Debug)]
pub(crate) struct ChainError {
    attempts: Vec<(&'static str, String)>,
    failed: Option<(&'static str, String)>,
}

impl ChainError {
    /// One line per provider asked, in order: `Name: what it said`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .attempts
            .iter()
            .map(|(name, said)| format!("{name}: {said}"))
            .collect();
        if let Some((name, said)) = &self.failed {
            lines.push(format!("{name}: FAILED, the chain stops here: {said}"));
        }
        lines
    }

    fn headline(&self) -> String {
        match &self.failed {
            None => "no AWS credentials; the chain tried".to_owned(),
            Some((name, _)) => format!("AWS credentials failed at {name}; the chain tried"),
        }
    }
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        for line in self.lines() {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ChainError {}

/// The first four characters (not bytes: a key id from the environment may be anything) of
/// the access key id, enough to tell two keys apart without printing one.
pub(crate) fn key_prefix(credentials: &Credentials) -> String {
    credentials.access_key_id().chars().take(4).collect()
}

/// What a credentials error says: from this chain, a headline then one line per provider
/// (indented by two spaces); otherwise its causes on one line, without the variant's generic
/// sentence ("the credential provider was not enabled", "an error occurred while loading
/// credentials") when there is more.
pub fn describe(error: &CredentialsError) -> String {
    let source = std::error::Error::source(error);
    if let Some(chain) = source.and_then(|s| s.downcast_ref::<ChainError>()) {
        return chain.to_string();
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

    /// What a stand-in provider answers.
    type Answer = fn() -> Result<Credentials, CredentialsError>;

    /// A chain of stand-in providers, each named, answering as given.
    fn chain_of(answers: Vec<(&'static str, Answer)>) -> Chain {
        Chain {
            providers: answers
                .into_iter()
                .map(|(name, answer)| {
                    let provider: Box<dyn ProvideCredentials> = Box::new(
                        aws_credential_types::credential_fn::provide_credentials_fn(move || async move { answer() }),
                    );
                    (name, provider)
                })
                .collect(),
        }
    }

    fn ask(chain: &Chain) -> Result<Credentials, CredentialsError> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(chain.provide_credentials())
    }

    #[test]
    fn the_chain_goes_past_what_is_not_configured_and_names_every_provider_asked() {
        let error = ask(&chain_of(vec![
            ("Environment", || {
                Err(CredentialsError::not_loaded("environment variable not set"))
            }),
            ("Profile", || Err(CredentialsError::not_loaded_no_source())),
        ]))
        .unwrap_err();
        assert!(matches!(error, CredentialsError::CredentialsNotLoaded(_)), "{error:?}");
        assert_eq!(
            describe(&error),
            "no AWS credentials; the chain tried\n  Environment: environment variable not set\n  Profile: not configured"
        );

        let found = ask(&chain_of(vec![
            ("Environment", || {
                Err(CredentialsError::not_loaded("environment variable not set"))
            }),
            ("Profile", || {
                Ok(Credentials::new("AKIDPROFILE", "secret", None, None, "test"))
            }),
            ("Never", || panic!("asked after credentials were found")),
        ]))
        .unwrap();
        assert_eq!(found.access_key_id(), "AKIDPROFILE");
    }

    #[test]
    fn the_chain_stops_at_a_failure_and_says_where() {
        let error = ask(&chain_of(vec![
            ("Environment", || {
                Err(CredentialsError::not_loaded("environment variable not set"))
            }),
            ("Ec2InstanceMetadata", || {
                Err(CredentialsError::provider_error(std::io::Error::other(
                    "failed to load IMDS session token",
                )))
            }),
            ("Never", || panic!("asked after a provider failed")),
        ]))
        .unwrap_err();
        assert!(matches!(error, CredentialsError::ProviderError(_)), "{error:?}");
        assert_eq!(
            describe(&error),
            "AWS credentials failed at Ec2InstanceMetadata; the chain tried\n  Environment: environment variable not set\n  \
             Ec2InstanceMetadata: FAILED, the chain stops here: failed to load IMDS session token"
        );
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
