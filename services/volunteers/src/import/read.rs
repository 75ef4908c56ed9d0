//! Reading a register from CSV (UTF-8) or a spreadsheet (xlsx, xls, ods: the first sheet)
//! into raw text rows keyed by column.

use std::path::Path;

use calamine::{Data, DataType, Reader};

use super::RowError;

/// The columns the import knows, by every header spelling it accepts.
const HEADERS: &[(Column, &[&str])] = &[
    (Column::Name, &["姓名", "name"]),
    (Column::Gender, &["性别", "gender", "sex"]),
    (
        Column::BirthDate,
        &["出生日期", "birth_date", "birthdate", "date_of_birth"],
    ),
    (
        Column::IdCard,
        &[
            "身份证号",
            "身份证号码",
            "id_card_number",
            "id_card",
            "id_number",
        ],
    ),
    (
        Column::Phone,
        &["手机号", "手机号码", "联系电话", "phone", "mobile"],
    ),
    (Column::Unit, &["所属单位", "单位", "unit", "home_unit"]),
    (Column::Skills, &["技能", "专长", "skills"]),
    (
        Column::Availability,
        &["服务时间", "可服务时间", "availability"],
    ),
    (Column::Lon, &["经度", "lon", "lng", "longitude"]),
    (Column::Lat, &["纬度", "lat", "latitude"]),
];

/// A known column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// 姓名.
    Name,
    /// 性别.
    Gender,
    /// 出生日期.
    BirthDate,
    /// 身份证号.
    IdCard,
    /// 手机号.
    Phone,
    /// 所属单位.
    Unit,
    /// 技能.
    Skills,
    /// 服务时间.
    Availability,
    /// 经度.
    Lon,
    /// 纬度.
    Lat,
}

impl Column {
    /// The header to name in error messages.
    pub fn label(self) -> &'static str {
        match self {
            Column::Name => "姓名/name",
            Column::Gender => "性别/gender",
            Column::BirthDate => "出生日期/birth_date",
            Column::IdCard => "身份证号/id_card_number",
            Column::Phone => "手机号/phone",
            Column::Unit => "所属单位/unit",
            Column::Skills => "技能/skills",
            Column::Availability => "服务时间/availability",
            Column::Lon => "经度/lon",
            Column::Lat => "纬度/lat",
        }
    }
}

/// One data row as text, with its spreadsheet row number (the header is row 1).
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    /// Spreadsheet row number.
    pub line: usize,
    /// Cell text by column; absent or empty cells are absent.
    pub cells: Vec<(Column, String)>,
    /// Problems found while reading the cells (e.g. an ID number stored as a number).
    pub problems: Vec<RowError>,
}

impl RawRow {
    /// The text of `column`, if given.
    pub fn get(&self, column: Column) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| v.as_str())
    }
}

fn column_of(header: &str) -> Option<Column> {
    let h: String = header
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .map(|c| {
            if c == ' ' || c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    HEADERS
        .iter()
        .find(|(_, names)| names.contains(&h.as_str()))
        .map(|(c, _)| *c)
}

/// The columns of a header row; an error names what is missing.
fn columns(headers: &[String]) -> Result<Vec<Option<Column>>, String> {
    let cols: Vec<Option<Column>> = headers.iter().map(|h| column_of(h)).collect();
    let missing: Vec<&str> = [Column::Name, Column::IdCard, Column::Phone]
        .into_iter()
        .filter(|c| !cols.contains(&Some(*c)))
        .map(Column::label)
        .collect();
    if missing.is_empty() {
        Ok(cols)
    } else {
        Err(format!("missing columns: {}", missing.join(", ")))
    }
}

/// Reads `path`: `.csv` as UTF-8 CSV, `.xlsx`/`.xls`/`.ods` as a workbook's first sheet.
pub fn read_file(path: &Path) -> Result<Vec<RawRow>, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => {
            let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            read_csv(file)
        }
        "xlsx" | "xlsm" | "xls" | "ods" => read_workbook(path),
        _ => Err(format!("{}: expected a .csv or .xlsx file", path.display())),
    }
}

