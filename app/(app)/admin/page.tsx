import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";

export const dynamic = "force-dynamic";
export const metadata = { title: "Admin" };

const SECTIONS = [
  { href: "/admin/users", title: "Users", text: "Create people, change roles, disable accounts." },
  { href: "/admin/keys", title: "API keys", text: "Keys for scripts and services: scopes, collections, expiry, revocation, last use." },
  { href: "/admin/collections", title: "Collection access", text: "Which collections are members-only, and who the members are." },
  { href: "/admin/audit", title: "Audit log", text: "Every administrative change: who, what, when." },
  { href: "/admin/backups", title: "Backups", text: "Encrypted backups, restores and key rotation." },
  { href: "/admin/agents", title: "Agents and cubbies", text: "Agents and their tokens; cubbies' sizes, key versions and grants; rotate, shred; the KES audit trail." },
  { href: "/admin/retrieval", title: "Retrieval test", text: "See what search finds for a question, stage by stage." },
  { href: "/admin/retrieval/fusion", title: "Fusion weights", text: "Learn how much vector and full-text search count, per collection, from an evaluation dataset." },
  { href: "/admin/usage", title: "Usage and budgets", text: "Tokens and GPU-seconds by day and by who asked; budgets that degrade before they deny." },
  { href: "/admin/feedback", title: "Feedback", text: "Answers people marked as helpful or not." },
  { href: "/admin/approvals", title: "Approvals", text: "Risky actions waiting for another admin's approval, and what was decided." },
  { href: "/admin/notifications", title: "Notifications", text: "Discord, webhook and e-mail targets for run results, failures, approvals and digests." },
];

export default async function AdminPage() {
  await requirePageAccess("admin");
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Admin</h1>
      <ul className="grid gap-3 sm:grid-cols-2">
        {SECTIONS.map((s) => (
          <li key={s.href}>
            <Link href={s.href} className="block rounded-lg border border-zinc-200 p-3 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900">
              <span className="font-medium">{s.title}</span>
              <span className="mt-1 block text-sm text-zinc-500">{s.text}</span>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}
