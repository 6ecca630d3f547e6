//! `scripts/demo-scaling.sh --short` end to end: real nginx, the exporter daemon, the local
//! CloudWatch API and `simulate` on the published series resizing the upstream pool. The
//! script exits non-zero unless the loop scaled out and back in; this test also reads its
//! timeline: capacity left 2, the backlog then fell below the scale-out threshold, and
//! capacity came back to 2, with the SVG written where asked.

use std::path::Path;
use std::process::Command;

#[test]
fn the_scaling_demo_scales_out_and_back_in_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("demo.svg");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(root.join("scripts/demo-scaling.sh"))
        .args(["--short", "--svg"])
        .arg(&svg)
        .current_dir(root)
        .output()
        .expect("run scripts/demo-scaling.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    // Timeline rows: t, load, pending, high, low, desired, "units x K = slots".
    let rows: Vec<(f64, u32)> = stdout
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() != 11 || fields[7] != "x" {
                return None;
            }
            Some((fields[2].parse().ok()?, fields[6].parse().ok()?))
        })
        .collect();
    assert!(rows.len() >= 5, "timeline:\n{stdout}");
    let out = rows.iter().position(|(_, units)| *units > 2).expect("the pool grew");
    let peak = rows.iter().map(|(pending, _)| *pending).fold(0.0, f64::max);
    assert!(peak >= 20.0, "the burst crossed the scale-out threshold: {peak}");
    let fell = rows[out..]
        .iter()
        .position(|(pending, _)| *pending < 20.0)
        .expect("the backlog fell after the scale-out")
        + out;
    assert!(
        rows[fell..].iter().any(|(_, units)| *units == 2),
        "capacity came back to 2:\n{stdout}"
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}
