"use client";
import { signIn } from "next-auth/react";
import { useState } from "react";
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
      <label className="block text-sm">
        <span className="mb-1 block font-medium">E-mail</span>
        <input name="email" type="email" required autoComplete="username" className="w-full rounded-md border border-zinc-300 bg-transparent px-3 py-2 dark:border-zinc-700" />
      </label>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Password</span>
        <input name="password" type="password" required autoComplete="current-password" className="w-full rounded-md border border-zinc-300 bg-transparent px-3 py-2 dark:border-zinc-700" />
      </label>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy} className="w-full rounded-md bg-zinc-900 px-3 py-2 text-sm font-medium text-white disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900">
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {oidcName && (
        <button
          type="button"
          onClick={() => signIn("oidc", { callbackUrl: safeRedirectPath(callbackUrl) })}
          className="w-full rounded-md border border-zinc-300 px-3 py-2 text-sm font-medium dark:border-zinc-700"
        >
          Sign in with {oidcName}
        </button>
      )}
    </form>
  );
}
