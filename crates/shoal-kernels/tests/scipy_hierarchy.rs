//! Every hierarchy case of scipy's own test suite
//! (`../shared/data/scipy_cluster/cases.json`), at the tolerance each case
//! states: linkage for all seven methods (from condensed distances and, where
//! the method allows, straight from observations), optimal leaf ordering,
//! inconsistent, cophenet and its correlation, fcluster with every criterion,
//! leaders, leaf order, dendrogram coordinates, is_monotonic and
//! from_mlab_linkage.

use std::path::{Path, PathBuf};

use serde_json::Value;
use shoal_kernels::hierarchy::{
    condensed, olo,
    tree::{self, Criterion, Truncate},
    vector, Merge, Method,
};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/scipy_cluster")
}

fn cases() -> Value {
    let text = std::fs::read_to_string(shared().join("cases.json")).expect("cases.json");
    serde_json::from_str(&text).expect("json")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn matrix(v: &Value) -> (Vec<f64>, usize) {
    let rows = v.as_array().expect("rows");
    let dim = rows[0].as_array().map_or(1, Vec::len);
    let mut out = Vec::new();
    for r in rows {
        match r.as_array() {
            Some(r) => out.extend(r.iter().map(|x| x.as_f64().expect("number"))),
            None => out.push(r.as_f64().expect("number")),
        }
    }
    (out, dim)
}

fn rows4(z: &[Merge]) -> Vec<f64> {
    z.iter().flat_map(|m| m.to_row()).collect()
}

fn z_from(v: &Value) -> Vec<Merge> {
    let rows: Vec<[f64; 4]> = v
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let r = f64s(r);
            [r[0], r[1], r[2], r[3]]
        })
        .collect();
    tree::from_rows(&rows).expect("valid linkage")
}

struct Ctx {
    all: Value,
}

impl Ctx {
    fn input(&self, name: &str) -> &Value {
        &self.all["inputs"][name]["data"]
    }

    fn case(&self, id: &str) -> &Value {
        self.all["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no case {id}"))
    }

    /// Linkage of a named input: condensed `y` or observations `X`.
    fn linkage_of(&self, inputs: &Value, method: Method) -> (Vec<Merge>, Vec<f64>) {
        if let Some(y) = inputs.get("y") {
            let y = f64s(self.input(y.as_str().expect("name")));
            let n = shoal_kernels::hierarchy::num_obs_condensed(y.len()).expect("n");
            (
                condensed::linkage(y.to_vec(), n, method, None).expect("linkage"),
                y,
            )
        } else {
            let (x, dim) = matrix(self.input(inputs["X"].as_str().expect("name")));
            let y = condensed::pdist(&x, dim).expect("pdist");
            let n = x.len() / dim;
            let z = condensed::linkage(y.to_vec(), n, method, None).expect("linkage");
            (z, y.to_vec())
        }
    }

    /// A `Z` named by a case input: an inline matrix, another case's
    /// expected value, or `linkage(INPUT, "METHOD"...)`.
    fn z_named(&self, v: &Value) -> Vec<Merge> {
        if v.is_array() {
            return z_from(v);
        }
        let s = v.as_str().expect("Z description");
        if let Some(rest) = s.strip_prefix("linkage(") {
            let mut parts = rest.split(',');
            let input = parts.next().expect("input").trim();
            let method = parts
                .next()
                .expect("method")
                .trim()
                .trim_matches(|c| c == '"' || c == ')');
            let method = Method::parse(method).expect("method name");
            let inputs = if input == "ytdist" {
                serde_json::json!({ "y": input })
            } else {
                serde_json::json!({ "X": input })
            };
            self.linkage_of(&inputs, method).0
        } else {
            let id = s.split_whitespace().next().expect("case id");
            z_from(&self.case(id)["expected"])
        }
    }
}

fn allclose(got: &[f64], want: &[f64], atol: f64, rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}: element {i}: got {g}, want {w} (atol {atol}, rtol {rtol})\n got {got:?}\nwant {want:?}"
        );
    }
}

