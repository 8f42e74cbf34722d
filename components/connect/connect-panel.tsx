"use client";
// The Connect page's working part: pick (or create) a key and a collection, and copy ready snippets for
// curl, the openai SDK (Node, Python) and MCP clients (Claude Desktop, VS Code). A key's secret exists
// only when it is created (SOT stores a hash): a new key fills the snippets itself; for an existing key,
// its secret can be pasted here (it stays in this page) or the placeholder replaced by hand.
import { useMemo, useState } from "react";
import type { ConnectKey, ConnectModel } from "@/lib/connect/types";
import { Button } from "@/components/ui/button";
import { controlClass } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { CopyIcon } from "@/components/ui/icons";
import { usePageAction } from "@/components/ui/use-page-action";
import { fetchJson } from "@/lib/http/client-fetch";

const inputClass = `${controlClass} w-auto max-w-full`;
import { buildSnippets } from "./snippets";

interface Props {
  origin: string;
  models: ConnectModel[];
  /** Collections the person may read, for limiting a new key. */
  collections: Array<{ id: string; slug: string; name: string }>;
  keys: ConnectKey[];
  /** Scopes the person may give a key (their own permissions, without admin). */
  scopes: string[];
}

const NEW = "new";

function CodeBlock({ id, title, text, hint }: { id: string; title: string; text: string; hint?: React.ReactNode }) {
  const [copied, setCopied] = useState(false);
  return (
    <section aria-labelledby={`${id}-title`} className="min-w-0 space-y-1">
      <div className="flex items-center justify-between gap-2">
        <h3 id={`${id}-title`} className="text-sm font-medium">
          {title}
        </h3>
        <Button
          size="sm"
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => setCopied(true));
            setTimeout(() => setCopied(false), 1500);
          }}
        >
          <CopyIcon size={12} /> {copied ? "Copied" : "Copy"}
        </Button>
      </div>
      {hint && <p className="text-xs text-zinc-500">{hint}</p>}
      <pre data-testid={`snippet-${id}`} className="overflow-x-auto rounded-md bg-zinc-100 p-3 text-xs dark:bg-zinc-900">
        <code>{text}</code>
      </pre>
    </section>
  );
}

