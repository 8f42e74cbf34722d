// Every setting of Project SOT, validated once with zod. `.env.example` documents each one.
// A bad or missing setting stops start-up with ONE message listing every problem and its fix.
import { z } from "zod";

const bool = (def: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
    .default(def ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");
const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
const url = (def?: string) => {
  const s = z.string().url({ message: "must be a URL such as http://127.0.0.1:11434" });
  return def === undefined ? s : s.default(def);
};

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("production"),

    // ── web server ──
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: int(3000, 1, 65535),
    /** Public origin of the app (used for links and next-auth), e.g. https://sot.lan */
    PUBLIC_URL: url().optional(),

    // ── database ──
    /** Unset: the embedded default (PGlite inside the process, data under DATA_DIR). */
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: "must start with postgresql:// (or be unset for the embedded default)" })
      .optional(),
    DATABASE_POOL_SIZE: int(10, 1, 500),
    DATA_DIR: z.string().min(1).default(".data"),
    /** Run the job workers and scheduler inside the web process. Default: on for the embedded database only. */
    WORKERS_IN_PROCESS: z.enum(["true", "false", "auto"]).default("auto"),

    // ── Ollama ──
    OLLAMA_HOST: url("http://127.0.0.1:11434"),
    OLLAMA_CHAT_MODEL: z.string().min(1).default("llama3.3:70b-instruct-q4_K_M"),
    OLLAMA_FALLBACK_MODEL: z.string().default("qwen2.5:32b"),
    OLLAMA_JUDGE_MODEL: z.string().min(1).default("llama3.3:70b-instruct-q4_K_M"),
    OLLAMA_EMBED_MODEL: z.string().min(1).default("nomic-embed-text"),
    /** Context window passed explicitly as num_ctx on every chat call. */
    OLLAMA_NUM_CTX: int(8192, 512, 131072),
    OLLAMA_TIMEOUT_MS: int(120000, 100, 3600000),
    /** How long the health check waits for Ollama before calling it unreachable. */
    OLLAMA_HEALTH_TIMEOUT_MS: int(1500, 50, 60000),
    OLLAMA_KEEP_ALIVE: z.string().default("30m"),
    /** Consecutive failed calls (timeouts, refused connections, 5xx) after which a model is paused (lib/llm/breaker.ts). */
    OLLAMA_BREAKER_FAILURES: int(3, 1, 100),
    /** How long a paused model is skipped (the fallback or the no-model answer instead) before one trial call. */
    OLLAMA_BREAKER_COOLDOWN_MS: int(30000, 1000, 3600000),

    // ── privacy ──
    LOG_QUERY_TEXT: bool(true),
    LOG_ANSWER_TEXT: bool(false),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),

    // ── ask the wiki (lib/retrieve, lib/answer, workers/rerank.ts) ──
    /** Candidates taken from each retrieval stage (vector, full-text) before fusion. */
    RETRIEVE_CANDIDATES: int(50, 5, 500),
    /** HNSW search list size (pgvector hnsw.ef_search); higher raises recall and cost. */
    RETRIEVE_EF_SEARCH: int(100, 10, 1000),
    /**
     * Full-text search reads a word's postings in full while they are at most 2% of the chunks (and always up
     * to 1,000); a more frequent word only adds its weight to the best candidates. This bounds that threshold
     * (0: no bound), trading full-text recall for fewer postings read on a very large wiki: at a million
     * chunks 5,000 cut the reads by half and recall@10 from 0.90 to 0.74 (docs/benchmarks.md), so it is off.
     */
    RETRIEVE_COMMON_POSTINGS_MAX: int(0, 0, 100_000_000),
    /**
     * Hybrid searches one process runs at once (0: no limit); more wait their turn in the process rather than
     * contend inside PostgreSQL, where each search costs several times the CPU when more of them run than
     * there are cores. Off by default: it lowered the database's CPU per ask at 32 askers but not the
     * answers' latency at 8 (docs/benchmarks.md, Ask overhead).
     */
    RETRIEVE_MAX_CONCURRENT: int(0, 0, 500),
    /** Chunks passed to the model at most (fewer when the context budget is reached). */
    ASK_MAX_SOURCES: int(8, 1, 50),
    /** Tokens kept free in num_ctx for the answer. */
    ASK_ANSWER_TOKENS: int(1024, 64, 32768),
    /** The rerank worker (workers/rerank.ts), e.g. http://127.0.0.1:8088. Unset: no reranking. */
    RERANK_URL: url().optional(),
    /** Fused candidates sent to the reranker. */
    RERANK_CANDIDATES: int(40, 2, 200),
    /** The reranker's time limit; past it the fused order is kept and the answer says so. */
    RERANK_TIMEOUT_MS: int(2000, 50, 60000),
    /** Rerank worker: address it listens on. */
    RERANK_HOST: z.string().min(1).default("127.0.0.1"),
    RERANK_PORT: int(8088, 1, 65535),
    /** Rerank worker: a local ONNX cross-encoder folder (config.json, tokenizer.json, onnx/model*.onnx). */
    RERANK_MODEL_DIR: z.string().default("models/mxbai-rerank-base-v1"),
    /** Rerank worker: forward to this endpoint instead (llama.cpp server /v1/rerank, or TEI /rerank). */
    RERANK_FORWARD_URL: url().optional(),
    RERANK_FORWARD_KIND: z.enum(["llamacpp", "tei"]).default("llamacpp"),

    // ── ingest (lib/ingest) ──
    /** Upper bound of a chunk in (estimated) embedder tokens, title and heading prefix included. */
    INGEST_CHUNK_MAX_TOKENS: int(450, 100, 2048),
    /** Texts per /api/embed call. */
    INGEST_EMBED_BATCH_SIZE: int(32, 1, 512),
    /** Largest file accepted by uploads and S3 sync. */
    INGEST_UPLOAD_MAX_BYTES: int(20_000_000, 1_000, 500_000_000),
    /** Largest export (pg_dump or CSV) accepted by "Move in from Supabase" on the Sources page; it is streamed, never held whole. */
    SUPABASE_IMPORT_MAX_BYTES: int(4_000_000_000, 1_000, 100_000_000_000),
    /** Most entries a DOCX (ZIP) file may have; checked before anything is unpacked. */
    INGEST_ZIP_MAX_ENTRIES: int(2000, 10, 65_535),
    /** Most bytes a DOCX (ZIP) file may unpack to, all entries together (zip bombs stop here). */
    INGEST_ZIP_MAX_UNPACKED_BYTES: int(200_000_000, 1_000, 4_000_000_000),
    /** Time one PDF's text extraction may take (in a process of its own, stopped beyond). */
    INGEST_PDF_TIMEOUT_MS: int(60_000, 100, 3_600_000),
    /** Memory (MB) one PDF's text extraction may use: its process's heap, and its resident size beyond what Node itself needs (stopped beyond). */
    INGEST_PDF_MAX_MEMORY_MB: int(512, 32, 16_384),
    /**
     * A first import of at least this many pages into a database whose vector index is still small
     * (INGEST_BULK_INDEX_MAX_CHUNKS) writes its chunks without the HNSW index and builds it once at the
     * end (CREATE INDEX CONCURRENTLY): searches keep answering meanwhile, by exact scan (docs/scale.md).
     */
    INGEST_BULK_INDEX_MIN_PAGES: int(1000, 1, 10_000_000),
    /** The bulk first import applies only while the database holds at most this many chunks, and at most as many as the import has pages. */
    INGEST_BULK_INDEX_MAX_CHUNKS: int(50_000, 0, 10_000_000),
    /**
     * The HNSW vector index's graph: links per node (m) and candidate list while building (ef_construction).
     * Denser graphs find more of the true nearest chunks at the same RETRIEVE_EF_SEARCH, for a slower build
     * and slower inserts (docs/scale.md). Applied when the index is built: by `npm run vector-index --
     * --rebuild`, a bulk first import, or the repair of a missing index.
     */
    VECTOR_INDEX_M: int(16, 2, 100),
    VECTOR_INDEX_EF_CONSTRUCTION: int(64, 4, 1000),
    /** How often chunks stored without a vector (Ollama was down) are retried. */
    INGEST_EMBED_RETRY_SECONDS: int(60, 1, 86_400),
    /** Import the demo wiki into a "Demo" collection on first start. */
    DEMO_WIKI: bool(true),
    /** Notion API base URL (tests point it at the fake Notion server). */
    NOTION_API_URL: url("https://api.notion.com"),
    /** Requests per second per Notion connection (Notion allows about 3). */
    NOTION_REQUESTS_PER_SECOND: z.coerce.number().min(0.1).max(100).default(3),
    /** Events for one page within this window are handled once, after the last one. */
    NOTION_WEBHOOK_DEBOUNCE_SECONDS: z.coerce.number().min(0).max(3600).default(10),

    // ── evaluations (lib/evaluate) ──
    /** The judge lists at most this many claims per output (and per reference answer). */
    EVAL_JUDGE_MAX_CLAIMS: int(20, 1, 100),
    /** Extra judge calls after invalid output before the score is recorded as an error. */
    EVAL_JUDGE_RETRIES: int(3, 0, 10),
    /** Fixed seed for every judge call (temperature is always 0), so re-scoring gives the same verdicts. */
    EVAL_JUDGE_SEED: int(42, 0, 2147483647),
    /** Dataset items an evaluation run works on at the same time. */
    EVAL_RUN_CONCURRENCY: int(2, 1, 32),
    /** A run counts a retrieval hit when an expected source is among the top K sources. */
    EVAL_RETRIEVAL_K: int(5, 1, 50),
    /** Alert when a run's average hallucination score falls below this. */
    EVAL_ALERT_THRESHOLD: z.coerce.number().min(1).max(5).default(4),
    /** Alert when more than this share of a run's items fail (0–1). */
    EVAL_ALERT_MAX_ERROR_RATE: z.coerce.number().min(0).max(1).default(0.1),
    /** Discord or generic webhook for run alerts (counts and links only). Unset: no alerts. */
    EVAL_ALERT_WEBHOOK_URL: url().optional(),
    /** "auto" picks discord for discord.com/api/webhooks URLs, generic JSON otherwise. */
    EVAL_ALERT_WEBHOOK_KIND: z.enum(["auto", "discord", "generic"]).default("auto"),

    // ── guardrails: budgets and run limits (lib/usage, docs/guardrails.md) ──
    /** Share of a budget (0–1) from which its principal is in budget mode; a budget may set its own. */
    BUDGET_MODE_THRESHOLD: z.coerce.number().gt(0).max(1).default(0.8),
    /** Sources packed into an answer in budget mode (normally ASK_MAX_SOURCES). */
    BUDGET_MODE_MAX_SOURCES: int(3, 1, 50),
    /** Time zone whose midnight starts a budget's day and month windows (IANA name). */
    BUDGET_TIME_ZONE: z.string().default("UTC"),
    /** GPU-seconds reserved per 1,000 tokens of a call before it runs (settled to Ollama's figure after). */
    BUDGET_ESTIMATE_GPU_SECONDS_PER_1K_TOKENS: z.coerce.number().gt(0).max(10000).default(30),
    /** While calls keep coming, ledger rows and settlements go to the database at most once per this many milliseconds per process (one statement for all of them; 0: one statement per call as it ends). */
    USAGE_WRITE_WINDOW_MS: int(1000, 0, 10000),
    /** A run (evaluation run, import) stops as "stopped: limit reached" after this many model calls (0: no limit). */
    RUN_MAX_MODEL_CALLS: int(20000, 0, 100000000),
    /** …after this many failed attempts (failed model calls and failed items; 0: no limit). */
    RUN_MAX_RETRIES: int(100, 0, 1000000),
    /** …after running this long, in seconds (0: no limit). Counted again from a resume. */
    RUN_MAX_RUNTIME_SECONDS: int(6 * 3600, 0, 30 * 86400),
    // ── approvals and notifications (lib/approvals, lib/notify) ──
    /** An evaluation run over more items than this waits for an admin's approval. */
    APPROVAL_RUN_ITEMS: int(500, 1, 100000000),
    /** Approvals (by admins other than the requester) a risky action needs before it runs. */
    APPROVAL_QUORUM: int(1, 1, 20),
    /** A request nobody decided within this many hours expires and its action never runs. */
    APPROVAL_EXPIRY_HOURS: int(24, 1, 720),

    // ── scheduler (lib/schedules) ──
    /** How often each scheduler process looks for due schedules. */
    SCHEDULER_POLL_MS: int(5000, 50, 600000),
    /** Schedule runs in progress at once, across every scheduler process (the global limit). */
    SCHEDULER_MAX_CONCURRENT_RUNS: int(4, 1, 1000),
    /** Due schedules one process claims per poll. */
    SCHEDULER_BATCH_SIZE: int(25, 1, 1000),
    /** A run whose process sent no heartbeat for this long is marked failed (its process died). */
    SCHEDULER_DEAD_RUN_SECONDS: int(120, 2, 86400),

    // ── access ──
    /** Signs session cookies. Required with DATABASE_URL; the embedded default generates one under DATA_DIR. */
    AUTH_SECRET: z.string().min(32, { message: "must be at least 32 characters (openssl rand -base64 48)" }).optional(),
    /** Signed-in sessions end after this many hours. */
    SESSION_MAX_AGE_HOURS: int(12, 1, 24 * 90),
    /** Requests per minute per user and per API key, shared by every web process; 429 + Retry-After beyond. */
    RATE_LIMIT_PER_MINUTE: int(300, 1, 1_000_000),
    /** Requests a user or key may make at once after a quiet period. */
    RATE_LIMIT_BURST: int(60, 1, 1_000_000),
    /** Requests per minute per client address from callers who are not signed in (setup, webhooks, unknown routes). */
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: int(120, 1, 1_000_000),
    /** Requests a client address may make at once without signing in. */
    RATE_LIMIT_ANONYMOUS_BURST: int(60, 1, 1_000_000),
    /** Keep rate-limit buckets in Redis (redis://host:6379/0) instead of the database. Unset: PostgreSQL (or PGlite). */
    REDIS_URL: z.string().regex(/^rediss?:\/\//, { message: "must start with redis:// or rediss://" }).optional(),
    /** Bearer token for GET /api/metrics (Prometheus). Unset: only admins (session or admin key) may read metrics. */
    METRICS_TOKEN: z.string().min(16, { message: "must be at least 16 characters (openssl rand -hex 24)" }).optional(),
    /** A worker process (workers/*.ts) serves its own counters at http://WORKER_METRICS_HOST:PORT/metrics (Bearer METRICS_TOKEN). Unset: none. One port per process. */
    WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** Address a worker's metrics port listens on (0.0.0.0 for a Prometheus on another machine). */
    WORKER_METRICS_HOST: z.string().min(1).default("127.0.0.1"),
    /** OpenID Connect sign-in (optional): issuer URL with /.well-known/openid-configuration. */
    OIDC_ISSUER: url().optional(),
    OIDC_CLIENT_ID: z.string().optional(),
    OIDC_CLIENT_SECRET: z.string().optional(),
    /** Label of the sign-in button. */
    OIDC_DISPLAY_NAME: z.string().min(1).default("Single sign-on"),
    /** Role given to a person who signs in through OpenID Connect for the first time. */
    OIDC_DEFAULT_ROLE: z.enum(["viewer", "evaluator", "admin"]).default("viewer"),
    /** Outgoing requests to addresses users type (webhooks, S3 endpoints): host names, *.suffix, IPs, CIDRs. */
    OUTBOUND_ALLOW: z.string().default(""),
    /** Also allow any public Internet address for such requests (private/loopback/link-local stay refused). */
    OUTBOUND_ALLOW_PUBLIC: bool(false),

    // ── key service (lib/kes, workers/kes.ts) ──
    /** The KES process, e.g. http://10.0.0.3:8080. Unset: KES runs inside this process (embedded default), with this process's master keys. */
    KES_URL: url().optional(),
    /** This process's service credential for KES_URL (one of the tokens listed in KES's KES_SERVICE_TOKENS). */
    KES_TOKEN: z.string().min(24, "must be at least 24 characters (openssl rand -base64 32)").optional(),
    /** How long a call to KES_URL may take before it fails with 503. */
    KES_TIMEOUT_MS: int(5000, 100, 60000),
    /** KES process: address it listens on. */
    KES_HOST: z.string().min(1).default("127.0.0.1"),
    KES_PORT: int(8080, 0, 65535),
    /** KES process: service credentials `<service name>:<token>`, comma-separated (tokens of 24+ characters); SOT's processes each get a token under the one name `sot`. */
    KES_SERVICE_TOKENS: z
      .string()
      .regex(/^\s*[a-z0-9_-]{1,40}:[^\s,:]{24,}\s*(,\s*[a-z0-9_-]{1,40}:[^\s,:]{24,}\s*)*$/, {
        message: "must be <service name>:<token> entries separated by commas, tokens of 24+ characters",
      })
      .optional(),

    // ── keys and backups (lib/crypto, lib/backup) ──
    /** Master keys `<id>:<base64 32 bytes>`, comma-separated, oldest first; the LAST is current. Or use MASTER_KEY_FILE. With KES_URL set only KES needs them (and reading snapshots from before KES, and keys:rotate). */
    MASTER_KEYS: z
      .string()
      .regex(/^\s*[A-Za-z0-9_-]{1,40}:[A-Za-z0-9+/]{43}=\s*(,\s*[A-Za-z0-9_-]{1,40}:[A-Za-z0-9+/]{43}=\s*)*$/, {
        message: "must be <key id>:<base64 32-byte key> entries separated by commas (openssl rand -base64 32)",
      })
      .optional(),
    /** File of `<id> <base64 key>` lines (mode 0600). Embedded default with neither set: DATA_DIR/master-keys, generated. */
    MASTER_KEY_FILE: z.string().optional(),
    /** "folder" (BACKUP_DIR) or "s3". */
    BACKUP_TARGET: z.enum(["folder", "s3"]).default("folder"),
    /** Folder target; default DATA_DIR/backups. */
    BACKUP_DIR: z.string().optional(),
    BACKUP_S3_ENDPOINT: url().optional(),
    BACKUP_S3_REGION: z.string().default("us-east-1"),
    BACKUP_S3_BUCKET: z.string().min(3).optional(),
    BACKUP_S3_PREFIX: z.string().default("sot-backups/"),
    BACKUP_S3_ACCESS_KEY_ID: z.string().optional(),
    BACKUP_S3_SECRET_ACCESS_KEY: z.string().optional(),
    /** Path-style URLs (MinIO, most gateways). */
    BACKUP_S3_FORCE_PATH_STYLE: bool(true),
    BACKUP_KEEP_DAILY: int(7, 1, 3650),
    BACKUP_KEEP_WEEKLY: int(4, 0, 520),
    BACKUP_CONCURRENCY: int(8, 1, 64),
  })
  .superRefine((c, ctx) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: c.BUDGET_TIME_ZONE });
    } catch {
      ctx.addIssue({ code: "custom", path: ["BUDGET_TIME_ZONE"], message: "must be an IANA time zone such as UTC or Europe/Berlin" });
    }
    if (c.VECTOR_INDEX_EF_CONSTRUCTION < 2 * c.VECTOR_INDEX_M) {
      ctx.addIssue({
        code: "custom",
        path: ["VECTOR_INDEX_EF_CONSTRUCTION"],
        message: `must be at least twice VECTOR_INDEX_M (${2 * c.VECTOR_INDEX_M}), as pgvector requires`,
      });
    }
    if (c.MASTER_KEYS && c.MASTER_KEY_FILE) {
      ctx.addIssue({ code: "custom", path: ["MASTER_KEY_FILE"], message: "set either MASTER_KEYS or MASTER_KEY_FILE, not both" });
    }
    if (c.KES_URL && !c.KES_TOKEN) {
      ctx.addIssue({ code: "custom", path: ["KES_TOKEN"], message: "is required when KES_URL is set (the service credential KES knows this process by)" });
    }
    if (c.BACKUP_TARGET === "s3" && !c.BACKUP_S3_BUCKET) {
      ctx.addIssue({ code: "custom", path: ["BACKUP_S3_BUCKET"], message: "is required when BACKUP_TARGET=s3" });
    }
    if (c.WORKER_METRICS_PORT && !c.METRICS_TOKEN) {
      ctx.addIssue({ code: "custom", path: ["METRICS_TOKEN"], message: "is required when WORKER_METRICS_PORT is set (the port answers only with it)" });
    }
    if (c.OIDC_ISSUER && (!c.OIDC_CLIENT_ID || !c.OIDC_CLIENT_SECRET)) {
      ctx.addIssue({ code: "custom", path: ["OIDC_CLIENT_ID"], message: "and OIDC_CLIENT_SECRET are required when OIDC_ISSUER is set" });
    }
    if (c.DATABASE_URL && !c.AUTH_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_SECRET"],
        message: "is required when DATABASE_URL is set (generate one: openssl rand -base64 48)",
      });
    }
  });

