// The hardening instances against the real server over real HTTP: redirect targets stay on the site;
// setup and sign-in do argon2 work only where they must (read from the server's own metrics); hostile
// uploads — a zip bomb DOCX, a PDF that takes long to read, a 1 GB body, malformed multipart — each
// get a clear 4xx while a concurrent /api/health keeps answering.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, type TestUser } from "@/tests/helpers/auth";
import { metricValue, signInOverHttp } from "@/tests/helpers/http-session";
import { buildPdf } from "@/tests/fakes/documents";
import { buildSlowPdf, buildZipBombDocx, endlessMultipart } from "@/tests/fakes/hostile";

const METRICS_TOKEN = "metrics-token-for-hardening-0123456789";
const UPLOAD_MAX = 5_000_000;

let app: RunningApp;
let admin: TestUser;
let importKey: { headers: Record<string, string> };
let collectionId = "";

beforeAll(async () => {
  app = await startApp({
    env: {
      METRICS_TOKEN,
      INGEST_UPLOAD_MAX_BYTES: String(UPLOAD_MAX),
      INGEST_ZIP_MAX_UNPACKED_BYTES: "50000000",
      INGEST_PDF_TIMEOUT_MS: "1500",
      RATE_LIMIT_BURST: "10000",
      RATE_LIMIT_ANONYMOUS_BURST: "10000",
    },
  });
  const db = app.db!;
  admin = await makeUser(db, "admin");
  importKey = await makeApiKey(db, ["import", "ask"], { creator: admin });
  collectionId = (await db.prisma.collection.create({ data: { slug: "hardening", name: "Hardening" } })).id;
});
afterAll(async () => {
  await app?.stop();
});

/** Runs `work` while polling /api/health; returns the work's result and every health status seen. */
async function withHealthPolling<T>(work: () => Promise<T>): Promise<{ result: T; health: number[] }> {
  const health: number[] = [];
  let done = false;
  const poller = (async () => {
    while (!done) {
      const res = await fetch(`${app.baseUrl}/api/health`).catch(() => null);
      health.push(res?.status ?? 0);
      await res?.body?.cancel();
    }
  })();
  try {
    const result = await work();
    // At least a few answers during and right after the hostile request.
    while (health.length < 3) await new Promise((r) => setTimeout(r, 20));
    return { result, health };
  } finally {
    done = true;
    await poller;
  }
}

function multipart(files: Array<{ name: string; bytes: Uint8Array }>): FormData {
  const form = new FormData();
  for (const f of files) form.append("file", new File([new Uint8Array(f.bytes)], f.name));
  return form;
}

/**
 * POSTs an upload and reads the answer even when the server answers before the whole body is sent (a hostile
 * file is refused as soon as it is recognised; on a busy machine that can be while the client still writes,
 * and `fetch` then reports the closed connection instead of the answer).
 */
async function upload(body: BodyInit, headers: Record<string, string> = {}) {
  const encoded = new Response(body);
  const bytes = Buffer.from(await encoded.arrayBuffer());
  const contentType = encoded.headers.get("content-type");
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(new URL(`${app.baseUrl}/api/import/upload?collectionId=${collectionId}`), {
      method: "POST",
      headers: { ...importKey.headers, ...(contentType ? { "content-type": contentType } : {}), ...headers, "content-length": String(bytes.length) },
    });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", (err) => (answered ? undefined : (err as NodeJS.ErrnoException).code === "EPIPE" || (err as NodeJS.ErrnoException).code === "ECONNRESET" ? undefined : reject(err)));
    req.end(bytes);
  });
  return { status, body: JSON.parse(text) as { error?: { message: string; code: string } } & Record<string, unknown> };
}

