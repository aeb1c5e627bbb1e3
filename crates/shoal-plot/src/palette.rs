//! Cluster colours: matplotlib's `tab10`, then the rest of `tab20` and a
//! further set of distinct hues; colours repeat only past all of them.

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// matplotlib's `tab10` (C0..C9).
pub const TAB10: [Rgb; 10] = [
    Rgb(0x1f, 0x77, 0xb4),
    Rgb(0xff, 0x7f, 0x0e),
    Rgb(0x2c, 0xa0, 0x2c),
    Rgb(0xd6, 0x27, 0x28),
    Rgb(0x94, 0x67, 0xbd),
    Rgb(0x8c, 0x56, 0x4b),
    Rgb(0xe3, 0x77, 0xc2),
    Rgb(0x7f, 0x7f, 0x7f),
    Rgb(0xbc, 0xbd, 0x22),
    Rgb(0x17, 0xbe, 0xcf),
];

/// After `tab10`: the light half of `tab20`, then darker distinct hues.
const MORE: [Rgb; 20] = [
    Rgb(0xae, 0xc7, 0xe8),
    Rgb(0xff, 0xbb, 0x78),
    Rgb(0x98, 0xdf, 0x8a),
    Rgb(0xff, 0x98, 0x96),
    Rgb(0xc5, 0xb0, 0xd5),
    Rgb(0xc4, 0x9c, 0x94),
    Rgb(0xf7, 0xb6, 0xd2),
    Rgb(0xdb, 0xdb, 0x8d),
    Rgb(0x9e, 0xda, 0xe5),
    Rgb(0x39, 0x3b, 0x79),
    Rgb(0x63, 0x79, 0x39),
    Rgb(0x8c, 0x6d, 0x31),
    Rgb(0x84, 0x3c, 0x39),
    Rgb(0x7b, 0x41, 0x73),
    Rgb(0x31, 0x82, 0xbd),
    Rgb(0xe6, 0x55, 0x0d),
    Rgb(0x31, 0xa3, 0x54),
    Rgb(0x75, 0x6b, 0xb1),
    Rgb(0x63, 0x63, 0x63),
    Rgb(0x00, 0x00, 0x00),
];

/// The colour of noise points (label -1): a light grey.
pub const NOISE_GREY: Rgb = Rgb(0xc8, 0xc8, 0xc8);

/// Colour of cluster `i` (0-based); noise (`None`) is [`NOISE_GREY`].
pub fn cluster_colour(i: Option<usize>) -> Rgb {
    match i {
        None => NOISE_GREY,
        Some(i) => {
            let all = TAB10.len() + MORE.len();
            let j = i % all;
            if j < TAB10.len() {
                TAB10[j]
            } else {
                MORE[j - TAB10.len()]
            }
        }
    }
}

/// matplotlib's `C0`..`C9` names (scipy's dendrogram colours).
pub fn named(c: &str) -> Option<Rgb> {
    let i: usize = c.strip_prefix('C')?.parse().ok()?;
    TAB10.get(i).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_clusters_get_thirty_distinct_colours() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..30 {
            assert!(seen.insert(cluster_colour(Some(i))), "cluster {i}");
        }
        assert!(!seen.contains(&NOISE_GREY));
        assert_eq!(cluster_colour(Some(30)), cluster_colour(Some(0)));
        assert_eq!(named("C3"), Some(TAB10[3]));
        assert_eq!(TAB10[0].hex(), "#1f77b4");
    }
}
