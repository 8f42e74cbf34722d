// The canary leak test: the proof that one trust boundary holds everywhere.
//
// A restricted collection R gets a random canary in every kind of collection data — a wiki page, a
// conversation, a logged question, a feedback comment, a dataset item (a dataset scoped to R, owned by
// R's member), an evaluation run over that dataset with its scores, an annotation and an audit entry —
// all made through the app's own API, as R's admin and R's member would. Then every route file under
// app/ (enumerated at test time, every exported method, every dynamic segment filled with every seeded
// id of every kind, generic bodies and query strings adapted to each route, streamed and JSON asks,
// every export format) and every page (enumerated, each id, fetched over HTTP and rendered in Chromium:
// text, HTML and the page's own requests) is called by every kind of caller outside R: anonymous, a viewer and an evaluator of
// another collection O, and API keys limited to O with each scope. None of them may ever see the
// canary — in a body, a header or a page — nor change, copy or delete R's data. R's own member and
// admin are the control: they must see it where the table below says, which proves the test can see a
// leak. A new route or page is covered without editing this file.
import { createHash, randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page, Request as PageRequest, Response as PageResponse } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverPages, discoverRoutes, dynamicSegments, fillPattern, type Method } from "@/tests/helpers/app-surface";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { launchBrowser } from "@/tests/helpers/browser";
import { CANARY_TAGS, diffRows, newCanary, responseText, rowsMentioning, type CanaryTag } from "@/tests/helpers/canary";
import * as make from "@/tests/helpers/factories";
import { anonymous, send, type Caller } from "@/tests/helpers/http";
import { concretePaths, idsHandedOut, refusedOutright, pageQuery, pageQueryRounds, PROBE_QUESTION, prober, type IdPools, type ProbeResult } from "@/tests/helpers/probe";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";

const canary = newCanary();

interface World {
  R: string;
  O: string;
  rDocument: string;
  memberConversation: string;
  rDataset: string;
  rRun: string;
}

/**
 * Where the control must see the canary (and which planted pieces): proof that the test detects each
 * kind of collection data. Feedback and the audit log are for admins, so R's admin is their control.
 */
const MUST_SEE: Array<{ who: "member" | "admin"; what: string; page?: (w: World) => string; api?: { method: Method; path: (w: World) => string; body?: (w: World) => unknown }; tags: CanaryTag[] }> = [
  { who: "member", what: "the wiki page", page: (w) => `/documents/${w.rDocument}`, tags: ["doc"] },
  { who: "member", what: "their conversation on the Ask page", page: (w) => `/?c=${w.memberConversation}`, tags: ["conv", "log", "doc"] },
  { who: "member", what: "the run detail page", page: (w) => `/evaluations/runs/${w.rRun}`, tags: ["item", "doc"] },
  { who: "member", what: "the dataset page", page: (w) => `/evaluations/datasets/${w.rDataset}`, tags: ["item"] },
  { who: "member", what: "the annotation queue", page: () => "/evaluations/queue", tags: [] },
  { who: "member", what: "their conversation", api: { method: "GET", path: (w) => `/api/conversations/${w.memberConversation}` }, tags: ["conv", "log", "doc"] },
  { who: "member", what: "their conversation list", api: { method: "GET", path: () => "/api/conversations" }, tags: ["conv"] },
  { who: "member", what: "the run detail", api: { method: "GET", path: (w) => `/api/runs/${w.rRun}` }, tags: ["item", "doc", "ann"] },
  { who: "member", what: "the dataset", api: { method: "GET", path: (w) => `/api/datasets/${w.rDataset}` }, tags: ["item"] },
  { who: "member", what: "the dataset's CSV export", api: { method: "GET", path: (w) => `/api/datasets/${w.rDataset}/export?format=csv` }, tags: ["item"] },
  { who: "member", what: "the dataset's JSONL export", api: { method: "GET", path: (w) => `/api/datasets/${w.rDataset}/export?format=jsonl` }, tags: ["item"] },
  {
    who: "member",
    what: "an answer from R (JSON)",
    api: { method: "POST", path: () => "/api/evaluate", body: (w) => ({ question: PROBE_QUESTION, collections: [w.R], stream: false }) },
    tags: ["doc"],
  },
  {
    who: "member",
    what: "an answer from R (streamed)",
    api: { method: "POST", path: () => "/api/evaluate", body: (w) => ({ question: PROBE_QUESTION, collections: [w.R], stream: true }) },
    tags: ["doc"],
  },
  { who: "member", what: "the next item to annotate", api: { method: "GET", path: () => "/api/annotations/next" }, tags: [] },
  { who: "admin", what: "the feedback page", page: () => "/admin/feedback", tags: ["fb"] },
  { who: "admin", what: "the feedback list", api: { method: "GET", path: () => "/api/feedback?format=json" }, tags: ["fb"] },
  { who: "admin", what: "the feedback CSV export", api: { method: "GET", path: () => "/api/feedback?format=csv" }, tags: ["fb"] },
  { who: "admin", what: "the feedback JSONL export", api: { method: "GET", path: () => "/api/feedback?format=jsonl" }, tags: ["fb"] },
  { who: "admin", what: "the audit log page", page: () => "/admin/audit", tags: ["audit"] },
  { who: "admin", what: "the audit log", api: { method: "GET", path: () => "/api/admin/audit" }, tags: ["audit"] },
  { who: "admin", what: "the retrieval test", page: (w) => `/admin/retrieval?q=${encodeURIComponent(PROBE_QUESTION)}&collection=${w.R}`, tags: ["doc"] },
];

