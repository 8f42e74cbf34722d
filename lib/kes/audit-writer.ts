// KES audits every call (who, which key, allowed or refused) before it answers. Concurrent calls share
// one INSERT (group commit): a call's row is written by the next statement to go out, and the call
// answers once that statement has committed, so no answer is given for an unrecorded call. A lone call
// goes out at once (no waiting for company); calls that arrive while a write is in flight go together
// in the next one.
import type { AuditRow } from "../audit";
import type { Db } from "../db/client";
import { insertAuditRows } from "./queries";

/** Rows per statement at most (a burst larger than this takes several). */
const MAX_BATCH = 200;

interface Waiting {
  row: AuditRow;
  done: (err?: unknown) => void;
}

class AuditWriter {
  private queue: Waiting[] = [];
  private writing = false;

  constructor(private readonly db: Db) {}

  write(row: AuditRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await insertAuditRows(this.db.sql, batch.map((w) => w.row));
          for (const w of batch) w.done();
        } catch (err) {
          // The calls whose rows these were fail (as a failed single insert failed its call).
          for (const w of batch) w.done(err ?? new Error("audit write failed"));
        }
      }
    } finally {
      this.writing = false;
    }
  }
}

// On globalThis, like every process-wide singleton: the web process loads this module twice (Next.js's
// bundle and scripts/direct-routes.ts), and both copies must share one writer per database.
const WRITERS = Symbol.for("sot.kesAuditWriters");
type WritersHolder = typeof globalThis & { [WRITERS]?: WeakMap<Db, AuditWriter> };

/** Writes one audit row through the database's group-committing writer; resolves once it is committed. */
export function writeKesAudit(db: Db, row: AuditRow): Promise<void> {
  const writers = ((globalThis as WritersHolder)[WRITERS] ??= new WeakMap());
  let w = writers.get(db);
  if (!w) writers.set(db, (w = new AuditWriter(db)));
  return w.write(row);
}
