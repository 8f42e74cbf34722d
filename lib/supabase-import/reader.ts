// Streaming readers of an old Supabase / Lovable table: a plain-SQL pg_dump (COPY or INSERT form, with
// or without the `extensions.` schema in front of `vector`), a CSV export, or a live PostgreSQL
// database. Each yields the chosen table's columns, then its rows one at a time: a dump is read line by
// line and never held whole, so a dump of any size costs the memory of one row.
//
// Every problem is an UnprocessableError whose message names the line (or row) and the problem, so
// whoever exported the file can find it: a binary custom-format dump, a truncated dump, a dump of
// another table, a CSV row with the wrong number of fields.
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { createInterface } from "node:readline";
import pg from "pg";
import { UnprocessableError, ValidationError } from "../errors";
import { readOldTable } from "./queries";

export interface ExportColumn {
  name: string;
  /** The declared type (`extensions.vector(1536)`, `jsonb`, …); null when the format has none (CSV). */
  type: string | null;
}

export interface ExportTable {
  /** As the export names it: `public.wiki_chunks`, or the file name of a CSV. */
  name: string;
  columns: ExportColumn[];
  /** Line (dump, CSV) where the table's columns are declared. */
  line: number;
}

export interface ExportRow {
  /** Line of a dump or CSV where the row starts; the row number of a live table. */
  line: number;
  values: Array<string | null>;
}

export type ExportFormat = "sql" | "csv" | "postgres";

export interface OpenedExport {
  format: ExportFormat;
  table: ExportTable;
  rows: AsyncIterable<ExportRow>;
  /** Closes what is still open (a live connection, a file) when the caller stops early. */
  close(): Promise<void>;
}

/** The tables looked for when none is named. */
export const DEFAULT_TABLES = ["wiki_chunks", "documents"];

export function lineError(line: number, problem: string): UnprocessableError {
  return new UnprocessableError(`line ${line}: ${problem}`, { line, problem });
}

/** A file, an upload's body, or a live database. */
export type ExportInput = { path: string } | { stream: Readable; name?: string } | { url: string };

export async function openExport(input: ExportInput, opts: { table?: string } = {}): Promise<OpenedExport> {
  if ("url" in input) return openLiveTable(input.url, opts.table);
  const raw = "path" in input ? createReadStream(input.path, { highWaterMark: 1 << 20 }) : input.stream;
  const name = "path" in input ? input.path : (input.name ?? "upload");
  let { head, stream } = await peek(raw);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    // `pg_dump | gzip`: read through it.
    ({ head, stream } = await peek(stream.pipe(createGunzip())));
  }
  if (head.subarray(0, 5).toString("latin1") === "PGDMP") {
    stream.destroy();
    throw lineError(
      1,
      "this is a binary pg_dump archive (custom format, -Fc), not plain SQL. Export again with `pg_dump --format=plain --table=…`, " +
        "or turn it into SQL with `pg_restore --file=export.sql <archive>`.",
    );
  }
  if (head.length === 0) throw lineError(1, "the file is empty.");
  if (head.includes(0)) {
    stream.destroy();
    throw lineError(1, "this is a binary file, not a plain-SQL pg_dump or a CSV export.");
  }
  const text = head.toString("utf8").replace(/^\uFEFF/, "");
  const looksSql = /^\s*(--|SET\s|CREATE\s|COPY\s|INSERT\s|SELECT\s|\\restrict)/i.test(text) || /\.sql(\.gz)?$/i.test(name);
  const close = async () => {
    stream.destroy();
  };
  const opened = looksSql ? await readSqlDump(createInterface({ input: stream, crlfDelay: Infinity }), opts.table) : await readCsv(stream, name);
  return { ...opened, close };
}

/** The first bytes of a stream, and a stream that still yields everything. */
async function peek(stream: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
  const rest = Readable.from(
    (async function* () {
      if (head.length) yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield Buffer.from(n.value);
      }
    })(),
    { objectMode: false },
  );
  rest.on("close", () => stream.destroy());
  return { head, stream: rest };
}

