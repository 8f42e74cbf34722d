// Generic requests for any route, without knowing its schema in advance: bodies and query strings built
// from the field names routes usually take, with ids drawn from pools of seeded ids, adapted to each
// route from its own 400 answers (the route wrapper names every bad field: unknown keys are dropped,
// missing ones filled, enum options — export formats, target kinds — learned and each one sent).
// Every response goes to one callback, so a test can look at everything a caller was ever told.
import type { Method, RouteFile } from "@/tests/helpers/app-surface";
import { send, type Caller, type HttpResult } from "@/tests/helpers/http";

/** Seeded ids by kind ("collection", "run", …); the protected collection's ids first. */
export type IdPools = Record<string, string[]>;

/** The question probes ask: words of the protected page, never the canary itself. */
export const PROBE_QUESTION = "What is the vault code phrase?";
const PROBE_TEXT = "The vault code phrase is recited at the door.";

/** Field names routes use for ids, and the kind of id each takes. */
const ID_FIELDS: Record<string, string> = {
  collectionId: "collection",
  collection: "collection",
  collections: "collection",
  collectionIds: "collection",
  sourceId: "source",
  source: "source",
  documentId: "document",
  chunkId: "chunk",
  chunk: "chunk",
  conversationId: "conversation",
  c: "conversation",
  queryLogId: "queryLog",
  datasetId: "dataset",
  itemId: "datasetItem",
  runId: "run",
  baselineRunId: "run",
  baseline: "run",
  targetId: "target",
  userId: "user",
  userIds: "user",
  keyId: "apiKey",
  scheduleId: "schedule",
  jobId: "importJob",
  // OpenAI-style APIs name a collection as a model (by its slug).
  model: "model",
  // Agents and cubbies are named, not numbered.
  agent: "agent",
  allowedAgents: "agent",
  cubby: "cubby",
};
const ARRAY_FIELDS = new Set(["collections", "collectionIds", "userIds", "allowedAgents"]);

let serial = 0;
/** Other usual fields with a plausible value (functions: a fresh value per request, e.g. unique names). */
const VALUE_FIELDS: Record<string, unknown> = {
  question: PROBE_QUESTION,
  q: PROBE_QUESTION,
  query: PROBE_QUESTION,
  input: PROBE_QUESTION,
  messages: [{ role: "user", content: PROBE_QUESTION }],
  output: PROBE_TEXT,
  reference: PROBE_TEXT,
  passages: [{ text: PROBE_TEXT, title: "probe" }],
  retrieve: true,
  items: [{ question: PROBE_QUESTION }],
  text: JSON.stringify({ question: PROBE_QUESTION }),
  title: "probe",
  name: () => `probe ${++serial}`,
  description: "probe",
  note: "probe",
  comment: "probe",
  hallucinationScore: 3,
  rating: -1,
  version: 1,
  saveConversation: true,
  regenerate: false,
  scopes: ["ask"],
  expiresInDays: 1,
};
/** Fields sent once with each value. */
const VARIANT_FIELDS: Record<string, unknown[]> = { stream: [false, true] };
/** Fields whose options are learned from the route's own 400 (sent as "?" first). */
const ENUM_FIELDS = ["format", "targetKind", "kind", "mode"];
const MAX_LEARNING_STEPS = 8;
const MAX_VARIANTS = 12;

type Where = "body" | "query";
interface Shape {
  fields: Record<Where, Record<string, unknown>>;
  enums: Map<string, unknown[]>; // "body.format" → options
  dropped: Set<string>; // "body.x"
}

function template(where: Where): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [f, kind] of Object.entries(ID_FIELDS)) out[f] = { $id: kind, array: where === "body" && ARRAY_FIELDS.has(f) };
  for (const [f, v] of Object.entries(VALUE_FIELDS)) if (where === "body" || typeof v !== "object") out[f] = v;
  if (where === "body") Object.assign(out, variantFields());
  for (const f of ENUM_FIELDS) out[f] = "?";
  return out;
}

function variantFields(): Record<string, unknown> {
  return Object.fromEntries(Object.keys(VARIANT_FIELDS).map((f) => [f, { $variant: f }]));
}

function pick(pools: IdPools, kind: string, round: number): string | undefined {
  const pool = pools[kind] ?? [];
  return pool.length ? pool[round % pool.length] : undefined;
}

/** Concrete values for one request: ids of this round, this variant's enum options. */
function materialise(fields: Record<string, unknown>, where: Where, pools: IdPools, round: number, variant: Map<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [f, v] of Object.entries(fields)) {
    if (variant.has(`${where}.${f}`)) out[f] = variant.get(`${where}.${f}`);
    else if (v && typeof v === "object" && "$id" in v) {
      const ref = v as { $id: string; array: boolean };
      const id = pick(pools, ref.$id, round);
      if (id === undefined) continue;
      out[f] = ref.array ? [id] : id;
    } else if (v && typeof v === "object" && "$variant" in v) out[f] = VARIANT_FIELDS[(v as { $variant: string }).$variant]![0];
    else out[f] = typeof v === "function" ? v() : v;
  }
  return out;
}