export type RawConfig = z.infer<typeof schema>;
/** Every setting's name (tests check that .env.example documents each). */
export const CONFIG_KEYS: readonly string[] = Object.keys(schema.shape);
export type Config = RawConfig & {
  databaseKind: "postgres" | "pglite";
  workersInProcess: boolean;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Project SOT cannot start: ${problems.length} setting${problems.length === 1 ? " is" : "s are"} wrong.\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        "\nFix them in the environment or in .env (see .env.example for every setting).",
    );
    this.name = "ConfigError";
  }
}

/** Parses settings from an environment; throws ConfigError listing every problem. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Empty strings count as unset, so `FOO=` in a .env file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = i.path.join(".") || "(environment)";
        const value = cleaned[key];
        return value === undefined ? `${key} ${i.message}` : `${key}=${JSON.stringify(redact(key, value))} ${i.message}`;
      }),
    );
  }
  const raw = result.data;
  const databaseKind = raw.DATABASE_URL ? "postgres" : "pglite";
  return {
    ...raw,
    databaseKind,
    workersInProcess: raw.WORKERS_IN_PROCESS === "auto" ? databaseKind === "pglite" : raw.WORKERS_IN_PROCESS === "true",
  };
}

function redact(key: string, value: string): string {
  return /SECRET|PASSWORD|TOKEN|KEY/i.test(key) ? "***" : value.replace(/\/\/[^@/]*@/, "//***@");
}

const CACHE = Symbol.for("sot.config");
type WithCache = typeof globalThis & { [CACHE]?: Config };

/** The process's settings, parsed on first use. */
export function getConfig(): Config {
  const g = globalThis as WithCache;
  return (g[CACHE] ??= parseConfig(process.env));
}

/** For tests and scripts that change the environment after start. */
export function resetConfig(): void {
  delete (globalThis as WithCache)[CACHE];
}
