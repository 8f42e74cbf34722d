// A multi-file upload is all or nothing even across a crash: the server is killed with SIGKILL while a
// request of ten files is being embedded, started again on the same database, and the same files are
// uploaded again — nothing of the cut request remained, the re-upload creates each file once, and a
// third upload reports every file unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let ollama: FakeOllama;
let db: TestDb;
let app: RunningApp | undefined;
let headers: Record<string, string>;
let collectionId: string;

const env = () => ({ OLLAMA_HOST: ollama.url, INGEST_EMBED_BATCH_SIZE: "2" });
const embedCalls = () => ollama.calls.filter((c) => c.path === "/api/embed").length;

/** Ten pages of several sections each: many embedding batches, so the request takes a while. */
function form(): FormData {
  const f = new FormData();
  for (let i = 0; i < 10; i++) {
    const sections = Array.from(
      { length: 4 },
      (_, s) => `## Section ${s}\n\n${Array.from({ length: 40 }, (_, w) => `page${i} section${s} word${w} procedure`).join(" ")}.`,
    );
    f.append("file", new Blob([`# Page ${i}\n\n${sections.join("\n\n")}\n`], { type: "text/markdown" }), `manual/page-${i}.md`);
  }
  return f;
}

async function upload() {
  const res = await fetch(`${app!.baseUrl}/api/import/upload?collectionId=${collectionId}`, { method: "POST", headers, body: form() });
  return { status: res.status, json: (await res.json()) as { sourceId: string; files: Array<{ file: string; status: string }> } };
}

beforeAll(async () => {
  // Every embedding call waits, so the request is still embedding when the server is killed.
  ollama = await startFakeOllama({ embedDelayMs: 300 });
  db = await createTestDb();
  app = await startApp({ db, env: env() });
  const admin = await makeUser(db, "admin");
  headers = (await makeApiKey(db, ["import"], { creator: admin })).headers;
  collectionId = (await db.prisma.collection.create({ data: { slug: "manual", name: "Manual" } })).id;
}, 600_000);

afterAll(async () => {
  await app?.stop();
  await ollama?.close();
  await db?.drop();
});

describe("an upload cut by SIGKILL", () => {
  it("leaves nothing half-written; uploading again creates each file once; a third upload changes nothing", async () => {
    const before = embedCalls();
    const request = upload().catch((err: Error) => ({ status: 0, error: err.message }));
    // Kill the server in the middle of the request: some batches embedded, more to come.
    for (let i = 0; embedCalls() < before + 3; i++) {
      if (i > 600) throw new Error("the upload never reached its third embedding call");
      await new Promise((r) => setTimeout(r, 25));
    }
    app!.process.kill("SIGKILL");
    expect((await request).status).toBe(0); // the connection died with the server
    await app!.stop();
    expect(await db.prisma.document.count({ where: { collectionId } })).toBe(0);
    expect(await db.prisma.chunk.count({ where: { collectionId } })).toBe(0);

    app = await startApp({ db, env: env() });
    const again = await upload();
    expect(again.status).toBe(200);
    expect(again.json.files.map((f) => f.status)).toEqual(Array(10).fill("created"));
    const third = await upload();
    expect(third.json.sourceId).toBe(again.json.sourceId);
    expect(third.json.files.map((f) => f.status)).toEqual(Array(10).fill("unchanged"));
    const docs = await db.prisma.document.findMany({ where: { collectionId }, select: { externalId: true } });
    expect(docs.map((d) => d.externalId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `manual/page-${i}.md`));
    expect(await db.prisma.source.count({ where: { collectionId, kind: "upload" } })).toBe(1);
  });
});
