//! bmtool's `OneToOneSequentialConnector`: one source population wired one-to-one onto a
//! sequence of target sub-populations. A counter runs across the blocks that share the source
//! selection, so the k-th target cell overall receives the k-th source cell. With
//! `partition_source` the roles swap: the targets are fixed and the sources are partitioned.

use super::{EdgeColumns, Pool};

/// Wire `target` one-to-one from `source`, starting at `offset` into the fixed side; returns
/// the edges and the new offset, or a message when the fixed side runs out.
pub fn connect_sequential(
    source: &Pool,
    target: &Pool,
    n_syn: u32,
    partition_source: bool,
    offset: usize,
) -> Result<(EdgeColumns, usize), String> {
    let (fixed, moving) = if partition_source {
        (target, source)
    } else {
        (source, target)
    };
    let end = offset + moving.len();
    if end > fixed.len() {
        return Err(format!(
            "one_to_one_sequential needs {end} cells on the fixed side but it has {}",
            fixed.len()
        ));
    }
    let mut edges = EdgeColumns::new(&source.network, &target.network);
    let paired = fixed.ids[offset..end].iter().zip(&moving.ids);
    for (f, m) in paired {
        let (s, t) = if partition_source { (*m, *f) } else { (*f, *m) };
        edges.source.push(s);
        edges.target.push(t);
    }
    edges.nsyns = vec![n_syn; edges.len()];
    Ok((edges, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(net: &str, ids: std::ops::Range<u32>) -> Pool {
        Pool {
            network: net.into(),
            ids: ids.collect(),
            positions: None,
        }
    }

    #[test]
    fn the_counter_runs_across_partitions() {
        let a = pool("a", 0..5);
        let (e1, off) = connect_sequential(&a, &pool("b", 10..13), 2, false, 0).unwrap();
        assert_eq!(e1.source, [0, 1, 2]);
        assert_eq!(e1.target, [10, 11, 12]);
        let (e2, off) = connect_sequential(&a, &pool("b", 20..22), 2, false, off).unwrap();
        assert_eq!(e2.source, [3, 4]);
        assert_eq!(e2.target, [20, 21]);
        assert!(connect_sequential(&a, &pool("b", 30..31), 2, false, off).is_err());
    }
}