// ---------------------------------------------------------------------------------------------------
// Plain-SQL pg_dump

const unquoteIdent = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s.toLowerCase());
/** `public."Wiki"` → ["public", "Wiki"]. */
function splitQualified(name: string): string[] {
  return (name.match(/"(?:[^"]|"")*"|[^.]+/g) ?? []).map(unquoteIdent);
}
function tableMatches(dumpName: string, wanted: string): boolean {
  const d = splitQualified(dumpName);
  const w = splitQualified(wanted);
  return w.length === 1 ? d[d.length - 1] === w[0] : d.join(".") === w.join(".");
}
const displayName = (dumpName: string) => splitQualified(dumpName).join(".");
const isVectorType = (t: string | null) => !!t && /(^|\.)"?(vector|halfvec)"?\s*(\(\d+\))?$/i.test(t.trim());

/** Column definitions of a CREATE TABLE line: `    embedding extensions.vector(1536),`. */
function parseColumnLine(line: string): ExportColumn | null {
  const t = line.trim().replace(/,$/, "");
  if (!t || /^(CONSTRAINT|PRIMARY\s+KEY|UNIQUE|CHECK|FOREIGN\s+KEY|EXCLUDE)\b/i.test(t)) return null;
  const m = /^("(?:[^"]|"")*"|[^\s]+)\s+(.*)$/.exec(t);
  if (!m) return null;
  const type = m[2].replace(/\s+(NOT\s+NULL|NULL|DEFAULT|PRIMARY|UNIQUE|COLLATE|GENERATED|CHECK|REFERENCES|CONSTRAINT)\b.*$/i, "").trim();
  return { name: unquoteIdent(m[1]), type };
}

function decodeCopyField(s: string): string | null {
  if (s === "\\N") return null;
  if (!s.includes("\\")) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== "\\" || i === s.length - 1) {
      out += ch;
      continue;
    }
    const n = s[++i];
    switch (n) {
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "n": out += "\n"; break;
      case "r": out += "\r"; break;
      case "t": out += "\t"; break;
      case "v": out += "\v"; break;
      case "x": {
        const hex = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1))?.[0] ?? "";
        out += hex ? String.fromCharCode(parseInt(hex, 16)) : "x";
        i += hex.length;
        break;
      }
      default:
        if (n >= "0" && n <= "7") {
          const oct = /^[0-7]{1,3}/.exec(s.slice(i))![0];
          out += String.fromCharCode(parseInt(oct, 8));
          i += oct.length - 1;
        } else out += n;
    }
  }
  return out;
}

/** Where a statement's text ends: the `;` outside quotes, or -1 when the statement goes on. */
function statementEnd(text: string, from = 0): number {
  let i = from;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "'") {
      const escaped = i > 0 && (text[i - 1] === "E" || text[i - 1] === "e") && !/[A-Za-z0-9_]/.test(text[i - 2] ?? "");
      i++;
      for (;;) {
        if (i >= text.length) return -1;
        if (escaped && text[i] === "\\") i += 2;
        else if (text[i] === "'") {
          if (text[i + 1] === "'") i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (ch === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) return -1;
      i = close + 1;
    } else if (ch === ";") return i;
    else i++;
  }
  return -1;
}

