// An S3 document repository as a source (MinIO in production, s3rver in tests): mirrors a bucket
// prefix into collections. A sync lists the prefix, compares each object's ETag with the manifest
// (s3_objects), ingests new and changed objects, and removes documents whose objects are gone. Keys
// are routed to collections by prefix rules (longest match wins; otherwise the source's collection).
// The SDK retries throttling and 5xx with exponential backoff (maxAttempts).
//
// The endpoint is an address an administrator typed, so it goes through the outbound guard
// (lib/http/outbound.ts) like every such address: checked when the source is saved and before every
// sync, and enforced on each connection the SDK opens. Without an endpoint the SDK talks to AWS
// (s3.<region>.amazonaws.com), which the guard has to allow too. Failures are reported in the app's
// words (`s3Failure`), never with the far side's error text.
import { randomUUID } from "node:crypto";
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ServiceException } from "@aws-sdk/client-s3";
import { getConfig } from "../config";
import { decryptSecret, encryptSecret, sourceSecretRef } from "../secrets";
import type { Db } from "../db/client";
import { isAppError, NotFoundError, PayloadTooLargeError, ValidationError } from "../errors";
import { assertOutboundAllowed, describeOutboundFailure, isOutboundBlocked, outboundAgents } from "../http/outbound";
import { convertToMarkdown, formatOf } from "./convert";
import type { DiscoveredItem, JobContextForDriver, SourceDriver } from "./driver";
import { softDeleteDocuments } from "./pipeline";
import { ingestedObjects } from "./queries";

export interface S3SourceConfig {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
  routes: Array<{ prefix: string; collectionId: string }>;
}

interface S3Secrets {
  accessKeyId: string;
  secretAccessKey: string;
}

const REGION = /^[a-z0-9-]{1,64}$/;

/** The address the SDK talks to: the source's endpoint, or AWS's regional endpoint. */
export function s3EndpointUrl(cfg: Pick<S3SourceConfig, "endpoint" | "region">): string {
  return cfg.endpoint || `https://s3.${cfg.region}.amazonaws.com`;
}

/** Checks a source's endpoint and region; throws 400 naming the field. */
async function assertS3EndpointAllowed(cfg: Pick<S3SourceConfig, "endpoint" | "region">): Promise<void> {
  if (!REGION.test(cfg.region)) throw new ValidationError("The region is not a region name.", [{ path: "region", message: "must be letters, digits and dashes, such as us-east-1" }]);
  if (cfg.endpoint) {
    let u: URL | null = null;
    try {
      u = new URL(cfg.endpoint);
    } catch {
      /* reported by the guard below */
    }
    if (u && (u.username || u.password)) {
      throw new ValidationError("The endpoint must not contain credentials; give them as the access key and secret.", [{ path: "endpoint", message: "contains credentials" }]);
    }
  }
  await assertOutboundAllowed(s3EndpointUrl(cfg), { field: cfg.endpoint ? "endpoint" : "region" });
}

export async function createS3Source(
  db: Db,
  input: { collectionId: string; name: string; bucket: string; prefix: string; endpoint?: string; region: string; accessKeyId: string; secretAccessKey: string; routes: S3SourceConfig["routes"] },
) {
  await assertS3EndpointAllowed(input);
  const ids = [input.collectionId, ...input.routes.map((r) => r.collectionId)];
  const found = await db.prisma.collection.count({ where: { id: { in: ids } } });
  if (found !== new Set(ids).size) throw new NotFoundError("A collection named in the routes");
  const config: S3SourceConfig = { bucket: input.bucket, prefix: input.prefix, endpoint: input.endpoint, region: input.region, routes: input.routes };
  // The id is chosen here: the keys are sealed for this very row (KES first: down, nothing is written).
  const id = randomUUID();
  const secretCiphertext = await encryptSecret(
    JSON.stringify({ accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey } satisfies S3Secrets),
    sourceSecretRef(id),
  );
  return db.prisma.source.create({
    data: {
      id,
      collectionId: input.collectionId,
      kind: "s3",
      name: input.name,
      config: config as object,
      secretCiphertext,
    },
    select: { id: true },
  });
}

