// Who may do what: ONE table, for every route file under app/ (keyed by its URL pattern). The route-table
// test (tests/e2e/access-route-table.test.ts) checks the running app against it and fails for a route
// file without an entry; the README's "Who may do what" matrix is rendered from it and a test fails when
// the two differ. After changing the table, rewrite the README's matrix with
//   bash scripts/run.sh tsx tests/helpers/access-matrix.ts --write
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Permission } from "@/lib/auth/roles";
import type { Method } from "@/tests/helpers/app-surface";

/**
 * What a method needs: a permission (a role that grants it, or a key with that scope), or "public"
 * (anyone), "signature" (the body is signed: webhooks), "nextauth" (the sign-in flow), "notfound"
 * (the JSON 404 for unknown API paths), "mcp" (the MCP server: anonymous callers get 401 with
 * `WWW-Authenticate: Bearer resource_metadata=…`, each tool checks its own scope: tests/e2e/mcp-server.test.ts),
 * "agent" (an agent's token: people and API keys get 403; what it reaches is KES's grants, checked on every
 * call: tests/e2e/cubbies.test.ts).
 */
export type Access = Permission | "public" | "signature" | "nextauth" | "notfound" | "mcp" | "agent";

/** Whose data a method shows or changes, beyond the permission. */
export type DataRule =
  | "none" // no collection data
  | "readable" // only data of collections the caller may read; anything else answers like it does not exist
  | "writable" // only into collections the caller may import into
  | "own" // only the caller's own records (a key's own, never its creator's)
  | "owner" // changing is for the record's owner or an admin, and only within readable collections
  | "instance" // administration of the whole instance (admins read every collection)
  | "grants"; // no collection data: cubbies and KES keys, by the agent's live KES grants

/** The objects a route-table run makes (through the app's API) for its probes. */
export interface World {
  /** Restricted; the probing keys are limited to B. */
  collectionA: string;
  /** A's slug: its model name on the OpenAI-compatible API. */
  slugA: string;
  collectionB: string;
  sourceA: string;
  /** A dataset scoped to A, owned by an admin. */
  datasetA: string;
  /** A run of datasetA. */
  runA: string;
  /** A conversation of the admin who created the probing keys. */
  adminConversation: string;
}

/**
 * A probe of the boundary, by a key with the method's scope that is limited to collection B (made by an
 * admin who reads everything): "refused" — 403 or 404 (or `statuses`); "excludes" — 200 without A's ids.
 */
export interface Probe {
  method: Method;
  path: (w: World) => string;
  body?: (w: World) => unknown;
  expect: "refused" | "excludes";
  /** Who probes: the key limited to B (default), or an admin session (for rules about admins). */
  as?: "keyB" | "admin";
  statuses?: number[];
}

export interface Entry {
  methods: Partial<Record<Method, Access>>;
  /** One rule for every method, or per method. */
  data: DataRule | Partial<Record<Method, DataRule>>;
  probes?: Probe[];
  /** A short remark for the README's matrix. */
  note?: string;
}

const ALL: Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const every = (access: Access) => Object.fromEntries(ALL.map((m) => [m, access])) as Record<Method, Access>;

