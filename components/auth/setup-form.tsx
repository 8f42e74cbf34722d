"use client";
import { signIn } from "next-auth/react";
import { useState } from "react";

/** The one-time setup: creates the first administrator, then signs them in. */
export function SetupForm() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const form = new FormData(e.currentTarget);
    const body = { email: String(form.get("email")), name: String(form.get("name") ?? ""), password: String(form.get("password")) };
    const res = await fetch("/api/setup", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      const details = data?.error?.details?.map((d: { path: string; message: string }) => `${d.path} ${d.message}`).join("; ");
      setError(details || data?.error?.message || `Setup failed (${res.status}).`);
      setBusy(false);
      return;
    }
    await signIn("credentials", { email: body.email, password: body.password, redirect: false });
    window.location.assign("/");
  }
  return (
    <form onSubmit={onSubmit} className="space-y-4" aria-label="Create the first administrator">
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Name</span>
        <input name="name" className="w-full rounded-md border border-zinc-300 bg-transparent px-3 py-2 dark:border-zinc-700" />
      </label>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">E-mail</span>
        <input name="email" type="email" required className="w-full rounded-md border border-zinc-300 bg-transparent px-3 py-2 dark:border-zinc-700" />
      </label>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Password (10 characters or more)</span>
        <input name="password" type="password" required minLength={10} autoComplete="new-password" className="w-full rounded-md border border-zinc-300 bg-transparent px-3 py-2 dark:border-zinc-700" />
      </label>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy} className="w-full rounded-md bg-zinc-900 px-3 py-2 text-sm font-medium text-white disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900">
        {busy ? "Creating…" : "Create administrator"}
      </button>
    </form>
  );
}
