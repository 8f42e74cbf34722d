// How many hybrid searches one process runs at once. On two cores, eight searches at once cost PostgreSQL
// four to five times the CPU each of one at a time (bench:ask, docs/benchmarks.md "Ask overhead") and
// finish later than the same searches run two by two: the excess waits here, first come first served.
import type { Db } from "../db/client";

export interface Slots {
  /** Runs `fn` once a slot is free (at once when one is). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Calls running now. */
  readonly running: number;
  /** Calls waiting for a slot. */
  readonly waiting: number;
}

/** At most `limit` calls of `run` at once; the others start in the order they came. */
export function createSlots(limit: number): Slots {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`slots: limit must be a positive integer (got ${limit})`);
  let running = 0;
  const queue: Array<() => void> = [];
  // A finishing call hands its slot straight to the first waiting one, so a newcomer cannot overtake it.
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (running < limit) running++;
      else await new Promise<void>((resolve) => queue.push(resolve));
      try {
        return await fn();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get waiting() {
      return queue.length;
    },
  };
}


const perDb = new WeakMap<Db, Slots>();

/** The search slots of one database handle (the limit is read when the handle's first search runs). */
export function searchSlots(db: Db, limit: number): Slots {
  let slots = perDb.get(db);
  if (!slots) perDb.set(db, (slots = createSlots(limit)));
  return slots;
}
