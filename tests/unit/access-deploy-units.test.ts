// The service definitions in deploy/: every worker entry point has a launchd job and a systemd unit,
// each restarts on failure, writes logs somewhere, and starts a file that exists.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const workers = readdirSync(path.join(ROOT, "workers")).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""));

/** Parsed with Python's plistlib (one process for all): property lists launchd would accept structurally. */
function readPlists(files: string[]): Array<Record<string, any>> {
  const code = "import json,plistlib,sys; print(json.dumps([plistlib.load(open(f,'rb')) for f in sys.argv[1:]]))";
  const res = spawnSync("python3", ["-c", code, ...files], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`a property list is not valid: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

describe("service definitions", () => {
  it("has a launchd job and a systemd unit for the web app and every worker", () => {
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) {
      expect(existsSync(path.join(ROOT, `deploy/launchd/com.sot.worker.${w}.plist`)), `launchd job for workers/${w}.ts`).toBe(true);
      expect(existsSync(path.join(ROOT, `deploy/systemd/sot-${w}.service`)), `systemd unit for workers/${w}.ts`).toBe(true);
    }
    expect(existsSync(path.join(ROOT, "deploy/launchd/com.sot.web.plist"))).toBe(true);
    expect(existsSync(path.join(ROOT, "deploy/systemd/sot-web.service"))).toBe(true);
  });

  it("launchd jobs restart on failure, log to files and run an existing entry point", () => {
    const files = readdirSync(path.join(ROOT, "deploy/launchd")).filter((f) => f.endsWith(".plist"));
    const plists = readPlists(files.map((f) => path.join(ROOT, "deploy/launchd", f)));
    for (const [i, file] of files.entries()) {
      const p = plists[i]!;
      expect(p.Label, file).toBe(file.replace(/\.plist$/, ""));
      expect(p.KeepAlive, file).toEqual({ SuccessfulExit: false });
      expect(p.RunAtLoad, file).toBe(true);
      expect(p.StandardOutPath, file).toMatch(/\.log$/);
      expect(p.StandardErrorPath, file).toMatch(/\.log$/);
      const args: string[] = p.ProgramArguments;
      if (args[1]?.endsWith("run-with-env.sh")) {
        expect(existsSync(path.join(ROOT, "deploy/run-with-env.sh"))).toBe(true);
        const entry = args[2] === "start" ? "scripts/serve.ts" : args[3]!;
        expect(existsSync(path.join(ROOT, entry)), `${file} starts ${entry}`).toBe(true);
      }
    }
  });

  it("systemd units restart on failure and start an existing entry point", () => {
    for (const file of readdirSync(path.join(ROOT, "deploy/systemd")).filter((f) => f.endsWith(".service"))) {
      const text = readFileSync(path.join(ROOT, "deploy/systemd", file), "utf8");
      expect(text, file).toMatch(/^Restart=on-failure$/m);
      expect(text, file).toMatch(/^WantedBy=multi-user\.target$/m);
      const exec = /^ExecStart=\/bin\/bash \/opt\/sot\/deploy\/run-with-env\.sh (.+)$/m.exec(text);
      expect(exec, file).not.toBeNull();
      const entry = exec![1] === "start" ? "scripts/serve.ts" : exec![1]!.split(" ")[1]!;
      expect(existsSync(path.join(ROOT, entry)), `${file} starts ${entry}`).toBe(true);
    }
  });

  it("the launcher loads the settings file and hands over to scripts/run.sh", () => {
    const dir = path.join(ROOT, "deploy");
    const env = path.join("/tmp", `sot-env-${process.pid}`);
    writeFileSync(env, "SOT_TEST_MARKER=from-env-file\n");
    // `run.sh printenv` runs any command with the project's Node: the marker must arrive.
    const res = spawnSync("bash", [path.join(dir, "run-with-env.sh"), "printenv", "SOT_TEST_MARKER"], { encoding: "utf8", env: { ...process.env, SOT_ENV_FILE: env }, timeout: 120_000 });
    rmSync(env, { force: true });
    expect(res.stdout.trim().split("\n").pop()).toBe("from-env-file");
  });
});
