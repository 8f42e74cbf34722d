// prisma/schema.prisma and the migrated database must agree: every model is a table, every scalar field
// a column of a compatible type and nullability, and every column of those tables is known to the schema.
// (Migrations are hand-written SQL, so this is what keeps the two from drifting apart.)
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

interface Field {
  name: string;
  column: string;
  type: string;
  list: boolean;
  optional: boolean;
  nativeType?: string;
}
interface Model {
  name: string;
  table: string;
  fields: Field[];
}

export function parseSchema(text: string): { models: Model[]; enums: Set<string> } {
  const src = text.replace(/\/\/.*$/gm, "");
  const enums = new Set([...src.matchAll(/^enum\s+(\w+)\s*\{/gm)].map((m) => m[1]!));
  const blocks = [...src.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  const modelNames = new Set(blocks.map((b) => b[1]!));
  const models = blocks.map(([, name, body]) => {
    const table = /@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? name!;
    const fields: Field[] = [];
    for (const raw of body!.split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("@@")) continue;
      const m = /^(\w+)\s+(Unsupported\("[^"]+"\)|\w+)(\[\])?(\?)?(.*)$/.exec(line);
      if (!m) continue;
      const [, fname, type, list, optional, rest] = m;
      if (modelNames.has(type!)) continue; // relation field: no column
      fields.push({
        name: fname!,
        column: /@map\("([^"]+)"\)/.exec(rest!)?.[1] ?? fname!,
        type: type!,
        list: !!list,
        optional: !!optional,
        nativeType: /@db\.(\w+)/.exec(rest!)?.[1],
      });
    }
    return { name: name!, table, fields };
  });
  return { models, enums };
}

/** information_schema's udt_name values a Prisma scalar type may map to. */
function compatibleUdts(f: Field, enums: Set<string>): string[] {
  const base: Record<string, string[]> = {
    String: f.nativeType === "Uuid" ? ["uuid"] : ["text", "varchar", "bpchar", "citext"],
    Int: ["int4", "int2"],
    BigInt: ["int8"],
    Float: ["float8", "float4"],
    Decimal: ["numeric"],
    Boolean: ["bool"],
    DateTime: f.nativeType === "Timestamp" ? ["timestamp"] : f.nativeType === "Date" ? ["date"] : ["timestamptz", "timestamp"],
    Json: ["jsonb", "json"],
    Bytes: ["bytea"],
  };
  let udts: string[];
  const unsupported = /^Unsupported\("(\w+)/.exec(f.type);
  if (unsupported) udts = [unsupported[1]!];
  else if (enums.has(f.type)) udts = [f.type];
  else udts = base[f.type] ?? [`<unknown Prisma type ${f.type}>`];
  return f.list ? udts.map((u) => `_${u}`) : udts;
}

describe("schema.prisma matches the migrated database", () => {
  let db: TestDb;
  let columns: Map<string, Map<string, { udt: string; nullable: boolean; generated: boolean }>>;
  const schema = parseSchema(readFileSync(path.join(import.meta.dirname, "..", "..", "prisma", "schema.prisma"), "utf8"));

  beforeAll(async () => {
    db = await createTestDb();
    const rows = await db.sql.query<{ table_name: string; column_name: string; udt_name: string; is_nullable: string; is_generated: string }>(
      `SELECT table_name, column_name, udt_name, is_nullable, is_generated FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    columns = new Map();
    for (const r of rows) {
      if (!columns.has(r.table_name)) columns.set(r.table_name, new Map());
      columns.get(r.table_name)!.set(r.column_name, { udt: r.udt_name, nullable: r.is_nullable === "YES", generated: r.is_generated === "ALWAYS" });
    }
  });
  afterAll(() => db?.drop());

  it("parses the schema (sanity check of this test itself)", () => {
    const chunk = schema.models.find((m) => m.name === "Chunk")!;
    expect(chunk.table).toBe("chunks");
    expect(chunk.fields.find((f) => f.name === "embedding")).toMatchObject({ type: 'Unsupported("vector(768)")', optional: true });
    expect(chunk.fields.find((f) => f.name === "headingPath")).toMatchObject({ column: "heading_path", list: true });
    expect(chunk.fields.some((f) => f.name === "document")).toBe(false);
  });

  it("every model is a table and every field a column of a compatible type and nullability", () => {
    const problems: string[] = [];
    for (const model of schema.models) {
      const table = columns.get(model.table);
      if (!table) {
        problems.push(`model ${model.name}: table ${model.table} does not exist`);
        continue;
      }
      for (const f of model.fields) {
        const col = table.get(f.column);
        if (!col) {
          problems.push(`${model.name}.${f.name}: column ${model.table}.${f.column} does not exist`);
          continue;
        }
        const ok = compatibleUdts(f, schema.enums);
        if (!ok.includes(col.udt)) problems.push(`${model.name}.${f.name}: column type ${col.udt}, schema wants ${ok.join(" or ")}`);
        const schemaNullable = f.optional;
        if (!f.list && schemaNullable !== col.nullable) {
          problems.push(`${model.name}.${f.name}: column is ${col.nullable ? "NULL" : "NOT NULL"}, schema says ${schemaNullable ? "optional" : "required"}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("every column of a modelled table is in the schema", () => {
    const problems: string[] = [];
    for (const model of schema.models) {
      const known = new Set(model.fields.map((f) => f.column));
      for (const [col] of columns.get(model.table) ?? []) {
        if (!known.has(col)) problems.push(`${model.table}.${col} is not in model ${model.name}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
