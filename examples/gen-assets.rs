//! Writes the man pages and shell completions from the clap definitions in `cli.rs`, so the
//! packages document exactly the flags the binary accepts. Run by scripts/package.sh:
//!
//!     cargo run --example gen-assets -- OUT_DIR
//!
//! Output: OUT_DIR/man/*.1 (one page per command) and OUT_DIR/completions/
//! {nginx-backlog-exporter.bash, _nginx-backlog-exporter, nginx-backlog-exporter.fish}.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

// The binary's own clap definitions (a module of the binary, not of the library); only `Cli`
// is used here.
#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

use cli::Cli;

fn main() -> ExitCode {
    let Some(out_dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: gen-assets OUT_DIR");
        return ExitCode::from(2);
    };
    match generate(&out_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gen-assets: {error}");
            ExitCode::from(1)
        }
    }
}

fn generate(out_dir: &std::path::Path) -> std::io::Result<()> {
    let man_dir = out_dir.join("man");
    let completions_dir = out_dir.join("completions");
    std::fs::create_dir_all(&man_dir)?;
    std::fs::create_dir_all(&completions_dir)?;

    // The top page plus one per subcommand (nginx-backlog-exporter-run.1, ...), which the
    // top page's SUBCOMMANDS section names.
    clap_mangen::generate_to(Cli::command(), &man_dir)?;

    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut command = Cli::command();
        clap_complete::generate_to(shell, &mut command, "nginx-backlog-exporter", &completions_dir)?;
    }
    Ok(())
}
