// Which principals have budgets at all, and which models are exempt from them, per process, so that work no
// budget applies to (no global budget, none of its own) starts without a statement, and a call of an exempt
// model reserves nothing. Budgets are few and rarely created; the index is read from
// the database at most once per BUDGET_INDEX_TTL_MS (in the background, the previous index served meanwhile)
// and dropped at once when this process creates a budget (setBudget). A budget created by another process
// therefore applies here within about that time; until then
// this process's calls are not counted against it, as usage before a budget existed never is. Budgets that
// exist are reserved on through leases (lease.ts): their use and mode are never taken from this index.
import type { Db } from "../db/client";
import { forgetPrincipals } from "./lease";
import { budgetScopes, exemptModels } from "./queries";
import type { UsageScope } from "./scope";

export const BUDGET_INDEX_TTL_MS = 1000;

interface Index {
  global: boolean;
  scopes: Set<string>;
  exempt: Set<string>;
}
interface Entry {
  at: number;
  index: Promise<Index>;
  /** The index last read, served while a newer one is being read. */
  last?: Index;
}

const KEY = Symbol.for("sot.budgetIndex");
type Holder = typeof globalThis & { [KEY]?: Map<Db, Entry> };
const entries = () => ((globalThis as Holder)[KEY] ??= new Map());

async function load(db: Db): Promise<Index> {
  const [rows, exempt] = await Promise.all([budgetScopes(db.sql), exemptModels(db.sql)]);
  return { global: rows.some((r) => r.scope_kind === "global"), scopes: new Set(rows.map((r) => `${r.scope_kind}:${r.scope_id}`)), exempt: new Set(exempt.map((e) => e.model)) };
}

const sameScopes = (a: Index, b: Index) => a.global === b.global && a.scopes.size === b.scopes.size && [...a.scopes].every((s) => b.scopes.has(s));

function indexOf(db: Db): Promise<Index> | Index {
  const now = performance.now();
  const current = entries().get(db);
  if (current && now - current.at < BUDGET_INDEX_TTL_MS) return current.last ?? current.index;
  const entry: Entry = { at: now, index: load(db), last: current?.last };
  entries().set(db, entry);
  entry.index.then(
    (index) => {
      if (entries().get(db) !== entry) return;
      // Budgets created or deleted elsewhere: the leases' record of which budgets apply to whom is read again.
      if (entry.last && !sameScopes(entry.last, index)) forgetPrincipals(db);
      entry.last = index;
    },
    // A failed read is not kept: the next call reads again.
    () => entries().get(db) === entry && entries().set(db, { ...entry, at: -Infinity }),
  );
  // An expired index is still served while the new one is read (no work waits for the read once a second);
  // only a process that has none yet, or that dropped it on its own change, waits.
  return entry.last ?? entry.index;
}

/** Whether any budget may apply to work done by `w` (false: none does, as of at most BUDGET_INDEX_TTL_MS ago). */
export async function anyBudgetFor(db: Db, w: Pick<UsageScope, "userId" | "apiKeyId" | "agentId" | "scheduleId">): Promise<boolean> {
  const found = indexOf(db);
  const { global, scopes } = found instanceof Promise ? await found : found;
  return (
    global ||
    (w.userId !== null && scopes.has(`user:${w.userId}`)) ||
    (w.apiKeyId !== null && scopes.has(`api_key:${w.apiKeyId}`)) ||
    (w.agentId !== null && scopes.has(`agent:${w.agentId}`)) ||
    (w.scheduleId !== null && scopes.has(`schedule:${w.scheduleId}`))
  );
}

/** Whether an admin exempted `model` from every budget (as of at most BUDGET_INDEX_TTL_MS ago). */
export async function isExemptModel(db: Db, model: string): Promise<boolean> {
  const found = indexOf(db);
  return (found instanceof Promise ? await found : found).exempt.has(model);
}

/** A budget was created or a model exempted here: the next piece of work reads the index again. */
export function budgetsChanged(): void {
  entries().clear();
  forgetPrincipals();
}
