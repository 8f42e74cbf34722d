// Test data made once, the same way in every test, instead of setup copied from file to file.
//
// - Through the running app's own HTTP API (e2e tests), as the user who would: an admin creates
//   collections, users and keys and uploads pages; a member asks, keeps a conversation, rates answers,
//   builds a dataset, runs it and scores by hand. Only the first administrator comes from lib/ directly,
//   as `npm run user:create` makes it. Each factory returns what later steps need.
// - On a test database directly (integration tests, `make…`): collections with their members, sources,
//   documents with chunks, datasets and finished evaluation runs, with defaults for everything a test
//   does not care about. Users and keys: `makeUser` / `makeApiKey` in tests/helpers/auth.ts.
import { randomBytes } from "node:crypto";
import type { AccessContext } from "@/lib/access/context";
import type { Permission, Role } from "@/lib/auth/roles";
import type { Db } from "@/lib/db/client";
import { createDataset } from "@/lib/evaluate/datasets";
import { makeUser, type TestUser } from "@/tests/helpers/auth";
import { keyCaller, send, sendOk, userCaller, type Caller, type HttpResult } from "@/tests/helpers/http";
import { until } from "@/tests/helpers/until";

export interface Api {
  baseUrl: string;
  /** The app's database, for looking up ids the API does not return (never for writing). */
  db: Db;
}

const suffix = () => randomBytes(4).toString("hex");

/** The first administrator (as `npm run user:create` makes it), signed in. */
export async function firstAdmin(api: Api, name = "first admin"): Promise<Caller> {
  return userCaller(api.baseUrl, name, await makeUser(api.db, "admin"));
}

/** A user created by an admin (Admin → Users), signed in. */
export async function user(api: Api, admin: Caller, role: Role, name: string): Promise<Caller> {
  const password = `pw-${randomBytes(10).toString("hex")}`;
  const email = `${role}-${suffix()}@example.test`;
  const res = await sendOk(api.baseUrl, admin, "POST", "/api/admin/users", { email, name, password, role }, 201);
  const created: TestUser = { id: res.json.id, email, password, role };
  return userCaller(api.baseUrl, name, created);
}

export async function collection(api: Api, admin: Caller, input: { name: string; restricted: boolean; members?: Caller[] }): Promise<string> {
  const slug = `${input.name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${suffix()}`;
  const res = await sendOk(api.baseUrl, admin, "POST", "/api/admin/collections", { slug, name: input.name, restricted: input.restricted }, 201);
  if (input.members?.length) {
    await sendOk(api.baseUrl, admin, "PUT", `/api/admin/collections/${res.json.id}/members`, { userIds: input.members.map((m) => m.user!.id) }, 200);
  }
  return res.json.id;
}

/**
 * An API key (Admin → API keys). Returns the app's answer as it is, so a test can assert a refusal;
 * `caller` is set when the key was created.
 */
export async function apiKey(
  api: Api,
  admin: Caller,
  input: { name: string; scopes: Permission[]; collectionIds?: string[] },
): Promise<{ res: HttpResult; caller: Caller | null; id: string | null }> {
  const res = await send(api.baseUrl, admin, "POST", "/api/admin/keys", { name: input.name, scopes: input.scopes, collectionIds: input.collectionIds });
  if (res.status !== 201) return { res, caller: null, id: null };
  return { res, caller: keyCaller(input.name, res.json.key), id: res.json.id };
}

/** A markdown page uploaded into a collection (Sources → Upload); returns the source and document ids. */
export async function uploadedPage(
  api: Api,
  admin: Caller,
  collectionId: string,
  file: { name: string; markdown: string },
): Promise<{ sourceId: string; documentId: string; chunkIds: string[] }> {
  const form = new FormData();
  form.append("file", new Blob([file.markdown], { type: "text/markdown" }), file.name);
  const res = await sendOk(api.baseUrl, admin, "POST", `/api/import/upload?collectionId=${collectionId}`, form, 200);
  const doc = await api.db.prisma.document.findFirstOrThrow({
    where: { sourceId: res.json.sourceId, externalId: file.name },
    select: { id: true, chunks: { select: { id: true }, orderBy: { position: "asc" } } },
  });
  return { sourceId: res.json.sourceId, documentId: doc.id, chunkIds: doc.chunks.map((c) => c.id) };
}

export async function conversation(api: Api, asker: Caller, title: string, collections: string[]): Promise<string> {
  const res = await sendOk(api.baseUrl, asker, "POST", "/api/conversations", { title, collections }, [200, 201]);
  return res.json.id;
}

/** Asks the wiki (the JSON form of POST /api/evaluate); returns the answer with its query log id. */
export async function ask(
  api: Api,
  asker: Caller,
  input: { question: string; collections?: string[]; conversationId?: string },
): Promise<{ queryLogId: string; answer: string; sources: Array<{ documentId: string; chunkId: string; text: string }> }> {
  const res = await sendOk(api.baseUrl, asker, "POST", "/api/evaluate", { ...input, stream: false }, 200);
  return { queryLogId: res.json.id, answer: res.json.answer, sources: res.json.sources };
}

