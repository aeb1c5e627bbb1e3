//! A colour-density raster of points: per pixel, how many points fell in
//! it and the sum of their clusters' colours, so the pixel's colour is the
//! count-weighted mix of its clusters' colours (datashader's `by` +
//! `shade`). Memory is the raster's (28 bytes a pixel), whatever the
//! number of points or clusters. Partial-aggregate contract: `update` a
//! block, `merge` another raster in order (integer sums: exact, so the
//! result does not depend on the split).

/// Points binned into `width x height` pixels over a data box.
#[derive(Debug, Clone, PartialEq)]
pub struct ColourRaster {
    pub width: usize,
    pub height: usize,
    /// Data box: x in `x0..x1` maps to columns, y in `y0..y1` to rows
    /// (row 0 at the top, `y1`).
    pub x: (f64, f64),
    pub y: (f64, f64),
    /// Points per pixel, row-major.
    pub count: Vec<u32>,
    /// Sum of the points' colours (r, g, b) per pixel.
    pub rgb: Vec<[u64; 3]>,
    /// Points outside the box (not drawn).
    pub outside: u64,
}

impl ColourRaster {
    pub fn new(width: usize, height: usize, x: (f64, f64), y: (f64, f64)) -> ColourRaster {
        ColourRaster {
            width,
            height,
            x,
            y,
            count: vec![0; width * height],
            rgb: vec![[0; 3]; width * height],
            outside: 0,
        }
    }

    /// The pixel of point (x, y), if inside the box.
    #[inline]
    pub fn pixel(&self, x: f64, y: f64) -> Option<usize> {
        let fx = (x - self.x.0) / (self.x.1 - self.x.0);
        let fy = (self.y.1 - y) / (self.y.1 - self.y.0);
        if !(0.0..=1.0).contains(&fx) || !(0.0..=1.0).contains(&fy) {
            return None;
        }
        let c = ((fx * self.width as f64) as usize).min(self.width - 1);
        let r = ((fy * self.height as f64) as usize).min(self.height - 1);
        Some(r * self.width + c)
    }

    /// Adds points: `xy` row-major pairs, `colour(i)` the colour of point `i`.
    pub fn update(&mut self, xy: &[f32], colour: impl Fn(usize) -> [u8; 3]) {
        for (i, p) in xy.chunks_exact(2).enumerate() {
            match self.pixel(p[0] as f64, p[1] as f64) {
                Some(px) => {
                    let c = colour(i);
                    self.count[px] += 1;
                    let s = &mut self.rgb[px];
                    s[0] += c[0] as u64;
                    s[1] += c[1] as u64;
                    s[2] += c[2] as u64;
                }
                None => self.outside += 1,
            }
        }
    }

    pub fn merge(&mut self, other: &ColourRaster) {
        for (a, b) in self.count.iter_mut().zip(&other.count) {
            *a += b;
        }
        for (a, b) in self.rgb.iter_mut().zip(&other.rgb) {
            a[0] += b[0];
            a[1] += b[1];
            a[2] += b[2];
        }
        self.outside += other.outside;
    }

    /// Points drawn.
    pub fn total(&self) -> u64 {
        self.count.iter().map(|&c| c as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_land_in_their_pixels_and_colours_mix_by_count() {
        let mut r = ColourRaster::new(4, 2, (0.0, 4.0), (0.0, 2.0));
        // (0.5, 1.5) is the top-left pixel; (3.9, 0.1) the bottom-right
        let xy = [0.5f32, 1.5, 0.6, 1.6, 0.7, 1.7, 3.9, 0.1, 9.0, 9.0];
        let cols = [
            [255u8, 0, 0],
            [255, 0, 0],
            [0, 0, 255],
            [0, 255, 0],
            [1, 1, 1],
        ];
        r.update(&xy, |i| cols[i]);
        assert_eq!(r.count[0], 3);
        assert_eq!(r.rgb[0], [510, 0, 255]);
        assert_eq!(r.count[7], 1);
        assert_eq!(r.outside, 1);
        let mut a = ColourRaster::new(4, 2, (0.0, 4.0), (0.0, 2.0));
        a.update(&xy[..4], |i| cols[i]);
        let mut b = ColourRaster::new(4, 2, (0.0, 4.0), (0.0, 2.0));
        b.update(&xy[4..], |i| cols[i + 2]);
        a.merge(&b);
        assert_eq!(a, r);
    }
}
