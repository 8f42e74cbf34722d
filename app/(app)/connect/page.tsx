import { headers } from "next/headers";
import { requirePageAccess } from "@/app/_server/access";
import { ConnectPanel } from "@/components/connect/connect-panel";
import { readableCollections } from "@/lib/connect/collections";
import { listConnectKeys } from "@/lib/connect/keys";
import { publicOrigin } from "@/lib/http/public-origin";
import { ALL_COLLECTIONS_MODEL } from "@/lib/openai/models";
import { PageHeader } from "@/components/ui/page-header";

export const dynamic = "force-dynamic";
export const metadata = { title: "Connect" };

/** Reaching SOT from other tools: addresses, a key, and ready snippets (README: "Connect other tools"). */
export default async function ConnectPage() {
  const access = await requirePageAccess("ask");
  const [collections, keys] = await Promise.all([readableCollections(access), listConnectKeys(access)]);
  const origin = publicOrigin({ headers: await headers() });
  const models = [
    ...(collections.length >= 2 ? [{ id: ALL_COLLECTIONS_MODEL, label: "every collection (sot)" }] : []),
    ...collections.map((c) => ({ id: c.slug === ALL_COLLECTIONS_MODEL ? c.id : c.slug, label: `${c.name} (${c.slug})` })),
  ];
  const scopes = [...access.principal.permissions].filter((p) => p !== "admin");
  return (
    <div className="space-y-4">
      <PageHeader
        title="Connect"
        description={`Ask the wiki from the tools you already use: chat clients and scripts that speak the OpenAI API, and agents that speak MCP. They see what your key may read${access.isAdmin ? " (as an administrator you can use anyone's key here)" : ""}.`}
      />
      <ConnectPanel
        origin={origin}
        models={models.length ? models : [{ id: ALL_COLLECTIONS_MODEL, label: "sot (no collection yet)" }]}
        collections={collections.map((c) => ({ id: c.id, slug: c.slug, name: c.name }))}
        keys={keys}
        scopes={scopes}
      />
    </div>
  );
}