describe("redirect targets", () => {
  it("GET /signin?callbackUrl=/%5Cevil.example no longer redirects off-site, nor do its cousins", async () => {
    const { cookie } = await signInOverHttp(app.baseUrl, admin.email, admin.password);
    expect(cookie).not.toBeNull();
    for (const target of ["/%5Cevil.example", "//evil.example", "/%2F%2Fevil.example", "https://evil.example/", "/%09/evil.example", "%5C%5Cevil.example"]) {
      const res = await fetch(`${app.baseUrl}/signin?callbackUrl=${target}`, { headers: { cookie: cookie! }, redirect: "manual" });
      expect(res.status, target).toBe(307);
      const location = res.headers.get("location")!;
      expect(location, target).toBe("/");
      expect(new URL(location, app.baseUrl).origin).toBe(new URL(app.baseUrl).origin);
    }
    const fine = await fetch(`${app.baseUrl}/signin?callbackUrl=${encodeURIComponent("/evaluations?tab=runs")}`, { headers: { cookie: cookie! }, redirect: "manual" });
    expect(fine.headers.get("location")).toBe("/evaluations?tab=runs");
  });

  it("the sign-in page hands the form only a same-site path", async () => {
    const html = await (await fetch(`${app.baseUrl}/signin?callbackUrl=/%5Cevil.example`)).text();
    expect(html).toContain("Sign in to SOT");
    // The form's props, as serialised for the browser (the router state also echoes the raw query).
    const props = [...html.matchAll(/\\"callbackUrl\\":\\"([^\\"]*)\\"/g)].map((m) => m[1]);
    expect(props).toEqual(["/"]);
  });
});

describe("argon2 work, counted by the server", () => {
  const hashes = () => metricValue(app.baseUrl, METRICS_TOKEN, 'sot_password_hash_operations_total{op="hash"}');
  const verifications = () => metricValue(app.baseUrl, METRICS_TOKEN, 'sot_password_hash_operations_total{op="verify"}');

  it("setup answers 409 without hashing once an administrator exists", async () => {
    const before = await hashes();
    const res = await fetch(`${app.baseUrl}/api/setup`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: app.baseUrl },
      body: JSON.stringify({ email: "late@example.test", password: "a long enough password" }),
    });
    expect(res.status).toBe(409);
    expect(await hashes()).toBe(before);
  });

  it("sign-in with an unknown e-mail verifies a password just like a known one", async () => {
    let before = await verifications();
    expect((await signInOverHttp(app.baseUrl, "nobody-here@example.test", "whatever password", { "x-real-ip": "198.51.100.1" })).cookie).toBeNull();
    expect(await verifications()).toBe(before + 1);
    before = await verifications();
    expect((await signInOverHttp(app.baseUrl, admin.email, "wrong password!", { "x-real-ip": "198.51.100.1" })).cookie).toBeNull();
    expect(await verifications()).toBe(before + 1);
  });
});

