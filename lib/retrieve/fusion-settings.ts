// The fusion settings as services (admin only): each collection's weights and candidates, learning them
// from an evaluation dataset, saving them. The search itself reads them through fusion.ts.
import { z } from "zod";
import { assertReadable, requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { getConfig } from "../config";
import { NotFoundError, ValidationError } from "../errors";
import { getDataset } from "../evaluate/datasets";
import { forgetFusionSettings } from "./fusion";
import { tuneFusion } from "./fusion-tuning";
import { saveCollectionFusion } from "./queries";
import type { CollectionFusionView, LearnedFusion, SavedTuning } from "./types";

export type { CollectionFusionView, LearnedFusion, SavedTuning } from "./types";

/** Questions of a dataset a tuning reads at most (each is one search). */
export const MAX_TUNING_QUESTIONS = 1000;

export async function listCollectionFusion(ctx: AccessContext): Promise<CollectionFusionView[]> {
  requireAdmin(ctx);
  const rows = await ctx.db.prisma.collection.findMany({
    where: { id: { in: ctx.readableIds } },
    orderBy: { name: "asc" },
    select: { id: true, name: true, slug: true, fusionVectorWeight: true, fusionTextWeight: true, retrieveCandidates: true, fusionTuning: true },
  });
  const defaultCandidates = getConfig().RETRIEVE_CANDIDATES;
  return rows.map((c) => ({
    id: c.id,
    name: c.name,
    slug: c.slug,
    vectorWeight: c.fusionVectorWeight,
    textWeight: c.fusionTextWeight,
    candidates: c.retrieveCandidates,
    defaultCandidates,
    tuning: (c.fusionTuning as SavedTuning | null) ?? null,
  }));
}

async function fusionOf(ctx: AccessContext, collectionId: string): Promise<CollectionFusionView> {
  assertReadable(ctx, collectionId);
  const found = (await listCollectionFusion(ctx)).find((c) => c.id === collectionId);
  if (!found) throw new NotFoundError("Collection");
  return found;
}

export const learnFusionInput = z.object({
  collectionId: z.string().uuid({ message: "must be a collection id (UUID)" }),
  datasetId: z.string().uuid({ message: "must be a dataset id (UUID)" }),
});

/** Learns the collection's fusion from the dataset's expected sources; saves nothing. */
export async function learnCollectionFusion(ctx: AccessContext, input: z.infer<typeof learnFusionInput>, signal?: AbortSignal): Promise<LearnedFusion> {
  requireAdmin(ctx);
  const collection = await fusionOf(ctx, input.collectionId);
  const dataset = await getDataset(ctx, input.datasetId);
  const withSources = dataset.items.filter((it) => it.expectedSources.length > 0);
  if (withSources.length === 0) {
    throw new ValidationError(`Dataset "${dataset.name}" has no item with expected sources: the tuning learns from them.`, { field: "datasetId" });
  }
  const config = getConfig();
  const result = await tuneFusion(ctx.db, {
    collectionIds: [collection.id],
    questions: withSources.slice(0, MAX_TUNING_QUESTIONS).map((it) => ({ question: it.question, expected: it.expectedSources })),
    current: { vector: collection.vectorWeight, text: collection.textWeight, candidates: collection.candidates ?? config.RETRIEVE_CANDIDATES },
    k: config.ASK_MAX_SOURCES,
    efSearch: config.RETRIEVE_EF_SEARCH,
    signal,
  });
  return { ...result, collection: { id: collection.id, name: collection.name }, dataset: { id: dataset.id, name: dataset.name, version: dataset.version } };
}

export const saveFusionInput = z
  .object({
    collectionId: z.string().uuid({ message: "must be a collection id (UUID)" }),
    vectorWeight: z.number().min(0).max(10),
    textWeight: z.number().min(0).max(10),
    /** null: back to RETRIEVE_CANDIDATES. */
    candidates: z.number().int().min(5).max(500).nullable(),
    /** The learning these come from (shown on the page); omitted when set by hand. */
    tuning: z
      .object({
        datasetId: z.string().uuid(),
        datasetName: z.string().max(300),
        questions: z.number().int().min(0),
        before: z.object({ ndcg: z.number(), hitRate: z.number() }),
        after: z.object({ ndcg: z.number(), hitRate: z.number() }),
        heldOut: z.object({ current: z.number(), learned: z.number() }),
      })
      .optional(),
  })
  .refine((s) => s.vectorWeight + s.textWeight > 0, { message: "at least one weight must be above 0", path: ["vectorWeight"] });

export async function saveCollectionFusionSettings(ctx: AccessContext, input: z.infer<typeof saveFusionInput>): Promise<CollectionFusionView> {
  requireAdmin(ctx);
  const before = await fusionOf(ctx, input.collectionId);
  const tuning: SavedTuning | null = input.tuning ? { ...input.tuning, at: new Date().toISOString() } : null;
  if (!(await saveCollectionFusion(ctx.db, input.collectionId, { vectorWeight: input.vectorWeight, textWeight: input.textWeight, candidates: input.candidates, tuning }))) {
    throw new NotFoundError("Collection");
  }
  forgetFusionSettings(ctx.db);
  await auditAs(
    ctx,
    "collection.fusion",
    `collection:${input.collectionId}`,
    {
      from: { vectorWeight: before.vectorWeight, textWeight: before.textWeight, candidates: before.candidates },
      to: { vectorWeight: input.vectorWeight, textWeight: input.textWeight, candidates: input.candidates },
      dataset: input.tuning?.datasetId ?? null,
    },
  );
  return fusionOf(ctx, input.collectionId);
}
