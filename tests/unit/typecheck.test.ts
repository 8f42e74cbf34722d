// The whole project — app, lib, workers, scripts, tests — type-checks in strict mode. (next build
// compiles without checking types, so this is where type errors fail the suite.)
import { spawnSync } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";

it("tsc --noEmit passes for the whole project", () => {
  const root = path.resolve(import.meta.dirname, "..", "..");
  const res = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "tsconfig.json"], {
    cwd: root,
    encoding: "utf8",
    timeout: 300_000,
  });
  expect(res.stdout + res.stderr).toBe("");
  expect(res.status).toBe(0);
}, 300_000);
