// The one way Project SOT talks to Ollama: chat (plain, streamed, JSON-schema structured), embeddings
// with nomic-embed-text's task prefixes, and a status probe. Ollama being down never throws anything
// but LlmUnavailableError, which callers turn into their documented fallbacks.
import { Ollama, type Message } from "ollama";
import { getConfig, type Config } from "../config";
import { observeModel } from "../metrics";
import { notifyInBackground } from "../notify";
import { beginModelCall, endModelCall, nsToSeconds, type CallEstimate, type MeterTicket, type ModelOp } from "../usage/meter";
import { ModelBreakers, publishBreakers, type BreakerView } from "./breaker";

export const EMBEDDING_DIMENSIONS = 768;
/** nomic-embed-text is trained with task prefixes; queries and documents must use different ones. */
export const EMBED_PREFIX = { query: "search_query: ", document: "search_document: " } as const;

export type ChatMessage = { role: "system" | "user" | "assistant"; content: string };

export interface ChatOptions {
  model?: string;
  /** Context window; defaults to OLLAMA_NUM_CTX. Always sent, since Ollama's own default is small. */
  numCtx?: number;
  temperature?: number;
  seed?: number;
  /** Upper bound on generated tokens. */
  maxTokens?: number;
  /** A JSON schema for structured output. */
  format?: Record<string, unknown>;
  signal?: AbortSignal;
  /** What the call is for, as the usage ledger records it (default "chat"). */
  op?: Extract<ModelOp, "chat" | "judge" | "rewrite">;
}

export interface ChatResult {
  content: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
}

/** What a call cost, from Ollama's own figures. */
interface CallUsage {
  model: string;
  promptTokens: number;
  completionTokens: number;
  gpuSeconds: number;
  loadSeconds: number;
}

const NO_USAGE = { promptTokens: 0, completionTokens: 0, gpuSeconds: 0, loadSeconds: 0 };

/** Ollama's response figures: work is prompt evaluation plus generation; loading the model is kept apart. */
function chatUsage(model: string, r: { prompt_eval_count?: number; eval_count?: number; prompt_eval_duration?: number; eval_duration?: number; load_duration?: number }): CallUsage {
  return {
    model,
    promptTokens: r.prompt_eval_count ?? 0,
    completionTokens: r.eval_count ?? 0,
    gpuSeconds: nsToSeconds(r.prompt_eval_duration) + nsToSeconds(r.eval_duration),
    loadSeconds: nsToSeconds(r.load_duration),
  };
}

/** A conservative token count (about 3 characters a token) for reservations: they must not fall short. */
const upperTokens = (chars: number) => Math.ceil(chars / 3);

type AttemptOptions<T> = { signal?: AbortSignal; settleLater?: boolean; op: ModelOp; estimate: CallEstimate; usage?: (value: T, model: string) => CallUsage };

export type ChatStreamEvent = { type: "token"; text: string } | ({ type: "done" } & ChatResult);

export interface LlmStatus {
  host: string;
  reachable: boolean;
  latencyMs: number | null;
  error?: string;
  /** Configured models by role, each with whether Ollama has it. */
  models: Array<{ role: "chat" | "fallback" | "judge" | "embed"; name: string; present: boolean }>;
  missing: string[];
  /** Models whose circuit breaker is open or half-open in this process (lib/llm/breaker.ts). */
  breakers: BreakerView[];
}

/** Ollama could not be reached, timed out, or has none of the models asked for. */
export class LlmUnavailableError extends Error {
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = "LlmUnavailableError";
  }
}

/**
 * LlmUnavailableError, recognised by name: the Llm client is a process-wide singleton on globalThis and
 * Next.js may bundle lib/llm more than once, so the error can come from another copy of the class.
 */
export function isLlmUnavailable(err: unknown): err is LlmUnavailableError {
  return err instanceof Error && err.name === "LlmUnavailableError";
}

function isConnectionError(err: unknown): boolean {
  const e = err as { name?: string; code?: string; cause?: { code?: string }; message?: string };
  return (
    e?.name === "TimeoutError" ||
    e?.name === "AbortError" ||
    e?.name === "TypeError" || // fetch failed
    ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENOTFOUND", "UND_ERR_CONNECT_TIMEOUT"].includes(
      e?.cause?.code ?? e?.code ?? "",
    )
  );
}

/** What opens a model's breaker: it did not answer in time, could not be reached, or failed on its side. */
function countsAsFailure(err: unknown): boolean {
  const e = err as { name?: string; status_code?: number };
  return isConnectionError(err) || (e?.name === "ResponseError" && (e.status_code ?? 0) >= 500);
}

function isModelMissing(err: unknown): boolean {
  const e = err as { name?: string; status_code?: number; message?: string };
  return e?.name === "ResponseError" && e.status_code === 404;
}

