//! What a command failed with, in the two kinds `main` turns into exit codes: input it cannot
//! use (flags, the config, the files it was given: exit 2, nothing was done) or a failure
//! while running (exit 1). Every command's error converts into it, so `main` holds one
//! match.

use crate::config::ConfigError;
use crate::parse_log::LogCommandError;
use crate::policy::PolicyError;
use crate::simulate::SimulateError;

#[derive(Debug)]
pub enum Failure {
    /// Usage, config or input the command cannot use.
    Input(String),
    /// Something failed while running.
    Runtime(String),
}

impl Failure {
    /// The one line `main` reports.
    pub fn message(&self) -> &str {
        match self {
            Failure::Input(message) | Failure::Runtime(message) => message,
        }
    }

    fn classify(usage: bool, message: String) -> Failure {
        if usage {
            Failure::Input(message)
        } else {
            Failure::Runtime(message)
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure::Input(format!("config error: {error}"))
    }
}

impl From<LogCommandError> for Failure {
    fn from(error: LogCommandError) -> Self {
        Failure::classify(error.is_usage(), error.to_string())
    }
}

impl From<SimulateError> for Failure {
    fn from(error: SimulateError) -> Self {
        Failure::classify(error.is_usage(), error.to_string())
    }
}

impl From<PolicyError> for Failure {
    fn from(error: PolicyError) -> Self {
        Failure::classify(error.is_usage(), error.to_string())
    }
}

/// The daemon, `once` and `check` fail at run time: their config was loaded before.
impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Runtime(format!("{error:#}"))
    }
}
