// A protocol-level fake of the Ollama HTTP API, for tests and benchmarks, driven through the real
// `ollama` client. Speaks /api/version, /api/tags, /api/show, /api/embed (batched), /api/chat (NDJSON
// stream and single JSON, `format` JSON schema).
//
// - Embeddings are deterministic hashed word features (unigrams + bigrams, light stemming, stop
//   words dropped), L2-normalised: texts sharing words are close, so retrieval tests mean something.
// - Every answer reports Ollama's token counts and durations (load, prompt eval, eval; embed: total and
//   load), computed from the token counts so tests can add them up (`durations`).
// - The default chat "model" is extractive: it reads numbered sources from the prompt ("[n] ..." blocks),
//   answers with the sentences that share the most words with the question, each cited [n], and says
//   "The wiki does not cover this." when nothing matches. With `format` it returns a minimal object
//   satisfying the schema. Tests replace either behaviour with `onChat` (per server or at any time).
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const FAKE_DIMENSIONS = 768;
export const DEFAULT_FAKE_MODELS = ["llama3.3:70b-instruct-q4_K_M", "qwen2.5:32b", "nomic-embed-text:latest"];

export interface FakeChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  stream: boolean;
  format?: unknown;
  options?: Record<string, unknown>;
}
/** Return a string to answer with it, or undefined to use the default behaviour. */
export type ChatHandler = (req: FakeChatRequest, callIndex: number) => string | undefined | Promise<string | undefined>;

export interface FakeOllamaOptions {
  /** Models the server has (default: the app's default chat, fallback and embedding models). */
  models?: string[];
  /** Delay between streamed tokens. */
  tokenDelayMs?: number;
  /** Delay before the first token (simulates prompt processing). */
  firstTokenDelayMs?: number;
  /** Delay of every /api/embed call. */
  embedDelayMs?: number;
  /**
   * A text's embedding instead of the hashed word features (undefined: those), given the text without
   * its `search_query: `/`search_document: ` prefix — e.g. a benchmark's corpus vectors, so questions
   * land among the chunks they were drawn from as a real embedder's would.
   */
  embedding?: (text: string) => number[] | undefined;
  onChat?: ChatHandler;
  port?: number;
  /**
   * The durations the fake reports, like Ollama's (nanoseconds): per prompt token, per generated token, and
   * the model's load time on every call. Defaults: 0.5 ms, 20 ms, 0 — deterministic, so tests can sum them.
   */
  durations?: { promptNsPerToken?: number; evalNsPerToken?: number; loadNs?: number };
}

export interface FakeOllama {
  url: string;
  options: FakeOllamaOptions;
  /** Every request: path and parsed body. */
  calls: Array<{ path: string; body: any }>;
  /** Sizes of every /api/embed batch. */
  embedBatches: number[];
  close(): Promise<void>;
}

const STOP_WORDS = new Set(
  ("a an and are as at be by for from has have how i in is it its of on or that the this to was were what when " +
    "where which who why will with do does did can could should would you your we our they their there these those " +
    "search_query search_document not no yes if then than so about into over under").split(" "),
);

export function words(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+(?:[-_][a-z0-9]+)*/g) ?? [])
    .filter((w) => !STOP_WORDS.has(w))
    .map((w) => (w.length > 4 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w));
}

/**
 * A feature's dimension and sign: FNV-1a over the UTF-16 code units, then MurmurHash3's finaliser to
 * spread the bits. Far cheaper than a cryptographic hash, so "answering embeddings instantly" costs the
 * benchmarks little CPU; any well-spread hash serves (only equal features must land together).
 */