export function routeKey(key: string, config: S3SourceConfig, fallback: string): string {
  let best: { prefix: string; collectionId: string } | null = null;
  for (const r of config.routes ?? []) if (key.startsWith(r.prefix) && (!best || r.prefix.length > best.prefix.length)) best = r;
  return best?.collectionId ?? fallback;
}

// S3 error codes whose meaning is worth passing on, in the app's words.
const S3_ERRORS: Record<string, string> = {
  NoSuchBucket: "the bucket does not exist",
  AccessDenied: "access was denied (check the keys and the bucket's policy)",
  InvalidAccessKeyId: "the access key is not known to the endpoint",
  SignatureDoesNotMatch: "the secret access key is wrong",
  NoSuchKey: "the object is gone",
  InvalidBucketName: "the bucket name is not valid",
  SlowDown: "the endpoint is throttling requests",
};

/**
 * An error for a failed S3 call that names the endpoint's host and what went wrong in the app's own
 * words: the guard refused it, the connection failed or timed out, or the endpoint refused the request
 * (a known S3 error code, else only the HTTP status). The far side's message is never repeated.
 */
export function s3Failure(err: unknown, cfg: Pick<S3SourceConfig, "endpoint" | "region">): Error {
  if (isAppError(err)) return err;
  const host = new URL(s3EndpointUrl(cfg)).host;
  if (isOutboundBlocked(err)) return new Error(`S3 endpoint ${describeOutboundFailure(err, host)}`);
  const e = err as Partial<S3ServiceException> & { $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status) {
    const known = e.name ? S3_ERRORS[e.name] : undefined;
    return new Error(known ? `S3 endpoint ${host}: ${known} (HTTP ${status})` : `S3 endpoint ${host} refused the request (HTTP ${status})`);
  }
  return new Error(`S3 endpoint: ${describeOutboundFailure(err, host)}`);
}

const clients = new WeakMap<object, S3Client>();
async function clientFor(ctx: JobContextForDriver): Promise<S3Client> {
  let c = clients.get(ctx.job);
  if (!c) {
    const cfg = ctx.source.config as unknown as S3SourceConfig;
    // Checked again at every sync: the allow list may have changed since the source was saved.
    await assertS3EndpointAllowed(cfg);
    const secrets = JSON.parse(await decryptSecret(ctx.source.secretCiphertext ?? "", sourceSecretRef(ctx.source.id))) as S3Secrets;
    c = new S3Client({
      region: cfg.region,
      endpoint: cfg.endpoint || undefined,
      forcePathStyle: !!cfg.endpoint, // MinIO and s3rver want path-style addressing
      credentials: secrets,
      maxAttempts: 5,
      // Every connection through the guard (names are resolved and checked at connect time).
      requestHandler: { ...(await outboundAgents()), connectionTimeout: 10_000, requestTimeout: 120_000 },
    });
    clients.set(ctx.job, c);
  }
  return c;
}

/** One S3 call, its failure reported by `s3Failure`. */
async function s3Call<T>(cfg: S3SourceConfig, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw s3Failure(err, cfg);
  }
}

