#!/usr/bin/env python3
"""NEURON 8.2.4 numbers for the shipped example cell (examples/cell), used by tests/example_cell.rs.

FI sweep as `bmtool util cell --hoc examples/cell/templates.hoc fi` runs it by default (0..900 pA
by 100, steps from 150 ms for 1000 ms, run to 1150 ms, threshold 0 mV, dt 0.025, celsius 6.3,
v_init -65), and the passive step (-100 pA from 200 ms for 1000 ms, run to 1200 ms): v at the
sample before the step and at its end. The mod files are compiled in a temporary copy.

usage: python3 tools/neuron_reference/example_cell.py > fixtures/example_cell_neuron.json
"""
import json, os, shutil, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
cell_dir = os.path.join(here, "..", "..", "examples", "cell")
work = tempfile.mkdtemp(prefix="democell-")
shutil.copytree(cell_dir, work, dirs_exist_ok=True)
subprocess.run(["nrnivmodl"], cwd=os.path.join(work, "modfiles"), check=True, capture_output=True)

from neuron import h  # noqa: E402
h.nrn_load_dll(os.path.join(work, "modfiles", "x86_64", ".libs", "libnrnmech.so"))
h.load_file("stdrun.hoc")
h.load_file(os.path.join(work, "templates.hoc"))
cell = h.DemoCell()
soma = cell.soma[0]
h.celsius, h.dt, h.steps_per_ms = 6.3, 0.025, 40

def run(amp_na, delay, dur, tstop, threshold):
    stim = h.IClamp(soma(0.5))
    stim.delay, stim.dur, stim.amp = delay, dur, amp_na
    nc = h.NetCon(soma(0.5)._ref_v, None, sec=soma)
    nc.threshold = threshold
    spikes = h.Vector(); nc.record(spikes)
    v = h.Vector().record(soma(0.5)._ref_v)
    h.tstop = tstop
    h.finitialize(-65.0)
    h.continuerun(tstop)
    return list(v), list(spikes)

fi = []
for k in range(10):
    _, spikes = run(k * 0.1, 150.0, 1000.0, 1150.0, 0.0)
    fi.append(len(spikes))
v, _ = run(-0.1, 200.0, 1000.0, 1200.0, -15.0)
i_rest, i_final = int(200.0 / h.dt), int(1200.0 / h.dt)
out = {"neuron": h.nrnversion(5), "fi_amps_pa": [k * 100.0 for k in range(10)], "fi_spikes": fi,
       "passive": {"v_rest_mv": v[i_rest], "v_final_mv": v[i_final],
                   "r_in_mohm": (v[i_final] - v[i_rest]) / -0.1}}
json.dump(out, sys.stdout, indent=1)
shutil.rmtree(work, ignore_errors=True)
