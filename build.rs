//! Lays out the optimized binary with the code the daemon runs, from start to idle, packed
//! together (packaging/symbol-order.txt, written by scripts/symbol-order.sh).
//!
//! Why: the idle daemon's resident memory is mostly its own code, and the kernel maps code in
//! blocks around each page the daemon touches (fault-around, 64 KiB, or the whole large folio
//! the page cache holds, which on this ext4 was up to 512 KiB). The 1.7 MB of functions an idle
//! daemon runs were spread over 810 pages of a 5.3 MB text, and their blocks made 4.8 MB of it
//! resident. Packed (2.1 MB with TLS, the spool's outage path and both config shapes), 2.4-3.4 MB
//! is resident, depending on which rarely run functions a run touches.
//! Names the file lists that the build does not have (code changed since the file was made)
//! are ignored: a stale file costs memory, never correctness.
//!
//! Only for optimized x86_64 Linux builds, where rustc links with its own LLD (the default
//! since Rust 1.90), which knows `--symbol-ordering-file`. Set
//! NGINX_BACKLOG_EXPORTER_NO_SYMBOL_ORDER=1 when linking with another linker.

fn main() {
    const ORDER: &str = "packaging/symbol-order.txt";
    println!("cargo::rerun-if-changed={ORDER}");
    println!("cargo::rerun-if-env-changed=NGINX_BACKLOG_EXPORTER_NO_SYMBOL_ORDER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let optimized = var("OPT_LEVEL") != "0";
    let lld_by_default = var("TARGET") == "x86_64-unknown-linux-gnu";
    if !optimized || !lld_by_default || !var("NGINX_BACKLOG_EXPORTER_NO_SYMBOL_ORDER").is_empty() {
        return;
    }
    let order = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join(ORDER);
    if order.exists() {
        println!(
            "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
