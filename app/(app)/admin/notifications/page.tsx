import { requirePageAccess } from "@/app/_server/access";
import { NotificationsAdmin } from "@/components/admin/notifications-admin";
import { PageHeader } from "@/components/ui/page-header";
import { EVENT_KINDS, listDeliveries, listTargets } from "@/lib/notify";

export const dynamic = "force-dynamic";
export const metadata = { title: "Notifications" };

export default async function NotificationsPage() {
  const access = await requirePageAccess("admin");
  const [targets, deliveries] = await Promise.all([listTargets(access), listDeliveries(access)]);
  return (
    <div className="space-y-4">
      <PageHeader
        title="Notifications"
        description="Where SOT reports evaluation runs, failed backups and imports, approvals, paused models, budgets and digests. Messages carry counts, statuses and links only — never questions, answers or wiki text."
      />
      <NotificationsAdmin targets={targets} deliveries={deliveries} eventKinds={EVENT_KINDS} />
    </div>
  );
}
