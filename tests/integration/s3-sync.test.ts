import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, resetConfig } from "@/lib/config";
import { createImportJob, runImportJob } from "@/lib/ingest/import-jobs";
import { createS3Source } from "@/lib/ingest/s3";
import { Llm } from "@/lib/llm";
import { buildPdf } from "@/tests/fakes/documents";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { setDb } from "@/lib/db/client";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeCollection } from "@/tests/helpers/factories";

let db: TestDb;
let ollama: FakeOllama;
let llm: Llm;
let server: S3rver;
let dir: string;
let endpoint: string;
let s3: S3Client;
let mainCollection: string;
let hrCollection: string;
let sourceId: string;

const put = (key: string, body: string | Uint8Array) => s3.send(new PutObjectCommand({ Bucket: "wiki-docs", Key: key, Body: body }));
const sync = async () => runImportJob(db, (await createImportJob(db, { sourceId, kind: "s3_sync" })).id, { llm });
const live = async () =>
  (await db.prisma.document.findMany({ where: { sourceId, deletedAt: null }, orderBy: { externalId: "asc" }, select: { externalId: true, collectionId: true, title: true } }));

beforeAll(async () => {
  process.env.MASTER_KEYS = `s3test:${randomBytes(32).toString("base64")}`;
  // s3rver listens on loopback: the outbound guard refuses that unless the administrator allows it.
  process.env.OUTBOUND_ALLOW = "127.0.0.1";
  resetConfig();
  dir = await mkdtemp(path.join(tmpdir(), "s3rver-"));
  const s3rver = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir, configureBuckets: [{ name: "wiki-docs", configs: [] }] });
  const addr = await s3rver.run();
  server = s3rver;
  endpoint = `http://127.0.0.1:${addr.port}`;
  s3 = new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  ollama = await startFakeOllama();
  llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
  db = await createTestDb();
  setDb(db); // KES inside this process (the embedded default) keeps its keys in the test database
  mainCollection = (await makeCollection(db, { slug: "docs", name: "Docs" })).id;
  hrCollection = (await makeCollection(db, { slug: "hr", name: "HR", restricted: true })).id;
  sourceId = (
    await createS3Source(db, {
      collectionId: mainCollection,
      name: "Bucket",
      bucket: "wiki-docs",
      prefix: "wiki/",
      endpoint,
      region: "us-east-1",
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
      routes: [{ prefix: "wiki/hr/", collectionId: hrCollection }],
    })
  ).id;
});
afterAll(async () => {
  await server?.close();
  await ollama?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("S3 source against s3rver", () => {
  it("ingests the prefix, routes keys to collections, stores keys encrypted, skips other prefixes", async () => {
    await put("wiki/eng/deploy.md", "# Deploy\n\nShip with `shipit` on Tuesdays.");
    await put("wiki/eng/expenses.pdf", buildPdf([["Meals up to 45 EUR per day."]], "Expenses"));
    await put("wiki/hr/leave.txt", "Parental leave is 20 weeks.");
    await put("other/secret.md", "# Not mirrored");
    const job = await sync();
    expect(job).toMatchObject({ status: "succeeded", found: 3, done: 3, failed: 0, removed: 0 });
    expect(await live()).toEqual([
      { externalId: "wiki/eng/deploy.md", collectionId: mainCollection, title: "Deploy" },
      { externalId: "wiki/eng/expenses.pdf", collectionId: mainCollection, title: "Expenses" },
      { externalId: "wiki/hr/leave.txt", collectionId: hrCollection, title: "leave" },
    ]);
    const src = await db.prisma.source.findUniqueOrThrow({ where: { id: sourceId } });
    expect(src.secretCiphertext).not.toContain("S3RVER");
    expect(await db.prisma.s3Object.count({ where: { sourceId } })).toBe(3);
  });

  it("an unchanged bucket fetches nothing and embeds nothing", async () => {
    const batches = ollama.embedBatches.length;
    const job = await sync();
    expect(job).toMatchObject({ status: "succeeded", found: 3, unchanged: 3, done: 3, removed: 0 });
    expect(ollama.embedBatches.length).toBe(batches);
  });

  it("ingests changed objects, removes deleted ones, records an unsupported file as failed", async () => {
    await put("wiki/eng/deploy.md", "# Deploy\n\nShip with `shipit` on Wednesdays now.");
    await s3.send(new DeleteObjectCommand({ Bucket: "wiki-docs", Key: "wiki/hr/leave.txt" }));
    await put("wiki/eng/diagram.png", new Uint8Array([137, 80, 78, 71]));
    const job = await sync();
    expect(job).toMatchObject({ status: "succeeded", found: 3, unchanged: 1, failed: 1, removed: 1 });
    expect(job.failures).toEqual([expect.objectContaining({ externalId: "wiki/eng/diagram.png", error: expect.stringContaining("unsupported file type") })]);
    expect((await live()).map((d) => d.externalId)).toEqual(["wiki/eng/deploy.md", "wiki/eng/expenses.pdf"]);
    const chunk = await db.prisma.chunk.findFirstOrThrow({ where: { document: { externalId: "wiki/eng/deploy.md", sourceId } } });
    expect(chunk.text).toContain("Wednesdays");
    expect(await db.prisma.s3Object.findMany({ where: { sourceId }, orderBy: { key: "asc" }, select: { key: true } })).toEqual([
      { key: "wiki/eng/deploy.md" },
      { key: "wiki/eng/expenses.pdf" },
    ]);
  });
});
