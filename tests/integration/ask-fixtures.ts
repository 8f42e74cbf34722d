// Shared set-up of the ask/retrieval tests: a fake Ollama as the configured one, a fresh database
// installed as the process's database, and wiki pages written as documents + chunks (embedded through
// the real client against the fake, like the ingest pipeline does).
import { accessContextFor, type AccessContext } from "@/lib/access/context";
import { resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { getLlm, resetLlm } from "@/lib/llm";
import { ROLE_PERMISSIONS, type Principal, type Role } from "@/lib/auth/roles";
import { startFakeOllama, type FakeOllama, type FakeOllamaOptions } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeUser } from "@/tests/helpers/auth";
import { makeDocument, makeIngestTarget } from "@/tests/helpers/factories";

export interface Page {
  title: string;
  url?: string;
  sections: Array<{ heading?: string; text: string; anchor?: string }>;
}

export function setEnv(vars: Record<string, string | undefined>) {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetConfig();
  resetLlm();
}

export async function startAskEnv(opts: { ollama?: FakeOllamaOptions; env?: Record<string, string | undefined> } = {}) {
  const ollama = await startFakeOllama(opts.ollama);
  setEnv({ OLLAMA_HOST: ollama.url, RERANK_URL: undefined, LOG_QUERY_TEXT: undefined, LOG_ANSWER_TEXT: undefined, ...opts.env });
  const db = await createTestDb();
  setDb(db);
  return { ollama, db };
}

export async function stopAskEnv(env: { ollama: FakeOllama; db: TestDb }) {
  await env.ollama.close();
  await env.db.drop();
}

/** The principal's access context as it is now (collections added later need a new one). */
export function contextOf(db: TestDb, principal: Principal): Promise<AccessContext> {
  return accessContextFor(db, principal);
}

export async function makePrincipal(db: TestDb, role: Role = "viewer"): Promise<Principal> {
  const user = await makeUser(db, role);
  return {
    kind: "user",
    userId: user.id,
    apiKeyId: null,
    label: user.email,
    role,
    permissions: new Set(ROLE_PERMISSIONS[role]),
    collectionLimit: null,
  };
}

let seq = 0;
export async function addCollection(db: TestDb, slug: string, restricted = false) {
  return makeIngestTarget(db, { slug, name: slug, restricted });
}

/** Writes pages as documents with one chunk per section, embedded with the configured embedder. */
export async function addPages(db: TestDb, where: { collectionId: string; sourceId: string }, pages: Page[]) {
  const ids: string[][] = [];
  for (const page of pages) {
    const doc = await makeDocument(db, {
      ...where,
      externalId: `page-${++seq}`,
      title: page.title,
      url: page.url ?? `https://wiki.example/${seq}`,
      contentHash: `h${seq}`,
    });
    const vectors = await getLlm().embed(page.sections.map((s) => `${page.title}\n${s.heading ?? ""}\n${s.text}`), "document");
    const chunkIds: string[] = [];
    for (const [i, s] of page.sections.entries()) {
      const [row] = await db.prisma.$queryRaw<Array<{ id: string }>>`
        INSERT INTO chunks (document_id, collection_id, position, heading_path, anchor, text, token_count, content_hash, embedding, embedding_model)
        VALUES (${doc.id}::uuid, ${where.collectionId}::uuid, ${i}, ${s.heading ? [s.heading] : []}::text[], ${s.anchor ?? null}, ${s.text},
                ${Math.ceil(s.text.length / 4)}, ${`c${seq}-${i}`}, ${`[${vectors[i]!.join(",")}]`}::vector, 'nomic-embed-text')
        RETURNING id::text`;
      chunkIds.push(row!.id);
    }
    ids.push(chunkIds);
  }
  return ids;
}

/** A small wiki: deployments, holidays, expenses. */
export const WIKI: Page[] = [
  {
    title: "Deployment guide",
    sections: [
      { heading: "When we deploy", text: "Production deploys happen on Tuesdays and Thursdays after the 10:00 stand-up. Friday deploys need approval from the on-call lead.", anchor: "when-we-deploy" },
      { heading: "Rollback", text: "To roll back a release, run the rollback job in the pipeline and post in the #ops channel.", anchor: "rollback" },
    ],
  },
  {
    title: "Holiday policy",
    sections: [{ heading: "Allowance", text: "Every employee has 28 days of paid holiday per year, plus public holidays. Unused days expire in March." }],
  },
  {
    title: "Expenses",
    sections: [{ heading: "Claims", text: "Submit expense claims within 30 days with a receipt photo. Meals are reimbursed up to 40 euros per day when travelling." }],
  },
];