fn isomorphic(a: &[u32], b: &[i64]) -> bool {
    use std::collections::HashMap;
    let mut f: HashMap<u32, i64> = HashMap::new();
    let mut g: HashMap<i64, u32> = HashMap::new();
    a.iter()
        .zip(b)
        .all(|(&x, &y)| *f.entry(x).or_insert(y) == y && *g.entry(y).or_insert(x) == x)
}

fn tolerances(c: &Value) -> (f64, f64) {
    let atol = c["atol"].as_f64().unwrap_or(0.0);
    let rtol = c["rtol"].as_f64().unwrap_or(5.960464477539063e-08);
    (atol, rtol)
}

#[test]
fn every_hierarchy_case_matches_scipy() {
    let ctx = Ctx { all: cases() };
    let mut checked = 0;
    for c in ctx.all["cases"].as_array().expect("cases") {
        let id = c["id"].as_str().expect("id");
        let f = c["function"].as_str().expect("function");
        let params = &c["params"];
        let expected = &c["expected"];
        let (atol, rtol) = tolerances(c);
        if f == "linkage" || f.starts_with("optimal_leaf_ordering") {
            let method = Method::parse(params["method"].as_str().expect("method")).expect("m");
            let (mut z, y) = ctx.linkage_of(&c["inputs"], method);
            if params["optimal_ordering"].as_bool() == Some(true) {
                z = olo::optimal_leaf_ordering(&z, &y);
            }
            let want = matrix(expected).0;
            allclose(&rows4(&z), &want, atol, rtol, id);
            // From observations too, where the method allows it.
            if let (Some(x), true) = (c["inputs"].get("X"), method.works_on_vectors()) {
                let (x, dim) = matrix(ctx.input(x.as_str().expect("name")));
                let mut zv = vector::linkage(&x, dim, method, None).expect("vector linkage");
                if params["optimal_ordering"].as_bool() == Some(true) {
                    zv = olo::optimal_leaf_ordering(&zv, &y);
                }
                allclose(&rows4(&zv), &want, atol, rtol, &format!("{id} (vector)"));
            }
        } else if f == "inconsistent" {
            let z = ctx.z_named(&c["inputs"]["Z"]);
            let d = params["d"].as_u64().expect("d") as usize;
            let r: Vec<f64> = tree::inconsistent(&z, d).into_iter().flatten().collect();
            allclose(&r, &matrix(expected).0, atol, rtol, id);
        } else if f == "cophenet(Z)" {
            let z = ctx.z_named(&c["inputs"]["Z"]);
            allclose(&tree::cophenet(&z), &f64s(expected), atol, rtol, id);
        } else if f.starts_with("cophenet(Z, Y)") {
            let z = ctx.z_named(&c["inputs"]["Z"]);
            let y = f64s(ctx.input(c["inputs"]["Y"].as_str().expect("Y")));
            let corr = tree::cophenet_correlation(&z, &y);
            allclose(
                &[corr],
                &[expected["c"].as_f64().expect("c")],
                atol,
                rtol,
                id,
            );
            allclose(&tree::cophenet(&z), &f64s(&expected["M"]), atol, rtol, id);
        } else if f == "from_mlab_linkage" {
            let rows: Vec<[f64; 3]> = c["inputs"]["Zm"]
                .as_array()
                .expect("Zm")
                .iter()
                .map(|r| {
                    let r = f64s(r);
                    [r[0], r[1], r[2]]
                })
                .collect();
            let z = tree::from_mlab(&rows).expect("mlab");
            assert_eq!(rows4(&z), matrix(expected).0, "{id}");
        } else if f.starts_with("fcluster") {
            let method = Method::parse(params["method"].as_str().expect("method")).expect("m");
            let (z, _) = ctx.linkage_of(&c["inputs"], method);
            let t = params["t"].as_f64().expect("t");
            let criterion = match params["criterion"].as_str().expect("criterion") {
                "distance" => Criterion::Distance(t),
                "maxclust" => Criterion::MaxClust(t as usize),
                "inconsistent" => Criterion::Inconsistent {
                    t,
                    depth: params["depth"].as_u64().unwrap_or(2) as usize,
                },
                "monocrit" => Criterion::Monocrit {
                    t,
                    monocrit: tree::maxdists(&z),
                },
                "maxclust_monocrit" => Criterion::MaxClustMonocrit {
                    t: t as usize,
                    monocrit: tree::maxdists(&z),
                },
                other => panic!("{id}: criterion {other}"),
            };
            let labels = tree::fcluster(&z, &criterion).expect("fcluster");
            let want: Vec<i64> = expected
                .as_array()
                .expect("labels")
                .iter()
                .map(|v| v.as_i64().expect("label"))
                .collect();
            if c["compare"] == "exact" {
                let got: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
                assert_eq!(got, want, "{id}");
            } else {
                assert!(isomorphic(&labels, &want), "{id}: {labels:?} vs {want:?}");
            }
        } else if f.starts_with("leaders") {
            let method = Method::parse(params["method"].as_str().expect("method")).expect("m");
            let (z, _) = ctx.linkage_of(&c["inputs"], method);
            let t = params["t"].as_u64().expect("t") as usize;
            let labels = tree::fcluster(&z, &Criterion::MaxClust(t)).expect("fcluster");
            let (l, m) = tree::leaders(&z, &labels).expect("leaders");
            let want_l: Vec<usize> = f64s(&expected["L"]).iter().map(|&v| v as usize).collect();
            let want_m: Vec<u32> = f64s(&expected["M"]).iter().map(|&v| v as u32).collect();
            assert_eq!((l, m), (want_l, want_m), "{id}");
        } else if f.starts_with("dendrogram") {
            let z = ctx.z_named(&c["inputs"]["Z"]);
            let d = tree::dendrogram(&z, Truncate::None);
            let want_leaves: Vec<usize> = f64s(&expected["leaves"])
                .iter()
                .map(|&v| v as usize)
                .collect();
            assert_eq!(d.leaves, want_leaves, "{id}");
            let ic: Vec<f64> = d.icoord.iter().flatten().copied().collect();
            let dc: Vec<f64> = d.dcoord.iter().flatten().copied().collect();
            assert_eq!(ic, matrix(&expected["icoord"]).0, "{id} icoord");
            assert_eq!(dc, matrix(&expected["dcoord"]).0, "{id} dcoord");
        } else if f == "leaves_list" {
            let z = ctx.z_named(&c["inputs"]["Z"]);
            let want: Vec<usize> = f64s(expected).iter().map(|&v| v as usize).collect();
            assert_eq!(tree::leaves_list(&z), want, "{id}");
        } else if f == "is_monotonic" {
            let z = ctx.z_named(&c["inputs"]["Z"]);
            assert_eq!(
                tree::is_monotonic(&z),
                expected.as_bool().expect("bool"),
                "{id}"
            );
        } else {
            continue;
        }
        checked += 1;
    }
    // All 101 cases but the 12 of vq, k-means and whiten.
    assert_eq!(checked, 89, "hierarchy cases checked");
}

#[test]
fn fcluster_tables_also_hold_for_vector_linkage() {
    // The fcluster cases use single linkage of Q_X; the tree built from
    // observations must cut the same way.
    let ctx = Ctx { all: cases() };
    let (x, dim) = matrix(ctx.input("Q_X"));
    let zv = vector::linkage(&x, dim, Method::Single, None).expect("vector");
    let (zc, _) = ctx.linkage_of(&serde_json::json!({"X": "Q_X"}), Method::Single);
    assert_eq!(rows4(&zv)[..], rows4(&zc)[..]);
    let labels = tree::fcluster(&zv, &Criterion::Distance(1.0)).expect("fcluster");
    let want: Vec<i64> = ctx.case("fcluster_QX_single_distance_t1.0")["expected"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|v| v.as_i64().expect("label"))
        .collect();
    assert!(isomorphic(&labels, &want));
}
