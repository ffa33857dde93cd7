//! A small model directory whose connectivity is known by construction, written with our own
//! HDF5 writer in BMTK's layout. It is the README's example (`examples/tiny_net`) and the base of
//! the bad-input tests, which copy it and break one thing.
//!
//! cortex: 6 cells, PN x4 (node_type 100) and PV x2 (101), `positions` [6,3].
//! input: 3 virtual cells (`thal`, node_type 100), no group datasets.
//! cortex_to_cortex: PN->PV all-to-all (8 rows, nsyns 2), PV->PN all-to-all (8 rows, nsyns 1),
//!   PN ring i -> (i+1) mod 4 (4 rows, nsyns 1).
//! input_to_cortex: thal j -> PN j (3 rows), thal 0 -> PV (node 4) (1 row); no nsyns.
//! cortex rotations (radians): rotation_angle_yaxis [0,0,0,0,pi/2,0], rotation_angle_zaxis
//!   [0,pi/2,pi,0,0,pi/2], so R·(1,0,0) is (1,0,0), (0,1,0), (-1,0,0), (1,0,0), (0,0,-1), (0,1,0).
//! output/spikes.h5 and output/spikes.csv (run 0..1000 ms): node 0 at 10, 20, 30 ms; node 1 at
//!   15; node 3 at 100, 200; node 4 (PV) at 50, 60, 70, 80; nodes 2 and 5 silent. So PN: 4 cells,
//!   3 fired, 6 spikes (1.5 Hz over all cells, 2 Hz over firing cells); PV: 2 cells, 1 fired,
//!   4 spikes (2 Hz, 4 Hz).
//! output/v_report.h5: /report/cortex, 10 samples from 0 ms every 0.1 ms, columns for nodes
//!   [4, 0, 2] (not in id order); the value of node n at sample r is -70 + n + r / 10.

use std::f64::consts::{FRAC_PI_2, PI};

use std::path::Path;

use bmtool::sonata::h5::{Attr, Data, H5Tree};

