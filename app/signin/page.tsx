import { redirect } from "next/navigation";
import { SignInForm } from "@/components/auth/sign-in-form";
import { hasUsers } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";
import { getPageAccess } from "@/app/_server/access";
import { getConfig } from "@/lib/config";
import { safeRedirectPath } from "@/lib/http/redirect";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

// Reasons single sign-on refuses someone (lib/auth/oidc.ts), and next-auth's own error codes.
const SIGN_IN_ERRORS: Record<string, string> = {
  disabled: "Your account is disabled. Ask an administrator.",
  unverified_email: "Your identity provider has not verified your e-mail address.",
  no_email: "Your identity provider did not send an e-mail address.",
  OAuthCallback: "Single sign-on failed; try again.",
  AccessDenied: "Access denied.",
};

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string; error?: string }> }) {
  if (!(await hasUsers(await getDb()))) redirect("/setup");
  const params = await searchParams;
  const { error } = params;
  // Where to go after signing in: a same-site path only (lib/http/redirect.ts), else "/".
  const callbackUrl = safeRedirectPath(params.callbackUrl);
  if (await getPageAccess()) redirect(callbackUrl);
  return (
    <main className="mx-auto mt-24 max-w-sm px-4">
      <h1 className="mb-6 text-2xl font-semibold">Sign in to SOT</h1>
      {error && (
        <p role="alert" className="mb-4 text-sm text-red-600">
          {SIGN_IN_ERRORS[error] ?? "Sign-in failed; try again or ask an administrator."}
        </p>
      )}
      <SignInForm callbackUrl={callbackUrl} oidcName={getConfig().OIDC_ISSUER ? getConfig().OIDC_DISPLAY_NAME : undefined} />
    </main>
  );
}