const sameModel = (a: string, b: string) => a === b || `${a}:latest` === b || a === `${b}:latest`;

export class Llm {
  private readonly client: Ollama;
  private readonly healthClient: Ollama;
  readonly breakers: ModelBreakers;

  constructor(private readonly config: Config) {
    this.client = new Ollama({ host: config.OLLAMA_HOST, fetch: timeoutFetch(config.OLLAMA_TIMEOUT_MS) });
    this.healthClient = new Ollama({ host: config.OLLAMA_HOST, fetch: timeoutFetch(config.OLLAMA_HEALTH_TIMEOUT_MS) });
    this.breakers = new ModelBreakers(config.OLLAMA_BREAKER_FAILURES, config.OLLAMA_BREAKER_COOLDOWN_MS, Date.now, (o) =>
      notifyInBackground({ kind: "breaker.opened", model: o.model, failures: o.failures, retryAt: o.retryAt.toISOString() }),
    );
  }

  get models() {
    return {
      chat: this.config.OLLAMA_CHAT_MODEL,
      fallback: this.config.OLLAMA_FALLBACK_MODEL,
      judge: this.config.OLLAMA_JUDGE_MODEL,
      embed: this.config.OLLAMA_EMBED_MODEL,
    };
  }

  /** Embeds texts in one batched /api/embed call, with the task prefix for queries or documents. */
  async embed(texts: string[], kind: "query" | "document"): Promise<number[][]> {
    if (texts.length === 0) return [];
    const started = performance.now();
    const tokens = texts.reduce((n, t) => n + Math.min(upperTokens(t.length + EMBED_PREFIX[kind].length), this.config.OLLAMA_NUM_CTX), 0);
    try {
      const { value: res } = await this.attempt(
        this.config.OLLAMA_EMBED_MODEL,
        (model) => this.client.embed({ model, input: texts.map((t) => EMBED_PREFIX[kind] + t), truncate: true, keep_alive: this.config.OLLAMA_KEEP_ALIVE }),
        {
          op: "embed",
          estimate: this.estimate(tokens),
          // /api/embed reports no eval durations: its work is the total less the model's loading.
          usage: (r, model) => ({
            model,
            promptTokens: r.prompt_eval_count ?? 0,
            completionTokens: 0,
            gpuSeconds: Math.max(0, nsToSeconds(r.total_duration) - nsToSeconds(r.load_duration)),
            loadSeconds: nsToSeconds(r.load_duration),
          }),
        },
      );
      if (res.embeddings.length !== texts.length || res.embeddings.some((e) => e.length !== EMBEDDING_DIMENSIONS)) {
        throw new LlmUnavailableError(
          `Embedding model ${this.config.OLLAMA_EMBED_MODEL} returned vectors of the wrong shape (expected ${texts.length} × ${EMBEDDING_DIMENSIONS}).`,
        );
      }
      observeModel({ model: this.config.OLLAMA_EMBED_MODEL, op: "embed", seconds: (performance.now() - started) / 1000 });
      return res.embeddings;
    } catch (err) {
      throw this.wrap(err, this.config.OLLAMA_EMBED_MODEL);
    }
  }

  /** One complete chat answer (no streaming). Falls back to OLLAMA_FALLBACK_MODEL when the model is missing. */
  async chat(messages: ChatMessage[], opts: ChatOptions = {}): Promise<ChatResult> {
    const started = performance.now();
    const { value: result } = await this.withFallback<ChatResult & { usage: CallUsage }>(
      opts.model,
      { signal: opts.signal, op: opts.op ?? "chat", estimate: this.chatEstimate(messages, opts), usage: (r) => r.usage },
      async (model) => {
        const res = await this.client.chat({
          model,
          messages: messages as Message[],
          stream: false,
          format: opts.format,
          options: this.options(opts),
          keep_alive: this.config.OLLAMA_KEEP_ALIVE,
        });
        return {
          content: res.message.content,
          model: res.model,
          promptTokens: res.prompt_eval_count ?? 0,
          completionTokens: res.eval_count ?? 0,
          usage: chatUsage(res.model, res),
        };
      },
    );
    observeModel({ model: result.model, op: opts.format ? "json" : "chat", phase: "total", seconds: (performance.now() - started) / 1000 });
    const { usage: _usage, ...plain } = result;
    return plain;
  }

  /** Structured output: the model is constrained to `schema`; the raw text is returned for the caller to validate. */
  chatJson(messages: ChatMessage[], schema: Record<string, unknown>, opts: Omit<ChatOptions, "format"> = {}) {
    return this.chat(messages, { temperature: 0, seed: 42, ...opts, format: schema });
  }

