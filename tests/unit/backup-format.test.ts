import { describe, expect, it } from "vitest";
import { dependencyOrder, vectorBinaryToText, type TableInfo } from "@/lib/backup/catalog";
import { BackupIntegrityError, decodeObject, encodeObject, encodeObjectAsync, objectKey, objectName, readObjectEnvelope, sha256Hex } from "@/lib/backup/format";
import { rowKeyExpr } from "@/lib/backup/queries";
import { generateMasterKey, ringFrom } from "@/lib/crypto/keys";

const table = (name: string, parents: string[], primaryKey: string[] = ["id"], cols: Array<[string, string]> = [["id", "uuid"]]): TableInfo => ({
  name,
  parents,
  primaryKey,
  columns: cols.map(([n, typname]) => ({ name: n, typname, type: typname })),
});

describe("catalog rules", () => {
  it("orders tables parents first, whatever the input order; cycles go last instead of looping", () => {
    const order = dependencyOrder([
      table("chunks", ["documents", "collections"]),
      table("documents", ["sources", "collections"]),
      table("sources", ["collections"]),
      table("collections", []),
      table("a", ["b"]),
      table("b", ["a"]),
    ]).map((t) => t.name);
    expect(order.indexOf("collections")).toBeLessThan(order.indexOf("sources"));
    expect(order.indexOf("sources")).toBeLessThan(order.indexOf("documents"));
    expect(order.indexOf("documents")).toBeLessThan(order.indexOf("chunks"));
    expect(order.slice(-2).sort()).toEqual(["a", "b"]);
  });

  it("logs a row's key as a JSON object of its primary-key columns; a table without a key as a whole", () => {
    expect(rowKeyExpr(table("chunks", []))).toBe(`json_build_object('id', "id")::text`);
    const postings = table("chunk_terms", [], ["lexeme", "chunk_id"], [["lexeme", "text"], ["chunk_id", "uuid"], ["tf", "float4"]]);
    expect(rowKeyExpr(postings)).toBe(`json_build_object('lexeme', "lexeme", 'chunk_id', "chunk_id")::text`);
    expect(rowKeyExpr(table("odd", [], ["it's"]))).toBe(`json_build_object('it''s', "it's")::text`);
    expect(rowKeyExpr(table("log", [], []))).toBeNull();
  });

  it("turns pgvector's binary form back into text that parses to the same float32 values", () => {
    const values = [0.1, -1e-7, 3.4028234663852886e38, 1 / 3, 0, -0.5];
    const buf = Buffer.alloc(4 + values.length * 4);
    buf.writeUInt16BE(values.length, 0);
    values.forEach((v, i) => buf.writeFloatBE(v, 4 + i * 4));
    const text = vectorBinaryToText(buf.toString("base64"));
    const parsed = JSON.parse(text) as number[];
    expect(parsed.map((v) => Math.fround(v))).toEqual(values.map((v) => Math.fround(v)));
  });
});

describe("objects", () => {
  const ring = ringFrom([generateMasterKey()], { kind: "env" });
  const plain = Buffer.from('[{"id":1,"text":"hello"}]');
  const hash = sha256Hex(plain);

  it("round-trip, record the key id, and hide the plaintext", async () => {
    const body = encodeObject(ring, hash, plain);
    expect(body.includes("hello")).toBe(false);
    expect(readObjectEnvelope(objectKey(hash), body).keyId).toBe(ring.current.id);
    expect((await decodeObject(ring, hash, body, "t")).equals(plain)).toBe(true);
  });

  it("are bound to their address: the same bytes under another name fail", async () => {
    const body = encodeObject(ring, hash, plain);
    const other = sha256Hex("other");
    await expect(decodeObject(ring, other, body, "t")).rejects.toThrow(BackupIntegrityError);
    await expect(decodeObject(ring, other, body, "t")).rejects.toThrow(/integrity check/);
  });

  it("refuse truncation and garbage with the object's name", async () => {
    const body = encodeObject(ring, hash, plain);
    await expect(decodeObject(ring, hash, body.subarray(0, 10), "t")).rejects.toThrow(new RegExp(`Object ${objectKey(hash)} is corrupt`));
    await expect(decodeObject(ring, hash, Buffer.from("not an object"), "t")).rejects.toThrow(/does not start with an object header/);
  });

  it("format 2: named by HMAC under the naming key, so a guessed row cannot be confirmed without the key", async () => {
    const naming = Buffer.alloc(32, 7);
    const name = objectName(naming, plain);
    expect(name).not.toBe(sha256Hex(plain));
    expect(name).not.toBe(objectName(Buffer.alloc(32, 8), plain));
    const body = await encodeObjectAsync(ring, name, plain);
    expect((await decodeObject(ring, name, body, "t", naming)).equals(plain)).toBe(true);
    // right name and tag, wrong naming key: the content does not match its keyed address
    await expect(decodeObject(ring, name, body, "t", Buffer.alloc(32, 9))).rejects.toThrow(/does not match its keyed address/);
  });
});
