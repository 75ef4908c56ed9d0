//! The coverage map as one self-contained SVG document: residents (covered or not), venues
//! with their walking circles, and suggested sites, with a title, a legend and a scale bar.
//!
//! This is presentation, so it lives beside the GraphQL field `coverageMap` that answers with
//! it; `tongxin coverage --out file.svg` writes the same picture. The circle service
//! ([`crate::service::circle::Circle::coverage_map`]) gathers what to draw, [`draw`] names and draws
//! it. It is a plain string so frontends need no map library to show it. Output is
//! deterministic (no hash maps, fixed number formatting) so it can be cached and
//! snapshot-tested.
//!
//! The document is written with `quick-xml`'s writer: elements are closed by construction and
//! every attribute value and text is escaped by the library, so a venue's name cannot break
//! the markup.
//!
//! Projection: equirectangular around the middle of the drawing, longitudes scaled by the
//! cosine of the middle latitude, y pointing south, then scaled so the map's longer side is
//! 1000 user units. User units are pixels at natural size, so markers and text have ordinary
//! sizes (renderers such as librsvg misplace text set in fonts thousands of units tall, which
//! is what one-unit-per-metre would need at district scale). Good at district and city scale.

use std::collections::BTreeMap;
use std::io;

use quick_xml::Writer;
use quick_xml::events::BytesText;
use tongxin_platform::geo::{BoundingBox, Coordinates, METRES_PER_DEGREE};

use crate::domain::coverage::ResidentPoint;
use crate::service::circle::CoverageMap;

/// Above this many resident points the map draws aggregated grid cells instead of one dot
/// per resident, so a whole district (670 000 points) stays a document of about a megabyte.
pub const AGGREGATE_ABOVE: usize = 5_000;

/// Smallest side of the drawing in metres, so that a single point still gives a picture.
const MIN_SIDE: f64 = 200.0;

/// Aggregated cells along the longer side of the map.
const CELLS_ACROSS: f64 = 120.0;

const COVERED: (u8, u8, u8) = (0x1a, 0x98, 0x50);
const UNCOVERED: (u8, u8, u8) = (0xd7, 0x30, 0x1f);
const COURTYARD: &str = "#762a83";
const OTHER_VENUE: &str = "#2166ac";
const REACH: &str = "#4575b4";
const SITE: &str = "#f46d43";

/// A venue as drawn on the map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapVenue<'a> {
    /// Shown as the marker's tooltip.
    pub name: &'a str,
    /// Where it is.
    pub at: Coordinates,
    /// Courtyards are drawn as circles, other venues as squares.
    pub courtyard: bool,
}

/// Everything one coverage map shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapInput<'a> {
    /// Heading of the picture, e.g. the org unit's name and the coverage share.
    pub title: &'a str,
    /// Resident points.
    pub residents: &'a [ResidentPoint],
    /// One flag per resident, as in `CoverageReport::covered`; missing flags count as
    /// not covered.
    pub covered: &'a [bool],
    /// Venues to draw, each with a walking circle of `reach_m`.
    pub venues: &'a [MapVenue<'a>],
    /// Straight-line walking reach in metres (`WalkingModel::reach_m(minutes)`); 0 draws no
    /// circles.
    pub reach_m: f64,
    /// Suggested sites for new venues, best first; numbered on the map in this order.
    pub suggestions: &'a [Coordinates],
}

/// The coverage map of one unit, titled with its name, the circle's minutes and the share of
/// residents covered.
pub fn draw(map: &CoverageMap) -> String {
    let venues: Vec<MapVenue<'_>> = map
        .places
        .iter()
        .map(|p| MapVenue {
            name: p.name(),
            at: p.at(),
            courtyard: p.is_courtyard(),
        })
        .collect();
    let sites: Vec<Coordinates> = map.coverage.suggestions.iter().map(|s| s.at).collect();
    let title = format!(
        "{} — {:.0} 分钟文明实践圈 覆盖 {:.1}%",
        map.unit_name,
        map.coverage.minutes,
        map.coverage.share.unwrap_or(0.0) * 100.0
    );
    render_coverage_map(&MapInput {
        title: &title,
        residents: &map.residents,
        covered: &map.covered,
        venues: &venues,
        reach_m: map.reach_m,
        suggestions: &sites,
    })
}

/// Longer side of the map itself, in user units (pixels at natural size).
const MAP_SIDE_PX: f64 = 1000.0;
/// Narrowest picture, so the legend always has room.
const MIN_WIDTH_PX: f64 = 640.0;
const PAD_PX: f64 = 20.0;
const HEADER_PX: f64 = 48.0;
const LEGEND_PX: f64 = 84.0;

/// The document being written.
type Svg = Writer<Vec<u8>>;