const PAGE_TABS = 3;

let app: RunningApp;
let ollama: FakeOllama;
let browser: Browser;
let world: World;
let control: { member: Caller; admin: Caller };
/** Every caller outside R. */
let outsiders: Caller[];
let pools: IdPools;
let allIds: string[];
/** R's own ids: rows mentioning them (or the canary) must be the same before and after the outsiders' calls. */
let rIds: string[];
let adminKeyForO: Awaited<ReturnType<typeof make.apiKey>>;
const seedGaps: string[] = [];
/** Ids the app handed each outsider in answer to its writes (a run it started, a dataset it made…), read back at the end. */
const handedOut = new Map<string, Set<string>>();
type Leaks = Map<string, { count: number; example: string }>;
const readLeaks: Leaks = new Map();
const pageLeaks: Leaks = new Map();
const writeLeaks: Leaks = new Map();
let rowsBefore: Awaited<ReturnType<typeof rowsMentioning>>;

function excerpt(text: string): string {
  const i = text.toLowerCase().indexOf(canary.base);
  return text.slice(Math.max(0, i - 80), i + 60).replace(/\s+/g, " ");
}

/** Records a leak: one line per caller, request pattern and leaked tags, with a count and an example. */
function leak(leaks: Leaks, caller: Caller, where: string, pattern: string, tags: string[], text: string) {
  const key = `${caller.name} — ${pattern} — canary ${tags.join(", ")}`;
  const entry = leaks.get(key) ?? { count: 0, example: `${where}: …${excerpt(text)}…` };
  entry.count++;
  leaks.set(key, entry);
}

function report(leaks: Leaks): string[] {
  return [...leaks].map(([k, v]) => `${k} (${v.count}×; e.g. ${v.example})`).sort();
}

function onOutsiderResponse(leaks: Leaks, pattern: string) {
  return ({ caller, method, url, body, res }: ProbeResult) => {
    const text = responseText(res);
    const tags = canary.find(text);
    if (tags.length) leak(leaks, caller, `${method} ${url}${body ? ` ${JSON.stringify(body).slice(0, 200)}` : ""} → ${res.status}`, `${method} ${pattern}`, tags, text);
    if (res.status < 300 && res.json) {
      const mine = handedOut.get(caller.name) ?? new Set<string>();
      for (const id of idsHandedOut(res.json)) if (!allIds.includes(id)) mine.add(id);
      handedOut.set(caller.name, mine);
    }
  };
}

