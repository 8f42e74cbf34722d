// Admin → Backups on the built app (real server, PostgreSQL, Chromium): the API's permissions and
// input checks, then an admin starting a backup on the page and finding it in the history; the
// snapshot it wrote verifies through KES (on the app's database and master key).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FolderTarget, verifySnapshot } from "@/lib/backup";
import { kesFor } from "@/lib/backup/naming";
import { openPayloadKeys } from "@/lib/backup/payload-keys";
import { generateMasterKey, ringFrom } from "@/lib/crypto/keys";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, signIn } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";

const key = generateMasterKey();
let app: RunningApp;
let browser: Browser;
let backupDir: string;

beforeAll(async () => {
  backupDir = await mkdtemp(path.join(tmpdir(), "sot-e2e-backups-"));
  app = await startApp({ env: { MASTER_KEYS: `${key.id}:${key.key.toString("base64")}`, BACKUP_DIR: backupDir } });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  if (backupDir) await rm(backupDir, { recursive: true, force: true });
});

describe("backups API", () => {
  it("needs an admin, and names bad input", async () => {
    expect((await fetch(`${app.baseUrl}/api/backups`)).status).toBe(401);
    const ask = await makeApiKey(app.db!, ["ask"]);
    expect((await fetch(`${app.baseUrl}/api/backups`, { method: "POST", headers: { ...ask.headers, "content-type": "application/json" }, body: "{}" })).status).toBe(403);
    const admin = await makeApiKey(app.db!, ["admin"]);
    const bad = await fetch(`${app.baseUrl}/api/backups/not-an-id`, { headers: admin.headers });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("must be a backup id");
    expect((await fetch(`${app.baseUrl}/api/backups/00000000-0000-4000-8000-000000000000`, { headers: admin.headers })).status).toBe(404);
    const extra = await fetch(`${app.baseUrl}/api/backups`, { method: "POST", headers: { ...admin.headers, "content-type": "application/json" }, body: '{"target":"x"}' });
    expect(extra.status).toBe(400);
  });
});

describe("Admin → Backups page", () => {
  it("starts a backup, shows it succeed in the history, and the snapshot verifies", async () => {
    const user = await makeUser(app.db!, "admin");
    const page = await browser.newPage();
    try {
      await signIn(page, app.baseUrl, user);
      await page.goto(`${app.baseUrl}/admin/backups`);
      expect(await page.getByTestId("backup-target").textContent()).toContain(backupDir);
      await page.getByText("No backups yet.").waitFor();
      await page.getByRole("button", { name: "Back up now" }).click();
      const row = page.getByTestId("backup-history").locator("tbody tr").first();
      await row.getByText("succeeded").waitFor({ timeout: 60_000 });
      const snapshotId = (await row.locator("td").nth(2).textContent())!.trim();
      expect(snapshotId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      expect(await row.locator("td").last().textContent()).toBe("manual");

      // Sealed under a data key of KES key "backups" (KES inside the app on the embedded default, on the
      // app's database and master key): opened through KES, as `npm run backup:verify` does.
      const target = new FolderTarget(backupDir);
      const kes = await kesFor(app.db!, ringFrom([key], { kind: "env" }));
      const v = await verifySnapshot({ target, ring: await openPayloadKeys(target, kes, null), snapshotId });
      expect(v.tables.find((t) => t.name === "users")?.rows).toBeGreaterThanOrEqual(1);
    } finally {
      await page.close();
    }
  });
});