/// Renders the coverage map as an SVG document whose view box fits everything drawn.
pub fn render_coverage_map(input: &MapInput<'_>) -> String {
    let mut svg = Writer::new(Vec::new());
    // Writing into memory cannot fail (an allocation failure aborts rather than returning an
    // error), so there is no error to pass on.
    let _ = write_document(&mut svg, input);
    // Only `&str` pieces were written, so the bytes are UTF-8 and the lossy branch is never
    // taken.
    String::from_utf8(svg.into_inner())
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn write_document(svg: &mut Svg, input: &MapInput<'_>) -> io::Result<()> {
    let reach = if input.reach_m.is_finite() && input.reach_m > 0.0 {
        input.reach_m
    } else {
        0.0
    };
    let projection = Projection::fitting(input);
    let extent = drawn_extent(input, &projection, reach);
    let frame = Frame::new(projection, &extent);
    let (width, height) = (num(frame.width), num(frame.height));
    let view_box = format!("0 0 {width} {height}");
    let root = [
        ("xmlns", "http://www.w3.org/2000/svg"),
        ("viewBox", view_box.as_str()),
        ("width", width.as_str()),
        ("height", height.as_str()),
        ("font-family", "sans-serif"),
    ];
    group(svg, "svg", &root, |svg| {
        text(svg, "title", &[], input.title)?;
        let background = [
            ("id", "background"),
            ("x", "0"),
            ("y", "0"),
            ("width", width.as_str()),
            ("height", height.as_str()),
            ("fill", "#ffffff"),
        ];
        empty(svg, "rect", &background)?;
        if input.residents.len() > AGGREGATE_ABOVE {
            draw_resident_cells(svg, input, &frame, &extent)?;
        } else {
            draw_resident_dots(svg, input, &frame)?;
        }
        let reach_px = reach * frame.scale;
        if reach > 0.0 {
            let attrs = [
                ("id", "reach"),
                ("fill", REACH),
                ("fill-opacity", "0.08"),
                ("stroke", REACH),
                ("stroke-opacity", "0.6"),
                ("stroke-width", "1"),
            ];
            let r = num(reach_px);
            group(svg, "g", &attrs, |svg| {
                for venue in input.venues {
                    let (x, y) = frame.point(venue.at);
                    let (cx, cy) = (num(x), num(y));
                    empty(
                        svg,
                        "circle",
                        &[("class", "reach"), ("cx", &cx), ("cy", &cy), ("r", &r)],
                    )?;
                }
                Ok(())
            })?;
        }
        draw_venues(svg, input.venues, &frame)?;
        draw_suggestions(svg, input.suggestions, &frame, reach_px)?;
        let (x, y) = (num(PAD_PX), num(PAD_PX + 18.0));
        let heading = [
            ("class", "heading"),
            ("x", x.as_str()),
            ("y", y.as_str()),
            ("font-size", "22"),
            ("font-weight", "bold"),
            ("fill", "#222222"),
        ];
        text(svg, "text", &heading, input.title)?;
        draw_legend(svg, &frame)
    })
}

/// `<name attrs…/>`.
fn empty(svg: &mut Svg, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
    svg.create_element(name)
        .with_attributes(attrs.iter().copied())
        .write_empty()?;
    Ok(())
}

/// `<name attrs…>text</name>`.
fn text(svg: &mut Svg, name: &str, attrs: &[(&str, &str)], content: &str) -> io::Result<()> {
    svg.create_element(name)
        .with_attributes(attrs.iter().copied())
        .write_text_content(BytesText::from_escaped(escape(content)))?;
    Ok(())
}

/// `<name attrs…>…</name>` with what `inner` writes inside.
fn group(
    svg: &mut Svg,
    name: &str,
    attrs: &[(&str, &str)],
    inner: impl FnOnce(&mut Svg) -> io::Result<()>,
) -> io::Result<()> {
    svg.create_element(name)
        .with_attributes(attrs.iter().copied())
        .write_inner_content(inner)?;
    Ok(())
}

/// Where the map sits in the picture: metres to user units.
struct Frame {
    projection: Projection,
    /// User units per metre.
    scale: f64,
    /// Projected metres at the map's top-left corner.
    origin: (f64, f64),
    /// User units at the map's top-left corner.
    offset: (f64, f64),
    /// Size of the map itself in user units.
    map_size: (f64, f64),
    width: f64,
    height: f64,
}

impl Frame {
    fn new(projection: Projection, extent: &Extent) -> Self {
        let (w, h) = (extent.max_x - extent.min_x, extent.max_y - extent.min_y);
        let scale = MAP_SIDE_PX / w.max(h);
        let map_size = (w * scale, h * scale);
        let width = (map_size.0 + 2.0 * PAD_PX).max(MIN_WIDTH_PX);
        Self {
            projection,
            scale,
            origin: (extent.min_x, extent.min_y),
            offset: ((width - map_size.0) / 2.0, HEADER_PX + PAD_PX),
            map_size,
            width,
            height: HEADER_PX + 2.0 * PAD_PX + map_size.1 + LEGEND_PX,
        }
    }

    /// A projected position in metres to user units.
    fn metres(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            self.offset.0 + (x - self.origin.0) * self.scale,
            self.offset.1 + (y - self.origin.1) * self.scale,
        )
    }

    fn point(&self, p: Coordinates) -> (f64, f64) {
        self.metres(self.projection.project(p))
    }
}

/// Equirectangular projection to metres around a reference point.
struct Projection {
    lat0: f64,
    lon0: f64,
    lon_scale: f64,
}

