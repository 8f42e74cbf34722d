// The Ask and document-page browser tests' common start: the built app with the demo wiki (imported by
// the test itself, not by the app's background import, so the test knows when it is done), the fake
// Ollama, and a viewer signed in in Chromium.
import type { Browser, Page } from "playwright-core";
import { seedDemoWiki } from "@/lib/ingest";
import { getLlm } from "@/lib/llm";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";
import { setEnv } from "@/tests/integration/ask-fixtures";

export interface DemoWikiApp {
  app: RunningApp;
  ollama: FakeOllama;
  user: TestUser;
  browser: Browser;
  page: Page;
  stop(): Promise<void>;
}

export async function startDemoWikiApp(opts: { tokenDelayMs: number; afterSeed?: (app: RunningApp) => Promise<unknown> }): Promise<DemoWikiApp> {
  const ollama = await startFakeOllama({ tokenDelayMs: opts.tokenDelayMs });
  const app = await startApp({ env: { OLLAMA_HOST: ollama.url, DEMO_WIKI: "false" } });
  setEnv({ OLLAMA_HOST: ollama.url });
  await seedDemoWiki(app.db!, { llm: getLlm() });
  await opts.afterSeed?.(app);
  const user = await makeUser(app.db!, "viewer");
  const browser = await launchBrowser();
  const page = await browser.newPage();
  await signIn(page, app.baseUrl, user).catch(async (err) => {
    throw new Error(`${err.message}\n--- page ---\n${(await page.content()).slice(0, 3000)}\n--- app output ---\n${app.output().slice(-3000)}`);
  });
  return {
    app,
    ollama,
    user,
    browser,
    page,
    async stop() {
      await browser.close();
      await app.stop();
      await ollama.close();
    },
  };
}
