//! A small model directory whose connectivity is known by construction, written with our own
//! HDF5 writer in BMTK's layout. It is the README's example (`examples/tiny_net`) and the base of
//! the bad-input tests, which copy it and break one thing.
//!
//! cortex: 6 cells, PN x4 (node_type 100) and PV x2 (101), `positions` [6,3].
//! input: 3 virtual cells (`thal`, node_type 100), no group datasets.
//! cortex_to_cortex: PN->PV all-to-all (8 rows, nsyns 2), PV->PN all-to-all (8 rows, nsyns 1),
//!   PN ring i -> (i+1) mod 4 (4 rows, nsyns 1).
//! input_to_cortex: thal j -> PN j (3 rows), thal 0 -> PV (node 4) (1 row); no nsyns.

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
