// Where snapshots go: a local folder (the embedded default) or an S3-compatible bucket (MinIO, a DDC
// gateway; path-style by default). Both store plain keys such as `objects/ab/ab12…` and
// `snapshots/<id>.json`; everything written is already encrypted, the target never sees plaintext.
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config";

export interface StoredKey {
  key: string;
  size: number;
  modifiedAt: Date;
}

export interface BackupTarget {
  /** For history and messages, e.g. "folder /srv/backups", "s3://bucket/prefix/" (never credentials). */
  readonly description: string;
  put(key: string, body: Buffer): Promise<void>;
  /** null when the key does not exist. */
  get(key: string): Promise<Buffer | null>;
  /** Keys under a prefix; `detail: false` lets a target skip sizes and times it would have to look up one by one. */
  list(prefix: string, opts?: { detail?: boolean }): Promise<StoredKey[]>;
  delete(keys: string[]): Promise<void>;
}

export class FolderTarget implements BackupTarget {
  readonly description: string;
  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.description = `folder ${this.root}`;
  }
  private file(key: string): string {
    if (key.split("/").some((p) => p === ".." || p === "")) throw new Error(`Invalid backup key ${key}`);
    return path.join(this.root, ...key.split("/"));
  }
  /** Folders already made by this process: one mkdir per folder, not one per object. */
  private readonly made = new Set<string>();
  async put(key: string, body: Buffer): Promise<void> {
    const file = this.file(key);
    const dir = path.dirname(file);
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.made.add(dir);
    }
    // Write then rename: a crash leaves no half-written object under its final name.
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, file);
  }
  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }
  async list(prefix: string, opts: { detail?: boolean } = {}): Promise<StoredKey[]> {
    const detail = opts.detail ?? true;
    const out: StoredKey[] = [];
    const walk = async (dir: string, rel: string) => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw err;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(dir, e.name), key);
        else if (e.isFile() && !e.name.endsWith(".tmp") && key.startsWith(prefix)) {
          if (!detail) out.push({ key, size: -1, modifiedAt: new Date(0) });
          else {
            const s = await stat(path.join(dir, e.name));
            out.push({ key, size: s.size, modifiedAt: s.mtime });
          }
        }
      }
    };
    // Walk only the top folder the prefix names (objects/, snapshots/).
    const top = prefix.split("/")[0];
    await walk(path.join(this.root, top), top);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
  async delete(keys: string[]): Promise<void> {
    await Promise.all(keys.map((k) => rm(this.file(k), { force: true })));
  }
}

export interface S3Settings {
  endpoint?: string;
  region: string;
  bucket: string;
  prefix: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

export class S3Target implements BackupTarget {
  readonly description: string;
  private readonly client: S3Client;
  private readonly prefix: string;
  constructor(readonly settings: S3Settings) {
    this.prefix = settings.prefix && !settings.prefix.endsWith("/") ? `${settings.prefix}/` : settings.prefix;
    this.description = `s3://${settings.bucket}/${this.prefix}${settings.endpoint ? ` at ${settings.endpoint}` : ""}`;
    this.client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials:
        settings.accessKeyId && settings.secretAccessKey
          ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
          : undefined,
      // MinIO and gateways do not all support the newer default checksums.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }
  async put(key: string, body: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.settings.bucket, Key: this.prefix + key, Body: body, ContentType: "application/octet-stream" }),
    );
  }
  async get(key: string): Promise<Buffer | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.prefix + key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (err instanceof NoSuchKey || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return null;
      throw err;
    }
  }
  async list(prefix: string): Promise<StoredKey[]> {
    const out: StoredKey[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) {
        out.push({ key: o.Key!.slice(this.prefix.length), size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.settings.bucket,
          Delete: { Objects: batch.map((k) => ({ Key: this.prefix + k })), Quiet: true },
        }),
      );
    }
  }
  destroy(): void {
    this.client.destroy();
  }
}

/** The target the settings name (BACKUP_TARGET). */
export function targetFromConfig(config: Config): BackupTarget {
  if (config.BACKUP_TARGET === "s3") {
    return new S3Target({
      endpoint: config.BACKUP_S3_ENDPOINT,
      region: config.BACKUP_S3_REGION,
      bucket: config.BACKUP_S3_BUCKET!,
      prefix: config.BACKUP_S3_PREFIX,
      accessKeyId: config.BACKUP_S3_ACCESS_KEY_ID,
      secretAccessKey: config.BACKUP_S3_SECRET_ACCESS_KEY,
      forcePathStyle: config.BACKUP_S3_FORCE_PATH_STYLE,
    });
  }
  return new FolderTarget(config.BACKUP_DIR ?? path.join(config.DATA_DIR, "backups"));
}
