"use client";
import { signIn } from "next-auth/react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

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
    try {
      await fetchJson("/api/setup", { method: "POST", json: body });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
      return;
    }
    await signIn("credentials", { email: body.email, password: body.password, redirect: false });
    window.location.assign("/");
  }
  return (
    <form onSubmit={onSubmit} className="space-y-4" aria-label="Create the first administrator">
      <Field label="Name">
        <input name="name" className={controlClass} />
      </Field>
      <Field label="E-mail">
        <input name="email" type="email" required className={controlClass} />
      </Field>
      <Field label="Password (10 characters or more)">
        <input name="password" type="password" required minLength={10} autoComplete="new-password" className={controlClass} />
      </Field>
      <FormError message={error} />
      <Button type="submit" variant="primary" disabled={busy} className="w-full">
        {busy ? "Creating…" : "Create administrator"}
      </Button>
    </form>
  );
}