function hashToIndex(feature: string): { index: number; sign: number } {
  let h = 0x811c9dc5;
  for (let i = 0; i < feature.length; i++) {
    h ^= feature.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return { index: (h >>> 0) % FAKE_DIMENSIONS, sign: h & 0x40000000 ? -1 : 1 };
}

/** Deterministic embedding: hashed unigram and bigram features, L2-normalised. */
export function fakeEmbedding(text: string): number[] {
  const v = new Array<number>(FAKE_DIMENSIONS).fill(0);
  const ws = words(text.replace(/^search_(query|document): /, ""));
  const features = [...ws, ...ws.slice(1).map((w, i) => `${ws[i]} ${w}`)];
  for (const f of features) {
    const { index, sign } = hashToIndex(f);
    v[index]! += sign * (f.includes(" ") ? 0.5 : 1);
  }
  if (features.length === 0) v[0] = 1;
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

/** The numbered sources of a prompt: blocks starting with "[n]" at the start of a line. */
export function parseSources(prompt: string): Map<number, string> {
  const out = new Map<number, string>();
  const re = /^\s*(?:Source\s*)?\[(\d+)\]([\s\S]*?)(?=^\s*(?:Source\s*)?\[\d+\]|^\s*(?:Question|QUESTION):|$(?![\s\S]))/gm;
  for (const m of prompt.matchAll(re)) out.set(Number(m[1]), m[2]!.trim());
  return out;
}

export const NOT_COVERED = "The wiki does not cover this.";

/** The extractive default answer: best-overlapping sentences of the sources, each cited. */
export function extractiveAnswer(messages: FakeChatRequest["messages"]): string {
  const prompt = messages.map((m) => m.content).join("\n\n");
  const lastUser = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
  const question = (lastUser.match(/(?:Question|QUESTION):\s*([\s\S]*)$/)?.[1] ?? lastUser).trim();
  const qWords = new Set(words(question));
  const scored: Array<{ n: number; sentence: string; score: number }> = [];
  for (const [n, text] of parseSources(prompt)) {
    for (const sentence of text.split(/(?<=[.!?])\s+|\n+/)) {
      const s = sentence.replace(/^#+\s*/, "").trim();
      if (s.length < 12) continue;
      const overlap = new Set(words(s).filter((w) => qWords.has(w))).size;
      if (overlap > 0) scored.push({ n, sentence: s, score: overlap / Math.sqrt(qWords.size || 1) });
    }
  }
  scored.sort((a, b) => b.score - a.score || a.n - b.n);
  const best = scored.filter((s) => s.score >= 0.5).slice(0, 3);
  if (best.length === 0) return NOT_COVERED;
  return best.map((s) => `${s.sentence.replace(/[.!?]*$/, "")} [${s.n}].`).join(" ");
}

/** A minimal value satisfying a JSON schema (objects with their required properties). */
export function minimalJson(schema: any): unknown {
  if (!schema || typeof schema !== "object") return {};
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case "object":
      return Object.fromEntries(
        (schema.required ?? Object.keys(schema.properties ?? {})).map((k: string) => [k, minimalJson(schema.properties?.[k])]),
      );
    case "array":
      return [];
    case "string":
      return "";
    case "number":
    case "integer":
      return schema.minimum ?? 0;
    case "boolean":
      return false;
    default:
      return {};
  }
}

const tokenize = (text: string) => text.match(/\S+\s*/g) ?? [];

/** Ollama's duration fields for a call of `prompt` and `completion` tokens. */
export function fakeDurations(d: FakeOllamaOptions["durations"] = {}, prompt: number, completion: number) {
  const promptEval = prompt * (d.promptNsPerToken ?? 500_000);
  const evalNs = completion * (d.evalNsPerToken ?? 20_000_000);
  const load = d.loadNs ?? 0;
  return { load_duration: load, prompt_eval_duration: promptEval, eval_duration: evalNs, total_duration: load + promptEval + evalNs };
}
const approxTokens = (text: string) => Math.ceil(text.length / 4);
const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

async function readJson(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString("utf8");
  return raw ? JSON.parse(raw) : {};
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  const calls: FakeOllama["calls"] = [];
  const embedBatches: number[] = [];
  let chatIndex = 0;
  const has = (model: string) => {
    const models = options.models ?? DEFAULT_FAKE_MODELS;
    return models.some((m) => m === model || m === `${model}:latest` || `${m}:latest` === model);
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? "/").split("?")[0]!;
      const body = req.method === "POST" ? await readJson(req) : {};
      calls.push({ path, body });
      if (path === "/api/version") return send(res, 200, { version: "0.12.0-fake" });
      if (path === "/api/tags") {
        return send(res, 200, {
          models: (options.models ?? DEFAULT_FAKE_MODELS).map((name) => ({
            name,
            model: name,
            modified_at: "2026-01-01T00:00:00Z",
            size: 1,
            digest: createHash("sha256").update(name).digest("hex"),
            details: { format: "gguf", family: "fake", parameter_size: "1B", quantization_level: "Q4_K_M" },
          })),
        });
      }
      if (path === "/api/show") {
        if (!has(body.model)) return send(res, 404, { error: `model '${body.model}' not found` });
        const embed = /embed/.test(body.model);
        return send(res, 200, {
          modelfile: "",
          parameters: "",
          template: "",
          details: { family: "fake" },
          model_info: embed ? { "nomic-bert.embedding_length": FAKE_DIMENSIONS } : { "llama.context_length": 131072 },
          capabilities: embed ? ["embedding"] : ["completion"],
        });
      }
      if (path === "/api/embed") {
        if (!has(body.model)) return send(res, 404, { error: `model "${body.model}" not found, try pulling it first` });
        const input: string[] = Array.isArray(body.input) ? body.input : [body.input];
        embedBatches.push(input.length);
        await sleep(options.embedDelayMs ?? 0);
        const promptTokens = input.reduce((s, t) => s + approxTokens(t), 0);
        // Like Ollama, /api/embed reports the total and the load time, not the eval durations.
        const d = fakeDurations(options.durations, promptTokens, 0);
        return send(res, 200, {
          model: body.model,
          embeddings: input.map((t) => options.embedding?.(t.replace(/^search_(query|document): /, "")) ?? fakeEmbedding(t)),
          total_duration: d.total_duration,
          load_duration: d.load_duration,
          prompt_eval_count: promptTokens,
        });
      }
      if (path === "/api/chat") {
        const request: FakeChatRequest = { ...body, stream: body.stream !== false };
        if (!has(request.model)) return send(res, 404, { error: `model "${request.model}" not found, try pulling it first` });
        const index = chatIndex++;
        const custom = await options.onChat?.(request, index);
        const content =
          custom ?? (request.format ? JSON.stringify(minimalJson(request.format)) : extractiveAnswer(request.messages));
        const promptTokens = approxTokens(request.messages.map((m) => m.content).join("\n"));
        const tokens = tokenize(content);
        const base = { model: request.model, created_at: new Date().toISOString() };
        const final = {
          ...base,
          message: { role: "assistant", content: "" },
          done: true,
          done_reason: "stop",
          ...fakeDurations(options.durations, promptTokens, tokens.length),
          prompt_eval_count: promptTokens,
          eval_count: tokens.length,
        };
        await sleep(options.firstTokenDelayMs ?? 0);
        if (!request.stream) return send(res, 200, { ...final, message: { role: "assistant", content } });
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        let closed = false;
        res.on("close", () => (closed = true));
        for (const [i, t] of tokens.entries()) {
          if (closed) return;
          if (i > 0) await sleep(options.tokenDelayMs ?? 0);
          res.write(JSON.stringify({ ...base, message: { role: "assistant", content: t }, done: false }) + "\n");
        }
        res.end(JSON.stringify(final) + "\n");
        return;
      }
      send(res, 404, { error: `unknown path ${path}` });
    } catch (err) {
      if (!res.headersSent) send(res, 500, { error: (err as Error).message });
      else res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    options,
    calls,
    embedBatches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
