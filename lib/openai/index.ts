// The OpenAI-compatible API (/v1): models = collections, chat completions over the Ask pipeline with
// citations three ways, embeddings, and OpenAI's error shape. Routes: app/v1/**. README: "OpenAI-compatible API".
import { z } from "zod";
import { renderOpenAiError } from "./errors";

export { chatCompletion } from "./chat";
export { createEmbeddings } from "./embeddings";
export { ALL_COLLECTIONS_MODEL, listModels, resolveModel, retrieveModel } from "./models";
export { OpenAiRequestError, renderOpenAiError } from "./errors";

/** Route options every /v1 route shares: OpenAI's error shape, and a body the handler checks itself (to name `param`s). */
export const OPENAI_ROUTE = { renderError: renderOpenAiError } as const;
export const openAiBody = z.unknown();
