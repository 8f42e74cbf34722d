// Exports of an old Supabase / Lovable wiki, made the way the people moving in make them: a
// Supabase-shaped schema (`vector` installed in the `extensions` schema, a `wiki_chunks` table with
// realistic Notion metadata) in a scratch PostgreSQL database, then `pg_dump` (COPY, INSERT and binary
// forms) and a CSV export through psql's \copy.
//
// The scratch database lives on the test PostgreSQL server; when the SOT database under test is the
// embedded PGlite, the dumps are still made by a real PostgreSQL (the local one by default).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { testServerUrl } from "@/tests/helpers/db";

export interface OldPage {
  pageId: string;
  title: string;
  url: string;
  /** Sections in order: heading and its paragraphs (one chunk each). */
  chunks: Array<{ heading: string; text: string }>;
}

export interface Fixture {
  dir: string;
  pages: OldPage[];
  /** Rows in the table: every page's chunks + one empty row + one repeated chunk. */
  rows: number;
  /** The scratch database itself (a live move-in reads it). */
  url: string;
  dump(name: string, args: string[], table?: string): string;
  csv(name: string, select: string): string;
  close(): Promise<void>;
}

const TOPICS = [
  ["Expense claims", "expense", "Submit expense claims within 30 days through the Ledgerly portal; receipts above 25 EUR are required."],
  ["On-call handbook", "oncall", "The on-call engineer acknowledges pages within 5 minutes and escalates ERR_FLUXGATE_503 to the platform team."],
  ["Release process", "release", "Production deploys happen on Tuesdays and Thursdays; quillctl rollback restores the previous release."],
  ["Travel policy", "travel", "Book trains for trips under 600 km; flights need approval from the budget owner in Kestrel Travel."],
  ["Security keys", "keys", "Hardware security keys are mandatory for production access; lost keys are reported in KST-4417."],
  ["Holiday allowance", "holiday", "Everyone has 27 days of paid holiday per year, plus public holidays of their country of residence."],
] as const;

/** The six pages, then (when more are asked for) numbered variants of them. */
export function oldPages(count: number = TOPICS.length): OldPage[] {
  return Array.from({ length: count }, (_, i) => {
    const [baseTitle, slug, fact] = TOPICS[i % TOPICS.length];
    const title = i < TOPICS.length ? baseTitle : `${baseTitle} ${Math.floor(i / TOPICS.length) + 1}`;
    return { i, title, slug, fact };
  }).map(({ i, title, slug, fact }) => ({
    pageId: `8c1f${String(i).padStart(4, "0")}-5a2b-4c3d-9e8f-${slug.padEnd(12, "0").slice(0, 12).replace(/[^0-9a-f]/g, "a")}`,
    title,
    url: `https://www.notion.so/kestrel/${title.replace(/\W+/g, "-")}-${i}abc${i}`,
    chunks: [
      { heading: "Overview", text: `${title}: ${fact} This page is owned by the ${slug} working group and reviewed every quarter.` },
      { heading: "Details", text: `More about ${slug}: the ${slug} procedure has three steps, each recorded in the ${slug} log with the date and the owner.` },
      { heading: "Contacts", text: `Questions about ${slug} go to the #${slug} channel; the page history shows who changed the ${slug} rules and when.` },
    ],
  }));
}

function vectorLiteral(dim: number, seed: number): string {
  const v = Array.from({ length: dim }, (_, j) => (((seed * 7919 + j * 104729) % 2000) / 1000 - 1).toFixed(5));
  return `[${v.join(",")}]`;
}

/** A scratch database holding wiki_chunks with `dim`-dimension embeddings, and a profiles table. */
export async function makeFixture(dim: number, opts: { pages?: number } = {}): Promise<Fixture> {
  const server = testServerUrl() ?? process.env.FIXTURE_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const name = `sot_supa_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(server);
  u.pathname = `/${name}`;
  const url = u.toString();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const pages = oldPages(opts.pages);
  try {
    await c.query(`CREATE SCHEMA extensions; CREATE EXTENSION vector WITH SCHEMA extensions`);
    await c.query(`CREATE TABLE public.wiki_chunks (
      id bigserial PRIMARY KEY,
      content text,
      metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
      embedding extensions.vector(${dim}),
      created_at timestamptz NOT NULL DEFAULT now())`);
    await c.query(`CREATE TABLE public.profiles (id uuid PRIMARY KEY, email text NOT NULL, full_name text)`);
    await c.query(`INSERT INTO public.profiles VALUES ('00000000-0000-4000-8000-000000000001', 'ada@kestrel.example', 'Ada Lovelace')`);
    // Rows in an order that is not the pages' order: the import must put the chunks back in order.
    const rows: Array<{ content: string; metadata: object; seed: number }> = [];
    pages.forEach((p, i) =>
      p.chunks.forEach((ch, k) =>
        rows.push({
          content: ch.text,
          metadata: { title: p.title, url: p.url, page_id: p.pageId, heading: ch.heading, chunk_index: k, last_edited_time: `2026-0${(i % 9) + 1}-1${k}T10:00:00.000Z`, source: "notion" },
          seed: i * 10 + k,
        }),
      ),
    );
    rows.reverse();
    // One row repeated (a re-run of the old ingestion) and one empty row.
    rows.push({ ...rows[0], seed: 999 });
    rows.push({ content: "   ", metadata: { title: pages[0].title, url: pages[0].url, page_id: pages[0].pageId, chunk_index: 99 }, seed: 998 });
    for (const r of rows) {
      await c.query(`INSERT INTO public.wiki_chunks (content, metadata, embedding) VALUES ($1, $2, $3::extensions.vector)`, [r.content, r.metadata, vectorLiteral(dim, r.seed)]);
    }
    const dir = mkdtempSync(path.join(tmpdir(), "sot-supa-"));
    return {
      dir,
      pages,
      rows: rows.length,
      dump(file, args, table = "public.wiki_chunks") {
        const out = path.join(dir, file);
        execFileSync("pg_dump", ["--dbname", url, `--table=${table}`, "--no-owner", "--no-privileges", "--file", out, ...args]);
        return out;
      },
      csv(file, select) {
        const out = path.join(dir, file);
        execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-c", `\\copy (${select}) TO '${out}' WITH (FORMAT csv, HEADER)`]);
        return out;
      },
      url,
      async close() {
        await c.end();
        const a = new pg.Client({ connectionString: server });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await c.end();
    throw err;
  }
}
