// The data-access rule (CONTRIBUTING.md, "Data access"), kept by reading the source: Prisma's model API
// for plain reads and writes; raw SQL only through `db.sql`, written in a domain's `queries.ts` (or in
// lib/db, which implements the runner and migrations); `$queryRawUnsafe`/`$executeRawUnsafe` never with
// anything but a constant.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const SCANNED = ["lib", "app", "workers"];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (name === "generated" || name === "node_modules") continue;
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.tsx?$/.test(name)) out.push(full);
  }
  return out;
}

/** May hold raw SQL: a domain's queries module, and the database layer itself. */
const mayHoldSql = (rel: string) => /(^|\/)queries\.ts$/.test(rel) || rel.startsWith("lib/db/");

interface Violation {
  file: string;
  line: number;
  rule: string;
  text: string;
}

const RULES: Array<{ rule: string; pattern: RegExp; everywhere?: boolean; test?: (line: string) => boolean }> = [
  { rule: "Prisma raw SQL ($queryRaw/$executeRaw): use db.sql in the domain's queries.ts", pattern: /\$(queryRaw|executeRaw)(Unsafe)?\b/ },
  { rule: "db.sql used outside a queries.ts: move the statement into the domain's queries.ts", pattern: /\.sql(\.(query|exec)\(|`)/ },
  {
    rule: "a SQL statement passed to .query()/.exec() outside a queries.ts",
    pattern: /\.(query|exec)(<[^>]*>)?\(\s*[`"'](\s|\n)*(SELECT|INSERT|UPDATE|DELETE|WITH|SET|DECLARE|CLOSE|CREATE|DROP|ALTER|TRUNCATE|LOCK)\b/i,
  },
  { rule: "a tagged SQL statement (tx`…`/sql`…`) outside a queries.ts", pattern: /\b(tx|sql)(<[^>]*>)?`/ },
  {
    rule: "$queryRawUnsafe/$executeRawUnsafe with a non-constant: pass parameters, never text built at run time",
    pattern: /\$(queryRaw|executeRaw)Unsafe(<[^>]*>)?\(/,
    everywhere: true,
    test: (line) => !/\$(queryRaw|executeRaw)Unsafe(<[^>]*>)?\(\s*("[^"$]*"|'[^'$]*'|`[^`$]*`|[A-Z_][A-Z0-9_]*)\s*[,)]/.test(line),
  },
];

export function scan(files = SCANNED.flatMap((d) => sourceFiles(path.join(ROOT, d)))): Violation[] {
  const found: Violation[] = [];
  for (const full of files) {
    const rel = path.relative(ROOT, full).split(path.sep).join("/");
    const lines = readFileSync(full, "utf8").split("\n");
    lines.forEach((text, i) => {
      if (/^\s*(\/\/|\*)/.test(text)) return; // comments may name the APIs
      for (const r of RULES) {
        if (!r.everywhere && mayHoldSql(rel)) continue;
        if (r.pattern.test(text) && (!r.test || r.test(text))) found.push({ file: rel, line: i + 1, rule: r.rule, text: text.trim() });
      }
    });
  }
  return found;
}

/**
 * Files that still hold raw SQL from before the rule, each moving into its domain's queries.ts. The list
 * may only shrink: a file that no longer breaks the rule must leave it (the second test says so).
 */
const NOT_YET_MOVED = new Set<string>([
]);

describe("data-access rule", () => {
  const violations = scan();

  it("finds raw SQL only in queries.ts files and lib/db", () => {
    const fresh = violations.filter((v) => !NOT_YET_MOVED.has(v.file));
    expect(fresh.map((v) => `${v.file}:${v.line} ${v.rule}\n    ${v.text}`)).toEqual([]);
  });

  it("lists no file as not yet moved that already follows the rule", () => {
    const stillViolating = new Set(violations.map((v) => v.file));
    expect([...NOT_YET_MOVED].filter((f) => !stillViolating.has(f))).toEqual([]);
  });

  it("recognises each kind of violation (so a broken pattern cannot pass silently)", () => {
    const dir = path.join(ROOT, "tests", "unit");
    const probe = path.join(dir, "data-access-rule.test.ts");
    // The patterns, applied to lines written the forbidden ways:
    const lines = [
      "await db.prisma.$queryRaw`SELECT 1`;",
      "await db.sql.query(`SELECT 1`);",
      "await s.query(\"UPDATE backups SET x = 1\");",
      "await tx`SELECT 1`;",
      "await db.prisma.$queryRawUnsafe(`SELECT ${x}`);",
    ];
    for (const line of lines) expect(RULES.some((r) => r.pattern.test(line) && (!r.test || r.test(line))), line).toBe(true);
    expect(RULES[4].test!("await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(1)`);")).toBe(false);
    expect(RULES[4].test!("await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${KEY})`);")).toBe(true);
    expect(probe).toContain("data-access-rule");
  });
});
