import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { PageHeader } from "@/components/ui/page-header";
import { Table } from "@/components/ui/table";
import { listAudit } from "@/lib/audit";

export const dynamic = "force-dynamic";
export const metadata = { title: "Audit log" };

export default async function AuditPage({ searchParams }: { searchParams: Promise<{ action?: string; before?: string }> }) {
  const access = await requirePageAccess("admin");
  const { action, before } = await searchParams;
  const beforeDate = before && !Number.isNaN(Date.parse(before)) ? new Date(before) : undefined;
  const { entries, nextBefore } = await listAudit(access, { action: action?.slice(0, 100) || undefined, before: beforeDate, limit: 100 });
  return (
    <div className="space-y-4">
      <PageHeader title="Audit log" description="Every administrative change: who, what, when." />
      <form className="flex flex-wrap items-end gap-2 text-sm" method="get">
        <Field label="Action starts with" className="w-full sm:w-64">
          <input name="action" defaultValue={action ?? ""} placeholder="user., key., collection." className={controlClass} />
        </Field>
        <Button type="submit">Filter</Button>
      </form>
      <Table
        testId="audit-table"
        empty="No entries."
        columns={[{ header: "When (UTC)", sortable: true }, { header: "Who", sortable: true }, { header: "What", sortable: true }, { header: "Target" }, { header: "Details" }]}
        rows={entries.map((e) => ({
          key: e.id,
          sort: [e.at, e.actor, e.action],
          cells: [
            <span key="t" className="font-mono text-xs whitespace-nowrap">{e.at.replace("T", " ").slice(0, 19)}</span>,
            <span key="w" className="break-all">{e.actor}</span>,
            <span key="a" className="font-mono text-xs">{e.action}</span>,
            <span key="g" className="font-mono text-xs break-all">{e.target}</span>,
            <span key="d" className="block max-w-md font-mono text-xs break-all text-zinc-500">{JSON.stringify(e.details)}</span>,
          ],
        }))}
      />
      {nextBefore && (
        <Link className="text-sm underline" href={`/admin/audit?${new URLSearchParams({ ...(action ? { action } : {}), before: nextBefore })}`}>
          Older entries →
        </Link>
      )}
    </div>
  );
}