const cleanEtag = (e: string | undefined) => (e ?? "").replace(/"/g, "");

export const s3Driver: SourceDriver = {
  concurrency: 4,
  async seeds() {
    return [{ externalId: "list", kind: "container" }];
  },
  async expand(ctx) {
    const cfg = ctx.source.config as unknown as S3SourceConfig;
    const client = await s3Call(cfg, () => clientFor(ctx));
    const listed: Array<{ key: string; etag: string; size: number }> = [];
    let token: string | undefined;
    do {
      const res = await s3Call(cfg, () => client.send(new ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: cfg.prefix || undefined, ContinuationToken: token })));
      for (const o of res.Contents ?? []) if (o.Key && !o.Key.endsWith("/")) listed.push({ key: o.Key, etag: cleanEtag(o.ETag), size: o.Size ?? 0 });
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);

    const manifest = new Map(
      (await ctx.db.prisma.s3Object.findMany({ where: { sourceId: ctx.source.id } })).map((m) => [m.key, m]),
    );
    const live = new Set(
      (await ctx.db.prisma.document.findMany({ where: { sourceId: ctx.source.id, deletedAt: null }, select: { externalId: true } })).map((d) => d.externalId),
    );
    const unchanged: string[] = [];
    const changed: DiscoveredItem[] = [];
    for (const o of listed) {
      const m = manifest.get(o.key);
      if (m && m.etag === o.etag && live.has(o.key) && m.collectionId === routeKey(o.key, cfg, ctx.source.collectionId)) unchanged.push(o.key);
      else changed.push({ externalId: o.key, kind: "page", title: o.etag });
    }
    // Unchanged objects are recorded as seen (they count, and are not removed) without being fetched.
    await ctx.db.prisma.importJobItem.createMany({
      data: unchanged.map((key) => ({ jobId: ctx.job.id, externalId: key, kind: "page", status: "unchanged" })),
      skipDuplicates: true,
    });
    return changed;
  },
  async fetch(ctx, item) {
    const cfg = ctx.source.config as unknown as S3SourceConfig;
    const client = await clientFor(ctx);
    const name = item.externalId.split("/").pop() ?? item.externalId;
    const maxBytes = getConfig().INGEST_UPLOAD_MAX_BYTES;
    if (!formatOf(name)) throw new Error(`${item.externalId}: unsupported file type; skipped`);
    const res = await s3Call(cfg, () => client.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: item.externalId })));
    if ((res.ContentLength ?? 0) > maxBytes) {
      await Promise.resolve((res.Body as { destroy?: () => void } | undefined)?.destroy?.());
      throw new PayloadTooLargeError(maxBytes, item.externalId);
    }
    const bytes = await s3Call(cfg, () => res.Body!.transformToByteArray());
    const converted = await convertToMarkdown(name, bytes, maxBytes);
    return {
      externalId: item.externalId,
      title: converted.title,
      markdown: converted.markdown,
      url: `s3://${cfg.bucket}/${item.externalId}`,
      breadcrumb: item.externalId.split("/").slice(0, -1),
      collectionId: routeKey(item.externalId, cfg, ctx.source.collectionId),
      properties: { etag: cleanEtag(res.ETag) || item.title, size: bytes.byteLength, format: converted.format },
      updatedAt: res.LastModified ?? null,
    };
  },
  async finalize(ctx, seen) {
    const db = ctx.db;
    // The manifest follows what was actually ingested this run.
    const done = (await ingestedObjects(db.sql, ctx.job.id, ctx.source.id)).map((d) => ({ ...d, size: BigInt(d.size) }));
    for (const d of done) {
      await db.prisma.s3Object.upsert({
        where: { sourceId_key: { sourceId: ctx.source.id, key: d.key } },
        create: { sourceId: ctx.source.id, key: d.key, etag: d.etag, size: d.size, collectionId: d.collection_id },
        update: { etag: d.etag, size: d.size, collectionId: d.collection_id, syncedAt: new Date() },
      });
    }
    const keep = new Set(seen);
    const stale = (await db.prisma.document.findMany({ where: { sourceId: ctx.source.id, deletedAt: null }, select: { externalId: true } }))
      .map((d) => d.externalId)
      .filter((k) => !keep.has(k));
    const removed = await softDeleteDocuments(db, ctx.source.id, stale);
    await db.prisma.s3Object.deleteMany({ where: { sourceId: ctx.source.id, key: { notIn: seen } } });
    return removed;
  },
};
