//! CSV as finance opens it: RFC 4180 (CRLF line ends), every cell quoted, and no cell that a
//! spreadsheet can take for a formula. Following OWASP's guidance on CSV injection, a cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return (or their full-width forms, which
//! some spreadsheets also accept) gets a leading `'`, which makes it text. Every row of every
//! report goes through [`Rows::push`], so no cell can skip it.

use std::borrow::Cow;

use platform::{Result, ResultExt};

/// The characters a formula can start with.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

/// The cell as written: text that cannot start a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// Rows encoded into memory, a page at a time.
pub struct Rows(csv::Writer<Vec<u8>>);

impl Rows {
    pub fn new() -> Self {
        Self(
            csv::WriterBuilder::new()
                .has_headers(false)
                .quote_style(csv::QuoteStyle::Always)
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new()),
        )
    }

    pub fn push<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<()> {
        self.0.write_record(cells.into_iter().map(neutralise).map(|c| c.into_owned())).context("writing a CSV row")
    }

    pub fn into_bytes(self) -> Result<Vec<u8>> {
        self.0.into_inner().map_err(|e| e.into_error()).context("writing CSV")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: [&str; 16] = [
        "=1+2",
        "+SUM(A1:A2)",
        "-2+3",
        "@cmd",
        "\t=1",
        "\r=1",
        "=HYPERLINK(\"http://x\",\"y\")",
        "a,b",
        "say \"hi\"",
        "two\nlines",
        "crlf\r\nend",
        "ünïcödé ✓ 日本",
        "＝1+1",
        " =leading space stays text",
        "'already quoted",
        "",
    ];

    #[test]
    fn hostile_cells_read_back_as_text_and_none_starts_a_formula() {
        let mut rows = Rows::new();
        rows.push(HOSTILE).unwrap();
        let bytes = rows.into_bytes().unwrap();
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
        let read: Vec<String> = reader.records().next().unwrap().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(read.len(), HOSTILE.len());
        for (cell, original) in read.iter().zip(HOSTILE) {
            assert!(!cell.starts_with(FORMULA_STARTS), "{cell:?} starts a formula");
            assert_eq!(
                cell.strip_prefix('\'').filter(|_| original.starts_with(FORMULA_STARTS)).unwrap_or(cell),
                original
            );
        }
    }

    #[test]
    fn every_cell_is_quoted_and_rows_end_in_crlf() {
        let mut rows = Rows::new();
        rows.push(["a", "1"]).unwrap();
        assert_eq!(rows.into_bytes().unwrap(), b"\"a\",\"1\"\r\n");
    }
}
