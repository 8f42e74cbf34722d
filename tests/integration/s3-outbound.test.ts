// An S3 source's endpoint is an address someone typed: it goes through the outbound guard (saved,
// synced, and every connection the real @aws-sdk/client-s3 opens), and a failed sync reports what went
// wrong in the app's words, never what the far side said (no port-scan oracle).
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { resetConfig } from "@/lib/config";
import { outboundAgents, OutboundBlockedError } from "@/lib/http/outbound";
import { createImportJob, runImportJob } from "@/lib/ingest/import-jobs";
import { createS3Source } from "@/lib/ingest/s3";
import { setDb } from "@/lib/db/client";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeCollection } from "@/tests/helpers/factories";

const BANNER = "INTERNAL-BANNER-7f3a redis_version:7.2 secret-detail";

let db: TestDb;
let collectionId: string;
// A TCP listener that counts connections and answers like a non-S3 service (a banner, then closes).
let banner: TcpServer;
let bannerPort = 0;
let bannerConnections = 0;
const bannerSockets = new Set<import("node:net").Socket>();
// An HTTP server that answers like an S3 endpoint with errors whose messages must not be repeated.
let fakeS3: HttpServer;
let fakeS3Port = 0;
let fakeS3Answer: { status: number; body: string; type: string } = { status: 500, body: "", type: "text/plain" };

function setAllow(allow: string) {
  process.env.OUTBOUND_ALLOW = allow;
  resetConfig();
}

async function source(endpoint: string) {
  return (
    await createS3Source(db, { collectionId, name: "S3", bucket: "wiki-docs", prefix: "", endpoint, region: "us-east-1", accessKeyId: "AKIA", secretAccessKey: "secret", routes: [] })
  ).id;
}

async function syncErrors(sourceId: string): Promise<string> {
  const job = await createImportJob(db, { sourceId, kind: "s3_sync" });
  const view = await runImportJob(db, job.id).catch(async (err) => ({ failures: [], error: (err as Error).message }));
  const items = await db.prisma.importJobItem.findMany({ where: { jobId: job.id }, select: { error: true } });
  const stored = await db.prisma.importJob.findUniqueOrThrow({ where: { id: job.id } });
  const src = await db.prisma.source.findUniqueOrThrow({ where: { id: sourceId } });
  return [JSON.stringify(view), ...items.map((i) => i.error ?? ""), stored.error ?? "", src.lastError ?? ""].join("\n");
}

beforeAll(async () => {
  process.env.MASTER_KEYS = `s3guard:${randomBytes(32).toString("base64")}`;
  setAllow("");
  db = await createTestDb();
  setDb(db); // KES inside this process (the embedded default) keeps its keys in the test database
  collectionId = (await makeCollection(db, { slug: "s3-guard", name: "S3 guard" })).id;
  banner = createTcpServer((sock) => {
    bannerConnections++;
    bannerSockets.add(sock);
    sock.on("close", () => bannerSockets.delete(sock));
    sock.end(`${BANNER}\r\n`);
  });
  await new Promise<void>((r) => banner.listen(0, "127.0.0.1", () => r()));
  bannerPort = (banner.address() as { port: number }).port;
  fakeS3 = createHttpServer((_req, res) => {
    res.writeHead(fakeS3Answer.status, { "content-type": fakeS3Answer.type });
    res.end(fakeS3Answer.body);
  });
  await new Promise<void>((r) => fakeS3.listen(0, "127.0.0.1", () => r()));
  fakeS3Port = (fakeS3.address() as { port: number }).port;
});
afterAll(async () => {
  delete process.env.OUTBOUND_ALLOW;
  resetConfig();
  for (const sock of bannerSockets) sock.destroy();
  await new Promise((r) => banner?.close(r));
  fakeS3?.closeAllConnections();
  await new Promise((r) => fakeS3?.close(r));
  await db?.drop();
});
beforeEach(() => {
  bannerConnections = 0;
  setAllow("");
});