  /** Streams tokens, then one "done" event with token counts. Aborting `signal` stops generation. */
  async *chatStream(messages: ChatMessage[], opts: ChatOptions = {}): AsyncGenerator<ChatStreamEvent> {
    const started = performance.now();
    let firstToken = true;
    // The breaker settles when the stream ends: a model can fail after its first token.
    const { value: stream, model: used, ticket } = await this.withFallback(
      opts.model,
      { signal: opts.signal, settleLater: true, op: opts.op ?? "chat", estimate: this.chatEstimate(messages, opts) },
      (model) =>
        this.client.chat({
          model,
          messages: messages as Message[],
          stream: true,
          format: opts.format,
          options: this.options(opts),
          keep_alive: this.config.OLLAMA_KEEP_ALIVE,
        }),
    );
    let parts = 0;
    const onAbort = () => stream.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let settled = false;
    try {
      let content = "";
      for await (const part of stream) {
        if (part.message?.content) {
          if (firstToken) {
            firstToken = false;
            observeModel({ model: part.model, op: "chat", phase: "first_token", seconds: (performance.now() - started) / 1000 });
          }
          content += part.message.content;
          parts++;
          yield { type: "token", text: part.message.content };
        }
        if (part.done) {
          this.breakers.success(used);
          settled = true;
          observeModel({ model: part.model, op: "chat", phase: "total", seconds: (performance.now() - started) / 1000 });
          await endModelCall(ticket, { ...chatUsage(part.model, part), ok: true });
          yield {
            type: "done",
            content,
            model: part.model,
            promptTokens: part.prompt_eval_count ?? 0,
            completionTokens: part.eval_count ?? 0,
          };
          return;
        }
      }
    } catch (err) {
      this.settle(used, err, opts.signal);
      settled = true;
      // Ollama sends its figures only with the last part: an interrupted stream records what was seen.
      await endModelCall(ticket, { model: used, ...NO_USAGE, completionTokens: parts, ok: false }, { aborted: opts.signal?.aborted });
      if (opts.signal?.aborted) return;
      throw this.wrap(err, used);
    } finally {
      // Stopped by the consumer, or a stream that ended without its last part.
      if (!settled) {
        this.breakers.release(used);
        await endModelCall(ticket, { model: used, ...NO_USAGE, completionTokens: parts, ok: false }, { aborted: true });
      }
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Whether Ollama answers and which configured models it lacks. Never throws. */
  async status(): Promise<LlmStatus> {
    const started = performance.now();
    const roles = this.models;
    const wanted = (Object.entries(roles) as Array<[LlmStatus["models"][number]["role"], string]>).filter(([, n]) => n);
    try {
      const list = await this.healthClient.list();
      const have = list.models.map((m) => m.name);
      const models = wanted.map(([role, name]) => ({ role, name, present: have.some((h) => sameModel(name, h)) }));
      return {
        host: this.config.OLLAMA_HOST,
        reachable: true,
        latencyMs: Math.round(performance.now() - started),
        models,
        missing: [...new Set(models.filter((m) => !m.present).map((m) => m.name))],
        breakers: this.openBreakers(),
      };
    } catch (err) {
      return {
        host: this.config.OLLAMA_HOST,
        reachable: false,
        latencyMs: null,
        error: describe(err),
        models: wanted.map(([role, name]) => ({ role, name, present: false })),
        missing: [...new Set(wanted.map(([, n]) => n))],
        breakers: this.openBreakers(),
      };
    }
  }

  private options(opts: ChatOptions) {
    return {
      num_ctx: opts.numCtx ?? this.config.OLLAMA_NUM_CTX,
      ...(opts.temperature !== undefined && { temperature: opts.temperature }),
      ...(opts.seed !== undefined && { seed: opts.seed }),
      ...(opts.maxTokens !== undefined && { num_predict: opts.maxTokens }),
    };
  }

  /** A call's reservation: `tokens` at most, GPU-seconds at BUDGET_ESTIMATE_GPU_SECONDS_PER_1K_TOKENS. */
  private estimate(tokens: number): CallEstimate {
    return { tokens, gpuSeconds: (tokens / 1000) * this.config.BUDGET_ESTIMATE_GPU_SECONDS_PER_1K_TOKENS };
  }

  /** The most a chat call can use: its prompt (counted high) and its completion limit, within num_ctx. */
  private chatEstimate(messages: ChatMessage[], opts: ChatOptions): CallEstimate {
    const numCtx = opts.numCtx ?? this.config.OLLAMA_NUM_CTX;
    const prompt = upperTokens(messages.reduce((n, m) => n + m.content.length, 0));
    return this.estimate(Math.min(prompt, numCtx) + (opts.maxTokens ?? numCtx));
  }

  /** Models whose breaker is not closed. */
  openBreakers(): BreakerView[] {
    return this.breakers.views().filter((b) => b.state !== "closed");
  }

  /**
   * The model a call without an explicit one goes to: the chat model, or the fallback while the chat
   * model's breaker is open (at once, instead of waiting for the chat model to time out again).
   */
  private pick(model: string | undefined): string {
    const primary = model ?? this.config.OLLAMA_CHAT_MODEL;
    const fallback = this.config.OLLAMA_FALLBACK_MODEL;
    if (!model && fallback && fallback !== primary && this.breakers.isOpen(primary) && !this.breakers.isOpen(fallback)) return fallback;
    return primary;
  }

  private async withFallback<T>(
    model: string | undefined,
    opts: AttemptOptions<NoInfer<T>>,
    call: (model: string) => Promise<T>,
  ): Promise<{ value: T; model: string; ticket: MeterTicket }> {
    const primary = this.pick(model);
    try {
      return { ...(await this.attempt(primary, call, opts)), model: primary };
    } catch (err) {
      const fallback = this.config.OLLAMA_FALLBACK_MODEL;
      if (isModelMissing(err) && !model && fallback && fallback !== primary) {
        try {
          return { ...(await this.attempt(fallback, call, opts)), model: fallback };
        } catch (err2) {
          throw this.wrap(err2, fallback);
        }
      }
      throw this.wrap(err, primary);
    }
  }

  /**
   * One call through the model's breaker (refused at once while it is open, counted when it fails) and
   * the usage meter (run limits and budget reservation before, ledger and settlement after; a call that
   * settles later — a stream — hands its ticket to the caller).
   */
  private async attempt<T>(model: string, call: (model: string) => Promise<T>, opts: AttemptOptions<NoInfer<T>>): Promise<{ value: T; ticket: MeterTicket }> {
    const admitted = this.breakers.admit(model);
    if (!admitted.ok) {
      throw new LlmUnavailableError(
        `Model ${model} is paused after ${admitted.failures} failed calls in a row${admitted.lastError ? ` (last: ${admitted.lastError})` : ""}; ` +
          `the next try is at ${admitted.retryAt.toISOString()}.`,
      );
    }
    let ticket: MeterTicket;
    try {
      ticket = await beginModelCall(model, opts.op, opts.estimate);
    } catch (err) {
      this.breakers.release(model); // not the model's fault: a trial it held is given back
      throw err;
    }
    try {
      const value = await call(model);
      if (!opts.settleLater) {
        this.breakers.success(model);
        await endModelCall(ticket, { ...(opts.usage?.(value, model) ?? { model, ...NO_USAGE }), ok: true });
      }
      return { value, ticket };
    } catch (err) {
      this.settle(model, err, opts.signal);
      await endModelCall(ticket, { model, ...NO_USAGE, ok: false }, { aborted: opts.signal?.aborted });
      throw err;
    }
  }

  private settle(model: string, err: unknown, signal?: AbortSignal): void {
    if (signal?.aborted) this.breakers.release(model);
    // The reason in the words callers show ("Ollama at … is not reachable (ECONNREFUSED).").
    else if (countsAsFailure(err)) this.breakers.failure(model, this.wrap(err, model).message.replace(/\.$/, ""));
    else this.breakers.release(model);
  }

  private wrap(err: unknown, model: string): Error {
    if (isLlmUnavailable(err)) return err;
    if (isConnectionError(err)) return new LlmUnavailableError(`Ollama at ${this.config.OLLAMA_HOST} is not reachable (${describe(err)}).`, err);
    if (isModelMissing(err)) return new LlmUnavailableError(`Ollama has no model ${model} (ollama pull ${model}).`, err);
    return err instanceof Error ? err : new Error(String(err));
  }
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string } };
  if (e?.name === "TimeoutError") return "timed out";
  return e?.cause?.code ?? e?.message ?? String(err);
}

/** fetch with an overall time limit, combined with the caller's own abort signal. */
function timeoutFetch(ms: number): typeof fetch {
  return (input, init = {}) => {
    const signals = [AbortSignal.timeout(ms), init.signal].filter(Boolean) as AbortSignal[];
    return fetch(input, { ...init, signal: AbortSignal.any(signals) });
  };
}

const KEY = Symbol.for("sot.llm");
type Holder = typeof globalThis & { [KEY]?: Llm };

export function getLlm(): Llm {
  const g = globalThis as Holder;
  if (!g[KEY]) {
    g[KEY] = new Llm(getConfig());
    publishBreakers(g[KEY].breakers);
  }
  return g[KEY];
}

/** Drops the cached client (tests and scripts that change OLLAMA_* settings). */
export function resetLlm(): void {
  delete (globalThis as Holder)[KEY];
}
