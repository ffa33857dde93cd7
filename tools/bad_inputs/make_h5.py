"""Write the small HDF5 files of the bad-input corpus (tests/bad_inputs/).

Every network case uses one tiny SONATA model: a node population `net` of 3 cells (types 100,
101) and an edge population `net_to_net` of 3 edges (type 100). This script writes that model's
.h5 files into each case folder that needs them, then spoils them the way the case says.
Run from the repository root:  python3 tools/bad_inputs/make_h5.py
"""

import os

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "bad_inputs")


def sonata_file(path):
    # libver="latest" keeps each file near 4 KB (BMTK writes the older layout; examples/ has it).
    f = h5py.File(path, "w", libver="latest")
    f.attrs["magic"] = np.uint32(0x0A7A)
    f.attrs["version"] = np.array([0, 1], dtype=np.uint32)
    return f


def nodes(path, node_ids=(0, 1, 2), type_ids=(100, 100, 101), spoil=None):
    with sonata_file(path) as f:
        pop = f.create_group("nodes/net")
        n = len(node_ids)
        pop["node_id"] = np.array(node_ids, dtype=np.uint64)
        pop["node_type_id"] = np.array(type_ids, dtype=np.uint64)
        pop["node_group_id"] = np.zeros(n, dtype=np.uint32)
        pop["node_group_index"] = np.arange(n, dtype=np.uint64)
        group = pop.create_group("0")
        group["positions"] = np.arange(3 * n, dtype=np.float64).reshape(n, 3)
        if spoil:
            spoil(f)


def edges(path, sources=(0, 1, 2), targets=(1, 2, 0), spoil=None):
    with sonata_file(path) as f:
        pop = f.create_group("edges/net_to_net")
        n = len(sources)
        pop["source_node_id"] = np.array(sources, dtype=np.uint64)
        pop["source_node_id"].attrs["node_population"] = "net"
        pop["target_node_id"] = np.array(targets, dtype=np.uint64)
        pop["target_node_id"].attrs["node_population"] = "net"
        pop["edge_type_id"] = np.full(n, 100, dtype=np.uint32)
        pop["edge_group_id"] = np.zeros(n, dtype=np.uint16)
        pop["edge_group_index"] = np.arange(n, dtype=np.uint32)
        pop.create_group("0")["nsyns"] = np.ones(n, dtype=np.uint32)
        if spoil:
            spoil(f)


def spikes(path, node_ids=(0, 1, 2, 0), times=(1.0, 2.0, 3.0, 4.0), population="net"):
    with sonata_file(path) as f:
        pop = f.create_group(f"spikes/{population}")
        pop.attrs["sorting"] = "by_time"
        pop["node_ids"] = np.array(node_ids, dtype=np.int64)
        pop["timestamps"] = np.array(times, dtype=np.float64)


def report(path, node_ids=(0, 1), pointer=(0, 1, 2), columns=2, element_ids=(0, 0)):
    with sonata_file(path) as f:
        pop = f.create_group("report/net")
        pop["data"] = np.linspace(-70.0, -60.0, 5 * columns).reshape(5, columns)
        mapping = pop.create_group("mapping")
        mapping["node_ids"] = np.array(node_ids, dtype=np.uint64)
        mapping["index_pointer"] = np.array(pointer, dtype=np.uint64)
        mapping["element_ids"] = np.array(element_ids, dtype=np.uint64)
        mapping["time"] = np.array([0.0, 5.0, 1.0])


def replace(name, data):
    def spoil(f):
        parent, _, leaf = name.rpartition("/")
        del f[name]
        f[parent][leaf] = data
    return spoil


def delete(name):
    def spoil(f):
        del f[name]
    return spoil


def case(name):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    return lambda file: os.path.join(d, file)


def valid(name, with_edges=True):
    at = case(name)
    nodes(at("net_nodes.h5"))
    if with_edges:
        edges(at("net_net_edges.h5"))
    return at


def truncate(path, keep):
    with open(path, "rb") as f:
        head = f.read(keep)
    with open(path, "wb") as f:
        f.write(head)