impl Projection {
    fn fitting(input: &MapInput<'_>) -> Self {
        let points = input
            .residents
            .iter()
            .map(|r| r.at)
            .chain(input.venues.iter().map(|v| v.at))
            .chain(input.suggestions.iter().copied());
        let center = BoundingBox::from_points(points).map_or_else(
            || (0.0, 0.0),
            |bbox| (bbox.center().lat(), bbox.center().lon()),
        );
        Self {
            lat0: center.0,
            lon0: center.1,
            lon_scale: center.0.to_radians().cos(),
        }
    }

    /// (x east, y south) in metres from the reference point.
    fn project(&self, p: Coordinates) -> (f64, f64) {
        (
            (p.lon() - self.lon0) * self.lon_scale * METRES_PER_DEGREE,
            -(p.lat() - self.lat0) * METRES_PER_DEGREE,
        )
    }
}

/// Extent of the drawing in projected metres.
struct Extent {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
}

impl Extent {
    fn include(&mut self, (x, y): (f64, f64), radius: f64) {
        self.min_x = self.min_x.min(x - radius);
        self.min_y = self.min_y.min(y - radius);
        self.max_x = self.max_x.max(x + radius);
        self.max_y = self.max_y.max(y + radius);
    }
}

/// The extent of everything drawn, never smaller than 200 m on a side so that a single point
/// still gives a sensible picture.
fn drawn_extent(input: &MapInput<'_>, projection: &Projection, reach: f64) -> Extent {
    let mut extent = Extent {
        min_x: f64::INFINITY,
        min_y: f64::INFINITY,
        max_x: f64::NEG_INFINITY,
        max_y: f64::NEG_INFINITY,
    };
    for resident in input.residents {
        extent.include(projection.project(resident.at), 0.0);
    }
    for venue in input.venues {
        extent.include(projection.project(venue.at), reach);
    }
    for site in input.suggestions {
        extent.include(projection.project(*site), reach);
    }
    if !extent.min_x.is_finite() {
        extent = Extent {
            min_x: 0.0,
            min_y: 0.0,
            max_x: 0.0,
            max_y: 0.0,
        };
    }
    for (min, max) in [
        (&mut extent.min_x, &mut extent.max_x),
        (&mut extent.min_y, &mut extent.max_y),
    ] {
        let missing = MIN_SIDE - (*max - *min);
        if missing > 0.0 {
            *min -= missing / 2.0;
            *max += missing / 2.0;
        }
    }
    extent
}

