//! Reading the files a district imports: the resident-points CSV behind
//! `tongxin import residents` and the `importResidentPoints` mutation. The circle service
//! ([`crate::service::circle::Circle::import_residents`]) stores what this reads.
//!
//! The file is read with the `csv` crate (quoting, CRLF and a byte-order mark handled there)
//! and each row deserialized with serde; the checks that no format knows (coordinates in
//! range, a unit path's shape) follow, and every broken row is reported by its line number.

use serde::Deserialize;
use tongxin_platform::geo::Coordinates;

use crate::domain::DomainError;

/// Broken rows named in the error; the rest are counted.
const SHOWN_BROKEN: usize = 20;

/// One row as written: `lat,lon,weight[,unit_path]`.
#[derive(Debug, Deserialize)]
struct Row {
    lat: f64,
    lon: f64,
    weight: u32,
    /// An empty cell or a missing column reads as none.
    #[serde(default)]
    unit_path: Option<String>,
}

/// Parses resident CSV with the header `lat,lon,weight[,unit_path]` (any case, cells trimmed);
/// blank lines are skipped. On any error returns every broken row (1-based line numbers) and
/// nothing else.
pub fn parse_residents_csv(
    csv: &str,
) -> Result<Vec<(Coordinates, u32, Option<String>)>, DomainError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        // Rows with the wrong number of cells are reported with the others, not as a
        // reader error that would stop at the first.
        .flexible(true)
        .from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| DomainError::invalid("csv", format!("unreadable header: {e}")))?
        .iter()
        .map(|c| c.trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    if header.is_empty() {
        return Err(DomainError::invalid("csv", "is empty"));
    }
    if header.len() < 3
        || header[0] != "lat"
        || header[1] != "lon"
        || header[2] != "weight"
        || header.get(3).is_some_and(|h| h != "unit_path")
    {
        return Err(DomainError::invalid(
            "csv",
            "the header must be lat,lon,weight or lat,lon,weight,unit_path",
        ));
    }
    let mut lines = Lines::new(csv);
    let mut rows = Vec::new();
    let mut broken = Vec::new();
    // One record reused for every row; bytes, since the text is already UTF-8 (a `&str`)
    // and serde reads the numbers from bytes as well.
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                broken.push(format!("line {line}: {e}"));
                // A record-level error leaves the reader at the next record; reading text
                // from memory has no other kind, but one would not move on.
                if e.is_io_error() {
                    break;
                }
                continue;
            }
        }
        // A line of spaces reads as one empty cell: blank, like an empty line.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        match parse_row(&record, header.len()) {
            Ok(row) => rows.push(row),
            Err(reason) => broken.push(format!("line {line}: {reason}")),
        }
    }
    if !broken.is_empty() {
        let shown: Vec<String> = broken.iter().take(SHOWN_BROKEN).cloned().collect();
        let more = if broken.len() > SHOWN_BROKEN {
            format!(" (and {} more)", broken.len() - SHOWN_BROKEN)
        } else {
            String::new()
        };
        return Err(DomainError::invalid(
            "csv",
            format!(
                "{} broken rows, nothing imported: {}{more}",
                broken.len(),
                shown.join("; ")
            ),
        ));
    }
    Ok(rows)
}

/// Line numbers as an editor shows them (blank lines count). The `csv` crate's own line
/// numbers skip blank lines and its byte positions may point at the line break before a
/// record, so the line is counted here from the byte position.
struct Lines<'a> {
    text: &'a [u8],
    /// Where counting got to, and the line there.
    at: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line of the record whose position is `byte` (positions only grow).
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start > self.at {
            let breaks = self.text[self.at..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += breaks as u64;
            self.at = start;
        }
        self.line
    }
}

fn parse_row(
    record: &csv::ByteRecord,
    columns: usize,
) -> Result<(Coordinates, u32, Option<String>), String> {
    if record.len() != columns {
        return Err(format!(
            "expected {columns} columns, found {}",
            record.len()
        ));
    }
    // By position (the header was checked above, whatever its case).
    let row: Row = record.deserialize(None).map_err(|e| {
        let field = match e.kind() {
            csv::ErrorKind::Deserialize { err, .. } => err.field(),
            _ => None,
        };
        match field {
            Some(0) => "lat is not a number",
            Some(1) => "lon is not a number",
            Some(2) => "weight must be a whole number ≥ 0",
            _ => "unreadable row",
        }
        .to_owned()
    })?;
    let at = Coordinates::parse(row.lat, row.lon).map_err(|e| e.to_string())?;
    let unit_path = match row.unit_path {
        Some(p) if !p.is_empty() => {
            if !p.starts_with('/') || p.len() > 1000 {
                return Err("unit_path must be a path like /rc/changyuan".to_owned());
            }
            Some(p)
        }
        _ => None,
    };
    Ok((at, row.weight, unit_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_reports_every_broken_row() {
        let csv =
            "lat,lon,weight\n29.4,105.6,3\n91,105.6,1\n29.4,abc,1\n29.4,105.6\n29.4,105.6,-2\n";
        let err = parse_residents_csv(csv).expect_err("broken");
        let text = err.to_string();
        for line in ["line 3", "line 4", "line 5", "line 6"] {
            assert!(text.contains(line), "{line} missing in {text}");
        }
        assert!(!text.contains("line 2"));
        assert!(text.contains("nothing imported"));
    }

    #[test]
    fn csv_with_unit_paths() {
        let rows = parse_residents_csv(
            "lat,lon,weight,unit_path\n29.4,105.6,3,/rc/changyuan\n29.41,105.61,2,\n",
        )
        .expect("ok");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].2.as_deref(), Some("/rc/changyuan"));
        assert_eq!(rows[1].2, None);
        assert!(parse_residents_csv("x,y\n").is_err());
        assert!(parse_residents_csv("").is_err());
    }

    #[test]
    fn csv_header_case_bom_crlf_blank_lines_and_quotes() {
        let csv = "\u{feff}LAT, Lon ,Weight,unit_path\r\n29.4,105.6,3,\"/rc/changyuan\"\r\n   \r\n\r\n29.41 , 105.61 , 2 ,\r\n";
        let rows = parse_residents_csv(csv).expect("ok");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].1, rows[0].2.as_deref()),
            (3, Some("/rc/changyuan"))
        );
        assert_eq!((rows[1].1, rows[1].2.as_deref()), (2, None));
        // Blank lines are skipped but counted: the broken row is on line 5.
        let err =
            parse_residents_csv("lat,lon,weight\r\n29.4,105.6,3\r\n\r\n  \r\n29.4,105.6,x\r\n")
                .expect_err("broken");
        let text = err.to_string();
        assert!(text.contains("1 broken rows"), "{text}");
        assert!(
            text.contains("line 5: weight must be a whole number"),
            "{text}"
        );
        let err = parse_residents_csv("lat,lon,weight,unit_path\n29.4,105.6,3,rc\n")
            .expect_err("a path without its slash");
        assert!(
            err.to_string().contains("line 2: unit_path must be a path"),
            "{err}"
        );
    }
}
