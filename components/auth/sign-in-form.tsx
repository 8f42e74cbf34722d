"use client";
import { signIn } from "next-auth/react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { safeRedirectPath } from "@/lib/http/redirect";

export function SignInForm({ callbackUrl, oidcName }: { callbackUrl: string; oidcName?: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const form = new FormData(e.currentTarget);
    const res = await signIn("credentials", {
      email: String(form.get("email")),
      password: String(form.get("password")),
      redirect: false,
    });
    setBusy(false);
    if (res?.ok && !res.error) {
      // Only same-site paths: never redirect to an address from the query string.
      window.location.assign(safeRedirectPath(callbackUrl));
    } else {
      setError("E-mail or password is wrong, or the account is disabled.");
    }
  }
  return (
    <form onSubmit={onSubmit} className="space-y-4" aria-label="Sign in">
      <Field label="E-mail">
        <input name="email" type="email" required autoComplete="username" className={controlClass} />
      </Field>
      <Field label="Password">
        <input name="password" type="password" required autoComplete="current-password" className={controlClass} />
      </Field>
      <FormError message={error} />
      <Button type="submit" variant="primary" disabled={busy} className="w-full">
        {busy ? "Signing in…" : "Sign in"}
      </Button>
      {oidcName && (
        <Button onClick={() => signIn("oidc", { callbackUrl: safeRedirectPath(callbackUrl) })} className="w-full">
          Sign in with {oidcName}
        </Button>
      )}
    </form>
  );
}