export async function feedback(api: Api, asker: Caller, input: { queryLogId: string; rating: 1 | -1; comment?: string }): Promise<string> {
  const res = await sendOk(api.baseUrl, asker, "POST", "/api/feedback", { ...input, reason: input.rating === 1 ? "helpful" : "wrong" }, [200, 201]);
  return res.json.id;
}

/**
 * A dataset owned by `owner`, scoped to `collectionIds`. `scoped` says whether the app took the collection
 * scope: where it does not know one (an app without dataset scopes), the dataset is created unscoped
 * and the caller decides what that means.
 */
export async function dataset(
  api: Api,
  owner: Caller,
  input: { name: string; collectionIds: string[]; items: Array<{ question: string; referenceAnswer?: string }> },
): Promise<{ id: string; scoped: boolean; refusal: string | null }> {
  const body = { name: input.name, items: input.items, collectionIds: input.collectionIds };
  const res = await send(api.baseUrl, owner, "POST", "/api/datasets", body);
  if (res.status === 201) return { id: res.json.id, scoped: true, refusal: null };
  const unknownScope = res.status === 400 && /collectionIds/.test(res.text) && /unrecognized/i.test(res.text);
  if (!unknownScope) throw new Error(`${owner.name}: POST /api/datasets → ${res.status}: ${res.text.slice(0, 500)}`);
  const { collectionIds: _, ...unscoped } = body;
  const again = await sendOk(api.baseUrl, owner, "POST", "/api/datasets", unscoped, 201);
  return { id: again.json.id, scoped: false, refusal: res.text.slice(0, 300) };
}

/** Starts a run of the dataset (as `starter`) and waits until the worker has completed it. */
export async function completedRun(api: Api, starter: Caller, datasetId: string, timeoutMs = 90_000): Promise<{ id: string; itemIds: string[] }> {
  const started = await sendOk(api.baseUrl, starter, "POST", "/api/runs", { datasetId }, 202);
  const id: string = started.json.id;
  const done = await until(`run ${id} to complete`, async () => {
    const res = await sendOk(api.baseUrl, starter, "GET", `/api/runs/${id}`, undefined, 200);
    if (res.json.run?.status === "failed") throw new Error(`run ${id} failed: ${res.json.run.error}`);
    return res.json.run?.status === "completed" && res.json;
  }, timeoutMs);
  return { id, itemIds: (done.items as Array<{ id: string }>).map((i) => i.id) };
}

/** A human score (the annotation queue's form) on a run item, query log or scored output. */
export async function annotation(
  api: Api,
  evaluator: Caller,
  input: { targetKind: "run_item" | "query_log" | "external_output"; targetId: string; hallucinationScore: number; comment?: string },
): Promise<string> {
  const res = await sendOk(api.baseUrl, evaluator, "POST", "/api/annotations", input, 201);
  return res.json.id;
}

/** An agent made by an admin (POST /api/agents) and a day-long token bought with its credential. */
export async function agent(api: Api, admin: Caller, name: string): Promise<{ credential: string; token: string; caller: Caller }> {
  const made = await send(api.baseUrl, admin, "POST", "/api/agents", { name });
  if (made.status !== 201) throw new Error(`creating agent ${name}: ${made.status} ${made.text}`);
  const credential: string = made.json.credential;
  const bought = await send(api.baseUrl, keyCaller(`${name} (credential)`, credential), "POST", "/api/agents/tokens", { ttlSeconds: 86_400 });
  if (bought.status !== 201) throw new Error(`a token for agent ${name}: ${bought.status} ${bought.text}`);
  return { credential, token: bought.json.token, caller: keyCaller(`agent ${name}`, bought.json.token) };
}

/** A cubby made by an agent, with one value set (PUT /api/cubbies/<name>/items/<key>). */
export async function cubby(api: Api, agentCaller: Caller, name: string, item: { key: string; value: unknown }): Promise<void> {
  const made = await send(api.baseUrl, agentCaller, "POST", "/api/cubbies", { name });
  if (made.status !== 201) throw new Error(`creating cubby ${name}: ${made.status} ${made.text}`);
  const set = await send(api.baseUrl, agentCaller, "PUT", `/api/cubbies/${name}/items/${item.key}`, { value: item.value });
  if (set.status !== 200) throw new Error(`setting ${name}/${item.key}: ${set.status} ${set.text}`);
}

// ───────────── on the database directly (integration tests) ─────────────

/** A collection (a unique slug unless given), with `members` when restricted ones need them. */
export async function makeCollection(
  db: Db,
  data: { slug?: string; name?: string; description?: string; restricted?: boolean; members?: string[] } = {},
) {
  const { members, ...fields } = data;
  const slug = fields.slug ?? `collection-${suffix()}`;
  const collection = await db.prisma.collection.create({ data: { ...fields, slug, name: fields.name ?? slug } });
  if (members?.length) await addMembers(db, collection.id, members);
  return collection;
}