fn draw_resident_dots(svg: &mut Svg, input: &MapInput<'_>, frame: &Frame) -> io::Result<()> {
    for (covered, id, colour) in [(true, "covered", COVERED), (false, "uncovered", UNCOVERED)] {
        let (group_id, class, fill) = (
            format!("residents-{id}"),
            format!("resident {id}"),
            hex(colour),
        );
        let attrs = [
            ("id", group_id.as_str()),
            ("fill", fill.as_str()),
            ("fill-opacity", "0.8"),
        ];
        group(svg, "g", &attrs, |svg| {
            for (i, resident) in input.residents.iter().enumerate() {
                if input.covered.get(i).copied().unwrap_or(false) != covered {
                    continue;
                }
                let (x, y) = frame.point(resident.at);
                let (cx, cy) = (num(x), num(y));
                empty(
                    svg,
                    "circle",
                    &[("class", &class), ("cx", &cx), ("cy", &cy), ("r", "3")],
                )?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Residents summed into square cells; each cell's colour goes from the uncovered colour to
/// the covered one with its covered share, and its opacity grows with its weight.
fn draw_resident_cells(
    svg: &mut Svg,
    input: &MapInput<'_>,
    frame: &Frame,
    extent: &Extent,
) -> io::Result<()> {
    let side = (extent.max_x - extent.min_x).max(extent.max_y - extent.min_y) / CELLS_ACROSS;
    // (covered weight, total weight, covered points, points) per cell
    let mut cells: BTreeMap<(i64, i64), [u64; 4]> = BTreeMap::new();
    for (i, resident) in input.residents.iter().enumerate() {
        let (x, y) = frame.projection.project(resident.at);
        // The cell count is bounded by CELLS_ACROSS², so the conversion cannot overflow.
        #[allow(clippy::cast_possible_truncation)]
        let key = (
            ((y - extent.min_y) / side).floor() as i64,
            ((x - extent.min_x) / side).floor() as i64,
        );
        let covered = input.covered.get(i).copied().unwrap_or(false);
        let cell = cells.entry(key).or_default();
        let weight = u64::from(resident.weight);
        cell[1] += weight;
        cell[3] += 1;
        if covered {
            cell[0] += weight;
            cell[2] += 1;
        }
    }
    let any_weight = cells.values().any(|c| c[1] > 0);
    let heaviest = cells
        .values()
        .map(|c| if any_weight { c[1] } else { c[3] })
        .max()
        .unwrap_or(1)
        .max(1);
    let side_px = num(side * frame.scale);
    group(
        svg,
        "g",
        &[("id", "residents-cells"), ("stroke", "none")],
        |svg| {
            for (&(row, col), cell) in &cells {
                let (covered, total) = if any_weight {
                    (cell[0], cell[1])
                } else {
                    (cell[2], cell[3])
                };
                // Counts are far below 2^52, so the conversions are exact.
                #[allow(clippy::cast_precision_loss)]
                let (share, density, corner) = (
                    if total > 0 {
                        covered as f64 / total as f64
                    } else {
                        0.0
                    },
                    total as f64 / heaviest as f64,
                    (
                        extent.min_x + col as f64 * side,
                        extent.min_y + row as f64 * side,
                    ),
                );
                let (x, y) = frame.metres(corner);
                let (x, y) = (num(x), num(y));
                let fill = hex(mix(UNCOVERED, COVERED, share));
                let opacity = format!("{:.2}", 0.25 + 0.7 * density.sqrt());
                let attrs = [
                    ("class", "cell"),
                    ("x", x.as_str()),
                    ("y", y.as_str()),
                    ("width", side_px.as_str()),
                    ("height", side_px.as_str()),
                    ("fill", fill.as_str()),
                    ("fill-opacity", opacity.as_str()),
                ];
                empty(svg, "rect", &attrs)?;
            }
            Ok(())
        },
    )
}

fn draw_venues(svg: &mut Svg, venues: &[MapVenue<'_>], frame: &Frame) -> io::Result<()> {
    let attrs = [
        ("id", "venues"),
        ("stroke", "#ffffff"),
        ("stroke-width", "1"),
    ];
    group(svg, "g", &attrs, |svg| {
        for venue in venues {
            let (x, y) = frame.point(venue.at);
            let tooltip = |svg: &mut Svg| text(svg, "title", &[], venue.name);
            if venue.courtyard {
                let (cx, cy) = (num(x), num(y));
                let marker = [
                    ("class", "venue courtyard"),
                    ("cx", cx.as_str()),
                    ("cy", cy.as_str()),
                    ("r", "6"),
                    ("fill", COURTYARD),
                ];
                group(svg, "circle", &marker, tooltip)?;
            } else {
                let (x, y) = (num(x - 5.0), num(y - 5.0));
                let marker = [
                    ("class", "venue other"),
                    ("x", x.as_str()),
                    ("y", y.as_str()),
                    ("width", "10"),
                    ("height", "10"),
                    ("fill", OTHER_VENUE),
                ];
                group(svg, "rect", &marker, tooltip)?;
            }
        }
        Ok(())
    })
}

fn draw_suggestions(
    svg: &mut Svg,
    sites: &[Coordinates],
    frame: &Frame,
    reach_px: f64,
) -> io::Result<()> {
    let attrs = [
        ("id", "suggestions"),
        ("stroke", SITE),
        ("stroke-width", "1.5"),
    ];
    group(svg, "g", &attrs, |svg| {
        for (rank, site) in sites.iter().enumerate() {
            let (x, y) = frame.point(*site);
            let (cx, cy) = (num(x), num(y));
            if reach_px > 0.0 {
                let r = num(reach_px);
                let reach = [
                    ("class", "site-reach"),
                    ("cx", cx.as_str()),
                    ("cy", cy.as_str()),
                    ("r", r.as_str()),
                    ("fill", "none"),
                    ("stroke", "#333333"),
                    ("stroke-dasharray", "6 4"),
                ];
                empty(svg, "circle", &reach)?;
            }
            let d = diamond(x, y, 8.0);
            let marker = [
                ("class", "site"),
                ("d", d.as_str()),
                ("fill", SITE),
                ("stroke", "#ffffff"),
            ];
            empty(svg, "path", &marker)?;
            let (lx, ly) = (num(x + 10.0), num(y + 4.0));
            let label = [
                ("class", "site-label"),
                ("x", lx.as_str()),
                ("y", ly.as_str()),
                ("font-size", "13"),
                ("fill", "#222222"),
                ("stroke", "none"),
            ];
            text(svg, "text", &label, &(rank + 1).to_string())?;
        }
        Ok(())
    })
}

/// Two rows of three legend entries under the map, then a scale bar.
fn draw_legend(svg: &mut Svg, frame: &Frame) -> io::Result<()> {
    let top = frame.offset.1 + frame.map_size.1 + PAD_PX + 4.0;
    let entries = [
        ("covered", "已覆盖 covered"),
        ("uncovered", "未覆盖 not covered"),
        ("courtyard", "小院 courtyard"),
        ("other", "其他阵地 other venue"),
        ("reach", "步行圈 walking reach"),
        ("site", "建议选址 suggested site"),
    ];
    let column = (frame.width - 2.0 * PAD_PX) / 3.0;
    let attrs = [("id", "legend"), ("font-size", "13"), ("fill", "#222222")];
    group(svg, "g", &attrs, |svg| {
        for (i, (kind, label)) in entries.into_iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let (x, baseline) = (
                PAD_PX + (i % 3) as f64 * column,
                top + 12.0 + (i / 3) as f64 * 22.0,
            );
            let (cx, cy) = (x + 6.0, baseline - 4.5);
            group(svg, "g", &[("class", "legend-entry")], |svg| {
                legend_swatch(svg, kind, cx, cy)?;
                let (tx, ty) = (num(x + 16.0), num(baseline));
                text(svg, "text", &[("x", &tx), ("y", &ty)], label)
            })?;
        }
        // Scale bar: the round length nearest below a fifth of the map's width.
        let length_m = nice_length(frame.map_size.0.max(frame.map_size.1) / 5.0 / frame.scale);
        let (x, y) = (PAD_PX, top + 62.0);
        let end = x + length_m * frame.scale;
        let caption = if length_m >= 1000.0 {
            format!("{} km", length_m / 1000.0)
        } else {
            format!("{length_m} m")
        };
        group(svg, "g", &[("class", "scale-bar")], |svg| {
            let (x1, y1, x2) = (num(x), num(y), num(end));
            let line = [
                ("x1", x1.as_str()),
                ("y1", y1.as_str()),
                ("x2", x2.as_str()),
                ("y2", y1.as_str()),
                ("stroke", "#222222"),
                ("stroke-width", "2"),
            ];
            empty(svg, "line", &line)?;
            let (tx, ty) = (num(end + 6.0), num(y + 4.5));
            text(svg, "text", &[("x", &tx), ("y", &ty)], &caption)
        })
    })
}

/// The legend's sample of how `kind` is drawn, centred on (`cx`, `cy`).
fn legend_swatch(svg: &mut Svg, kind: &str, cx: f64, cy: f64) -> io::Result<()> {
    let (x, y) = (num(cx), num(cy));
    match kind {
        "covered" | "uncovered" | "courtyard" => {
            let fill = match kind {
                "covered" => hex(COVERED),
                "uncovered" => hex(UNCOVERED),
                _ => COURTYARD.to_owned(),
            };
            empty(
                svg,
                "circle",
                &[("cx", &x), ("cy", &y), ("r", "5"), ("fill", &fill)],
            )
        }
        "other" => {
            let (x, y) = (num(cx - 5.0), num(cy - 5.0));
            let square = [
                ("x", x.as_str()),
                ("y", y.as_str()),
                ("width", "10"),
                ("height", "10"),
                ("fill", OTHER_VENUE),
            ];
            empty(svg, "rect", &square)
        }
        "reach" => {
            let circle = [
                ("cx", x.as_str()),
                ("cy", y.as_str()),
                ("r", "5"),
                ("fill", REACH),
                ("fill-opacity", "0.15"),
                ("stroke", REACH),
            ];
            empty(svg, "circle", &circle)
        }
        _ => {
            let d = diamond(cx, cy, 6.0);
            empty(svg, "path", &[("d", &d), ("fill", SITE)])
        }
    }
}

/// 1, 2 or 5 × a power of ten, the largest not above `target` metres (at least 1 m).
fn nice_length(target: f64) -> f64 {
    let mut length = 1.0;
    for candidate in (0..8).flat_map(|p| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(p))) {
        if candidate <= target {
            length = candidate;
        }
    }
    length
}

fn diamond(x: f64, y: f64, s: f64) -> String {
    format!(
        "M{} {}L{} {}L{} {}L{} {}Z",
        num(x),
        num(y - s),
        num(x + s),
        num(y),
        num(x),
        num(y + s),
        num(x - s),
        num(y)
    )
}

/// A coordinate with one decimal (a tenth of a pixel), and never "-0.0", so equal inputs
/// always give equal text.
fn num(v: f64) -> String {
    let text = format!("{v:.1}");
    if text == "-0.0" {
        "0.0".to_owned()
    } else {
        text
    }
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Linear mix of two colours; `t` = 0 gives `from`, 1 gives `to`.
fn mix(from: (u8, u8, u8), to: (u8, u8, u8), t: f64) -> (u8, u8, u8) {
    let t = t.clamp(0.0, 1.0);
    // The result lies between two u8 values, so it fits.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let channel = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    (
        channel(from.0, to.0),
        channel(from.1, to.1),
        channel(from.2, to.2),
    )
}

/// Text as XML content: the control characters XML 1.0 does not allow at all are dropped
/// (quick-xml passes them through, and they would make the whole document unreadable), then
/// quick-xml escapes the five markup characters.
fn escape(text: &str) -> String {
    let allowed: String = text
        .chars()
        .filter(|c| matches!(c, '\t' | '\n' | '\r') || !c.is_control())
        .collect();
    quick_xml::escape::escape(allowed).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Coordinates {
        Coordinates::parse(lat, lon).expect("valid test coordinates")
    }

    /// One element of a parsed document.
    #[derive(Debug)]
    struct Element {
        name: String,
        attrs: BTreeMap<String, String>,
        /// The text directly inside it, entities decoded.
        text: String,
        /// Index of the enclosing element.
        parent: Option<usize>,
    }

    impl Element {
        fn attr(&self, name: &str) -> &str {
            self.attrs.get(name).map_or_else(
                || panic!("{} has no {name}: {self:?}", self.name),
                String::as_str,
            )
        }
        fn num(&self, name: &str) -> f64 {
            self.attr(name)
                .parse()
                .unwrap_or_else(|_| panic!("{name} of {self:?} is not a number"))
        }
        fn class(&self) -> &str {
            self.attrs.get("class").map_or("", String::as_str)
        }
    }

    /// Decodes the five entities `escape` writes; any other `&` is a malformed document.
    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let end = rest[amp..].find(';').expect("unterminated entity") + amp;
            out.push(match &rest[amp + 1..end] {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                other => panic!("unknown entity &{other};"),
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Parses our own output into its elements, in document order, checking that it is well
    /// formed on the way: every tag closed in order, attributes quoted and unique, no stray
    /// '<' or '>', one root. Enough of an XML parser for what `render_coverage_map` writes
    /// (no comments, CDATA or processing instructions).
    fn parse(svg: &str) -> Vec<Element> {
        let mut elements: Vec<Element> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            assert!(!text.contains('>'), "stray '>' in text: {text}");
            match stack.last() {
                Some(&current) => elements[current].text.push_str(&unescape(text)),
                None => assert!(text.trim().is_empty(), "text outside the root: {text}"),
            }
            let close = rest[open..].find('>').expect("unterminated tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                let top = stack.pop().expect("a closing tag without an open one");
                assert_eq!(elements[top].name, name, "mismatched </{name}>");
            } else {
                assert!(
                    !stack.is_empty() || elements.is_empty(),
                    "a second root element: {tag}"
                );
                let empty = tag.ends_with('/');
                let body = tag.strip_suffix('/').unwrap_or(tag);
                let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
                let mut attrs = BTreeMap::new();
                let mut list = body[name.len()..].trim_start();
                while !list.is_empty() {
                    let (key, after) = list.split_once("=\"").expect("attribute as key=\"value\"");
                    let (value, after) = after.split_once('"').expect("closing quote");
                    assert!(!value.contains('<'), "'<' in an attribute: {tag}");
                    let fresh = attrs.insert(key.trim().to_owned(), unescape(value));
                    assert!(fresh.is_none(), "attribute {key} twice: {tag}");
                    list = after.trim_start();
                }
                elements.push(Element {
                    name,
                    attrs,
                    text: String::new(),
                    parent: stack.last().copied(),
                });
                if !empty {
                    stack.push(elements.len() - 1);
                }
            }
            rest = &rest[close + 1..];
        }
        assert!(rest.trim().is_empty(), "text after the root: {rest}");
        assert!(stack.is_empty(), "unclosed elements");
        elements
    }

    /// Checks that the document is well formed and returns the element names seen.
    fn check_well_formed(svg: &str) -> Vec<String> {
        parse(svg).into_iter().map(|e| e.name).collect()
    }

    /// The elements of `class` (exactly), in document order.
    fn of_class<'e>(elements: &'e [Element], class: &str) -> Vec<&'e Element> {
        elements.iter().filter(|e| e.class() == class).collect()
    }

    /// The text of the `<title>` child of element `at`.
    fn tooltip(elements: &[Element], at: usize) -> &str {
        let titles: Vec<_> = elements
            .iter()
            .filter(|e| e.parent == Some(at) && e.name == "title")
            .collect();
        assert_eq!(titles.len(), 1, "one tooltip for {:?}", elements[at]);
        &titles[0].text
    }

    /// The centre of a diamond drawn by `diamond(x, y, s)`: "M{x} {y-s}L{x+s} {y}…".
    fn diamond_centre(d: &str) -> (f64, f64) {
        let numbers: Vec<f64> = d
            .trim_end_matches('Z')
            .split(['M', 'L', ' '])
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().expect("number in path"))
            .collect();
        assert_eq!(numbers.len(), 8, "{d}");
        (numbers[0], numbers[3])
    }

    /// The tiny map's title, residents' coverage flags, venues (name, courtyard, lat, lon) and
    /// suggested sites (lat, lon), best first.
    const TINY_TITLE: &str = "昌元街道 coverage <15 min> 50% & more";
    const TINY_COVERED: [bool; 10] = [
        true, true, false, true, false, false, true, false, true, false,
    ];
    const TINY_VENUES: [(&str, bool, f64, f64); 3] = [
        ("蔡家坝 <小院> & \"讲堂\"", true, 29.40, 105.50),
        ("夜合湾小院", true, 29.41, 105.51),
        ("玉带河 'park'", false, 29.42, 105.49),
    ];
    const TINY_SITES: [(f64, f64); 2] = [(29.43, 105.50), (29.39, 105.52)];
    const TINY_REACH_M: f64 = 923.08;

    /// Residents 0..10 at 29.40 + 0.002·i N, 105.50 E.
    fn tiny_resident_lat(i: usize) -> f64 {
        29.40 + 0.002 * i as f64
    }

    fn tiny_map() -> String {
        let residents: Vec<_> = (0..10)
            .map(|i| ResidentPoint {
                at: at(tiny_resident_lat(i), 105.50),
                weight: 3,
            })
            .collect();
        let venues = TINY_VENUES.map(|(name, courtyard, lat, lon)| MapVenue {
            name,
            at: at(lat, lon),
            courtyard,
        });
        let suggestions = TINY_SITES.map(|(lat, lon)| at(lat, lon));
        render_coverage_map(&MapInput {
            title: TINY_TITLE,
            residents: &residents,
            covered: &TINY_COVERED,
            venues: &venues,
            reach_m: TINY_REACH_M,
            suggestions: &suggestions,
        })
    }

    /// Where the tiny map puts a place, worked out independently of `Frame`: the drawing spans
    /// latitudes 29.39–29.43 and longitudes 105.49–105.52 (middle latitude 29.41°) plus one
    /// walking circle at each edge; its taller side (the latitudes) is 1000 units, starting
    /// 20 units from the left and 48 + 20 from the top.
    fn tiny_position(lat: f64, lon: f64) -> (f64, f64) {
        let m = METRES_PER_DEGREE;
        let scale = 1000.0 / (0.04 * m + 2.0 * TINY_REACH_M);
        (
            20.0 + ((lon - 105.49) * 29.41f64.to_radians().cos() * m + TINY_REACH_M) * scale,
            68.0 + ((29.43 - lat) * m + TINY_REACH_M) * scale,
        )
    }

    /// Equal to the drawn tenth of a unit.
    fn assert_at(got: (f64, f64), want: (f64, f64), what: &str) {
        assert!(
            (got.0 - want.0).abs() < 0.06 && (got.1 - want.1).abs() < 0.06,
            "{what}: drawn at {got:?}, belongs at {want:?}"
        );
    }

    #[test]
    fn the_title_reads_as_given() {
        let elements = parse(&tiny_map());
        assert_eq!(elements[0].name, "svg");
        // The document's own <title> (a child of the root) and the heading.
        let titles: Vec<&str> = elements
            .iter()
            .filter(|e| e.name == "title" && e.parent == Some(0))
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(titles, [TINY_TITLE]);
        let headings: Vec<&str> = of_class(&elements, "heading")
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(headings, [TINY_TITLE]);
    }

    #[test]
    fn one_marker_per_venue_where_it_is_named_as_it_is() {
        let elements = parse(&tiny_map());
        let markers: Vec<usize> = elements
            .iter()
            .enumerate()
            .filter(|(_, e)| e.class().starts_with("venue "))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(markers.len(), TINY_VENUES.len(), "one marker per venue");
        for (&i, (name, courtyard, lat, lon)) in markers.iter().zip(TINY_VENUES) {
            let marker = &elements[i];
            assert_eq!(tooltip(&elements, i), name);
            let centre = if courtyard {
                assert_eq!(
                    (marker.name.as_str(), marker.class()),
                    ("circle", "venue courtyard")
                );
                (marker.num("cx"), marker.num("cy"))
            } else {
                assert_eq!(
                    (marker.name.as_str(), marker.class()),
                    ("rect", "venue other")
                );
                (
                    marker.num("x") + marker.num("width") / 2.0,
                    marker.num("y") + marker.num("height") / 2.0,
                )
            };
            assert_at(centre, tiny_position(lat, lon), name);
        }
        // Each venue's walking circle is centred on it, as wide as the reach.
        let circles = of_class(&elements, "reach");
        assert_eq!(circles.len(), TINY_VENUES.len());
        let radius = TINY_REACH_M * 1000.0 / (0.04 * METRES_PER_DEGREE + 2.0 * TINY_REACH_M);
        for (circle, (name, _, lat, lon)) in circles.iter().zip(TINY_VENUES) {
            assert_at(
                (circle.num("cx"), circle.num("cy")),
                tiny_position(lat, lon),
                name,
            );
            assert!((circle.num("r") - radius).abs() < 0.06, "{circle:?}");
        }
    }

    #[test]
    fn suggested_sites_are_drawn_where_they_are_numbered_best_first() {
        let elements = parse(&tiny_map());
        let diamonds = of_class(&elements, "site");
        let labels = of_class(&elements, "site-label");
        let reaches = of_class(&elements, "site-reach");
        assert_eq!(
            (diamonds.len(), labels.len(), reaches.len()),
            (TINY_SITES.len(), TINY_SITES.len(), TINY_SITES.len())
        );
        for (rank, (lat, lon)) in TINY_SITES.into_iter().enumerate() {
            let at = tiny_position(lat, lon);
            assert_at(diamond_centre(diamonds[rank].attr("d")), at, "site");
            assert_eq!(labels[rank].text, (rank + 1).to_string());
            assert_at(
                (labels[rank].num("x"), labels[rank].num("y")),
                (at.0 + 10.0, at.1 + 4.0),
                "its number",
            );
            assert_at(
                (reaches[rank].num("cx"), reaches[rank].num("cy")),
                at,
                "its reach",
            );
        }
    }

    #[test]
    fn each_resident_is_drawn_where_they_live_as_covered_or_not() {
        let elements = parse(&tiny_map());
        for (class, flag) in [("resident covered", true), ("resident uncovered", false)] {
            let drawn: Vec<(f64, f64)> = of_class(&elements, class)
                .iter()
                .map(|c| (c.num("cx"), c.num("cy")))
                .collect();
            let expected: Vec<(f64, f64)> = (0..TINY_COVERED.len())
                .filter(|&i| TINY_COVERED[i] == flag)
                .map(|i| tiny_position(tiny_resident_lat(i), 105.50))
                .collect();
            assert_eq!(drawn.len(), expected.len(), "{class}");
            for (got, want) in drawn.into_iter().zip(expected) {
                assert_at(got, want, class);
            }
        }
    }

    #[test]
    fn tiny_map_is_well_formed_with_the_expected_elements() {
        let svg = tiny_map();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        let names = check_well_formed(&svg);
        assert_eq!(names.first().map(String::as_str), Some("svg"));
        assert_eq!(svg.matches(r#"class="resident covered""#).count(), 5);
        assert_eq!(svg.matches(r#"class="resident uncovered""#).count(), 5);
        assert_eq!(svg.matches(r#"class="reach""#).count(), 3);
        assert_eq!(svg.matches(r#"class="venue courtyard""#).count(), 2);
        assert_eq!(svg.matches(r#"class="venue other""#).count(), 1);
        assert_eq!(svg.matches(r#"class="site""#).count(), 2);
        assert_eq!(svg.matches(r#"class="site-reach""#).count(), 2);
        assert_eq!(svg.matches(r#"class="legend-entry""#).count(), 6);
        assert_eq!(svg.matches(r#"class="cell""#).count(), 0);
        // The document's <title> and the three venue tooltips.
        assert_eq!(names.iter().filter(|n| *n == "title").count(), 4);
    }

    #[test]
    fn names_and_title_are_escaped() {
        let svg = tiny_map();
        assert!(svg.contains("蔡家坝 &lt;小院&gt; &amp; &quot;讲堂&quot;"));
        assert!(svg.contains("玉带河 &apos;park&apos;"));
        assert!(svg.contains("昌元街道 coverage &lt;15 min&gt; 50% &amp; more"));
        assert!(!svg.contains("<小院>"));
        assert_eq!(escape("a\u{0}b\u{1b}c\nd"), "abc\nd");
    }

    #[test]
    fn view_box_fits_everything_drawn() {
        let svg = tiny_map();
        let view_box = svg
            .split("viewBox=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a viewBox");
        let v: Vec<f64> = view_box
            .split(' ')
            .map(|n| n.parse().expect("number"))
            .collect();
        // Drawn extent: latitudes 29.39 (a suggestion) to 29.43 (the other) = 0.04° =
        // 4447.80 m, plus a 923.08 m circle at each end: H = 6293.96 m. Longitudes 105.49 to
        // 105.52 = 0.03° × cos 29.41° (the middle latitude) × 111 195.08 m = 2905.91 m, plus
        // the circles: W = 4752.07 m. The longer side becomes 1000 units (scale 1000 ÷ H), with
        // 20 units of padding around the map, a 48-unit heading and an 84-unit legend.
        let h = 0.04 * METRES_PER_DEGREE + 2.0 * 923.08;
        let w = 0.03 * 29.41f64.to_radians().cos() * METRES_PER_DEGREE + 2.0 * 923.08;
        let scale = 1000.0 / h;
        assert_eq!(&v[..2], [0.0, 0.0]);
        assert!((v[2] - (w * scale + 40.0)).abs() < 0.1, "{view_box}");
        assert!(
            (v[3] - (1000.0 + 40.0 + 48.0 + 84.0)).abs() < 0.1,
            "{view_box}"
        );
        // Walking circles: 923.08 m × scale = 146.66 units, for 3 venues and 2 suggestions.
        let radius = format!("r=\"{:.1}\"", 923.08 * scale);
        assert_eq!(radius, "r=\"146.7\"");
        assert_eq!(svg.matches(&radius).count(), 5);
        // Every circle lies inside the view box.
        for piece in svg.split("<circle").skip(1) {
            let attr = |name: &str| -> f64 {
                piece
                    .split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .and_then(|n| n.parse().ok())
                    .expect("attribute")
            };
            let (cx, cy, r) = (attr("cx"), attr("cy"), attr("r"));
            assert!(cx - r >= 0.0 && cx + r <= v[2], "{piece}");
            assert!(cy - r >= 0.0 && cy + r <= v[3], "{piece}");
        }
    }

    /// 20 000 weighted residents over the whole district, three in four covered.
    fn district_grid() -> (Vec<ResidentPoint>, Vec<bool>) {
        let mut residents = Vec::new();
        let mut covered = Vec::new();
        for i in 0..200u32 {
            for j in 0..100u32 {
                residents.push(ResidentPoint {
                    at: at(
                        29.25 + 0.4 * f64::from(i) / 200.0,
                        105.30 + 0.45 * f64::from(j) / 100.0,
                    ),
                    weight: 1 + (i + j) % 3,
                });
                covered.push((i + j) % 4 != 0);
            }
        }
        (residents, covered)
    }

    fn district_map(residents: &[ResidentPoint], covered: &[bool]) -> String {
        render_coverage_map(&MapInput {
            title: "district",
            residents,
            covered,
            venues: &[],
            reach_m: 923.08,
            suggestions: &[],
        })
    }

    #[test]
    fn aggregated_output_is_deterministic() {
        // The cells are summed in a map before drawing; two renders of the same input must
        // give the same text (a map whose order depends on its instance would not).
        let (residents, covered) = district_grid();
        let first = district_map(&residents, &covered);
        assert!(first.contains(r#"class="cell""#));
        assert_eq!(first, district_map(&residents, &covered));
    }

    #[test]
    fn many_residents_are_drawn_as_cells_and_stay_small() {
        let (residents, covered) = district_grid();
        let svg = district_map(&residents, &covered);
        check_well_formed(&svg);
        assert_eq!(svg.matches("class=\"resident").count(), 0);
        let cells = svg.matches(r#"class="cell""#).count();
        assert!(cells > 1_000 && cells <= 121 * 121, "{cells}");
        assert!(svg.len() < 3_000_000, "{}", svg.len());
    }

    #[test]
    fn an_empty_map_is_still_a_valid_picture() {
        let svg = render_coverage_map(&MapInput {
            title: "nothing yet",
            residents: &[],
            covered: &[],
            venues: &[],
            reach_m: f64::NAN,
            suggestions: &[],
        });
        check_well_formed(&svg);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert_eq!(svg.matches(r#"class="reach""#).count(), 0);
    }
}
