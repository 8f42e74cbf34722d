// The streaming multipart reader against bodies made by the platform's own FormData encoder, cut into
// chunks at random places; and against broken bodies, which get a 400 saying what is wrong.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readMultipartFiles, type MultipartFile } from "@/lib/http/multipart";

const LIMITS = { maxBodyBytes: 10_000_000, maxFileBytes: 1_000_000 };

/** A request whose body arrives in the given chunk sizes (cycled). */
function chunkedRequest(body: Uint8Array, contentType: string, sizes: number[] = [65_536]): Request {
  let offset = 0;
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= body.length) return controller.close();
      const n = Math.max(1, sizes[i++ % sizes.length]!);
      controller.enqueue(body.slice(offset, offset + n));
      offset += n;
    },
  });
  return new Request("http://sot.test/upload", { method: "POST", body: stream, headers: { "content-type": contentType }, duplex: "half" } as RequestInit);
}

async function encode(form: FormData): Promise<{ body: Uint8Array; type: string }> {
  const req = new Request("http://sot.test/", { method: "POST", body: form });
  return { body: new Uint8Array(await req.arrayBuffer()), type: req.headers.get("content-type")! };
}

async function readAll(req: Request, limits = LIMITS): Promise<MultipartFile[]> {
  const out: MultipartFile[] = [];
  for await (const f of readMultipartFiles(req, limits)) out.push({ ...f, bytes: new Uint8Array(f.bytes) });
  return out;
}

const raw = (text: string) => new TextEncoder().encode(text.replace(/\n/g, "\r\n"));

describe("readMultipartFiles", () => {
  it("reads what FormData encodes: files in order, text fields skipped, names kept", async () => {
    const form = new FormData();
    form.append("note", "a text field");
    form.append("file", new File(["# Hello\n"], "hello.md"));
    form.append("file", new File([new Uint8Array([0, 1, 2, 13, 10, 45, 45, 255])], "bin.pdf"));
    form.append("file", new File(["ü"], "Grüße.txt"));
    const { body, type } = await encode(form);
    const files = await readAll(chunkedRequest(body, type, [7, 1, 13]));
    expect(files.map((f) => [f.field, f.filename, Buffer.from(f.bytes).toString("latin1")])).toEqual([
      ["file", "hello.md", "# Hello\n"],
      ["file", "bin.pdf", Buffer.from([0, 1, 2, 13, 10, 45, 45, 255]).toString("latin1")],
      ["file", "Grüße.txt", Buffer.from("ü").toString("latin1")],
    ]);
  });

  it("property: any contents, any chunking, give back exactly the files sent", async () => {
    // Contents rich in the bytes a delimiter is made of.
    const content = fc.array(fc.oneof(fc.constantFrom(13, 10, 45), fc.integer({ min: 0, max: 255 })), { maxLength: 300 }).map((a) => new Uint8Array(a));
    await fc.assert(
      fc.asyncProperty(fc.array(content, { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 6 }), async (contents, sizes) => {
        const form = new FormData();
        contents.forEach((c, i) => form.append("file", new File([c], `f${i}.bin`)));
        const { body, type } = await encode(form);
        const files = await readAll(chunkedRequest(body, type, sizes));
        expect(files.map((f) => f.filename)).toEqual(contents.map((_, i) => `f${i}.bin`));
        files.forEach((f, i) => expect(Buffer.from(f.bytes).equals(Buffer.from(contents[i]!))).toBe(true));
      }),
      { numRuns: 300 },
    );
  });

  it("stops with 413 naming the file as soon as one file is over the limit, without reading the rest", async () => {
    let pulled = 0;
    const head = raw(`--B\nContent-Disposition: form-data; name="file"; filename="huge.pdf"\n\n`);
    const block = new Uint8Array(65_536).fill(65);
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(pulled === 1 ? head : block); // endless
      },
    });
    const req = new Request("http://sot.test/", { method: "POST", body: stream, headers: { "content-type": "multipart/form-data; boundary=B" }, duplex: "half" } as RequestInit);
    const err = await readAll(req, { maxBodyBytes: 1e12, maxFileBytes: 1_000_000 }).catch((e) => e);
    expect(err).toMatchObject({ status: 413, message: expect.stringMatching(/huge\.pdf is larger than the limit of 1000000 bytes/) });
    expect(pulled).toBeLessThan(40); // the 1 MB file, then at most 1 MB drained for the answer to get through
  });

  it("refuses a body over the limit by its declared length before reading it, and while reading when undeclared", async () => {
    const req = new Request("http://sot.test/", { method: "POST", body: "x", headers: { "content-type": "multipart/form-data; boundary=B", "content-length": "999999999" } });
    expect(await readAll(req, { maxBodyBytes: 1000, maxFileBytes: 1000 }).catch((e) => e)).toMatchObject({ status: 413 });
    const form = new FormData();
    form.append("a", "x".repeat(600));
    form.append("file", new File(["y".repeat(600)], "a.md"));
    const { body, type } = await encode(form);
    expect(await readAll(chunkedRequest(body, type, [100]), { maxBodyBytes: 1000, maxFileBytes: 10_000 }).catch((e) => e)).toMatchObject({
      status: 413,
      message: "Request body is larger than the limit of 1000 bytes.",
    });
  });

  it("gives a 400 that says what is wrong for each kind of broken body", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["multipart/form-data", "--B\n\n", /no boundary parameter/],
      ["multipart/form-data; boundary=B", "", /no boundary line|empty/],
      ["multipart/form-data; boundary=B", "just some text without any boundary", /contains no boundary line/],
      ["multipart/form-data; boundary=B", `--B\nContent-Disposition: form-data; name="file"; filename="a.md"\n\nhello`, /ended inside part 1 \(file a\.md\), before its closing boundary/],
      ["multipart/form-data; boundary=B", `--B\nContent-Type: text/plain\n\nhello\n--B--`, /part 1 has no Content-Disposition/],
      ["multipart/form-data; boundary=B", `--B\n\nhello\n--B--`, /part 1 has no headers/],
      ["multipart/form-data; boundary=B", `--B\nContent-Disposition: form-data; filename="a.md"\n\nhello\n--B--`, /part 1 has no field name/],
      ["multipart/form-data; boundary=B", `--B\nContent-Disposition: form-data; name="file"; filename="a.md"`, /ended inside part 1's headers/],
      ["multipart/form-data; boundary=B", `--Bxyz\nContent-Disposition: form-data; name="f"\n\nv\n--B--`, /text after the boundary/],
      ["multipart/form-data; boundary=B", `--B\nnot a header\n\nv\n--B--`, /header line without a name/],
    ];
    for (const [type, body, message] of cases) {
      const err = await readAll(chunkedRequest(raw(body), type, [5])).catch((e) => e);
      expect(err, body).toMatchObject({ status: 400, message: expect.stringMatching(message) });
    }
    const wrongType = await readAll(chunkedRequest(raw("x"), "application/json")).catch((e) => e);
    expect(wrongType).toMatchObject({ status: 415 });
  });
});
