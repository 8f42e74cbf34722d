import { requirePageAccess } from "@/app/_server/access";
import { ApprovalCard } from "@/components/approvals/approval-queue";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { PageHeader } from "@/components/ui/page-header";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import { listApprovals } from "@/lib/approvals";
import { getConfig } from "@/lib/config";

export const dynamic = "force-dynamic";
export const metadata = { title: "Approvals" };

const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "—");

/** The pending queue first (with decisions for admins other than the requester), then the history. */
export default async function ApprovalsPage({ searchParams }: { searchParams: Promise<{ id?: string }> }) {
  const access = await requirePageAccess("admin");
  const { id } = await searchParams;
  const config = getConfig();
  const all = await listApprovals(access, { limit: 200 });
  const pending = all.filter((a) => a.status === "pending" || a.status === "approved" || a.status === "executing");
  const focused = all.find((a) => a.id === id);
  const history = all.filter((a) => !pending.includes(a));
  return (
    <div className="space-y-6">
      <PageHeader
        title="Approvals"
        description={`Risky actions wait here for ${config.APPROVAL_QUORUM} approval${config.APPROVAL_QUORUM === 1 ? "" : "s"} by admins other than whoever asked, and expire after ${config.APPROVAL_EXPIRY_HOURS} h. An approved action runs once, with exactly the arguments shown.`}
      />
      <AutoRefresh active={pending.length > 0} ms={10_000} />
      {focused && !pending.includes(focused) && (
        <section aria-labelledby="focused-title" className="space-y-2">
          <h2 id="focused-title" className="text-lg font-semibold">
            Request {focused.id.slice(0, 8)}
          </h2>
          <ApprovalCard approval={focused} focused />
        </section>
      )}
      <section aria-labelledby="queue-title" className="space-y-2">
        <h2 id="queue-title" className="text-lg font-semibold">
          Waiting ({pending.length})
        </h2>
        {pending.length === 0 ? (
          <p className="text-sm text-zinc-500" data-testid="approval-queue-empty">
            Nothing waits for approval.
          </p>
        ) : (
          <div className="grid gap-3 lg:grid-cols-2" data-testid="approval-queue">
            {pending.map((a) => (
              <ApprovalCard key={a.id} approval={a} focused={a.id === id} />
            ))}
          </div>
        )}
      </section>
      <section aria-labelledby="history-title" className="space-y-2">
        <h2 id="history-title" className="text-lg font-semibold">
          Decided, expired and carried out
        </h2>
        <Table
          testId="approval-history"
          empty="No earlier requests."
          columns={[{ header: "Asked", sortable: true }, { header: "Action" }, { header: "By" }, { header: "Status", sortable: true }, { header: "Decisions" }, { header: "Finished", sortable: true }]}
          rows={history.map((a) => ({
            key: a.id,
            attrs: { "data-approval-id": a.id, "data-status": a.status },
            sort: [a.createdAt, null, null, a.status, null, a.finishedAt],
            cells: [
              when(a.createdAt),
              <a key="a" className="underline" href={`/admin/approvals?id=${a.id}`}>
                {a.summary}
              </a>,
              a.requestedBy,
              <StatusBadge key="s" status={a.status} />,
              a.decisions.map((d) => `${d.approver}: ${d.decision} (${d.comment})`).join("; ") || "—",
              when(a.finishedAt),
            ],
          }))}
        />
      </section>
    </div>
  );
}