function queryString(q: Record<string, unknown>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || typeof v === "object") continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

const TYPE_DEFAULTS: Record<string, unknown> = { string: "probe", number: 1, int: 1, boolean: true, array: [], object: {} };

/** Adapts the shape to a 400 answer; false when nothing could be learned from it. */
function learn(shape: Shape, res: HttpResult): boolean {
  const details: Array<{ path?: string; message?: string; in?: string }> = res.json?.error?.details ?? [];
  let learned = false;
  for (const d of details) {
    const where = d.in === "body" || d.in === "query" ? d.in : null;
    if (!where || typeof d.message !== "string") continue; // the handler's own checks teach nothing about the shape
    const fields = shape.fields[where];
    const top = (d.path ?? "").split(".")[0]!;
    const msg = d.message;
    const unknown = /^Unrecognized keys?: (.+)$/.exec(msg);
    if (unknown) {
      for (const m of unknown[1]!.matchAll(/"([^"]+)"/g)) {
        if (m[1]! in fields) {
          delete fields[m[1]!];
          shape.dropped.add(`${where}.${m[1]}`);
          learned = true;
        }
      }
      continue;
    }
    if (!top || top === "(root)") continue;
    const options = /expected one of (.+)$/.exec(msg)?.[1] ?? /Expected '(.+)'$/.exec(msg)?.[1];
    if (options && !shape.enums.has(`${where}.${top}`)) {
      const values = [...options.matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2]);
      if (values.length) {
        shape.enums.set(`${where}.${top}`, values);
        fields[top] = values[0];
        learned = true;
        continue;
      }
    }
    const typed = /expected (\w+), received (\w+)/.exec(msg);
    if (typed && !(top in fields && typed[2] === "undefined" && fields[top] !== undefined)) {
      if (shape.dropped.has(`${where}.${top}`)) continue;
      const wanted = typed[1]!;
      const kind = ID_FIELDS[top];
      const value = kind ? { $id: kind, array: wanted === "array" } : top in VALUE_FIELDS && typed[2] === "undefined" ? VALUE_FIELDS[top] : TYPE_DEFAULTS[wanted];
      if (value === undefined || JSON.stringify(fields[top]) === JSON.stringify(value)) continue;
      fields[top] = value;
      learned = true;
      continue;
    }
    // Any other complaint about a field we chose to send (a refinement, a format): leave it out.
    if (top in fields && !shape.dropped.has(`${where}.${top}`)) {
      delete fields[top];
      shape.dropped.add(`${where}.${top}`);
      learned = true;
    }
  }
  return learned;
}

function variants(shape: Shape): Array<Map<string, unknown>> {
  const axes: Array<[string, unknown[]]> = [...shape.enums];
  for (const [f, values] of Object.entries(VARIANT_FIELDS)) if (f in shape.fields.body) axes.push([`body.${f}`, values]);
  let out: Array<Map<string, unknown>> = [new Map()];
  for (const [key, values] of axes) out = out.flatMap((m) => values.map((v) => new Map([...m, [key, v]])));
  return out.slice(0, MAX_VARIANTS);
}

export interface ProbeResult {
  caller: Caller;
  method: Method;
  url: string;
  body: unknown;
  res: HttpResult;
}

export interface Prober {
  /**
   * Every request the route takes for this caller and method, on each of `paths` (the route's pattern
   * with its dynamic segments filled). Body and query ids: the i-th path gets the i-th round of ids; a
   * route without dynamic segments gets as many rounds as its fields need for every id to be sent.
   */
  probe(caller: Caller, route: RouteFile, method: Method, paths: string[]): Promise<void>;
}

/**
 * A refusal of the caller itself, made before the route reads anything of the request: no credentials
 * (401), or a permission the caller lacks (the route wrapper's and the access context's 403).
 */
export function refusedOutright(res: HttpResult): boolean {
  const code = res.json?.error?.code;
  if (res.status === 401 && code === "unauthorized") return true;
  return res.status === 403 && code === "forbidden" && /^This needs the "\w+" permission/.test(res.json?.error?.message ?? "");
}

/** How many rounds of ids a shape takes: the largest pool among its id fields. */
function roundsOf(shape: Shape, pools: IdPools): number {
  let n = 1;
  for (const fields of [shape.fields.body, shape.fields.query]) {
    for (const v of Object.values(fields)) {
      if (v && typeof v === "object" && "$id" in v) n = Math.max(n, pools[(v as { $id: string }).$id]?.length ?? 0);
    }
  }
  return n;
}

