//! Where each evaluation of a run goes: the summary, the CSV or JSON rows, the plot. The
//! open loop and the closed loop feed the same watchers.

use std::io::Write;
use std::path::Path;

use crate::scaling::scenario::{Evaluation, Scenario, SeriesPoint};
use crate::simulate::plan::Output;
use crate::simulate::plot::SimulationPlot;
use crate::simulate::prepare::SimulateError;
use crate::simulate::report::{RowFormat, RowWriter, Summary};

/// What each evaluation goes to: the summary, the rows, the plot.
pub(crate) struct Watchers {
    summary: Summary,
    rows: Option<RowWriter>,
    plot: Option<SimulationPlot>,
    /// Rows go to stdout; the first write error stops writing and is reported at the end.
    write_error: Option<std::io::Error>,
    header_written: bool,
}

impl Watchers {
    pub fn observe(&mut self, out: &mut impl Write, evaluation: &Evaluation) {
        self.summary.observe(evaluation);
        if let Some(plot) = self.plot.as_mut() {
            plot.observe(evaluation);
        }
        let Some(rows) = self.rows.as_mut() else { return };
        if self.write_error.is_some() {
            return;
        }
        let header = if self.header_written {
            Ok(())
        } else {
            self.header_written = true;
            rows.write_header(out)
        };
        if let Err(error) = header.and_then(|()| rows.write(out, evaluation)) {
            self.write_error = Some(error);
        }
    }
}

impl Watchers {
    /// `plot`: a plot will be written ([`Watchers::finish`] is given its path).
    pub fn new(scenario: &Scenario, output: Output, plot: bool) -> Watchers {
        let rows = match output {
            Output::Summary => None,
            Output::Csv => Some(RowWriter::new(scenario, RowFormat::Csv)),
            Output::Json => Some(RowWriter::new(scenario, RowFormat::Json)),
        };
        Watchers {
            summary: Summary::new(scenario),
            rows,
            plot: plot.then(|| SimulationPlot::new(scenario)),
            write_error: None,
            header_written: false,
        }
    }

    pub(crate) fn observe_point(&mut self, point: &SeriesPoint, scenario: &Scenario) {
        self.summary.observe_point(point, scenario);
        if let Some(plot) = self.plot.as_mut() {
            plot.observe_point(point);
        }
    }

    /// The summary (on stdout, or on stderr when rows went to stdout) and the plot.
    pub fn finish(
        self,
        scenario: &Scenario,
        plot_path: Option<&Path>,
        out: &mut impl Write,
    ) -> Result<(), SimulateError> {
        if let Some(error) = self.write_error {
            return Err(anyhow::Error::new(error).into());
        }
        let written = if self.rows.is_some() {
            self.summary.write(scenario, &mut std::io::stderr().lock())
        } else {
            self.summary.write(scenario, out)
        };
        written.map_err(anyhow::Error::new)?;
        if let (Some(plot), Some(path)) = (&self.plot, plot_path) {
            plot.write_svg(path)
                .map_err(|e| anyhow::Error::new(e).context(format!("writing {}", path.display())))?;
            eprintln!("simulate: wrote {}", path.display());
        }
        Ok(())
    }
}
