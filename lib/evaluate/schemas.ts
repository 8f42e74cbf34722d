// Request schemas of the evaluation API, next to the rules they feed (routes stay thin).
import { z } from "zod";
import { datasetItemInput, datasetNameSchema, MAX_DATASET_ITEMS } from "./datasets";

const passage = z.object({
  text: z.string().trim().min(1, "passage text is empty").max(20000, "a passage is longer than 20000 characters"),
  title: z.string().max(500).nullish(),
  url: z.string().max(2000).nullish(),
});

export const scoreBody = z
  .object({
    question: z.string().trim().min(1, "question is empty").max(4000),
    output: z.string().max(50000, "output is longer than 50000 characters"),
    passages: z.array(passage).max(50, "at most 50 passages").optional(),
    retrieve: z.boolean().optional(),
    reference: z.string().trim().max(20000).nullish(),
    queryLogId: z.string().uuid().optional(),
    collectionIds: z.array(z.string().uuid()).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (!b.retrieve && (!b.passages || b.passages.length === 0)) {
      ctx.addIssue({ code: "custom", path: ["passages"], message: "give the source passages, or set retrieve: true" });
    }
    if (b.retrieve && b.passages && b.passages.length > 0) {
      ctx.addIssue({ code: "custom", path: ["retrieve"], message: "give either passages or retrieve: true, not both" });
    }
  });

/** The collections a dataset is bound to (each must be readable by the caller); absent: all they read. */
const datasetCollectionIds = z
  .array(z.string().uuid("must be a collection id (UUID)"))
  .min(1, "give at least one collection (leave the field out for every collection you may read)")
  .max(1000);

export const createDatasetBody = z
  .object({
    name: datasetNameSchema,
    description: z.string().max(2000).optional(),
    items: z.array(datasetItemInput).max(MAX_DATASET_ITEMS).optional(),
    collectionIds: datasetCollectionIds.optional(),
  })
  .strict();

export const updateDatasetBody = z
  .object({
    name: datasetNameSchema.optional(),
    description: z.string().max(2000).optional(),
    items: z.array(datasetItemInput).max(MAX_DATASET_ITEMS).optional(),
    note: z.string().max(500).optional(),
    collectionIds: datasetCollectionIds.optional(),
  })
  .strict()
  .refine((b) => b.name !== undefined || b.description !== undefined || b.items !== undefined || b.collectionIds !== undefined, {
    message: "nothing to change: give name, description, items or collectionIds",
  });

export const importDatasetBody = z
  .object({
    format: z.enum(["jsonl", "csv"]),
    text: z.string(),
    name: datasetNameSchema.optional(),
    description: z.string().max(2000).optional(),
    datasetId: z.string().uuid().optional(),
    mode: z.enum(["replace", "append"]).optional(),
    collectionIds: datasetCollectionIds.optional(),
  })
  .strict()
  .refine((b) => Boolean(b.name) !== Boolean(b.datasetId), { message: "give either name (new dataset) or datasetId (new version)", path: ["name"] })
  .refine((b) => !(b.datasetId && b.collectionIds), { message: "a new version keeps the dataset's collections (change them with PATCH)", path: ["collectionIds"] });

export const startRunBody = z
  .object({
    datasetId: z.string().uuid(),
    version: z.number().int().min(1).optional(),
    baselineRunId: z.string().uuid().optional(),
  })
  .strict();

export const idParams = z.object({ id: z.string().uuid("must be a UUID") });
