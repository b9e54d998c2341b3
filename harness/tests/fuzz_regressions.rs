//! Inputs in tests/fuzz/regressions/plan/ (scripts/fuzz.sh files crashes of the `plan` target there, and
//! hostile shapes are kept there by hand) go through the plan parser and the scheduler: none may panic.

#[test]
fn plan_regressions() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz/regressions/plan");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        eprintln!("plan/{}", path.display());
        if let Ok(text) = std::str::from_utf8(&data) {
            if let Ok(plan) = linkbench_harness::plan::Plan::parse(text, "regression.toml") {
                let sched = linkbench_harness::schedule::schedule(&plan);
                let _ = linkbench_harness::schedule::describe(&plan, &sched);
            }
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}