/**
 * What identifies a page's content: its HTML with what merely echoes the URL (search parameters, ids) blanked,
 * so a public page asked with other parameters counts as the same page.
 */
function sameness(html: string, url: string): string {
  let text = html;
  for (const v of new URL(url, "http://x").searchParams.values()) {
    if (v.length < 3) continue;
    for (const form of [v, encodeURIComponent(v), encodeURIComponent(v).replace(/%20/g, "+"), JSON.stringify(v).slice(1, -1)]) text = text.split(form).join("");
  }
  text = text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "").replace(/[?&][^"'\s<>]*/g, "");
  return createHash("sha256").update(text).digest("hex");
}

/** Every route file, every method `methods` accepts, as every outsider (in parallel), every id, body and query. */
async function probeEveryRoute(leaks: Leaks, methods: (m: Method) => boolean): Promise<void> {
  const routes = discoverRoutes();
  expect(routes.length).toBeGreaterThan(10);
  await Promise.all(
    outsiders.map(async (caller) => {
      for (const route of routes) {
        const probe = prober(app.baseUrl, pools, onOutsiderResponse(leaks, route.pattern));
        for (const method of route.methods.filter(methods)) await probe.probe(caller, route, method, concretePaths(route, allIds));
      }
    }),
  );
}

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T, slot: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async (_, slot) => {
      while (next < items.length) await fn(items[next++]!, slot);
    }),
  );
}

/** A browser context acting as the caller: its session cookie, or its key on every request. */
async function contextFor(caller: Caller): Promise<BrowserContext> {
  const context = await browser.newContext(caller.key ? { extraHTTPHeaders: { authorization: `Bearer ${caller.key}` } } : {});
  if (caller.cookie) {
    const [name, ...value] = caller.cookie.split("=");
    await context.addCookies([{ name: name!, value: value.join("="), url: app.baseUrl, httpOnly: true, sameSite: "Lax" }]);
  }
  return context;
}

/**
 * Opens a URL and waits for the page to settle (its own fetches done). Returns everything the page showed
 * or received: the visible text, the HTML after hydration, and the status, headers and body of the
 * document and of every request the page made.
 */
async function render(page: Page, url: string): Promise<{ status: number; text: string }> {
  const seen: Array<Promise<string>> = [];
  const inflight = new Set<PageRequest>();
  let last = Date.now();
  let started = 0;
  const onRequest = (r: PageRequest) => {
    started++;
    inflight.add(r);
    last = Date.now();
  };
  const onDone = (r: PageRequest) => {
    inflight.delete(r);
    last = Date.now();
  };
  const onResponse = (r: PageResponse) => {
    const type = r.request().resourceType();
    if (!["document", "fetch", "xhr", "eventsource"].includes(type) || !r.url().startsWith(app.baseUrl)) return;
    seen.push(
      (async () => {
        const headers = Object.entries(await r.allHeaders()).map(([k, v]) => `${k}: ${v}`).join("\n");
        const body = r.status() >= 300 && r.status() < 400 ? "" : await r.text().catch(() => "");
        return `${r.status()} ${r.url()}\n${headers}\n\n${body}`;
      })(),
    );
  };
  page.on("request", onRequest);
  page.on("requestfinished", onDone);
  page.on("requestfailed", onDone);
  page.on("response", onResponse);
  try {
    const res = await page.goto(app.baseUrl + url, { waitUntil: "load", timeout: 30_000 });
    // Settled: the main thread idle (hydrated, effects run) and no request in flight, twice in a row
    // without a new request in between (a fetch that leads to another is waited for too).
    const deadline = Date.now() + 5_000;
    let requests = -1;
    while (requests !== started && Date.now() < deadline) {
      requests = started;
      await page.evaluate(() => new Promise((r) => requestIdleCallback(() => r(null), { timeout: 1_000 })));
      while ((inflight.size > 0 || Date.now() - last < 50) && Date.now() < deadline) await page.waitForTimeout(20);
    }
    const [visible, html] = await Promise.all([page.evaluate(() => document.body?.innerText ?? ""), page.content()]);
    const network = await Promise.all(seen);
    return { status: res?.status() ?? 0, text: [page.url(), visible, html, ...network].join("\n\n") };
  } finally {
    page.off("request", onRequest);
    page.off("requestfinished", onDone);
    page.off("requestfailed", onDone);
    page.off("response", onResponse);
  }
}

