// The demo wiki as an import source: its pages are the files of lib/ingest/demo-wiki (see demo.ts).
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { SourceDriver } from "./driver";

export const DEMO_DIR = path.join(process.cwd(), "lib", "ingest", "demo-wiki");

const SECTIONS: Record<string, string> = {
  company: "Company",
  policy: "Policies",
  howto: "How-tos",
  oncall: "On-call",
  product: "Product",
};

interface DemoPage {
  file: string;
  title: string;
  markdown: string;
  section: string;
}

export async function readDemoPages(dir = DEMO_DIR): Promise<DemoPage[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".md")).sort();
  return Promise.all(
    files.map(async (file) => {
      const markdown = await readFile(path.join(dir, file), "utf8");
      const title = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim() ?? file.replace(/\.md$/, "");
      return { file, title, markdown, section: SECTIONS[file.split("-")[0]] ?? "Other" };
    }),
  );
}

export const demoDriver: SourceDriver = {
  concurrency: 8,
  async seeds() {
    return (await readDemoPages()).map((p) => ({ externalId: p.file, kind: "page" as const, title: p.title, breadcrumb: ["Kestrel wiki", p.section] }));
  },
  async expand() {
    return [];
  },
  async fetch(_ctx, item) {
    const pages = await readDemoPages();
    const page = pages.find((p) => p.file === item.externalId);
    if (!page) return { deleted: true, externalId: item.externalId };
    return {
      externalId: page.file,
      title: page.title,
      markdown: page.markdown,
      url: `demo://kestrel-wiki/${page.file.replace(/\.md$/, "")}`,
      breadcrumb: ["Kestrel wiki", page.section],
    };
  },
};