export const ROUTES: Record<string, Entry> = {
  "/api/[...path]": { methods: every("notfound"), data: "none", note: "any other /api path: JSON 404" },
  "/api/auth/[...nextauth]": { methods: { GET: "nextauth", POST: "nextauth" }, data: "none", note: "sign-in, sign-out, session (next-auth)" },
  "/api/health": { methods: { GET: "public" }, data: "none", note: "details only for a signed-in caller" },
  "/api/setup": { methods: { POST: "public" }, data: "none", note: "only while no user exists" },
  "/api/metrics": { methods: { GET: "admin" }, data: "none", note: "or `Authorization: Bearer $METRICS_TOKEN`" },
  "/api/notion/webhook": { methods: { POST: "signature" }, data: "none", note: "Notion's handshake and signed events" },

  "/api/evaluate": {
    methods: { POST: "ask" },
    data: "readable",
    probes: [{ method: "POST", path: () => "/api/evaluate", body: (w) => ({ question: "salary bands?", collections: [w.collectionA], stream: false }), expect: "refused" }],
  },
  "/api/evaluate/score": { methods: { POST: "score" }, data: "readable", note: "`retrieve: true` searches readable collections only" },
  "/api/conversations": { methods: { GET: "ask", POST: "ask" }, data: "own", probes: [{ method: "GET", path: () => "/api/conversations", expect: "excludes" }] },
  "/api/conversations/[id]": {
    methods: { GET: "ask", DELETE: "ask" },
    data: "own",
    probes: [
      { method: "GET", path: (w) => `/api/conversations/${w.adminConversation}`, expect: "refused" },
      { method: "DELETE", path: (w) => `/api/conversations/${w.adminConversation}`, expect: "refused" },
    ],
  },
  "/api/feedback": { methods: { POST: "ask", GET: "admin" }, data: { POST: "own", GET: "instance" }, note: "rating: the asker's own answers; list and export: admins" },

  "/api/sources": { methods: { GET: "import", POST: "admin" }, data: { GET: "readable", POST: "instance" }, probes: [{ method: "GET", path: () => "/api/sources", expect: "excludes" }] },
  "/api/sources/[id]": {
    methods: { DELETE: "admin" },
    data: "instance",
    note: "waits for another admin's approval (202)",
  },
  "/api/sources/[id]/webhook-token": {
    methods: { GET: "admin", POST: "admin", DELETE: "admin" },
    data: "instance",
    note: "POST opens the Notion handshake for 15 minutes",
  },
  "/api/import": {
    methods: { POST: "import" },
    data: "writable",
    probes: [{ method: "POST", path: () => "/api/import", body: (w) => ({ sourceId: w.sourceA }), expect: "refused" }],
  },
  "/api/import/[id]": { methods: { GET: "import" }, data: "readable" },
  "/api/import/[id]/resume": { methods: { POST: "import" }, data: "writable", note: "an import stopped at a run limit; new limits optional" },
  "/api/import/supabase": {
    methods: { POST: "admin" },
    data: "instance",
    note: "Move in from Supabase: the export (pg_dump or CSV) as the body; a dry run's report, or a queued import",
  },
  "/api/import/upload": {
    methods: { POST: "import" },
    data: "writable",
    probes: [{ method: "POST", path: (w) => `/api/import/upload?collectionId=${w.collectionA}`, expect: "refused" }],
  },

  "/api/annotations": { methods: { POST: "score" }, data: "readable", note: "human scores on answers the caller may read" },
  "/api/annotations/agreement": { methods: { GET: "score" }, data: "readable" },
  "/api/annotations/next": { methods: { GET: "score" }, data: "readable" },
  "/api/annotations/skip": { methods: { POST: "score" }, data: "readable" },
  "/api/datasets": {
    methods: { GET: "score", POST: "score" },
    data: "readable",
    probes: [{ method: "GET", path: () => "/api/datasets", expect: "excludes" }],
    note: "a new dataset is the caller's, scoped to collections it reads",
  },
  "/api/datasets/import": { methods: { POST: "score" }, data: "owner", note: "into an existing dataset: its owner or an admin" },
  "/api/datasets/[id]": {
    methods: { GET: "score", PATCH: "score" },
    data: { GET: "readable", PATCH: "owner" },
    probes: [
      { method: "GET", path: (w) => `/api/datasets/${w.datasetA}`, expect: "refused" },
      { method: "PATCH", path: (w) => `/api/datasets/${w.datasetA}`, body: () => ({ name: "renamed by a key for B" }), expect: "refused" },
    ],
  },
  "/api/datasets/[id]/export": {
    methods: { GET: "score" },
    data: "readable",
    probes: [{ method: "GET", path: (w) => `/api/datasets/${w.datasetA}/export?format=csv`, expect: "refused" }],
  },
  "/api/datasets/[id]/items": { methods: { POST: "score" }, data: "owner", note: "adds a logged question the caller may read" },
  "/api/runs": {
    methods: { GET: "score", POST: "score" },
    data: "readable",
    probes: [
      { method: "GET", path: () => "/api/runs", expect: "excludes" },
      { method: "POST", path: () => "/api/runs", body: (w) => ({ datasetId: w.datasetA }), expect: "refused" },
    ],
    note: "a run asks only over collections its starter reads; over APPROVAL_RUN_ITEMS items it waits for approval (202)",
  },
  "/api/runs/[id]": {
    methods: { GET: "score" },
    data: "readable",
    probes: [{ method: "GET", path: (w) => `/api/runs/${w.runA}`, expect: "refused" }],
    note: "items outside the caller's collections are counted, not shown",
  },
  "/api/runs/[id]/resume": {
    methods: { POST: "score" },
    data: "readable",
    probes: [{ method: "POST", path: (w) => `/api/runs/${w.runA}/resume`, body: () => ({}), expect: "refused" }],
    note: "a run stopped at a run limit; new limits optional",
  },
  "/api/runs/trend": { methods: { GET: "score" }, data: "readable" },

  "/api/schedules": { methods: { GET: "admin", POST: "admin" }, data: "instance", note: "a schedule runs as the user named when it is created" },
  "/api/schedules/[id]": { methods: { GET: "admin", PATCH: "admin", DELETE: "admin" }, data: "instance" },
  "/api/schedules/[id]/disable": { methods: { POST: "admin" }, data: "instance" },
  "/api/schedules/[id]/enable": { methods: { POST: "admin" }, data: "instance" },
  "/api/schedules/[id]/history": { methods: { GET: "admin" }, data: "instance" },
  "/api/schedules/[id]/run-now": { methods: { POST: "admin" }, data: "instance" },
  "/api/schedules/[id]/runs/[runId]/resume": {
    methods: { POST: "admin" },
    data: "instance",
    note: "a run stopped at the schedule's limits: its evaluation run or import goes on; new limits optional",
  },
  "/api/backups": { methods: { GET: "admin", POST: "admin" }, data: "instance" },
  "/api/backups/[id]": { methods: { GET: "admin" }, data: "instance" },

  "/api/admin/users": { methods: { GET: "admin", POST: "admin" }, data: "instance" },
  "/api/admin/users/[id]": { methods: { PATCH: "admin" }, data: "instance" },
  "/api/admin/keys": {
    methods: { GET: "admin", POST: "admin" },
    data: "instance",
    probes: [
      {
        method: "POST",
        path: () => "/api/admin/keys",
        body: (w) => ({ name: "admin key for B", scopes: ["admin"], collectionIds: [w.collectionB] }),
        expect: "refused",
        as: "admin",
        statuses: [400],
      },
    ],
    note: "an admin-scoped key cannot be limited to collections",
  },
  "/api/admin/keys/[id]": { methods: { DELETE: "admin" }, data: "instance" },
  "/api/admin/audit": { methods: { GET: "admin" }, data: "instance" },
  "/api/admin/collections": { methods: { GET: "admin", POST: "admin" }, data: "instance" },
  "/api/admin/collections/[id]": { methods: { PATCH: "admin", DELETE: "admin" }, data: "instance", note: "DELETE waits for another admin's approval (202)" },
  "/api/admin/collections/[id]/members": { methods: { PUT: "admin" }, data: "instance" },
  "/api/admin/retrieval/fusion": { methods: { GET: "admin", POST: "admin", PUT: "admin" }, data: "instance" },
  "/api/admin/usage": { methods: { GET: "admin" }, data: "instance", note: "the usage ledger's totals by day, model and principal" },
  "/api/admin/budgets": { methods: { GET: "admin", PUT: "admin" }, data: "instance", note: "budgets in tokens or GPU-seconds; changes audited" },
  "/api/admin/budgets/[id]": { methods: { POST: "admin", DELETE: "admin" }, data: "instance", note: "restart a window, delete" },
  "/api/admin/budgets/exempt-models": { methods: { PUT: "admin" }, data: "instance" },
  "/api/admin/notifications": {
    methods: { GET: "admin", POST: "admin" },
    data: "instance",
    note: "Discord, signed webhook and e-mail targets; secrets stored encrypted and never shown",
  },
  "/api/admin/notifications/[id]": { methods: { PATCH: "admin", DELETE: "admin" }, data: "instance" },

  "/api/approvals": {
    methods: { GET: "ask", POST: "admin" },
    data: { GET: "own", POST: "instance" },
    note: "GET: admins see every request, anyone else their own; POST: an admin asks for a command's action (restore, key rotation…)",
  },
  "/api/approvals/[id]": { methods: { GET: "ask" }, data: "own", note: "admins any request; anyone else their own (others are 404)" },
  "/api/approvals/[id]/decision": {
    methods: { POST: "admin" },
    data: "instance",
    note: "an admin other than the requester, with a comment",
  },
  "/api/insights": {
    methods: { GET: "score" },
    data: "readable",
    note: "counts over readable collections; uncovered questions: everyone's for admins, the caller's own otherwise",
  },

  "/api/keys": {
    methods: { GET: "ask", POST: "ask" },
    data: "own",
    probes: [{ method: "POST", path: () => "/api/keys", body: (w) => ({ name: "widen", scopes: ["ask"], collectionIds: [w.collectionA] }), expect: "refused" }],
    note: "the caller's own keys (the Connect page), limited only to collections the caller reads",
  },
  "/api/keys/[id]": { methods: { DELETE: "ask" }, data: "own" },
  "/api/mcp": { methods: { POST: "mcp" }, data: "readable", note: "MCP tools over the key's access context; an unreadable collection is a tool error" },
  "/.well-known/oauth-protected-resource/api/mcp": { methods: { GET: "public" }, data: "none", note: "the MCP server's protected-resource metadata" },

  "/api/agents": { methods: { GET: "admin", POST: "admin" }, data: "instance", note: "an agent belongs to the admin who makes it; its credential is shown once" },
  "/api/agents/[name]": { methods: { PATCH: "admin" }, data: "instance", note: "disabling stops its credential and every token it holds or delegated" },
  "/api/agents/tokens": {
    methods: { POST: "agent", GET: "admin" },
    data: { POST: "grants", GET: "instance" },
    note: "POST with the credential: a token; with a token: a delegated one, never wider nor longer",
  },
  "/api/agents/tokens/[id]": { methods: { DELETE: "admin" }, data: "instance", note: "tokens delegated from it die with it" },
  "/api/agents/tokens/[id]/resume": {
    methods: { POST: "admin" },
    data: "instance",
    note: "a token stopped at a limit: counts from zero, new limits or expiry never past its parent's",
  },
  "/api/cubbies": { methods: { GET: "agent", POST: "agent" }, data: "grants" },
  "/api/cubbies/[name]": { methods: { GET: "agent" }, data: "grants" },
  "/api/cubbies/[name]/items": { methods: { GET: "agent" }, data: "grants", note: "keys, versions and sizes" },
  "/api/cubbies/[name]/items/[key]": { methods: { GET: "agent", PUT: "agent", DELETE: "agent" }, data: "grants", note: "read / write; `ifVersion` → 409" },
  "/api/cubbies/[name]/grants": { methods: { GET: "agent", POST: "agent" }, data: "grants", note: "grant: at most what the granter holds" },
  "/api/cubbies/[name]/grants/[agent]": { methods: { DELETE: "agent" }, data: "grants", note: "holds for the very next call" },
  "/api/kes/encrypt": { methods: { POST: "agent" }, data: "grants", note: "`generate` on the key" },
  "/api/kes/decrypt": { methods: { POST: "agent" }, data: "grants", note: "`decrypt` on the key, and among the payload's readers" },
  "/api/kes/data-key": { methods: { POST: "agent" }, data: "grants", note: "`generate` on the key" },
  "/api/admin/cubbies": { methods: { GET: "admin" }, data: "instance", note: "names, sizes, key versions, grants: never a value" },
  "/api/admin/cubbies/[name]": { methods: { POST: "admin" }, data: "instance", note: "rotate, rewrap, retire; shred waits for another admin's approval (202)" },
  "/api/admin/cubbies/[name]/grants": { methods: { POST: "admin" }, data: "instance", note: "an agent new to the cubby waits for another admin's approval (202)" },
  "/api/admin/cubbies/[name]/grants/[agent]": { methods: { DELETE: "admin" }, data: "instance" },

  "/v1/[...path]": { methods: every("notfound"), data: "none", note: "any other /v1 path: 404 in OpenAI's error shape" },
  "/v1/models": { methods: { GET: "ask" }, data: "readable", probes: [{ method: "GET", path: () => "/v1/models", expect: "excludes" }], note: "one model per readable collection" },
  "/v1/models/[model]": { methods: { GET: "ask" }, data: "readable", probes: [{ method: "GET", path: (w) => `/v1/models/${w.slugA}`, expect: "refused" }] },
  "/v1/chat/completions": {
    methods: { POST: "ask" },
    data: "readable",
    probes: [
      {
        method: "POST",
        path: () => "/v1/chat/completions",
        body: (w) => ({ model: w.slugA, messages: [{ role: "user", content: "salary bands?" }] }),
        expect: "refused",
      },
    ],
  },
  "/v1/embeddings": { methods: { POST: "ask" }, data: "none" },
};

