//! The scripts find the binary where cargo put it, and keep their state in their temp dir.
//! (Static checks of scripts/*.sh, plus the one helper they ask where cargo builds.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scripts/*.sh with its text.
fn scripts() -> Vec<(String, String)> {
    let mut scripts: Vec<(String, String)> = std::fs::read_dir(root().join("scripts"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sh"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    scripts.sort();
    assert!(scripts.len() > 10, "scripts/ holds the demos and benches: {scripts:?}");
    scripts
}

/// The lines that are not comments.
fn code(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with('#'))
}

fn target_dir_with(env: &[(&str, &str)]) -> String {
    let mut command = Command::new(root().join("scripts/cargo-target-dir.sh"));
    command
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run scripts/cargo-target-dir.sh");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim_end().to_owned()
}

#[test]
fn cargo_target_dir_is_where_cargo_builds() {
    assert_eq!(
        target_dir_with(&[("CARGO_TARGET_DIR", "/tmp/elsewhere")]),
        "/tmp/elsewhere"
    );
    // What build.target-dir in a .cargo/config.toml sets, in its environment form.
    assert_eq!(
        target_dir_with(&[("CARGO_BUILD_TARGET_DIR", "/tmp/configured")]),
        "/tmp/configured"
    );
    let default = target_dir_with(&[]);
    assert!(Path::new(&default).is_absolute(), "{default}");
}

#[test]
fn no_script_guesses_where_the_binary_is() {
    for (name, text) in scripts() {
        // A script that sets CARGO_TARGET_DIR itself has cargo build where it then looks.
        let sets_it = code(&text).any(|(_, l)| {
            let l = l.trim_start();
            l.starts_with("CARGO_TARGET_DIR=") || l.starts_with("export CARGO_TARGET_DIR=")
        });
        for (line_number, line) in code(&text) {
            // Setting CARGO_TARGET_DIR for its own builds is fine: cargo then builds there.
            if line.contains("export CARGO_TARGET_DIR=") {
                continue;
            }
            for guess in [
                "target/debug",
                "target/release",
                "${CARGO_TARGET_DIR:-",
                "$CARGO_TARGET_DIR/",
            ] {
                if sets_it && guess == "$CARGO_TARGET_DIR/" {
                    continue;
                }
                assert!(
                    !line.contains(guess),
                    "scripts/{name}:{line_number}: {guess:?} ignores build.target-dir; use scripts/cargo-target-dir.sh: {line}"
                );
            }
        }
    }
}

/// Whether a line starts the exporter daemon (`... --config F run ...`).
fn starts_the_daemon(line: &str) -> bool {
    line.contains("--config") && line.split_whitespace().any(|word| word == "run")
}

#[test]
fn every_script_that_runs_the_daemon_keeps_its_state_in_its_temp_dir() {
    let scripts = scripts();
    let text_of = |name: &str| &scripts.iter().find(|(n, _)| n == name).unwrap().1;
    // The two libraries every demo and bench sources point STATE_DIRECTORY (the default when
    // a config names no state_directory) into their temp directory.
    assert!(text_of("bench-lib.sh").contains("export STATE_DIRECTORY=\"$work/"));
    assert!(text_of("demo-lib.sh").contains("state_directory = \"$work/state\""));
    let mut daemons = 0;
    for (name, text) in &scripts {
        let runs: Vec<usize> = code(text)
            .filter(|(_, l)| starts_the_daemon(l))
            .map(|(n, _)| n)
            .collect();
        if runs.is_empty() {
            continue;
        }
        daemons += runs.len();
        let sourced = [
            "scripts/bench-lib.sh",
            "scripts/demo-lib.sh",
            "/bench-lib.sh",
            "/demo-lib.sh",
        ]
        .iter()
        .any(|lib| {
            code(text).any(|(_, l)| {
                (l.trim_start().starts_with("source ") || l.trim_start().starts_with(". ")) && l.contains(lib)
            })
        });
        assert!(
            sourced,
            "scripts/{name}:{runs:?} runs the daemon without bench-lib.sh or demo-lib.sh: it would write /var/lib/nginx-backlog-exporter"
        );
    }
    assert!(daemons >= 5, "the benches and demos run the daemon: found {daemons}");
}

/// A directory of links to every program in /usr/bin but `left_out`, plus `apt-get` and `sudo`
/// stand-ins that only write their arguments to `installs.log`: a PATH of a machine that lacks
/// those programs, on which any install attempt shows.
struct BarePath {
    dir: PathBuf,
}

impl BarePath {
    fn without(left_out: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("bare-path-{}-{}", std::process::id(), left_out.join("-")));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("home")).unwrap();
        for entry in std::fs::read_dir("/usr/bin").unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let compiler = name.contains("gcc") || name.starts_with("c89") || name.starts_with("c99");
            if left_out.contains(&name.as_str()) || (left_out.contains(&"cc") && compiler) {
                continue;
            }
            std::os::unix::fs::symlink(&path, dir.join("bin").join(&name)).unwrap();
        }
        let bare = BarePath { dir };
        for tool in ["apt-get", "sudo"] {
            bare.fake(tool, &format!("echo \"{tool} $*\" >>\"{}\"", bare.installs().display()));
        }
        bare
    }

    /// Puts a shell script named `name` on this PATH (replacing the link, if any).
    fn fake(&self, name: &str, body: &str) {
        let path = self.dir.join("bin").join(name);
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn installs(&self) -> PathBuf {
        self.dir.join("installs.log")
    }

    /// Runs scripts/SCRIPT with this PATH and HOME: (exit code, stderr).
    fn run(&self, script: &str) -> (Option<i32>, String) {
        let output = Command::new("bash")
            .arg(root().join("scripts").join(script))
            .env_clear()
            .env("PATH", self.dir.join("bin"))
            .env("HOME", self.dir.join("home"))
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn assert_nothing_installed(&self) {
        assert!(
            !self.installs().exists(),
            "installed before checking: {}",
            std::fs::read_to_string(self.installs()).unwrap_or_default()
        );
    }
}

impl Drop for BarePath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this test runs as root (then the printed apt-get has no sudo).
fn sudo() -> &'static str {
    let uid = Command::new("id").arg("-u").output().unwrap().stdout;
    if String::from_utf8_lossy(&uid).trim() == "0" {
        ""
    } else {
        "sudo "
    }
}

