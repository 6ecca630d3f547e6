//! `[emf]`: CloudWatch's embedded metric format, and where its lines go.

use std::path::PathBuf;

use super::{raw, ConfigError, Validator};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmfOutput {
    Stdout,
    File(PathBuf),
    /// The CloudWatch agent's EMF listener over TCP, `HOST:PORT` (resolved at each connect).
    Tcp(String),
    /// The same over UDP: one line per datagram.
    Udp(String),
}

impl Validator<'_> {
    /// `[emf]`: `None` when not enabled.
    pub(super) fn emf(&self, raw: raw::RawEmf) -> Result<Option<EmfOutput>, ConfigError> {
        Ok(match (raw.enabled.unwrap_or(false), raw.output) {
            (false, _) => None,
            (true, None) => Some(EmfOutput::Stdout),
            (true, Some(output)) if output.get_ref() == "stdout" || output.get_ref() == "-" => Some(EmfOutput::Stdout),
            (true, Some(output)) if output.get_ref().starts_with('/') => {
                Some(EmfOutput::File(PathBuf::from(output.into_inner())))
            }
            (true, Some(output)) if output.get_ref().contains("://") => {
                let (scheme, address) = output.get_ref().split_once("://").unwrap_or_default();
                let valid = address
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
                match (scheme, valid) {
                    ("tcp", true) => Some(EmfOutput::Tcp(address.to_owned())),
                    ("udp", true) => Some(EmfOutput::Udp(address.to_owned())),
                    _ => {
                        return self.invalid(
                            "emf.output",
                            output.span(),
                            format!(
                                "{:?} is not tcp://HOST:PORT or udp://HOST:PORT (the CloudWatch agent listens on tcp://127.0.0.1:25888)",
                                output.get_ref()
                            ),
                        )
                    }
                }
            }
            (true, Some(output)) => {
                return self.invalid(
                    "emf.output",
                    output.span(),
                    "must be \"stdout\", an absolute file path, tcp://HOST:PORT or udp://HOST:PORT".into(),
                )
            }
        })
    }
}