/** The value tuples of `INSERT INTO t [(cols)] VALUES (…), (…);`. */
function parseInsert(stmt: string, line: number): { table: string; columns: string[] | null; tuples: Array<Array<string | null>> } {
  const m = /^INSERT INTO\s+((?:"(?:[^"]|"")*"|[^\s(.]+)(?:\.(?:"(?:[^"]|"")*"|[^\s(]+))?)\s*(\(([^)]*)\))?\s*(OVERRIDING\s+\w+\s+VALUE\s+)?VALUES\s*/i.exec(stmt);
  if (!m) throw lineError(line, "an INSERT statement this reader does not understand (expected INSERT INTO table [(columns)] VALUES (…)).");
  const columns = m[3] !== undefined ? m[3].split(",").map((c) => unquoteIdent(c.trim())) : null;
  const tuples: Array<Array<string | null>> = [];
  let i = m[0].length;
  const s = stmt;
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  for (;;) {
    skipWs();
    if (s[i] !== "(") throw lineError(line, `malformed VALUES list near "${s.slice(i, i + 30)}".`);
    i++;
    const tuple: Array<string | null> = [];
    for (;;) {
      skipWs();
      let value: string | null;
      if (s[i] === "'" || ((s[i] === "E" || s[i] === "e") && s[i + 1] === "'")) {
        const escaped = s[i] !== "'";
        if (escaped) i++;
        i++;
        let out = "";
        for (;;) {
          if (i >= s.length) throw lineError(line, "a string in an INSERT statement is never closed.");
          const ch = s[i];
          if (escaped && ch === "\\") {
            out += decodeCopyField(s.slice(i, i + 2)) ?? "";
            i += 2;
          } else if (ch === "'") {
            if (s[i + 1] === "'") {
              out += "'";
              i += 2;
            } else {
              i++;
              break;
            }
          } else {
            out += ch;
            i++;
          }
        }
        value = out;
      } else {
        const start = i;
        let depth = 0;
        while (i < s.length && (depth > 0 || (s[i] !== "," && s[i] !== ")"))) {
          if (s[i] === "(" || s[i] === "[") depth++;
          if (s[i] === ")" || s[i] === "]") depth--;
          i++;
        }
        const raw = s.slice(start, i).trim();
        value = /^NULL$/i.test(raw) ? null : raw;
      }
      // A cast after the value (`'…'::jsonb`, `'[…]'::extensions.vector`): the text is what matters.
      if (s.startsWith("::", i)) {
        while (i < s.length && s[i] !== "," && s[i] !== ")") i++;
      }
      tuple.push(value);
      skipWs();
      if (s[i] === ",") {
        i++;
        continue;
      }
      if (s[i] === ")") {
        i++;
        break;
      }
      throw lineError(line, `malformed VALUES list near "${s.slice(i, i + 30)}".`);
    }
    tuples.push(tuple);
    skipWs();
    if (s[i] === ",") {
      i++;
      continue;
    }
    break;
  }
  return { table: m[1], columns, tuples };
}

type Lines = AsyncIterable<string>;

