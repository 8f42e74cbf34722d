// POST /v1/embeddings: OpenAI's request (`input` as a string or an array of strings) and response, over the
// embedding model SOT indexes the wiki with (OLLAMA_EMBED_MODEL, nomic-embed-text by default). That model
// embeds queries and documents with different task prefixes; `input_type` ("document", the default, or
// "query") picks the prefix, so vectors made here compare with SOT's own index as SOT's searches do.
// `encoding_format: "base64"` (what the official SDKs ask for by default) returns little-endian float32.
import { z } from "zod";
import { getConfig } from "../config";
import { estimateTokens } from "../ingest/tokens";
import { EMBEDDING_DIMENSIONS, getLlm } from "../llm";
import { OpenAiRequestError, openAiParam } from "./errors";

/** Inputs per request (OpenAI's own limit). */
const MAX_INPUTS = 2048;
/** Texts per call to the embedding model. */
const BATCH = 64;

const schema = z
  .object({
    input: z.union([z.string(), z.array(z.unknown())], { error: "must be a string or an array of strings" }),
    model: z.string({ error: "you must provide a model parameter" }).min(1, "you must provide a model parameter"),
    encoding_format: z.enum(["float", "base64"], { error: 'must be "float" or "base64"' }).nullish(),
    dimensions: z.number().int("must be an integer").nullish(),
    user: z.string().max(512).nullish(),
    input_type: z.enum(["document", "query"], { error: 'must be "document" or "query"' }).nullish(),
  })
  .passthrough();

const bad = (param: string | null, message: string, code = "invalid_value") => new OpenAiRequestError(400, code, message, param);

const sameModel = (a: string, b: string) => a === b || `${a}:latest` === b || a === `${b}:latest`;

function texts(input: string | unknown[]): string[] {
  const list = typeof input === "string" ? [input] : input;
  if (list.length === 0) throw bad("input", "`input` is an empty array: send at least one string.");
  if (list.length > MAX_INPUTS) throw bad("input", `\`input\` has ${list.length} items; at most ${MAX_INPUTS} per request.`);
  return list.map((t, i) => {
    const param = typeof input === "string" ? "input" : `input[${i}]`;
    if (typeof t === "number" || (Array.isArray(t) && t.every((x) => typeof x === "number"))) {
      throw new OpenAiRequestError(400, "unsupported_value", "Token arrays are not supported: send the text itself.", param);
    }
    if (typeof t !== "string") throw bad(param, `\`${param}\` must be a string.`);
    if (t.trim() === "") throw bad(param, `\`${param}\` is empty: every input needs text.`);
    return t;
  });
}

function base64Of(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString("base64");
}

export async function createEmbeddings(raw: unknown) {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(null, "The body must be a JSON object with `input` and `model`.");
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = openAiParam(issue.path.map(String).join(".")) || null;
    throw bad(param, `Invalid \`${param ?? "body"}\`: ${issue.message}.`);
  }
  const body = parsed.data;
  const model = getConfig().OLLAMA_EMBED_MODEL;
  if (!sameModel(body.model, model)) {
    throw new OpenAiRequestError(404, "model_not_found", `The model \`${body.model}\` does not exist or you do not have access to it. Embeddings use \`${model}\`.`, "model");
  }
  if (body.dimensions !== undefined && body.dimensions !== null && body.dimensions !== EMBEDDING_DIMENSIONS) {
    throw new OpenAiRequestError(400, "unsupported_value", `${model} makes ${EMBEDDING_DIMENSIONS}-dimensional vectors; other dimensions are not supported.`, "dimensions");
  }
  const inputs = texts(body.input);
  const kind = body.input_type ?? "document";
  const vectors: number[][] = [];
  for (let i = 0; i < inputs.length; i += BATCH) vectors.push(...(await getLlm().embed(inputs.slice(i, i + BATCH), kind)));
  const tokens = inputs.reduce((sum, t) => sum + estimateTokens(t), 0);
  return {
    object: "list" as const,
    data: vectors.map((v, index) => ({ object: "embedding" as const, index, embedding: body.encoding_format === "base64" ? base64Of(v) : v })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