beforeAll(async () => {
  ollama = await startFakeOllama({ onChat: fakeJudge() });
  app = await startApp({
    env: {
      OLLAMA_HOST: ollama.url,
      DEMO_WIKI: "false",
      // Logged answers too: the most there is to leak.
      LOG_QUERY_TEXT: "true",
      LOG_ANSWER_TEXT: "true",
      RATE_LIMIT_BURST: "1000000",
      RATE_LIMIT_PER_MINUTE: "1000000",
      // KES inside the web process needs a master key for the cubby that holds a canary.
      MASTER_KEYS: `canary:${randomBytes(32).toString("base64")}`,
    },
  });
  const api: make.Api = { baseUrl: app.baseUrl, db: app.db! };
  const admin = await make.firstAdmin(api, "R's admin");
  const member = await make.user(api, admin, "evaluator", "R's member (evaluator)");
  const viewerO = await make.user(api, admin, "viewer", "viewer of O");
  const evaluatorO = await make.user(api, admin, "evaluator", "evaluator of O");
  const R = await make.collection(api, admin, { name: "R", restricted: true, members: [admin, member] });
  const O = await make.collection(api, admin, { name: "O", restricted: true, members: [viewerO, evaluatorO] });

  // O's own life first, so R's data is the newest everywhere (queues and "recent" lists show it first).
  const oPage = await make.uploadedPage(api, admin, O, {
    name: "office-hours.md",
    markdown: "# Office hours\n\nThe office opens at 08:00 and closes at 18:00. Visitors sign in at reception.\n",
  });
  const oConversation = await make.conversation(api, viewerO, "Office hours", [O]);
  const oAsk = await make.ask(api, viewerO, { question: "When does the office open?", collections: [O], conversationId: oConversation });
  const oDataset = await make.dataset(api, evaluatorO, { name: "Office checks", collectionIds: [O], items: [{ question: "When does the office open?" }] });
  const oRun = await make.completedRun(api, evaluatorO, oDataset.id);

  // R: the canary in every kind of collection data.
  const rPage = await make.uploadedPage(api, admin, R, {
    name: `vault-${canary.tag("audit")}.md`,
    markdown: `# Vault procedure\n\nThe vault code phrase is ${canary.tag("doc")}. Staff recite the vault code phrase ${canary.tag("doc")} at the door.\n`,
  });
  const adminConversation = await make.conversation(api, admin, `Vault ${canary.tag("conv")}`, [R]);
  const adminAsk = await make.ask(api, admin, { question: `What is the vault code phrase (${canary.tag("log")})?`, collections: [R], conversationId: adminConversation });
  const memberConversation = await make.conversation(api, member, `Vault ${canary.tag("conv")}`, [R]);
  const memberAsk = await make.ask(api, member, { question: `What is the vault code phrase (${canary.tag("log")})?`, collections: [R], conversationId: memberConversation });
  if (!memberAsk.sources.some((s) => s.documentId === rPage.documentId)) throw new Error("the member's question did not find R's page: the canary would not reach the answer");
  const feedbackId = await make.feedback(api, member, { queryLogId: memberAsk.queryLogId, rating: -1, comment: `Outdated: ${canary.tag("fb")}` });
  const rDataset = await make.dataset(api, member, {
    name: "Vault checks",
    collectionIds: [R],
    items: [{ question: `What is the vault code phrase? ${canary.tag("item")}`, referenceAnswer: `It is ${canary.tag("item")}.` }, { question: "Who recites the vault code phrase at the door?" }],
  });
  for (const [name, ds] of [["O's", oDataset], ["R's", rDataset]] as const) {
    if (!ds.scoped) seedGaps.push(`${name} dataset could not be scoped to its collection: POST /api/datasets refused collectionIds (${ds.refusal})`);
  }
  const rRun = await make.completedRun(api, member, rDataset.id);
  const annotationId = await make.annotation(api, member, { targetKind: "run_item", targetId: rRun.itemIds[0]!, hallucinationScore: 2, comment: `Missed ${canary.tag("ann")}` });

  // Keys for O, made by R's admin (so a key that acted as its creator would reach R).
  const keys: Caller[] = [];
  for (const scope of ["ask", "score", "import"] as const) {
    const k = await make.apiKey(api, admin, { name: `key (${scope}) limited to O`, scopes: [scope], collectionIds: [O] });
    if (!k.caller) throw new Error(`creating a ${scope} key for O failed: ${k.res.status} ${k.res.text}`);
    keys.push(k.caller);
  }
  adminKeyForO = await make.apiKey(api, admin, { name: "key (admin) limited to O", scopes: ["admin"], collectionIds: [O] });

  // Agents of R's admin: one keeps the canary in a cubby; the other, with no grant on it, is an outsider.
  const keeper = await make.agent(api, admin, "canary-keeper");
  await make.cubby(api, keeper.caller, "r-notes", { key: "vault", value: { phrase: canary.tag("cubby") } });
  const outsiderAgent = await make.agent(api, admin, "outsider-agent");

  // The ids outsiders are probed with: every kind, R's first; one or two of each kind stand for the rest.
  const db = app.db!;
  const runLog = async (itemId: string) => (await db.prisma.runItem.findUniqueOrThrow({ where: { id: itemId }, select: { queryLogId: true } })).queryLogId!;
  const firstItem = async (datasetId: string) =>
    (await db.prisma.datasetItem.findFirstOrThrow({ where: { datasetVersion: { datasetId } }, orderBy: { position: "asc" }, select: { id: true } })).id;
  const judgeScore = async (runItemId: string) => (await db.prisma.score.findFirstOrThrow({ where: { runItemId, kind: "judge" }, select: { id: true } })).id;
  const slugOf = async (id: string) => (await db.prisma.collection.findUniqueOrThrow({ where: { id }, select: { slug: true } })).slug;
  const [rItem0, rItem1] = rRun.itemIds as [string, string];
  const oItem = oRun.itemIds[0]!;
  const rLogs = [memberAsk.queryLogId, adminAsk.queryLogId, await runLog(rItem1)];
  pools = {
    collection: [R, O],
    model: [await slugOf(R), await slugOf(O)],
    source: [rPage.sourceId, oPage.sourceId],
    document: [rPage.documentId, oPage.documentId],
    chunk: [rPage.chunkIds[0]!, oPage.chunkIds[0]!],
    conversation: [memberConversation, adminConversation, oConversation],
    queryLog: [...rLogs, oAsk.queryLogId],
    feedback: [feedbackId],
    dataset: [rDataset.id, oDataset.id],
    datasetItem: [await firstItem(rDataset.id), await firstItem(oDataset.id)],
    run: [rRun.id, oRun.id],
    runItem: [rItem0, rItem1, oItem],
    target: [rItem0, rItem1, memberAsk.queryLogId, oItem, oAsk.queryLogId],
    score: [annotationId, await judgeScore(rItem0), await judgeScore(oItem)],
    user: [member.user!.id, admin.user!.id, viewerO.user!.id, evaluatorO.user!.id],
    apiKey: (await db.prisma.apiKey.findMany({ select: { id: true } })).map((k) => k.id),
    cubby: ["r-notes"],
  };
  allIds = [...new Set(Object.values(pools).flat())];
  // Every row of R (not only the representatives): the integrity check watches rows mentioning any of them.
  const rRunRows = await db.prisma.runItem.findMany({ where: { runId: rRun.id }, select: { id: true, queryLogId: true, scores: { select: { id: true } } } });
  const rDatasetItems = await db.prisma.datasetItem.findMany({ where: { datasetVersion: { datasetId: rDataset.id } }, select: { id: true } });
  rIds = [
    ...[R, rPage.sourceId, rPage.documentId, ...rPage.chunkIds, memberConversation, adminConversation, memberAsk.queryLogId, adminAsk.queryLogId, feedbackId],
    ...[rDataset.id, ...rDatasetItems.map((i) => i.id), rRun.id],
    ...rRunRows.flatMap((i) => [i.id, ...(i.queryLogId ? [i.queryLogId] : []), ...i.scores.map((x) => x.id)]),
  ];
  world = { R, O, rDocument: rPage.documentId, memberConversation, rDataset: rDataset.id, rRun: rRun.id };
  control = { member, admin };
  outsiders = [anonymous, viewerO, evaluatorO, ...keys, outsiderAgent.caller, ...(adminKeyForO.caller ? [adminKeyForO.caller] : [])];
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await ollama?.close();
});