export function ConnectPanel({ origin, models, collections, keys, scopes }: Props) {
  const [keyId, setKeyId] = useState<string>(keys[0]?.id ?? NEW);
  const [model, setModel] = useState<string>(models[0]?.id ?? "sot");
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<ConnectKey | null>(null);
  const { run, busy, error } = usePageAction();

  const allKeys = useMemo(() => (created && !keys.some((k) => k.id === created.id) ? [created, ...keys] : keys), [created, keys]);
  const chosen = allKeys.find((k) => k.id === keyId);
  const secret = chosen ? secrets[chosen.id] : undefined;
  const keyText = secret ?? chosen?.prefix ?? "sot_…";
  const snippets = buildSnippets({ origin, key: keyText, model });
  const modelCollection = collections.find((c) => c.slug === model);

  async function create(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    await run(async () => {
      const limit = f.get("limit") === "on" && modelCollection ? [modelCollection.id] : [];
      const res = await fetchJson<{ key: string; id: string; name: string; prefix: string; scopes: string[]; collectionIds: string[]; expiresAt: string | null }>("/api/keys", {
        method: "POST",
        json: { name: f.get("name"), scopes: f.getAll("scopes"), ...(limit.length ? { collectionIds: limit } : {}) },
      });
      const key: ConnectKey = { ...res, scopes: res.scopes as ConnectKey["scopes"], lastUsedAt: null, createdBy: null, mine: true };
      setCreated(key);
      setSecrets((s) => ({ ...s, [res.id]: res.key }));
      setKeyId(res.id);
    });
  }

  return (
    <div className="space-y-6">
      <section aria-labelledby="addresses" className="space-y-2">
        <h2 id="addresses" className="text-lg font-semibold">
          Addresses
        </h2>
        <dl className="grid gap-1 text-sm sm:grid-cols-[max-content_1fr] sm:gap-x-4">
          <dt className="text-zinc-500">OpenAI-compatible API (base URL)</dt>
          <dd>
            <code data-testid="openai-base-url" className="break-all">{snippets.openaiBaseUrl}</code>
          </dd>
          <dt className="text-zinc-500">MCP server (Streamable HTTP)</dt>
          <dd>
            <code data-testid="mcp-url" className="break-all">{snippets.mcpUrl}</code>
          </dd>
        </dl>
      </section>

      <section aria-labelledby="choose" className="space-y-3">
        <h2 id="choose" className="text-lg font-semibold">
          Key and collection
        </h2>
        <div className="flex flex-wrap items-end gap-4">
          <label className="text-sm">
            <span className="block text-xs text-zinc-500">API key</span>
            <select value={keyId} onChange={(e) => setKeyId(e.target.value)} className={inputClass} aria-label="API key">
              {allKeys.map((k) => (
                <option key={k.id} value={k.id}>
                  {k.name} ({k.prefix}){k.mine ? "" : ` — ${k.createdBy ?? "no creator"}`}
                </option>
              ))}
              <option value={NEW}>Create a new key…</option>
            </select>
          </label>
          <label className="text-sm">
            <span className="block text-xs text-zinc-500">Collection (OpenAI model)</span>
            <select value={model} onChange={(e) => setModel(e.target.value)} className={inputClass} aria-label="Collection">
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label}
                </option>
              ))}
            </select>
          </label>
        </div>

        {keyId === NEW ? (
          <form onSubmit={create} aria-label="Create a key" className="space-y-3 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
            <div className="flex flex-wrap items-end gap-3">
              <label className="text-sm">
                <span className="block text-xs text-zinc-500">Name</span>
                <input name="name" required maxLength={100} defaultValue="Connect" className={inputClass} />
              </label>
              <fieldset className="text-sm">
                <legend className="text-xs text-zinc-500">Scopes</legend>
                <div className="flex gap-3 py-1.5">
                  {scopes.map((s) => (
                    <label key={s} className="flex items-center gap-1">
                      <input type="checkbox" name="scopes" value={s} defaultChecked={s === "ask"} /> {s}
                    </label>
                  ))}
                </div>
              </fieldset>
              {modelCollection && (
                <label className="flex items-center gap-1 py-1.5 text-sm">
                  <input type="checkbox" name="limit" /> only the collection {modelCollection.name}
                </label>
              )}
              <Button type="submit" variant="primary" disabled={busy}>
                Create key
              </Button>
            </div>
          </form>
        ) : (
          chosen && (
            <div className="space-y-1 text-sm">
              {secret ? (
                <p role="status" data-testid="key-secret-note" className="rounded-md border border-amber-400 bg-amber-50 p-2 dark:bg-amber-950">
                  {created?.id === chosen.id ? "New key, shown only now: it is filled into the snippets below. Copy what you need before leaving this page." : "The pasted key is filled into the snippets below (it stays in this page)."}
                </p>
              ) : (
                <label className="block">
                  <span className="block text-xs text-zinc-500">
                    SOT keeps only a hash of {chosen.prefix}: paste its secret to fill it into the snippets (it stays in this page), or replace the
                    placeholder by hand.
                  </span>
                  <input
                    type="password"
                    aria-label="Paste the key"
                    autoComplete="off"
                    className={`${controlClass} max-w-xl font-mono`}
                    onChange={(e) => {
                      const v = e.target.value.trim();
                      if (/^sot_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/.test(v) && v.startsWith(chosen.prefix.replace(/…$/, ""))) {
                        setSecrets((s) => ({ ...s, [chosen.id]: v }));
                      }
                    }}
                  />
                </label>
              )}
              <p className="text-xs text-zinc-500">
                Scopes: {chosen.scopes.join(", ")}
                {chosen.collectionIds.length
                  ? ` · limited to ${chosen.collectionIds.map((id) => collections.find((c) => c.id === id)?.name ?? "a collection you cannot read").join(", ")}`
                  : ""}
              </p>
            </div>
          )
        )}
        <FormError message={error} />
      </section>

      <section aria-labelledby="snippets" className="space-y-4">
        <h2 id="snippets" className="text-lg font-semibold">
          Snippets
        </h2>
        <CodeBlock id="curl" title="curl" text={snippets.curl} />
        <CodeBlock id="node" title="openai for Node.js (npm install openai)" text={snippets.node} hint="Run as an ES module (save as ask.mjs, then node ask.mjs)." />
        <CodeBlock id="python" title="openai for Python (pip install openai)" text={snippets.python} />
        <CodeBlock
          id="claude"
          title="Claude Desktop (claude_desktop_config.json)"
          text={snippets.claudeDesktop}
          hint="Through mcp-remote (needs Node.js). With a self-signed certificate, add NODE_EXTRA_CA_CERTS (the certificate's path) to env."
        />
        <CodeBlock id="vscode" title="VS Code (.vscode/mcp.json)" text={snippets.vscode} />
        <p className="text-sm text-zinc-500">
          Open WebUI, LibreChat and other OpenAI-compatible clients: add an OpenAI connection with the base URL above and the key; the collections appear
          as models. MCP tools take collections by name; a key limited to a collection keeps an agent inside it.
        </p>
      </section>
    </div>
  );
}
