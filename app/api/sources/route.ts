import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { connectSource, listSources } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/** Sources of the collections the caller may read, each with its latest import job. */
export const GET = route({ permission: "import" }, async ({ access }) => ({
  sources: await listSources(access),
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
export const POST = route({ permission: "admin", body: z.discriminatedUnion("kind", [notion, s3]) }, async ({ body, access }) =>
  json({ source: await connectSource(access, body) }, { status: 201 }),
);
