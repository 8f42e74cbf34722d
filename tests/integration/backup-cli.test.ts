// The command-line scripts as an operator runs them (separate processes, settings from the
// environment): keys:rotate --init, backup, backup:verify, restore (and its refusals), keys:rotate (only
// with an approval of exactly its arguments).
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres, type Db } from "@/lib/db/client";
import { parseKeyList, ringFrom } from "@/lib/crypto/keys";
import { decideApproval, getApproval, requestCommandApproval } from "@/lib/approvals";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createDatabase, dropDatabases, dumpAll, migratedDb, seed, tempDir } from "@/tests/integration/backup-fixtures";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..", "..");
let source: Db;
let dir: Awaited<ReturnType<typeof tempDir>>;
let env: Record<string, string | undefined>;

async function cli(script: string, args: string[] = [], extra: Record<string, string | undefined> = {}): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, ["--import", "tsx", `scripts/${script}.ts`, ...args], { cwd: ROOT, env: { NODE_ENV: "production", ...env, ...extra } as NodeJS.ProcessEnv, timeout: 120_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

beforeAll(async () => {
  dir = await tempDir();
  source = await migratedDb();
  env = {
    PATH: process.env.PATH,
    DATABASE_URL: source.url,
    AUTH_SECRET: "x".repeat(40),
    DATA_DIR: path.join(dir.dir, "data"),
    MASTER_KEY_FILE: path.join(dir.dir, "keys"),
    BACKUP_DIR: path.join(dir.dir, "backups"),
    LOG_LEVEL: "error",
  };
});
afterAll(async () => {
  await source?.close();
  await dropDatabases();
  await dir?.cleanup();
});

describe("backup scripts", () => {
  it("init a key file, back up, verify, restore, refuse a non-empty target, rotate", async () => {
    const init = await cli("keys-rotate", ["--init", path.join(dir.dir, "keys")]);
    expect(init.code).toBe(0);
    expect(init.out).toMatch(/created .*keys \(mode 0600\) with master key k\d{8}-[0-9a-f]{6}/);
    const keyFile = await readFile(path.join(dir.dir, "keys"), "utf8");
    const ring = ringFrom(parseKeyList(keyFile, "file"), { kind: "file" });
    await seed(source, ring, { documents: 2, chunksPerDoc: 2 });

    const backup = await cli("backup");
    expect(backup.code).toBe(0);
    const snapshotId = /snapshot (\d{8}T\d{6}Z-[0-9a-f]{6})/.exec(backup.out)?.[1];
    expect(snapshotId).toBeDefined();
    expect(backup.out).not.toContain(keyFile.split("\n").at(-2)!.split(" ")[1]); // key material never printed
    // Reading the backup below asks KES for its payload key, and KES audits that in this database.
    const backedUp = await dumpAll(source);

    const verify = await cli("backup-verify", ["--snapshot", "latest"]);
    expect(verify.code).toBe(0);
    expect(verify.out).toContain(`snapshot ${snapshotId}`);
    expect(verify.out).toMatch(/chunks\s+4/);

    const url = await createDatabase("sot_bk_cli");
    const restore = await cli("restore", ["--snapshot", snapshotId!, "--target", url]);
    expect(restore.code).toBe(0);
    expect(restore.out).toMatch(/chunks\s+4/);
    const restored = await openPostgres(url, { poolSize: 1 });
    try {
      expect(await dumpAll(restored)).toEqual(backedUp);
    } finally {
      await restored.close();
    }
    const again = await cli("restore", ["--snapshot", snapshotId!, "--target", url]);
    expect(again.code).toBe(1);
    expect(again.out).toContain("error: The target database is not empty");
    const forced = await cli("restore", ["--snapshot", snapshotId!, "--target", url, "--force"]);
    expect(forced.code).toBe(1);
    expect(forced.out).toContain("error: Restoring over a database that holds data waits for approval");
    // Asked for and approved in the database about to be replaced, it runs once with that snapshot id.
    const target = await openPostgres(url, { poolSize: 2 });
    try {
      const [asker, approver] = [await accessOf(target, await makeUser(target, "admin")), await accessOf(target, await makeUser(target, "admin"))];
      const req = await requestCommandApproval(asker, { action: "backup.restore", args: { snapshotId: snapshotId! } });
      await decideApproval(approver, req.id, { decision: "approve", comment: "restore drill" });
      const approved = await cli("restore", ["--snapshot", snapshotId!, "--target", url, "--force", "--approval", req.id]);
      expect(approved.out).toMatch(/chunks\s+4/);
      expect(approved.code).toBe(0);
      // The restore replaced the approvals with the snapshot's: the request is gone, so it cannot run again.
      const replay = await cli("restore", ["--snapshot", snapshotId!, "--target", url, "--force", "--approval", req.id]);
      expect(replay.code).toBe(1);
      expect(replay.out).toContain(`Approval request ${req.id} was not found`);
    } finally {
      await target.close();
    }

    // A tampered object makes verify fail, naming it.
    const objects = (await readdir(path.join(dir.dir, "backups", "objects"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    const victim = path.join(objects[0].parentPath, objects[0].name);
    const original = await readFile(victim);
    const bad = Buffer.from(original);
    bad[bad.length - 1] ^= 1;
    await writeFile(victim, bad);
    const failed = await cli("backup-verify", ["--snapshot", snapshotId!]);
    expect(failed.code).toBe(1);
    expect(failed.out).toContain(`error: Object objects/${objects[0].name.slice(0, 2)}/${objects[0].name}`);
    await writeFile(victim, original);

    // Adding a master key waits for another admin's approval of exactly these arguments.
    const unapproved = await cli("keys-rotate", ["--backups"]);
    expect(unapproved.code).toBe(1);
    expect(unapproved.out).toContain("error: Adding a master key waits for approval");
    const [asker, approver] = [await accessOf(source, await makeUser(source, "admin")), await accessOf(source, await makeUser(source, "admin"))];
    const request = await requestCommandApproval(asker, { action: "key.rotate", args: { backups: true } });
    const early = await cli("keys-rotate", ["--backups", "--approval", request.id]);
    expect(early.code).toBe(1);
    expect(early.out).toContain("is pending, not approved");
    await decideApproval(approver, request.id, { decision: "approve", comment: "quarterly rotation" });
    const otherArgs = await cli("keys-rotate", ["--approval", request.id]);
    expect(otherArgs.code).toBe(1);
    expect(otherArgs.out).toContain("not the arguments that were approved");
    expect(await readFile(path.join(dir.dir, "keys"), "utf8")).toBe(keyFile); // nothing was added

    const rotate = await cli("keys-rotate", ["--backups", "--approval", request.id]);
    expect(rotate.out).toMatch(/re-wrapped 1 secrets in the database sources.secret_ciphertext: 1/);
    expect(rotate.code).toBe(0);
    expect(rotate.out).toMatch(/added master key k\d{8}-[0-9a-f]{6}/);
    // The snapshot is sealed by a KES data key: no master key wraps it, so there is nothing to re-wrap.
    expect(rotate.out).toMatch(/re-wrapped 0 backup objects and 0 manifests/);
    expect(await getApproval(approver, request.id)).toMatchObject({ status: "executed", executedBy: expect.stringMatching(/^cli:keys-rotate@/) });
    const twice = await cli("keys-rotate", ["--backups", "--approval", request.id]);
    expect(twice.code).toBe(1);
    expect(twice.out).toContain("already been carried out");
  }, 480_000); // a dozen tsx processes, two restores and a rotation; slow on a loaded machine
});
