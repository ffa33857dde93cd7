mod common;
use bmtool::cell::protocols::*;
#[test]
fn smoke() {
    let shared = common::shared_or_skip("smoke").unwrap();
    for name in ["BallStick_HH", "WBInhCell", "Cell_Cf", "CP_Cell", "FSI_Cell", "Allen_386049446"] {
        let rc = common::reference_cells::cell(name);
        let (model, registry) = rc.build(&shared);
        let cell = ProtocolCell::new(&model, &registry).unwrap().with_dt(0.1);
        let res = rc.results(&shared, "0.1");
        let t = std::time::Instant::now();
        for m in [TauMethod::Simple, TauMethod::Exp, TauMethod::Exp2] {
            let p = PassiveParams { inj_amp_pa: -100.0, inj_delay_ms: 1500.0, inj_dur_ms: 1000.0, tstop_ms: 2500.0, method: m };
            let r = run_passive(&cell, &p).unwrap();
            let rr = &res["protocols"]["Passive"]["results"][m.name()];
            eprintln!("{name} {:?} vrest {} / {} rin {} / {} tau {:?} / {} sag {:?} ref {} popt {:?} ref {}", m, r.v_rest_mv, rr["v_rest"], r.r_in_mohm, rr["r_in"], r.tau_ms, rr["tau"], r.sag.map(|s| s.v_sag_mv), rr["v_sag"], r.fit.as_ref().map(|f| (&f.popt, f.evaluations, &f.termination)), rr["popt"]);
        }
        eprintln!("{name} passive {:?}", t.elapsed());
    }
}