export function dataRule(entry: Entry, method: Method): DataRule {
  return typeof entry.data === "string" ? entry.data : (entry.data[method] ?? "none");
}

// ───────────── the README's matrix ─────────────

const ROLE_GRANTS: Record<"viewer" | "evaluator" | "admin", Permission[]> = {
  viewer: ["ask"],
  evaluator: ["ask", "score"],
  admin: ["ask", "score", "import", "admin"],
};

const DATA_TEXT: Record<DataRule, string> = {
  none: "–",
  readable: "collections the caller reads",
  writable: "collections the caller may import into",
  own: "the caller's own (a key's own)",
  owner: "its owner or an admin, within readable collections",
  instance: "the whole instance",
  grants: "cubbies and keys the agent holds KES grants on",
};

const YES = "✓";
const NO = "–";

function row(pattern: string, methods: Method[], entry: Entry): string {
  const access = entry.methods[methods[0]!]!;
  const who = (role: keyof typeof ROLE_GRANTS) => (ROLE_GRANTS[role].includes(access as Permission) ? YES : NO);
  let cells: string[];
  if (access === "public") cells = [YES, YES, YES, YES, "none"];
  else if (access === "signature") cells = ["signed", NO, NO, NO, NO];
  else if (access === "nextauth") cells = [YES, YES, YES, YES, NO];
  else if (access === "notfound") cells = ["404", "404", "404", "404", "404"];
  else if (access === "agent") cells = [NO, NO, NO, NO, "agent token"];
  else cells = [NO, who("viewer"), who("evaluator"), who("admin"), `\`${access}\``];
  const data = DATA_TEXT[dataRule(entry, methods[0]!)];
  const named = methods.length === ALL.length ? "any" : methods.join(", ");
  return `| \`${pattern}\` | ${named} | ${cells.join(" | ")} | ${data} | ${entry.note ?? ""} |`;
}