/** Makes users members of a (restricted) collection. */
export async function addMembers(db: Db, collectionId: string, userIds: string[]): Promise<void> {
  await db.prisma.collectionMember.createMany({ data: userIds.map((userId) => ({ collectionId, userId })) });
}

/** A source of a collection: an upload source unless `kind` says otherwise. */
export async function makeSource(db: Db, data: { collectionId: string; kind?: string; name?: string; config?: Record<string, unknown> }) {
  return db.prisma.source.create({ data: { kind: "upload", name: `source ${suffix()}`, ...data, config: (data.config ?? {}) as object } });
}

/** Where ingest and ask tests write: a collection with one upload source. */
export async function makeIngestTarget(
  db: Db,
  data: { slug?: string; name?: string; restricted?: boolean; members?: string[]; sourceName?: string } = {},
): Promise<{ collectionId: string; sourceId: string }> {
  const { sourceName, ...collection } = data;
  const c = await makeCollection(db, collection);
  const s = await makeSource(db, { collectionId: c.id, name: sourceName ?? c.name });
  return { collectionId: c.id, sourceId: s.id };
}

/** A stored page of a source, with `chunks` (no embeddings) when the test reads text. */
export async function makeDocument(
  db: Db,
  data: {
    collectionId: string;
    sourceId: string;
    externalId?: string;
    title?: string;
    url?: string | null;
    breadcrumb?: string[];
    contentHash?: string;
    sourceUpdatedAt?: Date;
    chunks?: Array<{ text: string; anchor?: string | null; headingPath?: string[]; tokenCount?: number }>;
  },
) {
  const { chunks = [], ...fields } = data;
  const externalId = fields.externalId ?? `page-${suffix()}`;
  const doc = await db.prisma.document.create({
    data: { ...fields, externalId, title: fields.title ?? externalId, contentHash: fields.contentHash ?? `hash-${externalId}` },
  });
  const made = [];
  for (const [position, c] of chunks.entries()) {
    made.push(
      await db.prisma.chunk.create({
        data: {
          documentId: doc.id,
          collectionId: data.collectionId,
          position,
          anchor: c.anchor ?? null,
          headingPath: c.headingPath ?? [],
          text: c.text,
          tokenCount: c.tokenCount ?? 10,
          contentHash: `${doc.id}-${position}`,
        },
      }),
    );
  }
  return { ...doc, chunks: made };
}

/** A dataset owned by the context's user, over `collectionIds` (default: every collection it reads). */
export async function makeDataset(
  ctx: AccessContext,
  data: { name?: string; collectionIds?: string[]; questions?: string[]; items?: Array<{ question: string; referenceAnswer?: string | null; expectedSources?: string[] }> },
) {
  type Item = { question: string; referenceAnswer?: string | null; expectedSources?: string[] };
  const items: Item[] = data.items ?? (data.questions ?? ["What is the on-call rotation?"]).map((question) => ({ question }));
  return createDataset(ctx, {
    name: data.name ?? `dataset ${suffix()}`,
    collectionIds: data.collectionIds,
    items: items.map((i) => ({ question: i.question, referenceAnswer: i.referenceAnswer ?? null, expectedSources: i.expectedSources ?? [] })),
  });
}

/**
 * A finished evaluation run of a dataset's current version, as the run's job leaves it (status, figures,
 * the run's collections), without asking a model; `items` become its answered run items.
 */
export async function makeFinishedRun(
  db: Db,
  data: {
    datasetId: string;
    createdById?: string | null;
    collectionIds?: string[];
    status?: "completed" | "running" | "failed";
    avgHallucination?: number | null;
    avgFaithfulness?: number | null;
    finishedAt?: Date | null;
    items?: Array<{ question: string; answer: string; sources?: unknown[] }>;
  },
) {
  const ds = await db.prisma.dataset.findUniqueOrThrow({ where: { id: data.datasetId }, select: { collectionIds: true, currentVersion: true } });
  const version = await db.prisma.datasetVersion.findUniqueOrThrow({ where: { datasetId_version: { datasetId: data.datasetId, version: ds.currentVersion } } });
  const items = data.items ?? [];
  const status = data.status ?? "completed";
  const run = await db.prisma.evaluationRun.create({
    data: {
      datasetId: data.datasetId,
      datasetVersionId: version.id,
      status,
      trigger: "manual",
      judgeModel: "judge",
      promptVersion: "judge-v1",
      concurrency: 1,
      topK: 5,
      itemCount: items.length,
      doneCount: status === "completed" ? items.length : 0,
      avgHallucination: data.avgHallucination ?? null,
      avgFaithfulness: data.avgFaithfulness ?? null,
      finishedAt: data.finishedAt === undefined ? (status === "running" ? null : new Date()) : data.finishedAt,
      createdById: data.createdById ?? null,
      collectionIds: data.collectionIds ?? ds.collectionIds,
    },
  });
  const runItems = [];
  for (const [position, it] of items.entries()) {
    runItems.push(
      await db.prisma.runItem.create({
        data: { runId: run.id, position, question: it.question, status: "ok", answer: it.answer, sources: (it.sources ?? []) as object[] },
      }),
    );
  }
  return { ...run, items: runItems };
}
