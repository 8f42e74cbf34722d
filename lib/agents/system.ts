// SOT's own agents. SOT uses agents, cubbies and KES grants itself, through the same services any agent
// uses: the Notion sync agent keeps each source's sync state in a cubby; the query agent and the
// evaluation agent hold grants on the key `wiki-knowledge-key`, which seals the wiki passages an
// evaluation run keeps about its items (lib/evaluate/sealed-passages.ts).
//
// They are made at start-up (and on first use), idempotently: every process may start at once, so the
// work runs under one transaction-scoped advisory lock on PostgreSQL (the embedded database belongs to
// one process already). They are owned by no person (`agents.system`), have no usable credential, and
// get their short-lived tokens from SOT itself; an admin may still disable them (then their work is
// refused like any agent's, and the admin page says so).
import { randomBytes } from "node:crypto";
import { accessContextFor, type AccessContext } from "../access/context";
import { audit } from "../audit";
import { getConfig } from "../config";
import { openedDb, type Db } from "../db/client";
import { AppError, ForbiddenError } from "../errors";
import { getKes, type KesClient } from "../kes/client";
import { KesUnavailableError } from "../kes/errors";
import type { KesOperation } from "../kes/service";
import { log } from "../log";
import { agentPrincipal } from "./principal";
import { ensureSystemAgent, insertSystemToken, waitForSystemAgentsLock } from "./queries";
import { hashSecret, newToken } from "./tokens";
import type { CubbyOperation } from "./types";

export const NOTION_SYNC_AGENT = "sot-notion-sync";
export const QUERY_AGENT = "sot-query-agent";
export const EVAL_AGENT = "sot-eval-agent";
/** The cubby the Notion sync agent keeps each source's sync state in (item `source.<source id>`). */
export const NOTION_SYNC_CUBBY = "sot-notion-sync";
/** Seals the wiki passages evaluation runs keep (lib/evaluate/sealed-passages.ts). */
export const WIKI_KNOWLEDGE_KEY = "wiki-knowledge-key";

export const SYSTEM_AGENTS: ReadonlyArray<{ name: string; description: string }> = [
  { name: NOTION_SYNC_AGENT, description: "SOT's Notion sync: keeps each Notion source's sync state in cubby sot-notion-sync." },
  { name: QUERY_AGENT, description: "SOT's query path: seals the wiki passages an evaluation answer cites (key wiki-knowledge-key)." },
  { name: EVAL_AGENT, description: "SOT's evaluation: reads the sealed wiki passages of evaluation runs (key wiki-knowledge-key)." },
];

/** What each agent holds on wiki-knowledge-key: the query path writes and reads, evaluation reads. */
const WIKI_KEY_GRANTS: ReadonlyArray<{ agent: string; operations: KesOperation[] }> = [
  { agent: QUERY_AGENT, operations: ["generate", "decrypt"] },
  { agent: EVAL_AGENT, operations: ["decrypt"] },
];

const TOKEN_TTL_MS = 10 * 60_000;
/** A cached token is renewed this long before it expires, so no call carries one about to die. */
const TOKEN_RENEW_MS = 2 * 60_000;

const isStatus = (err: unknown, status: number) => err instanceof AppError && err.status === status;

async function ensureWikiKey(kes: KesClient): Promise<void> {
  try {
    await kes.createKey(WIKI_KNOWLEDGE_KEY);
  } catch (err) {
    if (!isStatus(err, 409)) throw err; // 409: it exists already
  }
  const live = (await kes.listGrants(WIKI_KNOWLEDGE_KEY)).filter((g) => g.active);
  for (const g of WIKI_KEY_GRANTS) {
    const holds = live.filter((x) => x.grantee === `agent:${g.agent}`).flatMap((x) => x.operations);
    if (g.operations.every((op) => holds.includes(op))) continue;
    await kes.grant(WIKI_KNOWLEDGE_KEY, `agent:${g.agent}`, { operations: g.operations });
  }
}

async function ensureSyncCubby(db: Db): Promise<void> {
  // Imported here: lib/cubbies imports lib/agents.
  const { createCubby } = await import("../cubbies/service");
  const { cubbyId } = await import("../cubbies/queries");
  if (await cubbyId(db.sql, NOTION_SYNC_CUBBY)) return;
  await createCubby(await systemAgentContext(db, NOTION_SYNC_AGENT), { name: NOTION_SYNC_CUBBY });
}

