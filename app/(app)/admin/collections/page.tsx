import { requirePageAccess } from "@/app/_server/access";
import { CollectionsAdmin } from "@/components/admin/collections-admin";
import { listCollectionsWithAccess, listUsers } from "@/lib/access/admin";

export const dynamic = "force-dynamic";
export const metadata = { title: "Collection access" };

export default async function CollectionsPage() {
  const access = await requirePageAccess("admin");
  const [collections, users] = await Promise.all([listCollectionsWithAccess(access), listUsers(access)]);
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Collection access</h1>
      <CollectionsAdmin collections={collections} users={users.filter((u) => !u.disabled && u.role !== "admin").map((u) => ({ id: u.id, email: u.email }))} />
    </div>
  );
}
