//! nginx-backlog-exporter measures how many requests an NGINX reverse proxy holds and
//! publishes it as one CloudWatch metric, `PendingRequests{InstanceId}`, for EC2 Auto Scaling.
//!
//! Data flows one way:
//!
//! ```text
//! sources::stub_status  --model::Reading-->  sampler  -->  derive (in-flight, reset-safe rates)
//!        --per-sample value-->  derive::period (aligned periods -> StatisticSet)
//!        --Datapoint-->  sinks::delivery (fresh first, then sinks::spool on disk; the one retry layer)
//!        --PutRequest-->  sinks::cloudwatch (PutMetricData) | sinks::dry_run (JSON lines)
//! ```
//!
//! The access-log path runs beside it (`pipeline::access_log`):
//!
//! ```text
//! sources::access_log (tailer, format compiled once, LineParser)
//!        --CompletedRequest-->  derive::log_signals (per-period counts, quantiles, in-flight sweep)
//!        --Datapoint-->  sinks::outputs::LogOutputs (delivery, EMF; the newest period to /metrics)
//! ```
//!
//! Every output hangs off one fan-out, `sinks::outputs::Outputs`, built once from `Config`.
//!
//! `simulate` turns a series (a file, `replay`'s periods, or the published series read back
//! from CloudWatch) into what the alarms and scaling policies would have done:
//!
//! ```text
//! simulate::input (AWS CLI JSON | policy TOML, validated) --Scenario-->
//! simulate::series | replay periods | simulate::cloudwatch --SeriesPoint-->
//!        simulate::engine (pure: alarms, steps, warmup, cooldown) --Evaluation-->  simulate::report | simulate::plot
//! ```
//!
//! `app` (the daemon: `pipeline`'s sample loop and access-log task, feeding `Outputs`),
//! `once` (cron) and `check` drive those pieces, `parse_log` and
//! `replay` drive the access-log path over files; `main` only parses the
//! command line and picks exit codes. Sources never import sinks and sinks never import
//! sources: they meet in `model`.

#![forbid(unsafe_code)]

pub mod app;
pub mod atomic_file;
pub mod aws_error;
pub mod check;
pub mod clock;
pub mod config;
pub mod derive;
pub mod events;
pub mod failure;
pub mod limits;
pub mod model;
pub mod once;
pub mod parse_log;
pub mod pipeline;
pub mod plot;
pub mod policy;
pub mod replay;
pub mod sampler;
pub mod scaling;
pub mod serde_errors;
pub mod service_manager;
pub mod shutdown;
pub mod simulate;
pub mod sinks;
pub mod sources;
pub mod stats;
pub mod telemetry;