export const MATRIX_START = "<!-- access-matrix: generated from tests/helpers/access-matrix.ts -->";
export const MATRIX_END = "<!-- /access-matrix -->";

/** The README's matrix: one row per route and kind of access (methods that share it share a row). */
export function renderMatrix(): string {
  const lines = [
    "| route | method | anonymous | viewer | evaluator | admin | API key scope | whose data | notes |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [pattern, entry] of Object.entries(ROUTES)) {
    const groups = new Map<string, Method[]>();
    for (const method of ALL) {
      if (!entry.methods[method]) continue;
      const key = `${entry.methods[method]}|${dataRule(entry, method)}`;
      groups.set(key, [...(groups.get(key) ?? []), method]);
    }
    for (const methods of groups.values()) lines.push(row(pattern, methods, entry));
  }
  return lines.join("\n");
}

export const README = path.resolve(import.meta.dirname, "..", "..", "README.md");

/** The matrix as the README has it (between the markers), or null when the markers are missing. */
export function readmeMatrix(readme = readFileSync(README, "utf8")): string | null {
  const start = readme.indexOf(MATRIX_START);
  const end = readme.indexOf(MATRIX_END);
  if (start < 0 || end < start) return null;
  return readme.slice(start + MATRIX_START.length, end).trim();
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes("--write")) {
  const readme = readFileSync(README, "utf8");
  if (readmeMatrix(readme) === null) throw new Error(`README.md has no ${MATRIX_START} … ${MATRIX_END} block`);
  const start = readme.indexOf(MATRIX_START) + MATRIX_START.length;
  writeFileSync(README, `${readme.slice(0, start)}\n${renderMatrix()}\n${readme.slice(readme.indexOf(MATRIX_END))}`);
  console.log("README.md: access matrix rewritten");
}
