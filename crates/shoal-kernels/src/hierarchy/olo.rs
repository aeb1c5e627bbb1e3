//! Optimal leaf ordering (Bar-Joseph, Gifford and Jaakkola, 2001), as
//! scipy's `optimal_leaf_ordering`: flip children so that the sum of
//! distances between neighbouring leaves is smallest, without changing the
//! tree. Needs the full distance matrix and an n x n table: O(n²) memory,
//! so it is for trees of thousands of leaves, not millions.
//!
//! It follows scipy's implementation step for step, including where that
//! is not optimal: on some inputs scipy's ordering has a longer path than
//! the tree it started from, and so does this one.
//!
//! The dynamic programme keeps its table in f32 and the distances in f64,
//! mixing them as scipy's C code does, so ties resolve the same way.

use super::{condensed_index, tree, Merge};

/// Bytes [`optimal_leaf_ordering`] needs for `n` leaves.
pub fn memory_bytes(n: usize) -> u128 {
    let n = n as u128;
    n * n * (8 + 4 + 2)
}

/// Returns `z` with the children of some rows swapped so the leaf order
/// minimises the sum of adjacent distances. `dist` is the condensed matrix
/// of the `n = z.len() + 1` observations.
pub fn optimal_leaf_ordering(z: &[Merge], dist: &[f64]) -> Vec<Merge> {
    let n = z.len() + 1;
    assert_eq!(dist.len(), n * (n - 1) / 2);
    let leaves = tree::leaves_list(z);
    let mut pos = vec![0usize; n];
    for (s, &o) in leaves.iter().enumerate() {
        pos[o] = s;
    }
    let map = |v: usize| if v < n { pos[v] } else { v };
    let sz: Vec<[usize; 2]> = z.iter().map(|m| [map(m.left), map(m.right)]).collect();
    // Distances between leaves in sorted order.
    let mut sd = vec![0f64; n * n];
    for a in 0..n {
        for b in 0..n {
            if a != b {
                sd[a * n + b] = dist[condensed_index(n, leaves[a], leaves[b])];
            }
        }
    }
    let mut ranges = vec![[0usize; 2]; 2 * n - 1];
    for (i, r) in ranges.iter_mut().enumerate().take(n) {
        *r = [i, i + 1];
    }
    for (i, &[l, r]) in sz.iter().enumerate() {
        ranges[n + i] = [ranges[l][0], ranges[r][1]];
    }
    let must_swap = identify_swaps(&sz, &sd, &ranges, n);
    // A row is flipped when an odd number of it and its ancestors must swap.
    let mut flip = vec![false; z.len()];
    for i in (0..z.len()).rev() {
        let f = flip[i] ^ must_swap[i];
        flip[i] = f;
        for c in sz[i] {
            if c >= n {
                flip[c - n] = f;
            }
        }
    }
    // flip[i] now holds the parity of the swaps on the path to row i; the
    // loop above visits parents before children because a parent's row
    // comes after its children's.
    z.iter()
        .zip(&flip)
        .map(|(m, &f)| {
            if f {
                Merge {
                    left: m.right,
                    right: m.left,
                    ..*m
                }
            } else {
                *m
            }
        })
        .collect()
}

const BIG: f32 = 1_073_741_824.0; // 2^30, scipy's "infinity"

fn identify_swaps(sz: &[[usize; 2]], sd: &[f64], ranges: &[[usize; 2]], n: usize) -> Vec<bool> {
    let mut m_tab = vec![0f32; n * n];
    let mut swap_status = vec![[0u8; 2]; n * n];
    let mut must_swap = vec![false; sz.len()];
    let mut m_order: Vec<(f32, usize)> = Vec::new();
    let mut k_order: Vec<(f32, usize)> = Vec::new();
    for &[v_l, v_r] in sz {
        let (u_cl, m_cl): (Vec<usize>, Vec<usize>) = if v_l < n {
            (vec![v_l], vec![v_l])
        } else {
            let c = sz[v_l - n];
            (vec![c[0], c[1]], vec![c[1], c[0]])
        };
        let (w_cl, k_cl): (Vec<usize>, Vec<usize>) = if v_r < n {
            (vec![v_r], vec![v_r])
        } else {
            let c = sz[v_r - n];
            (vec![c[1], c[0]], vec![c[0], c[1]])
        };
        for swap_l in 0..u_cl.len() {
            for swap_r in 0..w_cl.len() {
                let [u_min, u_max] = ranges[u_cl[swap_l]];
                let [m_min, m_max] = ranges[m_cl[swap_l]];
                let [w_min, w_max] = ranges[w_cl[swap_r]];
                let [k_min, k_max] = ranges[k_cl[swap_r]];
                let mut min_km: f32 = BIG;
                for m in m_min..m_max {
                    for k in k_min..k_max {
                        if sd[m * n + k] < min_km as f64 {
                            min_km = sd[m * n + k] as f32;
                        }
                    }
                }
                for u in u_min..u_max {
                    m_order.clear();
                    m_order.extend((m_min..m_max).map(|m| (m_tab[m * n + u], m)));
                    m_order.sort_by(|a, b| a.0.total_cmp(&b.0));
                    for w in w_min..w_max {
                        k_order.clear();
                        k_order.extend((k_min..k_max).map(|k| (m_tab[k * n + w], k)));
                        k_order.sort_by(|a, b| a.0.total_cmp(&b.0));
                        let mut cur: f32 = BIG;
                        let first_k = k_order[0].1;
                        for &(_, m) in &m_order {
                            if m_tab[u * n + m] + m_tab[w * n + first_k] + min_km >= cur {
                                break;
                            }
                            for &(_, k) in &k_order {
                                if m_tab[u * n + m] + m_tab[w * n + k] + min_km >= cur {
                                    break;
                                }
                                let here =
                                    (m_tab[u * n + m] + m_tab[w * n + k]) as f64 + sd[m * n + k];
                                if here < cur as f64 {
                                    cur = here as f32;
                                }
                            }
                        }
                        m_tab[u * n + w] = cur;
                        m_tab[w * n + u] = cur;
                        swap_status[u * n + w] = [swap_l as u8, swap_r as u8];
                        swap_status[w * n + u] = [swap_l as u8, swap_r as u8];
                    }
                }
            }
        }
        let mut cur: f32 = BIG;
        let (mut best_u, mut best_w) = (0, 0);
        let [vl_min, vl_max] = ranges[v_l];
        let [vr_min, vr_max] = ranges[v_r];
        for u in vl_min..vl_max {
            for w in vr_min..vr_max {
                if m_tab[u * n + w] < cur {
                    cur = m_tab[u * n + w];
                    best_u = u;
                    best_w = w;
                }
            }
        }
        let st = swap_status[best_u * n + best_w];
        if v_l >= n {
            must_swap[v_l - n] = st[0] == 1;
        }
        if v_r >= n {
            must_swap[v_r - n] = st[1] == 1;
        }
    }
    must_swap
}
