// OpenAI "models" are SOT's collections: one model per collection the caller may read (id = its slug),
// plus `sot`, every readable collection at once. Collections can be combined with "+" (`handbook+policies`),
// which slugs cannot contain. A collection whose slug is itself "sot" is reached by its id.
import type { AccessContext } from "../access/context";
import { findCollection, readableCollections, unknownCollectionHint, type CollectionRef } from "../connect/collections";
import { OpenAiRequestError } from "./errors";

export const ALL_COLLECTIONS_MODEL = "sot";

export interface OpenAiModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
const modelId = (c: CollectionRef) => (c.slug === ALL_COLLECTIONS_MODEL ? c.id : c.slug);

function modelOf(id: string, collections: CollectionRef[]): OpenAiModel {
  const created = collections.length ? Math.min(...collections.map((c) => seconds(c.createdAt))) : 0;
  return { id, object: "model", created, owned_by: "sot" };
}

/**
 * GET /v1/models: the readable collections, and `sot` when it adds something (two or more of them; with
 * one it would be the same model twice). `sot` is accepted in requests either way.
 */
export async function listModels(ctx: AccessContext): Promise<{ object: "list"; data: OpenAiModel[] }> {
  const readable = await readableCollections(ctx);
  const data = readable.map((c) => modelOf(modelId(c), [c]));
  if (readable.length >= 2) data.unshift(modelOf(ALL_COLLECTIONS_MODEL, readable));
  return { object: "list", data };
}

export interface ResolvedModel {
  /** The model id as the caller wrote it (echoed in answers). */
  id: string;
  /** Every readable collection (`sot`): the pipeline searches whatever the caller may read. */
  all: boolean;
  collections: CollectionRef[];
}

/** The collections a model id names; 404 model_not_found (with near matches) for anything else. */
export async function resolveModel(ctx: AccessContext, model: string): Promise<ResolvedModel> {
  const readable = await readableCollections(ctx);
  if (model === ALL_COLLECTIONS_MODEL) return { id: model, all: true, collections: readable };
  const picked = new Map<string, CollectionRef>();
  for (const part of model.split("+")) {
    const found = part === ALL_COLLECTIONS_MODEL ? undefined : findCollection(readable, part);
    if (!found) {
      const hint = unknownCollectionHint(readable, part, "GET /v1/models lists the models you may use.");
      throw new OpenAiRequestError(404, "model_not_found", `The model \`${model}\` does not exist or you do not have access to it. ${hint}`, "model");
    }
    picked.set(found.id, found);
  }
  return { id: model, all: false, collections: [...picked.values()] };
}

/** GET /v1/models/{model}. */
export async function retrieveModel(ctx: AccessContext, model: string): Promise<OpenAiModel> {
  const resolved = await resolveModel(ctx, model);
  return modelOf(resolved.id, resolved.collections);
}