def main():
    # Cases that only need a valid model (their spoilt file is text, or the config is).
    for name in [
        "net-config-not-json", "net-config-undefined-variable", "net-config-cyclic-manifest",
        "net-config-missing-nodes-file", "net-config-missing-node-types-file",
        "net-config-empty", "net-config-nodes-not-a-list", "net-config-missing-network-file",
        "net-csv-wrong-header", "net-csv-missing-node-type", "net-csv-ragged-row",
        "net-csv-non-numeric-type-id", "net-csv-empty", "net-csv-edge-types-wrong-header",
        "net-csv-missing-edge-type", "net-spikes-csv-bad-number", "net-spikes-missing-file",
        "ok-net-crlf-csv", "ok-net-bom-config", "ok-net-bom-csv", "ok-net-empty-spikes-csv",
        "net-raster-output-exists", "net-graph-csv-exists", "net-connection-output-exists",
        "net-positions-bad-extension", "net-unknown-population", "ok-net-unknown-group-by",
        "ok-net-graph-export", "net-output-folder-missing",
        "net-config-missing", "net-spikes-csv-wrong-header", "net-graph-plot-exists",
        "ok-net-force-replaces", "net-raster-tstart-nan",
    ]:
        valid(name)
    valid("ok-net-population-without-edges", with_edges=False)

    at = valid("net-h5-truncated-nodes")
    truncate(at("net_nodes.h5"), 600)
    at = valid("net-h5-truncated-edges")
    truncate(at("net_net_edges.h5"), 1500)
    valid("net-h5-nodes-not-hdf5")
    with open(case("net-h5-nodes-not-hdf5")("net_nodes.h5"), "w") as f:
        f.write("node_id,node_type_id\n0,100\n")
    at = case("net-h5-empty-file")
    edges(at("net_net_edges.h5"))
    open(at("net_nodes.h5"), "wb").close()

    at = case("net-h5-missing-node-type-id")
    nodes(at("net_nodes.h5"), spoil=delete("nodes/net/node_type_id"))
    edges(at("net_net_edges.h5"))
    # Node files with one dataset replaced by a spoilt version (edges valid).
    for name, dataset, spoilt in [
        ("net-h5-mismatched-node-datasets", "nodes/net/node_type_id",
         np.array([100, 101], dtype=np.uint64)),
        ("net-h5-group-index-out-of-range", "nodes/net/node_group_index",
         np.array([0, 1, 7], dtype=np.uint64)),
        ("net-h5-positions-wrong-shape", "nodes/net/0/positions",
         np.zeros((3, 4), dtype=np.float64)),
        ("net-h5-type-id-strings", "nodes/net/node_type_id", np.array([b"a", b"b", b"c"])),
        ("net-h5-group-id-unknown", "nodes/net/node_group_id",
         np.array([0, 0, 3], dtype=np.uint32)),
    ]:
        at = case(name)
        nodes(at("net_nodes.h5"), spoil=replace(dataset, spoilt))
        edges(at("net_net_edges.h5"))
    at = case("net-h5-no-nodes-group")
    with sonata_file(at("net_nodes.h5")) as f:
        f.create_group("cells")
    edges(at("net_net_edges.h5"))

    at = case("net-h5-edge-source-out-of-range")
    nodes(at("net_nodes.h5"))
    edges(at("net_net_edges.h5"), sources=(0, 1, 99))
    at = case("net-h5-edge-target-out-of-range")
    nodes(at("net_nodes.h5"))
    edges(at("net_net_edges.h5"), targets=(0, 1, 42))
    at = case("net-h5-edge-mismatched-lengths")
    nodes(at("net_nodes.h5"))
    edges(at("net_net_edges.h5"), spoil=replace("edges/net_to_net/target_node_id",
                                               np.array([1, 2], dtype=np.uint64)))
    at = case("net-h5-edge-missing-type-id")
    nodes(at("net_nodes.h5"))
    edges(at("net_net_edges.h5"), spoil=delete("edges/net_to_net/edge_type_id"))
    at = case("net-h5-edge-group-index-out-of-range")
    nodes(at("net_nodes.h5"))
    edges(at("net_net_edges.h5"), spoil=replace("edges/net_to_net/edge_group_index",
                                               np.array([0, 1, 9], dtype=np.uint32)))

    at = valid("net-spikes-h5-mismatched-lengths")
    spikes(at("spikes.h5"), node_ids=(0, 1, 2), times=(1.0, 2.0))
    at = valid("net-spikes-h5-node-out-of-range")
    spikes(at("spikes.h5"), node_ids=(0, 1, 57), times=(1.0, 2.0, 3.0))
    at = valid("net-spikes-h5-not-hdf5")
    with open(at("spikes.h5"), "w") as f:
        f.write("timestamps population node_ids\n")
    at = valid("net-spikes-h5-no-spikes-group")
    with sonata_file(at("spikes.h5")) as f:
        f.create_group("spikez/net")
    at = valid("ok-net-empty-spikes-h5")
    spikes(at("spikes.h5"), node_ids=(), times=())

    at = valid("net-report-pointer-beyond-data")
    report(at("v_report.h5"), pointer=(0, 1, 5))
    at = valid("net-report-pointer-length-mismatch")
    report(at("v_report.h5"), node_ids=(0, 1, 2), pointer=(0, 1, 2))
    at = valid("net-report-unknown-node-id")
    report(at("v_report.h5"))
    at = valid("net-report-pointer-decreasing")
    report(at("v_report.h5"), pointer=(0, 2, 1))
    for name in ["ok-net-report", "net-report-unknown-name", "net-report-window-reversed"]:
        at = valid(name)
        report(at("v_report.h5"))


if __name__ == "__main__":
    main()
