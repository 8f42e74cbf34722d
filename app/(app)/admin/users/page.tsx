import { requirePageAccess } from "@/app/_server/access";
import { UsersAdmin } from "@/components/admin/users-admin";
import { listUsers } from "@/lib/access/admin";

export const dynamic = "force-dynamic";
export const metadata = { title: "Users" };

export default async function UsersPage() {
  const access = await requirePageAccess("admin");
  const users = await listUsers(access);
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Users</h1>
      <p className="text-sm text-zinc-500">Viewers ask; evaluators also score and annotate; admins manage sources, schedules, backups, users and keys.</p>
      <UsersAdmin users={users} selfId={access.principal.userId} />
    </div>
  );
}