describe("canary leak test: collection R's data reaches R's members and no one else", () => {
  it("plants the canary through the app's own API, every piece scoped to R", () => {
    expect(seedGaps).toEqual([]);
  });

  it("keeps R's evaluation passages sealed under wiki-knowledge-key: the run's rows hold no canary in clear", async () => {
    // The member's run detail shows them (the insider check below): opened by SOT's evaluation agent.
    const rows = await app.db!.sql<{ sources: string; sealed: string | null }>`
      SELECT sources::text AS sources, sealed_passages AS sealed FROM run_items WHERE run_id = ${world.rRun}::uuid AND status = 'ok'`;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(canary.find(r.sources)).toEqual([]);
      expect(r.sealed).toMatch(/^sotkes1\./);
      expect(canary.find(r.sealed!)).toEqual([]);
    }
  });

  it("refuses an admin-scoped key limited to a collection (an admin key administers everything)", () => {
    expect(adminKeyForO.res.status, adminKeyForO.res.text).toBeGreaterThanOrEqual(400);
    expect(adminKeyForO.res.status).toBeLessThan(500);
    expect(adminKeyForO.caller).toBeNull();
  });

  it("shows the canary to R's member and admin where the table says (the test can see a leak)", async () => {
    const missing: string[] = [];
    const contexts = { member: await contextFor(control.member), admin: await contextFor(control.admin) };
    try {
      const pages = { member: await contexts.member.newPage(), admin: await contexts.admin.newPage() };
      for (const place of MUST_SEE) {
        const who = control[place.who];
        let text: string;
        let where: string;
        if (place.page) {
          where = `page ${place.page(world)}`;
          text = (await render(pages[place.who], place.page(world))).text;
        } else {
          const { method, path, body } = place.api!;
          where = `${method} ${path(world)}`;
          const res = await send(app.baseUrl, who, method, path(world), body?.(world));
          text = responseText(res);
        }
        const found = canary.find(text);
        const lacking = place.tags.filter((t) => !found.includes(t));
        if (found.length === 0 || lacking.length) {
          missing.push(`${who.name}: ${place.what} (${where}) lacks ${found.length ? lacking.map((t) => `${t} (${CANARY_TAGS[t]})`).join(", ") : "the canary"}`);
        }
      }
    } finally {
      await contexts.member.close();
      await contexts.admin.close();
    }
    expect(missing).toEqual([]);
  }, 120_000);

  it("never shows the canary to a caller outside R in any API read: every GET route, id, query and export format", async () => {
    rowsBefore = await rowsMentioning(app.db!, [canary.base, ...rIds]);
    await probeEveryRoute(readLeaks, (m) => m === "GET");
    expect(report(readLeaks)).toEqual([]);
  }, 300_000);

  it("never shows the canary to a caller outside R on any page (Chromium: text, HTML, every request the page makes)", async () => {
    const pages = discoverPages();
    expect(pages.length).toBeGreaterThan(5);
    // Every page with every id in its dynamic segments and the usual search parameters, fetched over HTTP
    // as the caller (the server-rendered HTML, with its headers), and rendered in Chromium as below.
    const urls: Array<{ pattern: string; url: string }> = [];
    const rounds = pageQueryRounds(pools);
    for (const p of pages) {
      if (dynamicSegments(p.pattern).length) allIds.forEach((id, i) => urls.push({ pattern: p.pattern, url: fillPattern(p.pattern, id) + pageQuery(pools, i) }));
      else {
        urls.push({ pattern: p.pattern, url: p.pattern });
        for (let r = 0; r < rounds; r++) urls.push({ pattern: p.pattern, url: p.pattern + pageQuery(pools, r) });
      }
    }
    for (const place of MUST_SEE) if (place.page) urls.push({ pattern: place.page(world).split("?")[0]!.replace(/[0-9a-f-]{36}/g, "[id]"), url: place.page(world) });
    for (const caller of outsiders) {
      const toRender: typeof urls = [];
      const outcomes = new Set<string>();
      await pool(urls, 3, async (u) => {
        const res = await send(app.baseUrl, caller, "GET", u.url);
        const text = responseText(res);
        const tags = canary.find(text);
        if (tags.length) leak(pageLeaks, caller, `GET ${u.url} → ${res.status}`, `page ${u.pattern}`, tags, text);
        // A page served to this caller is rendered in Chromium, once per distinct page (the same HTML but
        // for what echoes the URL is the same page, whose scripts fetch the same); a refusal (a redirect
        // to sign-in, a 404) once per kind: Chromium would show the same page for each.
        const outcome = res.status === 200 ? `200 ${u.pattern} ${sameness(res.text, u.url)}` : `${res.status} ${(res.headers.get("location") ?? "").split("?")[0]}`;
        if (!outcomes.has(outcome)) {
          outcomes.add(outcome);
          toRender.push(u);
        }
      });
      const context = await contextFor(caller);
      try {
        const tabs = await Promise.all(Array.from({ length: PAGE_TABS }, () => context.newPage()));
        await pool(toRender, PAGE_TABS, async (u, slot) => {
          const { status, text } = await render(tabs[slot]!, u.url);
          const tags = canary.find(text);
          if (tags.length) leak(pageLeaks, caller, `Chromium ${u.url} → ${status}`, `page ${u.pattern}`, tags, text);
        });
      } finally {
        await context.close();
      }
    }
    expect(report(pageLeaks)).toEqual([]);
  }, 300_000);

  it("never shows the canary to a caller outside R in any other answer (every body, streamed and JSON asks), nor afterwards", async () => {
    handedOut.clear();
    await probeEveryRoute(writeLeaks, (m) => m !== "GET");
    // What the app handed out to these calls (a run an outsider started, a dataset it made), read back.
    const routes = discoverRoutes().filter((r) => r.methods.includes("GET") && dynamicSegments(r.pattern).length);
    await Promise.all(
      outsiders.map(async (caller) => {
        const ids = [...(handedOut.get(caller.name) ?? [])].slice(0, 200);
        for (const route of routes) {
          const record = onOutsiderResponse(writeLeaks, route.pattern);
          for (const url of concretePaths(route, ids)) {
            const res = await send(app.baseUrl, caller, "GET", url);
            record({ caller, method: "GET", url, body: undefined, res });
            if (refusedOutright(res)) break;
          }
        }
      }),
    );
    expect(report(writeLeaks)).toEqual([]);
  }, 300_000);

  it("leaves R's data as it was: no caller outside R changed, copied or deleted it", async () => {
    expect(rowsBefore, "the first outsider test takes the snapshot").toBeDefined();
    const after = await rowsMentioning(app.db!, [canary.base, ...rIds]);
    expect(diffRows(rowsBefore, after)).toEqual([]);
  });
});
