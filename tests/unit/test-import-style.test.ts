// One import style in tests: project files (lib/, app/, components/, tests/) through the `@/` alias,
// never by relative path, so a file reads the same wherever it sits and moves without edits.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === "node_modules" ? [] : files(full);
    return /\.tsx?$/.test(name) ? [full] : [];
  });
}

/** An import or re-export statement, or a dynamic import, of a relative path. */
const RELATIVE = /^\s*(import|export)\s[^"']*["']\.\.?\/|\bimport\(\s*["']\.\.?\//;

describe("test files", () => {
  it("import project files through the @/ alias", () => {
    const found = files(path.join(ROOT, "tests"))
      .filter((f) => f !== __filename) // this file spells the forbidden forms out
      .flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .flatMap((line, i) => (RELATIVE.test(line) ? [`${path.relative(ROOT, f)}:${i + 1} ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });

  it("the check sees a relative import", () => {
    expect(RELATIVE.test('import { x } from "../helpers/db";')).toBe(true);
    expect(RELATIVE.test('const m = await import("./fixtures");')).toBe(true);
    expect(RELATIVE.test('export { x } from "../helpers/db";')).toBe(true);
    expect(RELATIVE.test('import { x } from "@/tests/helpers/db";')).toBe(false);
  });
});