async function setUp(db: Db): Promise<void> {
  // The embedded KES works on the process's database: SOT's agents must live in that same one.
  if (!getConfig().KES_URL && (await openedDb()) !== db) {
    throw new KesUnavailableError("SOT's agents use the embedded key service, which works on the process's database: this is another one.");
  }
  const work = async () => {
    for (const a of SYSTEM_AGENTS) {
      // The credential is a hash of a secret nobody keeps: these agents get tokens only from SOT.
      const secret = randomBytes(32).toString("base64url");
      const adopted = await ensureSystemAgent(db.sql, { ...a, credentialPrefix: "system", credentialHash: hashSecret(`system:${a.name}:${secret}`) });
      if (!adopted) throw new ForbiddenError(`An agent named "${a.name}" exists and is not SOT's own: rename it, SOT needs the name.`);
    }
    const kes = (await getKes()).onBehalfOf("system:agents-setup");
    await ensureWikiKey(kes);
    await ensureSyncCubby(db);
  };
  if (db.kind !== "postgres") return work();
  // The lock's transaction only holds the lock: the work runs on other connections (KES may be a
  // process of its own), and a second process waits here, then finds everything made.
  await db.sql.transaction(async (tx) => {
    await waitForSystemAgentsLock(tx);
    await work();
  });
}

const READY = new WeakMap<object, Promise<void>>();

/**
 * Makes SOT's agents, the wiki-knowledge key with its grants, and the sync-state cubby, once per
 * process and database (a failure, such as KES being unreachable, is retried on the next call).
 */
export function ensureSystemAgents(db: Db): Promise<void> {
  let p = READY.get(db);
  if (!p) {
    p = setUp(db).catch((err) => {
      READY.delete(db);
      throw err;
    });
    READY.set(db, p);
  }
  return p;
}

/** Start-up: sets them up, and only logs when it cannot yet (KES down): first use tries again. */
export async function setUpSystemAgents(db: Db): Promise<void> {
  try {
    await ensureSystemAgents(db);
    log("info", "SOT's agents ready", { agents: SYSTEM_AGENTS.map((a) => a.name) });
  } catch (err) {
    log("warn", "SOT's agents could not be set up yet; retried on first use", { error: (err as Error).message });
  }
}

const TOKENS = new WeakMap<object, Map<string, { token: string; expiresAt: number }>>();

/**
 * The access context of one of SOT's agents, with a token SOT issued it (cached until shortly before it
 * expires). The token is resolved like any agent's, so a disabled agent is refused (403) here.
 */
export async function systemAgentContext(
  db: Db,
  agent: string,
  opts: { cubby?: string | null; operations?: CubbyOperation[]; requestId?: string } = {},
): Promise<AccessContext> {
  const cacheKey = `${agent}|${opts.cubby ?? ""}|${(opts.operations ?? []).join(",")}`;
  let byAgent = TOKENS.get(db);
  if (!byAgent) TOKENS.set(db, (byAgent = new Map()));
  const cached = byAgent.get(cacheKey);
  // A cached token an admin revoked meanwhile is replaced once; a disabled agent gets none.
  let principal = cached && cached.expiresAt - TOKEN_RENEW_MS > Date.now() ? await agentPrincipal(db, cached.token) : null;
  if (!principal) {
    byAgent.delete(cacheKey);
    const token = newToken();
    const expiresAt = new Date(Date.now() + TOKEN_TTL_MS);
    const operations = opts.operations ?? ["read", "write", "grant"];
    const id = await insertSystemToken(db.sql, { agent, tokenHash: hashSecret(token), cubby: opts.cubby ?? null, operations, expiresAt });
    if (!id) throw new ForbiddenError(`SOT's agent "${agent}" is missing or disabled (Admin → Agents): its work is refused.`);
    await audit(db, null, "agent.token.issue", `agent:${agent}`, { id, cubby: opts.cubby ?? null, operations, expiresAt: expiresAt.toISOString(), system: true });
    principal = await agentPrincipal(db, token);
    if (!principal) throw new ForbiddenError(`SOT's agent "${agent}" is disabled (Admin → Agents): its work is refused.`);
    byAgent.set(cacheKey, { token, expiresAt: expiresAt.getTime() });
  }
  return accessContextFor(db, principal, { requestId: opts.requestId });
}
