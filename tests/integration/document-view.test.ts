// getDocumentView on a real database: the document page's data rule. Chunks come in position order;
// a restricted collection is readable by its members and admins only; deleted, unknown and malformed
// ids are null (the page answers 404 for all of them alike).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessContextFor } from "@/lib/access/context";
import { ROLE_PERMISSIONS, type Principal, type Role } from "@/lib/auth/roles";
import { getDocumentView } from "@/lib/ingest";
import { makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { addMembers, makeDocument, makeIngestTarget } from "@/tests/helpers/factories";

async function principal(db: TestDb, role: Role, collectionLimit: string[] | null = null): Promise<Principal> {
  const user = await makeUser(db, role);
  return { kind: "user", userId: user.id, apiKeyId: null, label: user.email, role, permissions: new Set(ROLE_PERMISSIONS[role]), collectionLimit };
}

/** The context as it is now: a membership added later needs a new one. */
const view = async (db: TestDb, p: Principal, id: string) => getDocumentView(await accessContextFor(db, p), id);

async function addDocument(db: TestDb, opts: { collectionId: string; sourceId: string; title: string; chunks: Array<{ text: string; anchor?: string }>; url?: string | null }) {
  const doc = await makeDocument(db, {
    collectionId: opts.collectionId,
    sourceId: opts.sourceId,
    externalId: opts.title,
    title: opts.title,
    url: opts.url ?? null,
    breadcrumb: ["Handbook", "Engineering"],
    sourceUpdatedAt: new Date("2026-11-01T09:30:00Z"),
  });
  // Written out of order on purpose: the view orders by position, not by insertion.
  const rows = opts.chunks.map((c, position) => ({ ...c, position })).reverse();
  for (const c of rows) {
    await db.prisma.chunk.create({
      data: { documentId: doc.id, collectionId: opts.collectionId, position: c.position, anchor: c.anchor ?? null, text: c.text, tokenCount: 10, contentHash: `${doc.id}-${c.position}` },
    });
  }
  return doc.id;
}

describe("getDocumentView (PostgreSQL)", () => {
  let db: TestDb;
  let open: { collectionId: string; sourceId: string };
  let secret: { collectionId: string; sourceId: string };
  let openDoc: string;
  let secretDoc: string;
  let deletedDoc: string;

  beforeAll(async () => {
    db = await createTestDb();
    const mk = async (slug: string, restricted: boolean) => {
      return makeIngestTarget(db, { slug, name: `${slug} wiki`, restricted, sourceName: slug });
    };
    open = await mk("open", false);
    secret = await mk("secret", true);
    openDoc = await addDocument(db, {
      ...open,
      title: "Deploying",
      url: "demo://wiki/deploying",
      chunks: [{ text: "# Deploying\n\nIntro." }, { text: "## Canary\n\nWatch 10 minutes.", anchor: "canary" }, { text: "More canary.", anchor: "canary" }, { text: "## Rollback\n\nRun the job.", anchor: "rollback" }],
    });
    secretDoc = await addDocument(db, { ...secret, title: "Salaries", chunks: [{ text: "Confidential." }] });
    deletedDoc = await addDocument(db, { ...open, title: "Old page", chunks: [{ text: "Gone." }] });
    await db.prisma.document.update({ where: { id: deletedDoc }, data: { deletedAt: new Date() } });
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it("returns the document with its chunks in position order", async () => {
    const viewer = await principal(db, "viewer");
    const doc = await view(db, viewer, openDoc);
    expect(doc).toMatchObject({
      id: openDoc,
      title: "Deploying",
      breadcrumb: ["Handbook", "Engineering"],
      url: "demo://wiki/deploying",
      collectionId: open.collectionId,
      collectionName: "open wiki",
      sourceKind: "upload",
      sourceUpdatedAt: "2026-11-01T09:30:00.000Z",
    });
    expect(doc!.chunks.map((c) => c.position)).toEqual([0, 1, 2, 3]);
    expect(doc!.chunks.map((c) => c.anchor)).toEqual([null, "canary", "canary", "rollback"]);
    expect(doc!.chunks[1]!.text).toBe("## Canary\n\nWatch 10 minutes.");
    const ids = await db.prisma.chunk.findMany({ where: { documentId: openDoc }, orderBy: { position: "asc" }, select: { id: true } });
    expect(doc!.chunks.map((c) => c.id)).toEqual(ids.map((c) => c.id));
  });

  it("refuses a restricted collection to a user who is not a member, and allows members and admins", async () => {
    const viewer = await principal(db, "viewer");
    expect(await view(db, viewer, secretDoc)).toBeNull();

    await addMembers(db, secret.collectionId, [viewer.userId!]);
    expect((await view(db, viewer, secretDoc))?.title).toBe("Salaries");

    const admin = await principal(db, "admin");
    expect((await view(db, admin, secretDoc))?.title).toBe("Salaries");
  });

  it("respects a key's collection restriction", async () => {
    const limited = await principal(db, "admin", [secret.collectionId]);
    expect(await view(db, limited, openDoc)).toBeNull();
    expect((await view(db, limited, secretDoc))?.title).toBe("Salaries");
  });

  it("is null for a deleted document, an unknown id and a malformed id", async () => {
    const admin = await principal(db, "admin");
    expect(await view(db, admin, deletedDoc)).toBeNull();
    expect(await view(db, admin, "00000000-0000-4000-8000-000000000000")).toBeNull();
    expect(await view(db, admin, "not-a-uuid")).toBeNull();
    expect(await view(db, admin, `${openDoc}' OR 1=1`)).toBeNull();
  });
});
