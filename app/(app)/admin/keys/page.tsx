import { requirePageAccess } from "@/app/_server/access";
import { KeysAdmin } from "@/components/admin/keys-admin";
import { listCollectionsWithAccess, listKeys } from "@/lib/access/admin";

export const dynamic = "force-dynamic";
export const metadata = { title: "API keys" };

export default async function KeysPage() {
  const access = await requirePageAccess("admin");
  const [keys, collections] = await Promise.all([listKeys(access), listCollectionsWithAccess(access)]);
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">API keys</h1>
      <p className="text-sm text-zinc-500">
        Send a key as <code>Authorization: Bearer sot_…</code>. A key never does more than its creator&apos;s role allows.
      </p>
      <KeysAdmin keys={keys} collections={collections.map((c) => ({ id: c.id, name: c.name }))} />
    </div>
  );
}
