//! ATMs and branches a bank lists, and the three nearest to where the user
//! says they are (great-circle distance; nothing is looked up online).

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Atm {
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    /// No fee for the bank's own customers.
    #[serde(default = "yes")]
    pub fee_free: bool,
}

fn yes() -> bool {
    true
}

/// A place on Earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub lat: f64,
    pub lon: f64,
}

impl Place {
    /// "40.7411,-73.9897", or a ZIP code from the embedded table.
    pub fn parse(text: &str) -> Result<Place, String> {
        let t = text.trim();
        if let Some((a, b)) = t.split_once(',') {
            let (lat, lon) = (a.trim().parse::<f64>(), b.trim().parse::<f64>());
            if let (Ok(lat), Ok(lon)) = (lat, lon)
                && (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&lon)
            {
                return Ok(Place { lat, lon });
            }
            return Err(format!("{t:?} is not \"latitude,longitude\" in degrees"));
        }
        ZIPS.iter()
            .find(|(z, _, _)| *z == t)
            .map(|(_, lat, lon)| Place { lat: *lat, lon: *lon })
            .ok_or_else(|| format!("{t:?} is not a ZIP code finbox knows; give \"latitude,longitude\" instead"))
    }

    /// Miles to `other`, along the Earth's surface.
    pub fn miles_to(self, other: Place) -> f64 {
        let (r, rad) = (3958.8_f64, std::f64::consts::PI / 180.0);
        let (dlat, dlon) = ((other.lat - self.lat) * rad, (other.lon - self.lon) * rad);
        let a =
            (dlat / 2.0).sin().powi(2) + (self.lat * rad).cos() * (other.lat * rad).cos() * (dlon / 2.0).sin().powi(2);
        2.0 * r * a.sqrt().asin()
    }
}

/// The `n` nearest to `here`, nearest first, with their distance in miles.
pub fn nearest(atms: &[Atm], here: Place, n: usize) -> Vec<(&Atm, f64)> {
    let mut by: Vec<(&Atm, f64)> = atms.iter().map(|a| (a, here.miles_to(Place { lat: a.lat, lon: a.lon }))).collect();
    by.sort_by(|a, b| a.1.total_cmp(&b.1));
    by.truncate(n);
    by
}

/// A few ZIP codes where the simulated customers live (a small table, not
/// a gazetteer): New York, Miami, San Francisco, Minneapolis.
const ZIPS: &[(&str, f64, f64)] = &[
    ("10001", 40.7506, -73.9972),
    ("10003", 40.7317, -73.9891),
    ("10010", 40.7391, -73.9826),
    ("10011", 40.7419, -74.0007),
    ("10016", 40.7459, -73.9780),
    ("10019", 40.7651, -73.9858),
    ("10023", 40.7769, -73.9827),
    ("10128", 40.7813, -73.9500),
    ("11201", 40.6949, -73.9900),
    ("33125", 25.7829, -80.2361),
    ("33130", 25.7677, -80.2049),
    ("33131", 25.7630, -80.1897),
    ("33133", 25.7297, -80.2386),
    ("33139", 25.7845, -80.1377),
    ("94103", 37.7725, -122.4147),
    ("94107", 37.7621, -122.3971),
    ("94110", 37.7509, -122.4153),
    ("94158", 37.7700, -122.3870),
    ("55401", 44.9840, -93.2690),
    ("55403", 44.9707, -93.2894),
    ("55404", 44.9617, -93.2611),
    ("55408", 44.9462, -93.2985),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_parse_and_the_nearest_come_first() {
        let here = Place::parse("40.7411,-73.9897").unwrap();
        assert_eq!(Place::parse("10010").unwrap(), Place { lat: 40.7391, lon: -73.9826 });
        assert!(Place::parse("99999").unwrap_err().contains("ZIP"));
        assert!(Place::parse("91,0").is_err());
        let atm = |name: &str, lat, lon| Atm { name: name.into(), address: String::new(), lat, lon, fee_free: true };
        let atms = [atm("far", 40.80, -73.95), atm("near", 40.742, -73.990), atm("mid", 40.75, -73.98)];
        let got: Vec<&str> = nearest(&atms, here, 2).iter().map(|(a, _)| a.name.as_str()).collect();
        assert_eq!(got, ["near", "mid"]);
        // One degree of latitude is about 69 miles.
        assert!((Place { lat: 0.0, lon: 0.0 }.miles_to(Place { lat: 1.0, lon: 0.0 }) - 69.1).abs() < 0.1);
    }
}
