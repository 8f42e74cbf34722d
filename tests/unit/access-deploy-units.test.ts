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

/** The keys the units may use, per section: a misspelt key is an error here (systemd only warns). */
const KNOWN_KEYS: Record<string, string[]> = {
  Unit: ["Description", "After", "Wants", "Requires", "Documentation"],
  Service: [
    "Type", "User", "Group", "WorkingDirectory", "Environment", "EnvironmentFile", "ExecStart", "Restart", "RestartSec",
    "TimeoutStopSec", "KillSignal", "LimitNOFILE", "StandardOutput", "StandardError", "NoNewPrivileges", "PrivateTmp",
    "ProtectSystem", "ProtectHome", "ReadWritePaths", "MemoryMax",
  ],
  Install: ["WantedBy"],
};

/** A systemd unit as sections of key → value (comments and blank lines dropped; a repeated key is refused). */
function parseUnit(text: string, file: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> | null = null;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      if (out[head[1]!]) throw new Error(`${file}:${i + 1}: section [${head[1]}] twice`);
      section = out[head[1]!] = {};
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`${file}:${i + 1}: not a key=value line inside a section: ${line}`);
    if (kv[1]! in section) throw new Error(`${file}:${i + 1}: ${kv[1]} twice`);
    section[kv[1]!] = kv[2]!;
  }
  return out;
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

  it("systemd units parse, restart on failure and start their own entry point as the sot user", () => {
    const files = readdirSync(path.join(ROOT, "deploy/systemd")).filter((f) => f.endsWith(".service"));
    expect(files.sort()).toEqual(["sot-web.service", ...workers.map((w) => `sot-${w}.service`)].sort());
    for (const file of files) {
      const unit = parseUnit(readFileSync(path.join(ROOT, "deploy/systemd", file), "utf8"), file);
      expect(Object.keys(unit).sort(), file).toEqual(["Install", "Service", "Unit"]);
      for (const [section, keys] of Object.entries(unit)) {
        for (const key of Object.keys(keys)) expect(KNOWN_KEYS[section], `${file}: ${section}.${key}`).toContain(key);
      }
      expect(unit.Unit!.Description, file).toBeTruthy();
      expect(unit.Unit!.After, file).toContain("network-online.target");
      const service = unit.Service!;
      expect(service, file).toMatchObject({ Type: "simple", User: "sot", Group: "sot", WorkingDirectory: "/opt/sot", Restart: "on-failure" });
      expect(service.Environment, file).toMatch(/^SOT_ENV_FILE=\/etc\/sot\/.+\.env$/);
      const exec = /^\/bin\/bash \/opt\/sot\/deploy\/run-with-env\.sh (.+)$/.exec(service.ExecStart ?? "");
      expect(exec, `${file} ExecStart`).not.toBeNull();
      const role = file.replace(/^sot-/, "").replace(/\.service$/, "");
      expect(exec![1], file).toBe(role === "web" ? "start" : `tsx workers/${role}.ts`);
      expect(unit.Install, file).toEqual({ WantedBy: "multi-user.target" });
    }
    // systemd's own parser agrees (unknown keys and bad values are warnings on stderr).
    const verify = spawnSync("systemd-analyze", ["verify", "--man=no", ...files.map((f) => path.join(ROOT, "deploy/systemd", f))], { encoding: "utf8" });
    if (!verify.error) expect(verify.stderr.split("\n").filter((l) => l.includes("deploy/systemd"))).toEqual([]);
  });

  it("each launchd worker job starts its own worker", () => {
    for (const w of workers) {
      const [p] = readPlists([path.join(ROOT, `deploy/launchd/com.sot.worker.${w}.plist`)]);
      expect(p!.ProgramArguments.slice(-2), w).toEqual(["tsx", `workers/${w}.ts`]);
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
