import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { can } from "@/lib/access/context";
import { NavLinks, type NavItem } from "@/components/ui/nav-links";
import { UserMenu } from "@/components/ui/user-menu";

export const dynamic = "force-dynamic";

/** The app shell: navigation for Ask, Sources, Evaluations, Insights, Schedules, Admin, Connect; every page needs a signed-in user. */
export default async function AppLayout({ children }: { children: React.ReactNode }) {
  const access = await requirePageAccess("ask");
  const { principal } = access;
  const items: NavItem[] = [
    { href: "/", label: "Ask" },
    { href: "/sources", label: "Sources" },
    ...(can(access, "score") ? [{ href: "/evaluations", label: "Evaluations" }, { href: "/insights", label: "Insights" }] : []),
    ...(can(access, "admin") ? [{ href: "/schedules", label: "Schedules" }, { href: "/admin", label: "Admin" }] : []),
    { href: "/connect", label: "Connect" },
  ];
  return (
    <div className="flex min-h-screen min-w-0 flex-col">
      <header className="border-b border-zinc-200 dark:border-zinc-800">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-2">
          <div className="flex min-w-0 flex-wrap items-center gap-x-4 gap-y-1">
            <Link href="/" className="text-lg font-semibold tracking-tight">
              SOT
            </Link>
            <NavLinks items={items} />
          </div>
          <UserMenu label={principal.label} role={principal.role ?? ""} />
        </div>
      </header>
      <main className="mx-auto w-full max-w-6xl min-w-0 flex-1 px-4 py-6">{children}</main>
    </div>
  );
}
