import { redirect } from "next/navigation";
import { SetupForm } from "@/components/auth/setup-form";
import { hasUsers } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";
export const metadata = { title: "Set up" };

/** Shown only while no user exists; afterwards it sends people on to the app (or sign-in). */
export default async function SetupPage() {
  if (await hasUsers(await getDb())) redirect("/");
  return (
    <main className="mx-auto mt-24 max-w-sm px-4">
      <h1 className="mb-2 text-2xl font-semibold">Welcome to SOT</h1>
      <p className="mb-6 text-sm text-zinc-500">Create the first administrator. This page disappears once one exists.</p>
      <SetupForm />
    </main>
  );
}
