"use client";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";

const button = "rounded-md border border-zinc-300 px-2.5 py-1 text-sm font-medium disabled:opacity-50 dark:border-zinc-700";

/** Run now, enable/disable and (optionally) delete, through the schedules API; the page re-renders after. */
export function ScheduleActions({ id, name, enabled, showDelete = false }: { id: string; name: string; enabled: boolean; showDelete?: boolean }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  async function call(path: string, method: string, done: string) {
    setBusy(true);
    setMessage(null);
    const res = await fetch(`/api/schedules/${id}${path}`, { method });
    const out = res.status === 204 ? null : await res.json().catch(() => null);
    setBusy(false);
    if (!res.ok) {
      setMessage({ ok: false, text: out?.error?.message ?? `Failed (HTTP ${res.status}).` });
      return;
    }
    if (method === "DELETE") {
      window.location.assign("/schedules");
      return;
    }
    setMessage({ ok: true, text: done });
    router.refresh();
  }

  return (
    <div className="flex flex-wrap items-center gap-2" aria-label={`Actions for ${name}`} role="group" data-ready={ready ? "true" : undefined}>
      <button type="button" className={button} disabled={busy} onClick={() => call("/run-now", "POST", "Run started.")}>
        Run now
      </button>
      <button type="button" className={button} disabled={busy} onClick={() => call(enabled ? "/disable" : "/enable", "POST", enabled ? "Disabled." : "Enabled.")}>
        {enabled ? "Disable" : "Enable"}
      </button>
      {showDelete && (
        <button
          type="button"
          className={`${button} text-red-700 dark:text-red-400`}
          disabled={busy}
          onClick={() => {
            if (window.confirm(`Delete the schedule "${name}" and its history?`)) void call("", "DELETE", "Deleted.");
          }}
        >
          Delete
        </button>
      )}
      {message && (
        <span role={message.ok ? "status" : "alert"} className={`text-sm ${message.ok ? "text-green-700 dark:text-green-400" : "text-red-600"}`}>
          {message.text}
        </span>
      )}
    </div>
  );
}