async function readSqlDump(lines: Lines, wanted?: string): Promise<{ format: "sql"; table: ExportTable; rows: AsyncIterable<ExportRow> }> {
  const it = lines[Symbol.asyncIterator]();
  let lineNo = 0;
  const next = async (): Promise<string | null> => {
    const n = await it.next();
    if (n.done) return null;
    lineNo++;
    return n.value;
  };
  const declared = new Map<string, ExportTable>(); // CREATE TABLE, by display name
  const seenData: Array<{ name: string; line: number }> = [];
  let isPgDump = false;
  let complete = false;
  let chosen: ExportTable | null = null;
  // Rows read while looking for the table (none: the table is chosen at its first data line).
  const isTarget = (dumpName: string): boolean => {
    const shown = displayName(dumpName);
    if (chosen) return chosen.name === shown;
    if (wanted) return tableMatches(dumpName, wanted);
    const decl = declared.get(shown);
    if (decl?.columns.some((c) => isVectorType(c.type))) return true;
    if (!decl) return DEFAULT_TABLES.some((t) => tableMatches(dumpName, t));
    return false;
  };
  const tableFor = (dumpName: string, line: number, columns: string[] | null): ExportTable => {
    const shown = displayName(dumpName);
    const decl = declared.get(shown);
    if (columns) {
      const types = new Map(decl?.columns.map((c) => [c.name, c.type]) ?? []);
      return { name: shown, columns: columns.map((c) => ({ name: c, type: types.get(c) ?? null })), line: decl?.line ?? line };
    }
    if (!decl) throw lineError(line, `rows of ${shown} without a column list, and the dump has no CREATE TABLE for it: export with --column-inserts.`);
    return decl;
  };

  // First pass up to the chosen table's first data line.
  let pending: { kind: "copy"; line: number } | { kind: "insert"; stmt: string; line: number } | null = null;
  for (;;) {
    const line = await next();
    if (line === null) break;
    if (/^-- PostgreSQL database dump\s*$/.test(line)) isPgDump = true;
    if (/^-- PostgreSQL database dump complete/.test(line)) complete = true;
    let m: RegExpExecArray | null;
    if ((m = /^CREATE (?:UNLOGGED )?TABLE (?:IF NOT EXISTS )?(\S+) \($/.exec(line))) {
      const start = lineNo;
      const columns: ExportColumn[] = [];
      for (;;) {
        const l = await next();
        if (l === null) throw lineError(start, `the dump ends inside the CREATE TABLE ${displayName(m[1])} begun here: the file is truncated.`);
        if (/^\)/.test(l)) break;
        const col = parseColumnLine(l);
        if (col) columns.push(col);
      }
      declared.set(displayName(m[1]), { name: displayName(m[1]), columns, line: start });
    } else if ((m = /^COPY (\S+)(?: \((.*)\))? FROM stdin;$/.exec(line))) {
      seenData.push({ name: displayName(m[1]), line: lineNo });
      if (isTarget(m[1])) {
        chosen = tableFor(m[1], lineNo, m[2] !== undefined ? m[2].split(", ").map(unquoteIdent) : null);
        pending = { kind: "copy", line: lineNo };
        break;
      }
      const start = lineNo;
      for (;;) {
        const l = await next();
        if (l === null) throw lineError(start, `the dump ends inside the data of ${displayName(m[1])} (COPY begun here): the file is truncated.`);
        if (l === "\\.") break;
      }
    } else if (/^INSERT INTO /i.test(line)) {
      const start = lineNo;
      let stmt = line;
      while (statementEnd(stmt) < 0) {
        const l = await next();
        if (l === null) throw lineError(start, "the dump ends inside the INSERT statement begun here: the file is truncated.");
        stmt += "\n" + l;
      }
      const name = /^INSERT INTO\s+(\S+?)(\s|\()/i.exec(stmt)?.[1] ?? "";
      seenData.push({ name: displayName(name), line: start });
      if (isTarget(name)) {
        pending = { kind: "insert", stmt, line: start };
        const parsed = parseInsert(stmt, start);
        chosen = tableFor(parsed.table, start, parsed.columns);
        break;
      }
    }
  }
  if (!chosen) {
    const tables = [...new Set([...declared.values()].map((t) => `${t.name} (line ${t.line})`))];
    const what = tables.length ? `it holds ${tables.join(", ")}` : seenData.length ? `it has rows of ${[...new Set(seenData.map((d) => d.name))].join(", ")}` : "it holds no table";
    if (wanted) throw lineError(lineNo, `the dump has no rows of a table ${wanted}: ${what}.`);
    throw lineError(
      lineNo,
      `the dump has no table with a vector column and none named ${DEFAULT_TABLES.join(" or ")}: ${what}. Name the table with --table.`,
    );
  }
  const table = chosen;

  async function* rows(): AsyncGenerator<ExportRow> {
    let first = pending;
    for (;;) {
      if (first?.kind === "copy") {
        const start = first.line;
        first = null;
        for (;;) {
          const l = await next();
          if (l === null) throw lineError(start, `the dump ends inside the data of ${table.name} (COPY begun here, last line read ${lineNo}): the file is truncated.`);
          if (l === "\\.") break;
          const fields = l.split("\t");
          if (fields.length !== table.columns.length) {
            throw lineError(lineNo, `a row of ${table.name} has ${fields.length} fields where the COPY names ${table.columns.length} columns: the line is cut short (a truncated or edited file?).`);
          }
          yield { line: lineNo, values: fields.map(decodeCopyField) };
        }
      } else if (first?.kind === "insert") {
        const { stmt, line } = first;
        first = null;
        const parsed = parseInsert(stmt, line);
        const order = parsed.columns;
        for (const t of parsed.tuples) {
          if (t.length !== (order ?? table.columns.map((c) => c.name)).length) {
            throw lineError(line, `an INSERT into ${table.name} has ${t.length} values where ${table.columns.length} columns are expected.`);
          }
          // Column-inserts may name the columns in another order than the first statement did.
          const values = order ? table.columns.map((c) => t[order.indexOf(c.name)] ?? null) : t;
          yield { line, values };
        }
      }
      const line = await next();
      if (line === null) break;
      if (/^-- PostgreSQL database dump complete/.test(line)) complete = true;
      let m: RegExpExecArray | null;
      if ((m = /^COPY (\S+)(?: \((.*)\))? FROM stdin;$/.exec(line))) {
        if (displayName(m[1]) === table.name) first = { kind: "copy", line: lineNo };
        else {
          const start = lineNo;
          for (;;) {
            const l = await next();
            if (l === null) throw lineError(start, `the dump ends inside the data of ${displayName(m[1])} (COPY begun here): the file is truncated.`);
            if (l === "\\.") break;
          }
        }
      } else if (/^INSERT INTO /i.test(line)) {
        const start = lineNo;
        let stmt = line;
        while (statementEnd(stmt) < 0) {
          const l = await next();
          if (l === null) throw lineError(start, "the dump ends inside the INSERT statement begun here: the file is truncated.");
          stmt += "\n" + l;
        }
        const name = /^INSERT INTO\s+(\S+?)(\s|\()/i.exec(stmt)?.[1] ?? "";
        if (displayName(name) === table.name) first = { kind: "insert", stmt, line: start };
      }
    }
    if (isPgDump && !complete) {
      throw lineError(lineNo, "the dump ends without pg_dump's closing line (\"-- PostgreSQL database dump complete\"): the file is truncated.");
    }
  }
  return { format: "sql", table, rows: rows() };
}

// ---------------------------------------------------------------------------------------------------
// CSV (RFC 4180; the first record names the columns)

async function readCsv(stream: Readable, name: string): Promise<{ format: "csv"; table: ExportTable; rows: AsyncIterable<ExportRow> }> {
  const records = csvRecords(stream);
  const it = records[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw lineError(1, "the CSV file is empty.");
  const header = first.value.fields.map((h) => h.trim());
  if (header.length < 2 || header.some((h) => h === "")) {
    throw lineError(1, `the first line must name the columns (content, metadata, embedding, …); it reads "${header.join(",").slice(0, 80)}".`);
  }
  const table: ExportTable = { name: name.replace(/^.*[\\/]/, ""), columns: header.map((h) => ({ name: h, type: null })), line: 1 };
  async function* rows(): AsyncGenerator<ExportRow> {
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      const r = n.value;
      if (r.fields.length === 1 && r.fields[0] === "") continue; // a blank line
      if (r.fields.length !== header.length) {
        throw lineError(r.line, `this record has ${r.fields.length} fields where the header names ${header.length}.`);
      }
      yield { line: r.line, values: r.fields };
    }
  }
  return { format: "csv", table, rows: rows() };
}

/** CSV records from a byte stream, with the line each starts on. */
async function* csvRecords(stream: Readable): AsyncGenerator<{ line: number; fields: string[] }> {
  let line = 1;
  let recordLine = 1;
  let fields: string[] = [];
  let field = "";
  let quoted = false; // inside a quoted field
  let quoteStart = 0;
  let afterQuote = false; // a quoted field closed; only a separator may follow
  let pendingQuote = false; // a `"` inside a quoted field, at the end of a chunk
  let bom = true;
  const decoder = new TextDecoder("utf-8");
  const flushRecord = () => {
    fields.push(field);
    const r = { line: recordLine, fields };
    fields = [];
    field = "";
    afterQuote = false;
    return r;
  };
  for await (const chunk of stream) {
    let text = decoder.decode(chunk as Buffer, { stream: true });
    if (bom) {
      text = text.replace(/^\uFEFF/, "");
      bom = false;
    }
    let i = 0;
    if (pendingQuote) {
      pendingQuote = false;
      if (text[0] === '"') {
        field += '"';
        i = 1;
      } else {
        quoted = false;
        afterQuote = true;
      }
    }
    const out: Array<{ line: number; fields: string[] }> = [];
    for (; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"') {
          if (i + 1 >= text.length) {
            pendingQuote = true;
          } else if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else {
            quoted = false;
            afterQuote = true;
          }
        } else {
          if (ch === "\n") line++;
          field += ch;
        }
        continue;
      }
      if (ch === ",") {
        fields.push(field);
        field = "";
        afterQuote = false;
      } else if (ch === "\n") {
        if (field.endsWith("\r")) field = field.slice(0, -1);
        out.push(flushRecord());
        line++;
        recordLine = line;
      } else if (ch === "\r") {
        if (!afterQuote) field += ch;
      } else if (ch === '"' && field === "" && !afterQuote) {
        quoted = true;
        quoteStart = line;
      } else {
        if (afterQuote) throw lineError(line, "text after a closing quote (a quote inside a quoted field must be doubled: \"\").");
        field += ch;
      }
    }
    for (const r of out) yield r;
  }
  if (pendingQuote) {
    quoted = false;
    afterQuote = true;
  }
  if (quoted) throw lineError(quoteStart, "a quoted field begun here is never closed: the file is truncated.");
  if (field !== "" || fields.length > 0) yield flushRecord();
}