pub fn write_tiny_net(dir: &Path) {
    let net = dir.join("network");
    std::fs::create_dir_all(&net).unwrap();
    std::fs::write(
        dir.join("simulation_config.json"),
        r#"{
  "manifest": {"$BASE_DIR": "${configdir}", "$OUTPUT_DIR": "$BASE_DIR/output"},
  "run": {"tstart": 0.0, "tstop": 1000.0, "dt": 0.1},
  "output": {"output_dir": "$OUTPUT_DIR", "spikes_file": "spikes.h5"},
  "reports": {
    "v_report": {"variable_name": "v", "cells": "cortex", "module": "membrane_report", "sections": "soma"}
  },
  "network": "$BASE_DIR/circuit_config.json"
}
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("circuit_config.json"),
        r#"{
  "manifest": {"$BASE_DIR": "${configdir}", "$NETWORK_DIR": "$BASE_DIR/network"},
  "networks": {
    "nodes": [
      {"nodes_file": "$NETWORK_DIR/cortex_nodes.h5", "node_types_file": "$NETWORK_DIR/cortex_node_types.csv"},
      {"nodes_file": "$NETWORK_DIR/input_nodes.h5", "node_types_file": "$NETWORK_DIR/input_node_types.csv"}
    ],
    "edges": [
      {"edges_file": "$NETWORK_DIR/cortex_cortex_edges.h5", "edge_types_file": "$NETWORK_DIR/cortex_cortex_edge_types.csv"},
      {"edges_file": "$NETWORK_DIR/input_cortex_edges.h5", "edge_types_file": "$NETWORK_DIR/input_cortex_edge_types.csv"}
    ]
  }
}
"#,
    )
    .unwrap();
    std::fs::write(
        net.join("cortex_node_types.csv"),
        "node_type_id model_type pop_name ei model_template\n\
         100 point_neuron PN e nrn:IntFire1\n\
         101 point_neuron PV i nrn:IntFire1\n",
    )
    .unwrap();
    std::fs::write(
        net.join("input_node_types.csv"),
        "node_type_id model_type pop_name\n100 virtual thal\n",
    )
    .unwrap();
    std::fs::write(
        net.join("cortex_cortex_edge_types.csv"),
        "edge_type_id target_query source_query delay dynamics_params model_template\n\
         100 pop_name=='PV' pop_name=='PN' 2.0 AMPA_ExcToInh.json exp2syn\n\
         101 pop_name=='PN' pop_name=='PV' 2.0 GABA_InhToExc.json exp2syn\n\
         102 pop_name=='PN' pop_name=='PN' 2.0 AMPA_ExcToExc.json exp2syn\n",
    )
    .unwrap();
    std::fs::write(
        net.join("input_cortex_edge_types.csv"),
        "edge_type_id target_query source_query delay dynamics_params model_template\n\
         100 * * 1.5 \"AMPA_ExcToExc.json\" exp2syn\n",
    )
    .unwrap();

    let mut nodes = H5Tree::new();
    root_attrs(&mut nodes);
    nodes
        .dataset("/nodes/cortex/node_id", Data::U64((0..6).collect()))
        .dataset(
            "/nodes/cortex/node_type_id",
            Data::U64(vec![100, 100, 100, 100, 101, 101]),
        )
        .dataset("/nodes/cortex/node_group_id", Data::U32(vec![0; 6]))
        .dataset(
            "/nodes/cortex/node_group_index",
            Data::U64((0..6).collect()),
        )
        .dataset(
            "/nodes/cortex/0/positions",
            Data::F64(
                vec![
                    0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 5.0, 5.0, 20.0,
                    5.0, 5.0, -20.0,
                ],
                vec![6, 3],
            ),
        )
        .dataset(
            "/nodes/cortex/0/rotation_angle_yaxis",
            Data::F64(vec![0.0, 0.0, 0.0, 0.0, FRAC_PI_2, 0.0], vec![6]),
        )
        .dataset(
            "/nodes/cortex/0/rotation_angle_zaxis",
            Data::F64(vec![0.0, FRAC_PI_2, PI, 0.0, 0.0, FRAC_PI_2], vec![6]),
        );
    nodes.write(&net.join("cortex_nodes.h5"), true).unwrap();

    let mut input = H5Tree::new();
    root_attrs(&mut input);
    input
        .dataset("/nodes/input/node_id", Data::U64((0..3).collect()))
        .dataset("/nodes/input/node_type_id", Data::U64(vec![100; 3]))
        .dataset("/nodes/input/node_group_id", Data::U32(vec![0; 3]))
        .dataset("/nodes/input/node_group_index", Data::U64((0..3).collect()))
        .group("/nodes/input/0");
    input.write(&net.join("input_nodes.h5"), true).unwrap();

    let mut rows: Vec<(u64, u64, u64, u32)> = Vec::new();
    for pn in 0..4 {
        for pv in 4..6 {
            rows.push((pn, pv, 100, 2));
            rows.push((pv, pn, 101, 1));
        }
        rows.push((pn, (pn + 1) % 4, 102, 1));
    }
    rows.sort_by_key(|r| (r.1, r.0));
    edges_file(
        &net.join("cortex_cortex_edges.h5"),
        "cortex",
        "cortex",
        &rows,
        true,
    );
    let input_rows = vec![
        (0, 0, 100, 1),
        (1, 1, 100, 1),
        (2, 2, 100, 1),
        (0, 4, 100, 1),
    ];
    edges_file(
        &net.join("input_cortex_edges.h5"),
        "input",
        "cortex",
        &input_rows,
        false,
    );
    write_output(dir);
}

/// (time ms, node id) of every spike, in time order.
pub const SPIKES: [(f64, u64); 10] = [
    (10.0, 0),
    (15.0, 1),
    (20.0, 0),
    (30.0, 0),
    (50.0, 4),
    (60.0, 4),
    (70.0, 4),
    (80.0, 4),
    (100.0, 3),
    (200.0, 3),
];

/// Columns of the report and the value formula.
pub const REPORT_NODES: [u64; 3] = [4, 0, 2];
pub const REPORT_SAMPLES: usize = 10;