describe("hostile uploads get a clear 4xx while the server keeps serving", () => {
  it("a zip bomb DOCX: 413 naming the file and the limit", async () => {
    const bomb = buildZipBombDocx(200_000_000);
    const { result, health } = await withHealthPolling(() => upload(multipart([{ name: "report.docx", bytes: bomb }])));
    expect(result.status).toBe(413);
    expect(result.body.error!.message).toBe("report.docx: unpacks to more than 50000000 bytes (the limit for the contents of a ZIP/Office file)");
    expect(health.every((s) => s === 200 || s === 503)).toBe(true);
  });

  it("a PDF that takes too long to read: 422 naming the file and the time limit", async () => {
    const { result, health } = await withHealthPolling(() => upload(multipart([{ name: "slow.pdf", bytes: buildSlowPdf(3_000_000) }])));
    expect(result.status).toBe(422);
    expect(result.body.error!.message).toBe("slow.pdf: took longer than 1500 ms to read, the limit for a PDF; it was stopped");
    expect(health.length).toBeGreaterThanOrEqual(3);
    expect(health.every((s) => s === 200 || s === 503)).toBe(true);
  });

  it("a 1 GB body, streamed without a length: 413 as soon as the file passes the limit, long before the end", async () => {
    const GB = 1_000_000_000;
    const boundary = "sotboundary1gb";
    const { stream, sent } = endlessMultipart(boundary, GB);
    const { result, health } = await withHealthPolling(
      () =>
        new Promise<{ status: number; message: string; sentAtAnswer: number }>((resolve, reject) => {
          const url = new URL(`${app.baseUrl}/api/import/upload?collectionId=${collectionId}`);
          const req = httpRequest(url, { method: "POST", headers: { ...importKey.headers, "content-type": `multipart/form-data; boundary=${boundary}` } });
          const reader = stream.getReader();
          let answered = false;
          req.on("response", (res) => {
            answered = true;
            const sentAtAnswer = sent();
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () => {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, message: JSON.parse(text).error.message, sentAtAnswer });
            });
          });
          req.on("error", (err) => (answered ? undefined : reject(err)));
          const pump = async () => {
            while (!answered) {
              const { done, value } = await reader.read();
              if (done) return req.end();
              if (!req.write(value)) await new Promise((r) => req.once("drain", r));
            }
          };
          pump().catch(() => {});
        }),
    );
    expect(result.status).toBe(413);
    expect(result.message).toBe(`huge.md is larger than the limit of ${UPLOAD_MAX} bytes.`);
    expect(result.sentAtAnswer).toBeLessThan(GB / 10);
    expect(health.every((s) => s === 200 || s === 503)).toBe(true);
  });

  it("a body that declares 1 GB: 413 from the header alone", async () => {
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const url = new URL(`${app.baseUrl}/api/import/upload?collectionId=${collectionId}`);
      const req = httpRequest(url, {
        method: "POST",
        headers: { ...importKey.headers, "content-type": "multipart/form-data; boundary=x", "content-length": "1000000000" },
      });
      req.on("response", (r) => {
        let text = "";
        r.on("data", (c) => (text += c));
        r.on("end", () => {
          req.destroy();
          resolve({ status: r.statusCode ?? 0, text });
        });
      });
      req.on("error", reject);
      req.write("--x\r\n"); // and nothing more: the answer must not wait for the rest
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text).error.code).toBe("payload_too_large");
  });

  it("malformed multipart: 400 saying what is wrong", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["multipart/form-data", "--x\r\n", /no boundary parameter/],
      [
        "multipart/form-data; boundary=x",
        `--x\r\nContent-Disposition: form-data; name="file"; filename="cut.md"\r\n\r\n# Cut off`,
        /ended inside part 1 \(file cut\.md\), before its closing boundary/,
      ],
      ["multipart/form-data; boundary=x", `--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x--\r\n`, /part 1 has no Content-Disposition/],
      ["multipart/form-data; boundary=x", `--x\r\nContent-Disposition: form-data; name="file"\r\n\r\njust text\r\n--x--\r\n`, /Form field "file" must be a file, not text/],
      ["multipart/form-data; boundary=x", "no boundary anywhere", /contains no boundary line/],
    ];
    for (const [type, body, message] of cases) {
      const { result, health } = await withHealthPolling(() => upload(body, { "content-type": type }));
      expect(result.status, body).toBe(400);
      expect(result.body.error!.message, body).toMatch(message);
      expect(health.every((s) => s === 200 || s === 503)).toBe(true);
    }
  });

  it("after all that, an ordinary upload still goes in", async () => {
    const { status, body } = await upload(
      multipart([
        { name: "travel.md", bytes: new TextEncoder().encode("# Travel\n\nBook trains for trips under 600 km.") },
        { name: "expenses.pdf", bytes: buildPdf([["Meals up to 45 EUR per day."]], "Expenses") },
      ]),
    );
    expect(status).toBe(200);
    expect((body.files as Array<{ file: string; status: string }>).map((f) => [f.file, f.status])).toEqual([
      ["travel.md", "created"],
      ["expenses.pdf", "created"],
    ]);
  });
});
