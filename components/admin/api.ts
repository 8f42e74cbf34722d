// Calls the admin API from the browser (same origin, session cookie) and turns errors into one message.
export async function adminApi<T = unknown>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = data?.error;
    const details = Array.isArray(err?.details) ? err.details.map((d: { path?: string; message?: string }) => `${d.path}: ${d.message}`).join("; ") : "";
    throw new Error(`${err?.message ?? `Request failed (${res.status})`}${details ? ` (${details})` : ""}`);
  }
  return data as T;
}

export const inputClass = "rounded-md border border-zinc-300 bg-transparent px-2 py-1.5 text-sm dark:border-zinc-700";
export const buttonClass = "rounded-md bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900";
export const smallButtonClass = "rounded-md border border-zinc-300 px-2 py-1 text-xs hover:bg-zinc-100 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800";