/**
 * A prober for one app. Each caller learns each route's shape once (from an empty body and query,
 * giving the minimal request, and from every usual field, giving the full one) and then sends the
 * minimal and the full form with every learned option.
 */
export function prober(baseUrl: string, pools: IdPools, onResponse: (r: ProbeResult) => void): Prober {
  const shapes = new Map<string, { minimal: Shape; full: Shape }>();

  async function call(caller: Caller, method: Method, path: string, shape: Shape, round: number, variant: Map<string, unknown>) {
    const query = materialise(shape.fields.query, "query", pools, round, variant);
    const body = method === "GET" ? undefined : materialise(shape.fields.body, "body", pools, round, variant);
    const url = path + queryString(query);
    const res = await send(baseUrl, caller, method, url, body);
    onResponse({ caller, method, url, body, res });
    return res;
  }

  /** Learns the shape; returns the first answer. */
  async function settle(caller: Caller, method: Method, path: string, shape: Shape): Promise<HttpResult> {
    let first: HttpResult | undefined;
    for (let step = 0; step < MAX_LEARNING_STEPS; step++) {
      const res = await call(caller, method, path, shape, 0, variants(shape)[0]!);
      first ??= res;
      if (res.status !== 400 || !learn(shape, res)) break;
    }
    return first!;
  }

  return {
    async probe(caller, route, method, paths) {
      const key = `${caller.name}|${method}|${route.pattern}`;
      let learned = shapes.get(key);
      if (!learned) {
        // The minimal form starts empty but for the variant fields (the streamed and JSON forms of an ask).
        const minimal: Shape = { fields: { body: variantFields(), query: {} }, enums: new Map(), dropped: new Set() };
        const full: Shape = { fields: { body: template("body"), query: template("query") }, enums: new Map(), dropped: new Set() };
        const first = await settle(caller, method, paths[0]!, minimal);
        // Refused for who the caller is, before the route looks at ids or input: no id or body changes that.
        if (refusedOutright(first)) return;
        await settle(caller, method, paths[0]!, full);
        learned = { minimal, full };
        shapes.set(key, learned);
      }
      for (const shape of [learned.minimal, learned.full]) {
        const plan = paths.length > 1 ? paths.map((p, i) => [p, i] as const) : Array.from({ length: roundsOf(shape, pools) }, (_, r) => [paths[0]!, r] as const);
        for (const [path, round] of plan) for (const v of variants(shape)) await call(caller, method, path, shape, round, v);
      }
    },
  };
}

/**
 * The concrete paths of a route: each dynamic segment filled with each seeded id (of every kind); a
 * catch-all segment ([...x], [[...x]]) takes every id at once, one per path segment.
 */
export function concretePaths(route: Pick<RouteFile, "pattern">, allIds: string[]): string[] {
  const segments = route.pattern.split("/");
  const catchAll = (s: string) => /^\[\[?\.\.\./.test(s);
  if (!segments.some((s) => /^\[/.test(s))) return [route.pattern];
  const fill = (id: string) => segments.map((s) => (catchAll(s) ? allIds.join("/") : /^\[/.test(s) ? id : s)).join("/");
  return segments.some((s) => /^\[/.test(s) && !catchAll(s)) ? allIds.map(fill) : [fill("")];
}

/** Search parameters pages usually read (search text, a conversation, a collection, a cited chunk, a baseline run, a version). */
const PAGE_QUERY_FIELDS = ["q", "c", "collection", "chunk", "baseline", "version"];

/** The usual page query parameters with the ids of this round. */
export function pageQuery(pools: IdPools, round: number): string {
  const all = template("query");
  const fields = Object.fromEntries(PAGE_QUERY_FIELDS.filter((f) => f in all).map((f) => [f, all[f]]));
  return queryString(materialise(fields, "query", pools, round, new Map()));
}

/** How many rounds of page queries it takes for every id they take to be used once. */
export function pageQueryRounds(pools: IdPools): number {
  return Math.max(1, ...PAGE_QUERY_FIELDS.filter((f) => ID_FIELDS[f]).map((f) => pools[ID_FIELDS[f]!]?.length ?? 0));
}

/** The ids an answer hands out: values of "id" and "…Id" fields of a JSON body, at any depth. */
export function idsHandedOut(json: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(json)) for (const v of json) idsHandedOut(v, out);
  else if (json && typeof json === "object") {
    for (const [k, v] of Object.entries(json)) {
      if (typeof v === "string" && (k === "id" || /[a-z]Id$/.test(k)) && k !== "requestId" && /^[0-9a-f-]{36}$/i.test(v)) out.add(v);
      else idsHandedOut(v, out);
    }
  }
  return out;
}