describe("S3 endpoints go through the outbound guard", () => {
  it("refuses loopback, link-local, private and localhost endpoints when the source is saved, naming the field", async () => {
    for (const endpoint of [`http://127.0.0.1:${bannerPort}`, "http://169.254.169.254", "http://10.1.2.3:9000", `http://localhost:${bannerPort}`, "http://[::1]:9000"]) {
      const err = await source(endpoint).catch((e) => e);
      expect(err, endpoint).toBeInstanceOf(OutboundBlockedError);
      expect(err.status).toBe(400);
      expect(err.details).toEqual([{ path: "endpoint", message: expect.stringMatching(/private, loopback or link-local/) }]);
    }
    expect(bannerConnections).toBe(0);
    expect(await db.prisma.source.count({ where: { kind: "s3" } })).toBe(0);
  });

  it("refuses AWS itself (no endpoint) unless public addresses or its names are allowed, and a bad region", async () => {
    const aws = await createS3Source(db, { collectionId, name: "AWS", bucket: "b-aws", prefix: "", region: "us-east-1", accessKeyId: "a", secretAccessKey: "b", routes: [] }).catch((e) => e);
    expect(aws).toMatchObject({ status: 400, details: [{ path: "region" }] });
    const region = await createS3Source(db, { collectionId, name: "AWS", bucket: "b-aws", prefix: "", region: "x.evil.example/", accessKeyId: "a", secretAccessKey: "b", routes: [] }).catch((e) => e);
    expect(region).toMatchObject({ status: 400, details: [{ path: "region", message: expect.stringMatching(/letters, digits and dashes/) }] });
    const creds = await source(`http://user:pw@127.0.0.1:${bannerPort}`).catch((e) => e);
    expect(creds).toMatchObject({ status: 400, details: [{ path: "endpoint", message: "contains credentials" }] });
  });

  it("a source saved while allowed is refused at sync once the allow list no longer has it, and nothing connects", async () => {
    setAllow("127.0.0.1");
    const id = await source(`http://127.0.0.1:${bannerPort}`);
    setAllow("");
    const errors = await syncErrors(id);
    expect(errors).toMatch(/is not an allowed target/);
    expect(bannerConnections).toBe(0);
  });

  it("the real S3 client refuses at connect time: a name resolving to loopback, and a literal address", async () => {
    const publicOnly = { allow: [], allowPublic: true };
    for (const endpoint of [`http://localhost:${bannerPort}`, `http://127.0.0.1:${bannerPort}`]) {
      const client = new S3Client({
        region: "us-east-1",
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: "a", secretAccessKey: "b" },
        maxAttempts: 1,
        requestHandler: { ...(await outboundAgents(publicOnly)) },
      });
      const err = await client.send(new ListBucketsCommand({})).catch((e) => e);
      client.destroy();
      expect(err, endpoint).toBeInstanceOf(OutboundBlockedError);
    }
    expect(bannerConnections).toBe(0);
  });
});

describe("a failed S3 sync does not repeat what the far side said", () => {
  it("a service that is not S3 (a banner on an allowed port): the host and 'could not connect', no banner", async () => {
    setAllow("127.0.0.1");
    const errors = await syncErrors(await source(`http://127.0.0.1:${bannerPort}`));
    expect(bannerConnections).toBeGreaterThan(0);
    expect(errors).toMatch(new RegExp(`could not connect to 127\\.0\\.0\\.1:${bannerPort}`));
    expect(errors).not.toMatch(/INTERNAL-BANNER|redis_version|secret-detail|Parse Error|HPE_/);
  });

  it("a closed port reads the same as a port that answered garbage: no ECONNREFUSED, no errno", async () => {
    setAllow("127.0.0.1");
    const closed = createTcpServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const errors = await syncErrors(await source(`http://127.0.0.1:${port}`));
    expect(errors).toMatch(new RegExp(`could not connect to 127\\.0\\.0\\.1:${port}`));
    expect(errors).not.toMatch(/ECONNREFUSED|connect E[A-Z]+|errno/i);
  });

  it("an S3 error names the problem in the app's words, an unknown answer only its status", async () => {
    setAllow("127.0.0.1");
    const id = await source(`http://127.0.0.1:${fakeS3Port}`);
    fakeS3Answer = {
      status: 404,
      type: "application/xml",
      body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>${BANNER}</Message><BucketName>wiki-docs</BucketName></Error>`,
    };
    let errors = await syncErrors(id);
    expect(errors).toMatch(/the bucket does not exist \(HTTP 404\)/);
    expect(errors).not.toMatch(/INTERNAL-BANNER|secret-detail/);

    fakeS3Answer = { status: 403, type: "text/html", body: `<html><body>${BANNER}</body></html>` };
    errors = await syncErrors(id);
    expect(errors).toMatch(new RegExp(`S3 endpoint 127\\.0\\.0\\.1:${fakeS3Port} refused the request \\(HTTP 403\\)`));
    expect(errors).not.toMatch(/INTERNAL-BANNER|secret-detail|<html>/);
  });
});
