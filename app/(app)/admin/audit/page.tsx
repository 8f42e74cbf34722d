import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { listAudit } from "@/lib/audit";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";
export const metadata = { title: "Audit log" };

export default async function AuditPage({ searchParams }: { searchParams: Promise<{ action?: string; before?: string }> }) {
  await requirePageAccess("admin");
  const { action, before } = await searchParams;
  const beforeDate = before && !Number.isNaN(Date.parse(before)) ? new Date(before) : undefined;
  const { entries, nextBefore } = await listAudit(await getDb(), { action: action?.slice(0, 100) || undefined, before: beforeDate, limit: 100 });
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Audit log</h1>
      <form className="flex items-end gap-2 text-sm" method="get">
        <label>
          <span className="block text-xs text-zinc-500">Action starts with</span>
          <input name="action" defaultValue={action ?? ""} placeholder="user., key., collection." className="rounded-md border border-zinc-300 bg-transparent px-2 py-1.5 dark:border-zinc-700" />
        </label>
        <button type="submit" className="rounded-md border border-zinc-300 px-3 py-1.5 dark:border-zinc-700">
          Filter
        </button>
      </form>
      {entries.length === 0 ? (
        <p className="text-sm text-zinc-500">No entries.</p>
      ) : (
        <table className="w-full text-left text-sm" data-testid="audit-table">
          <thead className="text-xs uppercase text-zinc-500">
            <tr>
              <th className="py-1">When (UTC)</th>
              <th>Who</th>
              <th>What</th>
              <th>Target</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} className="border-t border-zinc-200 align-top dark:border-zinc-800">
                <td className="whitespace-nowrap py-1.5 font-mono text-xs">{e.at.replace("T", " ").slice(0, 19)}</td>
                <td>{e.actor}</td>
                <td className="font-mono text-xs">{e.action}</td>
                <td className="font-mono text-xs">{e.target}</td>
                <td className="max-w-md break-all font-mono text-xs text-zinc-500">{JSON.stringify(e.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextBefore && (
        <Link className="text-sm underline" href={`/admin/audit?${new URLSearchParams({ ...(action ? { action } : {}), before: nextBefore })}`}>
          Older entries →
        </Link>
      )}
    </div>
  );
}
