#!/usr/bin/env python3
"""Single-compartment NEURON 8.2.4 traces for every density mechanism of the reference cells.

Writes fixtures/nmodl_neuron/<folder>/<SUFFIX>.json, the numbers the NMODL fidelity tests
(tests/nmodl_fidelity.rs) compare against. Needs `pip install neuron==8.2.4` and a C compiler;
nothing in the product or its tests needs Python. The mod files are compiled in a temporary copy,
never in ../shared.

Protocol, per mechanism: one section soma, L = diam = 20 um, nseg 1, cm 1 uF/cm2, Ra 100; `pas`
(g 1e-4 S/cm2, e -65 mV) plus the mechanism, with every maximal-conductance RANGE parameter
(g...bar, g...max) raised to at least 1e-3 S/cm2 and every permeability (p...bar) to at least 1e-4,
so that the channel shapes the trace (the values set are recorded in the file); IClamp at 0.5: del 100 ms, dur 700 ms,
amp 0.03 nA; celsius and v_init of the folder's cells; dt 0.025 ms, tstop 1000 ms; v(0.5) every
0.5 ms and NetCon spike times (threshold -15 mV, time of the step, as NEURON).

usage: python3 mechanism_traces.py ../../../shared ../../fixtures/nmodl_neuron
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

FOLDERS = {  # folder -> (celsius, v_init), from shared/cells/README.md
    "wb_rtm": (34.0, -65.0),
    "bmtool_tutorial": (34.0, -70.0),
    "amygdala_feng": (31.0, -70.0),
    "allen_386049446": (34.0, -65.0),
}


def density_mechanisms(modfile):
    text = open(modfile, encoding="latin-1").read()
    text = re.sub(r"COMMENT.*?ENDCOMMENT", "", text, flags=re.S)
    text = re.sub(r":.*", "", text)
    m = re.search(r"\bSUFFIX\s+(\w+)", text)
    if not m:
        return None
    suffix = m.group(1)
    params = re.search(r"PARAMETER\s*\{(.*?)\}", text, flags=re.S)
    names = re.findall(r"^\s*(\w+)", params.group(1), flags=re.M) if params else []
    rng = re.findall(r"\bRANGE\s+([\w\s,]+)", text)
    ranges = {n.strip() for r in rng for n in r.split(",")}
    return suffix, [n for n in names if n in ranges]


def run_folder(shared, folder, out):
    src = os.path.join(shared, "cells", folder, "modfiles")
    work = tempfile.mkdtemp(prefix="nrnref-")
    for f in os.listdir(src):
        shutil.copy(os.path.join(src, f), work)
    subprocess.run(["nrnivmodl"], cwd=work, check=True, capture_output=True)
    mechs = {}
    for f in sorted(os.listdir(src)):
        if f.endswith(".mod"):
            d = density_mechanisms(os.path.join(src, f))
            if d:
                mechs[d[0]] = (f, d[1])
    job = json.dumps({"folder": folder, "mechs": mechs, "celsius": FOLDERS[folder][0],
                      "v_init": FOLDERS[folder][1], "out": out, "lib": work})
    subprocess.run([sys.executable, __file__, "--child", job], check=True)
    shutil.rmtree(work, ignore_errors=True)


def child(job):
    job = json.loads(job)
    from neuron import h
    h.nrn_load_dll(os.path.join(job["lib"], "x86_64", ".libs", "libnrnmech.so"))
    h.load_file("stdrun.hoc")
    os.makedirs(os.path.join(job["out"], job["folder"]), exist_ok=True)
    for suffix, (modfile, params) in sorted(job["mechs"].items()):
        for sec in h.allsec():
            h.delete_section(sec=sec)
        soma = h.Section(name="soma")
        soma.L = soma.diam = 20.0
        soma.nseg = 1
        soma.cm = 1.0
        soma.Ra = 100.0
        soma.insert("pas")
        soma.g_pas = 1e-4
        soma.e_pas = -65.0
        soma.insert(suffix)
        seg = soma(0.5)
        set_params = {}
        for p in params:
            name = f"{p}_{suffix}"
            if not hasattr(seg, name):
                continue
            value = getattr(seg, name)
            floor = None
            if re.match(r"^g\w*(bar|max)\w*$|^g[a-z]*bar$|^gbar", p):
                floor = 1e-3
            elif re.match(r"^p\w*bar$", p):
                floor = 1e-4
            if floor is not None and value < floor:
                setattr(seg, name, floor)
                set_params[name] = floor
        stim = h.IClamp(seg)
        stim.delay, stim.dur, stim.amp = 100.0, 700.0, 0.03
        nc = h.NetCon(seg._ref_v, None, sec=soma)
        nc.threshold = -15.0
        spikes = h.Vector()
        nc.record(spikes)
        v = h.Vector().record(seg._ref_v, 0.5)
        h.celsius = job["celsius"]
        h.dt = 0.025
        h.steps_per_ms = 40
        h.tstop = 1000.0
        h.v_init = job["v_init"]
        h.finitialize(job["v_init"])
        h.run()
        result = {
            "mod_file": modfile, "suffix": suffix, "neuron": h.nrnversion(5),
            "section": {"L_um": 20.0, "diam_um": 20.0, "nseg": 1, "cm": 1.0, "Ra": 100.0},
            "pas": {"g_pas": 1e-4, "e_pas": -65.0}, "parameters_set": set_params,
            "iclamp": {"del_ms": 100.0, "dur_ms": 700.0, "amp_na": 0.03},
            "celsius": job["celsius"], "v_init_mv": job["v_init"], "dt_ms": 0.025, "tstop_ms": 1000.0,
            "threshold_mv": -15.0, "record_every_ms": 0.5,
            "v_mv": [round(x, 7) for x in v], "spike_times_ms": list(spikes),
        }
        with open(os.path.join(job["out"], job["folder"], f"{suffix}.json"), "w") as fh:
            json.dump(result, fh, separators=(",", ":"))
        print(f"{job['folder']}/{suffix}: {len(spikes)} spikes")


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        shared, out = sys.argv[1], os.path.abspath(sys.argv[2])
        for folder in FOLDERS:
            run_folder(shared, folder, out)
