import { redirect } from "next/navigation";
import { SignInForm } from "@/components/auth/sign-in-form";
import { hasUsers } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";
import { getPagePrincipal } from "@/app/_server/principal";
import { getConfig } from "@/lib/config";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string }> }) {
  if (!(await hasUsers(await getDb()))) redirect("/setup");
  const { callbackUrl } = await searchParams;
  if (await getPagePrincipal()) redirect(callbackUrl?.startsWith("/") && !callbackUrl.startsWith("//") ? callbackUrl : "/");
  return (
    <main className="mx-auto mt-24 max-w-sm px-4">
      <h1 className="mb-6 text-2xl font-semibold">Sign in to SOT</h1>
      <SignInForm callbackUrl={callbackUrl ?? "/"} oidcName={getConfig().OIDC_ISSUER ? getConfig().OIDC_DISPLAY_NAME : undefined} />
    </main>
  );
}
