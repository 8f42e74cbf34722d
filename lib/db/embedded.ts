// The embedded default: PostgreSQL compiled to WebAssembly (PGlite) with pgvector, inside this
// process, data under DATA_DIR. Exactly one process may own the data folder; a second one is refused
// with a clear message instead of corrupting it (PGlite has no multi-process locking of its own).
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import path from "node:path";

export class EmbeddedDatabaseLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `The embedded database in ${dir} is already in use by process ${pid}. ` +
        `Only one process may open it: stop that process, or set DATABASE_URL to use PostgreSQL ` +
        `(which serves any number of processes).`,
    );
    this.name = "EmbeddedDatabaseLockedError";
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the folder's lock file (O_EXCL); a lock left by a dead process is taken over. */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lockPath = path.join(dir, "owner.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(lockPath, "utf8").trim() === String(process.pid)) rmSync(lockPath);
        } catch {
          /* already gone */
        }
      };
      process.once("exit", release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number.parseInt(readFileSync(lockPath, "utf8").trim(), 10);
      if (Number.isFinite(owner) && owner !== process.pid && pidAlive(owner)) {
        throw new EmbeddedDatabaseLockedError(dir, owner);
      }
      rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`Could not lock ${dir}`);
}

export async function openEmbedded(dataDir: string): Promise<{ pglite: PGlite; release: () => void }> {
  const dir = path.resolve(dataDir, "pglite");
  const release = lockDataDir(path.resolve(dataDir));
  try {
    const pglite = await PGlite.create(dir, { extensions: { vector } });
    return { pglite, release };
  } catch (err) {
    release();
    throw err;
  }
}

/** An in-memory PGlite with pgvector, for tests and throw-away runs. */
export async function openInMemory(): Promise<PGlite> {
  return PGlite.create({ extensions: { vector } });
}