pub fn report_value(node: u64, sample: usize) -> f64 {
    -70.0 + node as f64 + sample as f64 / 10.0
}

fn write_output(dir: &Path) {
    let out = dir.join("output");
    std::fs::create_dir_all(&out).unwrap();
    let mut spikes = H5Tree::new();
    root_attrs(&mut spikes);
    spikes
        .dataset(
            "/spikes/cortex/node_ids",
            Data::I64(SPIKES.iter().map(|s| s.1 as i64).collect()),
        )
        .dataset(
            "/spikes/cortex/timestamps",
            Data::F64(
                SPIKES.iter().map(|s| s.0).collect(),
                vec![SPIKES.len() as u64],
            ),
        )
        .dataset_attr("/spikes/cortex/timestamps", "units", Attr::Str("ms".into()))
        .group_attr("/spikes/cortex", "sorting", Attr::Str("by_time".into()));
    spikes.write(&out.join("spikes.h5"), true).unwrap();
    let mut csv = String::from("timestamps population node_ids\n");
    for (t, id) in SPIKES {
        csv.push_str(&format!("{t} cortex {id}\n"));
    }
    std::fs::write(out.join("spikes.csv"), csv).unwrap();

    let mut data = Vec::new();
    for r in 0..REPORT_SAMPLES {
        for n in REPORT_NODES {
            data.push(report_value(n, r));
        }
    }
    let mut report = H5Tree::new();
    root_attrs(&mut report);
    report
        .dataset(
            "/report/cortex/data",
            Data::F64(data, vec![REPORT_SAMPLES as u64, REPORT_NODES.len() as u64]),
        )
        .dataset_attr("/report/cortex/data", "variable", Attr::Str("v".into()))
        .dataset(
            "/report/cortex/mapping/node_ids",
            Data::U64(REPORT_NODES.to_vec()),
        )
        .dataset(
            "/report/cortex/mapping/index_pointer",
            Data::U64(vec![0, 1, 2, 3]),
        )
        .dataset("/report/cortex/mapping/element_ids", Data::U64(vec![0; 3]))
        .dataset(
            "/report/cortex/mapping/time",
            Data::F64(vec![0.0, 1.0, 0.1], vec![3]),
        );
    report.write(&out.join("v_report.h5"), true).unwrap();
}

fn root_attrs(tree: &mut H5Tree) {
    tree.group_attr("/", "magic", Attr::U32(0x0A7A)).group_attr(
        "/",
        "version",
        Attr::U32Array(vec![0, 1]),
    );
}

fn edges_file(path: &Path, src: &str, tgt: &str, rows: &[(u64, u64, u64, u32)], with_nsyns: bool) {
    let pop = format!("/edges/{src}_to_{tgt}");
    let mut t = H5Tree::new();
    root_attrs(&mut t);
    let n = rows.len();
    t.dataset(
        &format!("{pop}/source_node_id"),
        Data::U64(rows.iter().map(|r| r.0).collect()),
    )
    .dataset_attr(
        &format!("{pop}/source_node_id"),
        "node_population",
        Attr::Str(src.into()),
    )
    .dataset(
        &format!("{pop}/target_node_id"),
        Data::U64(rows.iter().map(|r| r.1).collect()),
    )
    .dataset_attr(
        &format!("{pop}/target_node_id"),
        "node_population",
        Attr::Str(tgt.into()),
    )
    .dataset(
        &format!("{pop}/edge_type_id"),
        Data::U32(rows.iter().map(|r| r.2 as u32).collect()),
    )
    .dataset(&format!("{pop}/edge_group_id"), Data::U16(vec![0; n]))
    .dataset(
        &format!("{pop}/edge_group_index"),
        Data::U32((0..n as u32).collect()),
    );
    if with_nsyns {
        t.dataset(
            &format!("{pop}/0/nsyns"),
            Data::U32(rows.iter().map(|r| r.3).collect()),
        );
    } else {
        t.group(&format!("{pop}/0"));
    }
    t.write(path, true).unwrap();
}
