import { z } from "zod";
import { assertReadable } from "@/lib/access/context";
import { json, route } from "@/lib/http/route";
import { createNotionSource, createS3Source, getSource, listSources } from "@/lib/ingest";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

/** Sources of the collections the caller may read, each with its latest import job. */
export const GET = route({ permission: "import" }, async ({ db, access }) => ({
  sources: await listSources(db, access.readableIds),
}));

const notion = z
  .object({
    kind: z.literal("notion"),
    collectionId: z.string().uuid(),
    name: z.string().trim().min(1).max(200),
    token: z.string().trim().min(10, "must be the integration's secret (ntn_… or secret_…)").max(500),
    rootPageIds: z.array(z.string()).max(500).optional(),
    dataSourceIds: z.array(z.string()).max(100).optional(),
  })
  .strict();
const s3 = z
  .object({
    kind: z.literal("s3"),
    collectionId: z.string().uuid(),
    name: z.string().trim().min(1).max(200),
    bucket: z.string().min(3).max(63),
    prefix: z.string().max(1024).default(""),
    endpoint: z.string().url().optional(),
    region: z.string().min(1).max(64).default("us-east-1"),
    accessKeyId: z.string().min(1).max(256),
    secretAccessKey: z.string().min(1).max(256),
    /** Keys under a prefix go to another collection; the longest matching prefix wins. */
    routes: z.array(z.object({ prefix: z.string().max(1024), collectionId: z.string().uuid() }).strict()).max(100).default([]),
  })
  .strict();

/** Connects a Notion workspace (token stored encrypted) or an S3 prefix (keys stored encrypted). */
export const POST = route({ permission: "admin", body: z.discriminatedUnion("kind", [notion, s3]) }, async ({ db, body, principal, access, requestId }) => {
  assertReadable(access, body.collectionId);
  const created = body.kind === "notion" ? await createNotionSource(db, body) : await createS3Source(db, body);
  await audit(db, principal, "source.create", `source:${created.id}`, { kind: body.kind, name: body.name, collectionId: body.collectionId }, { requestId });
  return json({ source: await getSource(db, created.id, access.readableIds) }, { status: 201 });
});