// ---------------------------------------------------------------------------------------------------
// A live PostgreSQL database (read only, through a cursor: never the whole table at once)

async function openLiveTable(url: string, wanted?: string): Promise<OpenedExport> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new ValidationError(`--from ${url}: a database must be a postgres:// or postgresql:// URL.`);
  const client = new pg.Client({ connectionString: url, application_name: "sot import:supabase" });
  try {
    await client.connect();
  } catch (err) {
    throw new UnprocessableError(`Could not connect to ${redactUrl(url)}: ${(err as Error).message}`);
  }
  const close = async () => {
    await client.end().catch(() => {});
  };
  try {
    const candidates = wanted ? [wanted] : DEFAULT_TABLES;
    let found: { regclass: string; name: string; sql: string } | null = null;
    for (const c of candidates) {
      const { rows } = await client.query<{ oid: string; name: string; sql: string }>(
        `SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS name, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS sql
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
        [c],
      );
      if (rows[0]) {
        found = { regclass: rows[0].oid, name: rows[0].name, sql: rows[0].sql };
        break;
      }
    }
    if (!found) {
      const { rows } = await client.query<{ oid: string; t: string; sql: string }>(
        `SELECT DISTINCT c.oid::text AS oid, n.nspname || '.' || c.relname AS t, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS sql
         FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE ty.typname = 'vector' AND c.relkind = 'r' AND NOT a.attisdropped ORDER BY 2`,
      );
      if (!wanted && rows.length === 1) found = { regclass: rows[0].oid, name: rows[0].t, sql: rows[0].sql };
      else {
        throw new UnprocessableError(
          `The database has no table ${wanted ?? DEFAULT_TABLES.join(" or ")}${rows.length ? `; tables with a vector column: ${rows.map((r) => r.t).join(", ")}` : ""}. Name it with --table.`,
        );
      }
    }
    const cols = await client.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [found.regclass],
    );
    const table: ExportTable = { name: found.name, columns: cols.rows.map((c) => ({ name: c.name, type: c.type })), line: 0 };
    async function* rows(): AsyncGenerator<ExportRow> {
      let n = 0;
      try {
        for await (const values of readOldTable(client, table.columns.map((c) => c.name), found!.sql)) yield { line: ++n, values };
      } finally {
        await close();
      }
    }
    return { format: "postgres", table, rows: rows(), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A database URL without its password, for messages and reports. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(a database URL)";
  }
}
