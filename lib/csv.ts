// The one CSV reader/writer of the app (RFC 4180: quoted fields, "" escapes, CRLF or LF, newlines
// inside quotes). Every CSV export goes through `toCsv`, which also defuses spreadsheet formulas: a
// text cell starting with = + - @ tab or CR would be run by Excel, LibreOffice or Sheets as a formula
// (a wiki page or a question can say "=HYPERLINK(...)"), so it gets a leading apostrophe, which
// spreadsheets show as text. Cells that already start with apostrophes before such a character get
// one more, so `unescapeFormula` (used by CSV import) gives back exactly what was exported.
// The reader is hand-written because dataset import needs exact line numbers in its errors.

export interface CsvRow {
  /** 1-based line where the record starts. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM from spreadsheet exports
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new CsvSyntaxError(start, "a quoted field is never closed");
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === "\n") line++;
          value += ch;
          i++;
        }
        if (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          throw new CsvSyntaxError(line, "unexpected text after a closing quote");
        }
      } else {
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          if (text[i] === '"') throw new CsvSyntaxError(line, 'a quote inside an unquoted field (quote the whole field and double inner quotes)');
          value += text[i];
          i++;
        }
      }
      fields.push(value);
      if (text[i] === ",") {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === "\r") i++;
    if (text[i] === "\n") {
      i++;
      line++;
    }
    // Blank lines are not records.
    if (!(fields.length === 1 && fields[0] === "")) rows.push({ line: start, fields });
  }
  return rows;
}

/** A cell a spreadsheet would evaluate, possibly behind apostrophes added by an earlier escape. */
const FORMULA_START = /^'*[=+\-@\t\r]/;

/** Text for a CSV cell that no spreadsheet runs as a formula. */
export function escapeFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** The inverse of `escapeFormula`, for cells read back from a file this app exported. */
export function unescapeFormula(text: string): string {
  return /^'+[=+\-@\t\r]/.test(text) ? text.slice(1) : text;
}

export type CsvValue = string | number | boolean | null | undefined;

/** One quoted cell: text is formula-escaped; numbers and booleans are written as they are. */
export function csvCell(value: CsvValue): string {
  const text = value === null || value === undefined ? "" : typeof value === "string" ? escapeFormula(value) : String(value);
  return `"${text.replace(/"/g, '""')}"`;
}

/** A CSV file: a header row, then one row per record, CRLF line ends, every cell quoted. */
export function toCsv(header: string[], rows: CsvValue[][]): string {
  return [header.join(","), ...rows.map((r) => r.map(csvCell).join(","))].join("\r\n") + "\r\n";
}
