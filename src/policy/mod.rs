//! `policy render` and `policy lint`: the policy TOML of `simulate` (validated by
//! `simulate::input`) printed as CloudFormation, Terraform or AWS CLI calls, and checked
//! against the exporter's own config.
//!
//! ```text
//! simulate::input::load --Scenario--> render (pure) --text--> stdout
//!                       --Loaded + config::Config--> lint::cross_check (pure) --Finding--> stdout
//! ```

pub mod lint;
pub mod render;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::config::{self, ConfigError};
use crate::simulate::input::{self, InputError, Sources};

pub use render::Format;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Input(#[from] InputError),
    #[error("config error: {0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Render(#[from] render::RenderError),
    #[error("{errors} error(s) in the policy (see above)")]
    Lint { errors: usize },
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] std::io::Error),
}

impl PolicyError {
    /// A problem with the files given (exit 2), not a failure while running (exit 1).
    pub(crate) fn is_usage(&self) -> bool {
        !matches!(self, PolicyError::Stdout(_))
    }
}

/// A `policy` command and the files it reads.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Print the policy as `format`.
    Render { policy: PathBuf, format: Format },
    /// Validate the policy; with the exporter's config, cross-check it.
    Lint {
        policy: PathBuf,
        exporter_config: Option<PathBuf>,
    },
}

pub fn run(plan: &Plan) -> Result<(), PolicyError> {
    match plan {
        Plan::Render { policy, format } => run_render(policy, *format),
        Plan::Lint {
            policy,
            exporter_config,
        } => run_lint(policy, exporter_config.as_deref()),
    }
}

fn load(policy: &Path) -> Result<input::Loaded, PolicyError> {
    Ok(input::load(&Sources {
        policy_toml: Some(policy),
        ..Sources::default()
    })?)
}

/// `policy render`: the rendered text on stdout, validation warnings on stderr.
pub(crate) fn run_render(policy: &Path, format: Format) -> Result<(), PolicyError> {
    let loaded = load(policy)?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let text = render::render(&loaded.scenario, format)?;
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(PolicyError::Stdout)
}

/// `policy lint`: validation's warnings and, with the exporter's config, the cross-check,
/// one line each on stdout. Errors make it fail (exit 2); warnings alone do not.
pub(crate) fn run_lint(policy: &Path, exporter_config: Option<&Path>) -> Result<(), PolicyError> {
    let loaded = load(policy)?;
    let mut lines: Vec<String> = loaded.warnings.iter().map(|w| format!("warning: {w}")).collect();
    let mut errors = 0;
    if let Some(path) = exporter_config {
        let config = config::load(path)?;
        // Validation keeps each alarm's table; a finding points at its field's own line.
        let text = std::fs::read_to_string(policy).unwrap_or_default();
        for mut finding in lint::cross_check(&loaded, &config.cloudwatch, path) {
            if let Some(line) = crate::serde_errors::toml_key_line(&text, &finding.location.key) {
                finding.location.line = line;
            }
            if finding.severity == lint::Severity::Error {
                errors += 1;
            }
            lines.push(finding.to_string());
        }
    }
    if lines.is_empty() {
        lines.push(format!("{}: ok", policy.display()));
    }
    let mut stdout = std::io::stdout().lock();
    for line in &lines {
        writeln!(stdout, "{line}").map_err(PolicyError::Stdout)?;
    }
    if errors > 0 {
        return Err(PolicyError::Lint { errors });
    }
    Ok(())
}