/// Reads CSV text (UTF-8, with or without a byte-order mark).
pub fn read_csv(input: impl std::io::Read) -> Result<Vec<RawRow>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("header row: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let cols = columns(&headers)?;
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.push(RawRow {
                    line,
                    cells: Vec::new(),
                    problems: vec![RowError {
                        row: line,
                        field: "row".to_owned(),
                        message: format!("unreadable: {e} (the file must be UTF-8 CSV)"),
                    }],
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cells = record
            .iter()
            .zip(&cols)
            .filter_map(|(v, c)| Some((((*c)?), v.to_owned())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        out.push(RawRow {
            line,
            cells,
            problems: Vec::new(),
        });
    }
    Ok(out)
}

fn read_workbook(path: &Path) -> Result<Vec<RawRow>, String> {
    let mut workbook =
        calamine::open_workbook_auto(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| format!("{}: the workbook has no sheet", path.display()))?
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return Ok(Vec::new());
    };
    let headers: Vec<String> = header.iter().map(|c| c.to_string()).collect();
    let cols = columns(&headers)?;
    let mut out = Vec::new();
    // `range.rows()` starts at the first used row; the header is row 1 for the user.
    let first = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    for (i, row) in rows.enumerate() {
        let line = first + i + 2;
        let mut raw = RawRow {
            line,
            ..Default::default()
        };
        for (cell, col) in row.iter().zip(&cols) {
            let Some(col) = *col else { continue };
            match cell_text(cell, col) {
                Ok(Some(text)) => raw.cells.push((col, text)),
                Ok(None) => {}
                Err(message) => raw.problems.push(RowError {
                    row: line,
                    field: col.label().to_owned(),
                    message,
                }),
            }
        }
        if raw.cells.is_empty() && raw.problems.is_empty() {
            continue;
        }
        out.push(raw);
    }
    Ok(out)
}

/// A cell as the text the validation reads. Numbers that are really identifiers (phones)
/// lose their `.0`; an ID-card number stored as a number has lost digits already and is
/// refused; dates become `YYYY-MM-DD`.
fn cell_text(cell: &Data, col: Column) -> Result<Option<String>, String> {
    let text = match cell {
        Data::Empty => return Ok(None),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if col == Column::IdCard {
                return Err(
                    "stored as a number, which loses digits; format the column as text".to_owned(),
                );
            }
            if matches!(col, Column::Lat | Column::Lon) || f.fract() != 0.0 {
                f.to_string()
            } else {
                format!("{f:.0}")
            }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(_) | Data::DateTimeIso(_) => match cell.as_date() {
            Some(d) => d.format("%Y-%m-%d").to_string(),
            None => cell.to_string(),
        },
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(format!("cell error {e:?}")),
    };
    Ok((!text.is_empty()).then_some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_either_language() {
        let csv = "\u{feff}Name,ID Card Number,phone,所属单位,技能\n张三,1,2,/rc,legal\n\n";
        let rows = read_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].get(Column::Name), Some("张三"));
        assert_eq!(rows[0].get(Column::Unit), Some("/rc"));
        assert_eq!(rows[0].get(Column::Lat), None);
        let err = read_csv("姓名,手机号\n".as_bytes()).unwrap_err();
        assert!(err.contains("身份证号"), "{err}");
    }

    #[test]
    fn numeric_cells() {
        assert_eq!(
            cell_text(&Data::Float(13812345678.0), Column::Phone).unwrap(),
            Some("13812345678".to_owned())
        );
        assert!(cell_text(&Data::Float(5.0e17), Column::IdCard).is_err());
        assert_eq!(
            cell_text(&Data::Float(105.5), Column::Lon).unwrap(),
            Some("105.5".to_owned())
        );
    }
}