const RUSTUP: &str =
    "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --default-toolchain stable\n";

#[test]
fn the_demo_on_a_machine_without_rust_a_compiler_or_curl_says_what_to_run_and_installs_nothing() {
    let bare = BarePath::without(&["cargo", "rustc", "rustup", "cc", "curl"]);
    let (code, stderr) = bare.run("demo.sh");
    assert_eq!(code, Some(2), "{stderr}");
    let expected = format!(
        "scripts/demo.sh cannot start; nothing has been installed yet. What is missing:\n\
         \x20 - cargo is not on PATH: the crate needs Rust 1.94 or later, and Debian 12's own rustc (1.63) is too old\n\
         \x20 - no C compiler (cc): the ring crate and rustc's linker need one\n\
         \x20 - no curl: rustup's installer is fetched with it\n\
         Run:\n\
         \x20 {}apt-get install -y gcc libc6-dev curl ca-certificates\n\
         {RUSTUP}\
         \x20 . \"$HOME/.cargo/env\"     # puts ~/.cargo/bin first on PATH in this shell (new shells do it themselves)\n\
         then start scripts/demo.sh again.\n",
        sudo()
    );
    assert_eq!(stderr, expected);
    bare.assert_nothing_installed();
}

#[test]
fn the_demos_and_tests_refuse_a_rust_older_than_rust_version() {
    let bare = BarePath::without(&["cargo", "rustc", "rustup"]);
    // Debian 12's own toolchain.
    bare.fake("rustc", "echo 'rustc 1.63.0'");
    bare.fake("cargo", "echo 'cargo 1.65.0'");
    for script in ["demo-scaling.sh", "test.sh", "package.sh"] {
        let (code, stderr) = bare.run(script);
        assert_eq!(code, Some(2), "{script}: {stderr}");
        let cargo = bare.dir.join("bin/cargo");
        assert!(
            stderr.contains(&format!(
                "  - Rust 1.63.0 ({}) is too old: the crate needs Rust 1.94 or later (rust-version in Cargo.toml)\n",
                cargo.display()
            )),
            "{script}: {stderr}"
        );
        assert!(stderr.contains(RUSTUP), "{script}: {stderr}");
        assert!(
            stderr.ends_with(&format!("then start scripts/{script} again.\n")),
            "{stderr}"
        );
        // curl and cc are on this PATH: nothing else is asked for.
        assert!(!stderr.contains("apt-get"), "{script}: {stderr}");
    }
    bare.assert_nothing_installed();
}

#[test]
fn rustups_cargo_off_path_and_a_compiler_that_cannot_link_are_named() {
    let bare = BarePath::without(&["cargo", "rustc", "rustup", "cc"]);
    let home_cargo = bare.dir.join("home/.cargo/bin");
    std::fs::create_dir_all(&home_cargo).unwrap();
    std::fs::write(home_cargo.join("cargo"), "#!/bin/sh\necho 'cargo 1.95.0'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home_cargo.join("cargo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    // gcc without libc6-dev: compiles, cannot link.
    bare.fake(
        "cc",
        "echo '/usr/bin/ld: cannot find crt1.o: No such file or directory' >&2; exit 1",
    );
    let (code, stderr) = bare.run("demo.sh");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "  - rustup's cargo is in {}, which is not first on PATH (PATH finds no cargo)\n",
            home_cargo.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("  - cc cannot link a program (/usr/bin/ld: cannot find crt1.o: No such file or directory)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("  {}apt-get install -y gcc libc6-dev\n", sudo())),
        "{stderr}"
    );
    assert!(stderr.contains("  . \"$HOME/.cargo/env\""), "{stderr}");
    // Rust is there, only not on PATH: no installer, and no curl needed.
    assert!(!stderr.contains("rustup.rs") && !stderr.contains("curl"), "{stderr}");
    bare.assert_nothing_installed();
}

#[test]
fn the_prerequisites_pass_on_this_machine() {
    let output = Command::new(root().join("scripts/prerequisites.sh")).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.is_empty() && output.stdout.is_empty());
}
