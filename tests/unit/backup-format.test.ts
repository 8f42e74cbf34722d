import { describe, expect, it } from "vitest";
import { dependencyOrder, groupColumn, objectSelectSql, vectorBinaryToText, type TableInfo } from "@/lib/backup/catalog";
import { BackupIntegrityError, decodeObject, encodeObject, objectKey, readObjectEnvelope, sha256Hex } from "@/lib/backup/format";
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

  it("one object per row for single-column keys; postings grouped by the owning entity's uuid", () => {
    expect(groupColumn(table("chunks", []))).toBeNull();
    const postings = table("chunk_terms", [], ["lexeme", "chunk_id"], [["lexeme", "text"], ["chunk_id", "uuid"], ["tf", "float4"]]);
    expect(groupColumn(postings)).toBe("chunk_id");
    expect(objectSelectSql(postings)).toContain('GROUP BY t."chunk_id" ORDER BY t."chunk_id"');
    expect(groupColumn(table("pairs", [], ["a", "b"], [["a", "text"], ["b", "int4"]]))).toBe("a");
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

  it("round-trip, record the key id, and hide the plaintext", () => {
    const body = encodeObject(ring, hash, plain);
    expect(body.includes("hello")).toBe(false);
    expect(readObjectEnvelope(objectKey(hash), body).keyId).toBe(ring.current.id);
    expect(decodeObject(ring, hash, body, "t").equals(plain)).toBe(true);
  });

  it("are bound to their address: the same bytes under another name fail", () => {
    const body = encodeObject(ring, hash, plain);
    const other = sha256Hex("other");
    expect(() => decodeObject(ring, other, body, "t")).toThrow(BackupIntegrityError);
    expect(() => decodeObject(ring, other, body, "t")).toThrow(/integrity check/);
  });

  it("refuse truncation and garbage with the object's name", () => {
    const body = encodeObject(ring, hash, plain);
    expect(() => decodeObject(ring, hash, body.subarray(0, 10), "t")).toThrow(new RegExp(`Object ${objectKey(hash)} is corrupt`));
    expect(() => decodeObject(ring, hash, Buffer.from("not an object"), "t")).toThrow(/does not start with an object header/);
  });
});
