"use client";
// Runs an action a page offers (a POST, a DELETE): one at a time, its error shown, the server page
// re-rendered after it succeeds.
import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorMessage } from "@/lib/http/client-fetch";

export function usePageAction() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setError(null);
    try {
      await fn();
      router.refresh();
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { run, busy, error };
}
