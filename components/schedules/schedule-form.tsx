"use client";
import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass as input } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { ApiError, errorMessage, fetchJson } from "@/lib/http/client-fetch";
import type { ScheduleView, TargetChoices } from "@/lib/schedules/types";

/**
 * Create or edit a schedule (POST /api/schedules, PATCH /api/schedules/{id}); errors shown at their field.
 * "Runs as" names the user whose access its runs have (default: the admin creating it).
 */
export function ScheduleForm({ choices, schedule, defaultRunAs }: { choices: TargetChoices; schedule?: ScheduleView; defaultRunAs: string | null }) {
  const [kind, setKind] = useState(schedule?.target.kind ?? choices.kinds[0]?.kind ?? "webhook");
  const [ruleType, setRuleType] = useState<"interval" | "cron">(schedule?.cron ? "cron" : "interval");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const cfg = (schedule?.target.config ?? {}) as Record<string, unknown>;
  // A stored user who is no longer active is not offered: the admin must choose someone.
  const wanted = schedule ? schedule.runAsUserId : defaultRunAs;
  const runAs = wanted && choices.users.some((u) => u.id === wanted) ? wanted : "";
  // Marks the form interactive (tests and scripts wait for it before typing).
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const str = (k: string) => String(f.get(k) ?? "").trim();
    const num = (k: string) => (str(k) === "" ? undefined : Number(str(k)));
    const config: Record<string, unknown> = {};
    if (kind === "webhook") config.url = str("url");
    if (kind === "evaluation_run") config.datasetId = str("datasetId");
    if (kind === "notion_reconcile") config.sourceId = str("sourceId");
    if (kind === "digest") config.period = str("period");
    const body = {
      name: str("name"),
      target: { kind, config },
      enabled: f.get("enabled") === "on",
      intervalMinutes: ruleType === "interval" ? (num("intervalMinutes") ?? null) : null,
      cron: ruleType === "cron" ? str("cron") : null,
      timeZone: str("timeZone") || "UTC",
      maxConcurrent: num("maxConcurrent"),
      timeoutMinutes: num("timeoutMinutes"),
      runAsUserId: str("runAsUserId") || undefined,
      // Empty: the RUN_MAX_* setting applies (null); the server refuses anything but a whole number ≥ 0.
      maxModelCalls: num("maxModelCalls") ?? null,
      maxRetries: num("maxRetries") ?? null,
      maxRuntimeSeconds: num("maxRuntimeSeconds") ?? null,
    };
    setBusy(true);
    setError(null);
    setFieldErrors({});
    try {
      const out = await fetchJson<{ id: string }>(schedule ? `/api/schedules/${schedule.id}` : "/api/schedules", {
        method: schedule ? "PATCH" : "POST",
        json: body,
      });
      window.location.assign(`/schedules/${out.id}`);
    } catch (e) {
      setBusy(false);
      setError(e instanceof ApiError ? e.message : errorMessage(e));
      if (e instanceof ApiError) setFieldErrors(Object.fromEntries(e.details.map((d) => [d.path, d.message])));
    }
  }

  const err = (path: string) =>
    fieldErrors[path] ? (
      <span className="mt-1 block text-xs text-red-600" data-field-error={path}>
        {fieldErrors[path]}
      </span>
    ) : null;

  return (
    <form onSubmit={onSubmit} aria-label={schedule ? "Edit schedule" : "New schedule"} data-ready={ready ? "true" : undefined} className="grid max-w-2xl min-w-0 gap-4">
      <label className="text-sm">
        <span className="mb-1 block font-medium">Name</span>
        <input name="name" required maxLength={200} defaultValue={schedule?.name} className={input} />
        {err("name")}
      </label>

      <fieldset className="grid gap-3 rounded-md border border-zinc-200 p-3 dark:border-zinc-800">
        <legend className="px-1 text-sm font-medium">What it runs</legend>
        <label className="text-sm">
          <span className="mb-1 block font-medium">Target</span>
          <select name="kind" value={kind} onChange={(e) => setKind(e.target.value)} className={input}>
            {choices.kinds.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
          {err("target.kind")}
        </label>
        {kind === "webhook" && (
          <div className="text-sm">
            <label className="block">
              <span className="mb-1 block font-medium">Webhook URL</span>
              <input name="url" type="url" required defaultValue={String(cfg.url ?? "")} placeholder="https://example.internal/hooks/sot" className={input} />
            </label>
            <span className="mt-1 block text-xs text-zinc-500">Receives a POST with the schedule and run ids. Do not put secrets in the URL.</span>
            {err("target.config.url")}
          </div>
        )}
        {kind === "evaluation_run" && (
          <label className="text-sm">
            <span className="mb-1 block font-medium">Dataset</span>
            <select name="datasetId" defaultValue={String(cfg.datasetId ?? "")} className={input}>
              {choices.datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
            {choices.datasets.length === 0 && <span className="mt-1 block text-xs text-zinc-500">Create a dataset under Evaluations first.</span>}
            {err("target.config.datasetId")}
          </label>
        )}
        {kind === "notion_reconcile" && (
          <label className="text-sm">
            <span className="mb-1 block font-medium">Source</span>
            <select name="sourceId" defaultValue={String(cfg.sourceId ?? "")} className={input}>
              {choices.notionSources.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
            {choices.notionSources.length === 0 && <span className="mt-1 block text-xs text-zinc-500">Connect Notion or S3 under Sources first.</span>}
            {err("target.config.sourceId")}
          </label>
        )}
        {kind === "digest" && (
          <label className="text-sm">
            <span className="mb-1 block font-medium">Period</span>
            <select name="period" defaultValue={String(cfg.period ?? "weekly")} className={input}>
              <option value="daily">Daily (the last 24 hours)</option>
              <option value="weekly">Weekly (the last 7 days)</option>
            </select>
            <span className="mt-1 block text-xs text-zinc-500">
              Counts only, sent to the notification targets that take digests (Admin → Notifications); figures over what the user it runs as may read.
            </span>
            {err("target.config.period")}
          </label>
        )}
        {Object.entries(fieldErrors)
          .filter(([p]) => p.startsWith("target.config.") && !["target.config.url", "target.config.datasetId", "target.config.sourceId", "target.config.period"].includes(p))
          .map(([p, m]) => (
            <span key={p} className="text-xs text-red-600">
              {p.replace("target.config.", "")}: {m}
            </span>
          ))}
      </fieldset>

      <label className="text-sm">
        <span className="mb-1 block font-medium">Runs as</span>
        <select name="runAsUserId" defaultValue={runAs} className={input}>
          {runAs === "" && <option value="">choose a user</option>}
          {choices.users.map((u) => (
            <option key={u.id} value={u.id}>
              {u.email} ({u.role})
            </option>
          ))}
        </select>
        <span className="mt-1 block text-xs text-zinc-500">
          Its runs have this user&apos;s access, checked at every run: an evaluation reads only the collections this user may read.
        </span>
        {err("runAsUserId")}
      </label>

      <fieldset className="grid gap-3 rounded-md border border-zinc-200 p-3 dark:border-zinc-800">
        <legend className="px-1 text-sm font-medium">When</legend>
        <div className="flex flex-wrap gap-x-4 gap-y-1 text-sm">
          <label className="flex items-center gap-1">
            <input type="radio" name="rule" checked={ruleType === "interval"} onChange={() => setRuleType("interval")} /> Every N minutes
          </label>
          <label className="flex items-center gap-1">
            <input type="radio" name="rule" checked={ruleType === "cron"} onChange={() => setRuleType("cron")} /> Cron expression
          </label>
        </div>
        {ruleType === "interval" ? (
          <label className="text-sm">
            <span className="mb-1 block font-medium">Interval (minutes)</span>
            <input name="intervalMinutes" type="number" min={1} required defaultValue={schedule?.intervalMinutes ?? 60} className={input} />
            {err("intervalMinutes")}
          </label>
        ) : (
          <div className="text-sm">
            <label className="block">
              <span className="mb-1 block font-medium">Cron</span>
              <input name="cron" required defaultValue={schedule?.cron ?? "0 3 * * *"} placeholder="minute hour day-of-month month day-of-week" className={`${input} font-mono`} />
            </label>
            <span className="mt-1 block text-xs text-zinc-500">
              5 fields, e.g. <code>0 3 * * 1-5</code> = 03:00 on weekdays. Across daylight-saving changes a skipped time runs when the clock
              resumes, a repeated time runs once.
            </span>
            {err("cron")}
          </div>
        )}
        <label className="text-sm">
          <span className="mb-1 block font-medium">Time zone</span>
          <input name="timeZone" list="sot-time-zones" defaultValue={schedule?.timeZone ?? "UTC"} className={input} />
          <datalist id="sot-time-zones">
            {choices.timeZones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          {err("timeZone")}
        </label>
      </fieldset>

      <div className="grid gap-3 sm:grid-cols-2">
        <label className="text-sm">
          <span className="mb-1 block font-medium">Runs at once (this schedule)</span>
          <input name="maxConcurrent" type="number" min={1} max={100} defaultValue={schedule?.maxConcurrent ?? 1} className={input} />
          {err("maxConcurrent")}
        </label>
        <label className="text-sm">
          <span className="mb-1 block font-medium">Timeout (minutes)</span>
          <input name="timeoutMinutes" type="number" min={1} max={10080} defaultValue={schedule?.timeoutMinutes ?? 240} className={input} />
          {err("timeoutMinutes")}
        </label>
      </div>
      <fieldset className="grid gap-3 rounded-md border border-zinc-200 p-3 sm:grid-cols-3 dark:border-zinc-800">
        <legend className="px-1 text-sm font-medium">Circuit breakers (per run)</legend>
        <span className="text-xs text-zinc-500 sm:col-span-3">
          The evaluation run or import each run starts stops at these as &ldquo;stopped: limit reached&rdquo;, resumable from the history. Empty: the
          server&apos;s default; 0: no limit.
        </span>
        <label className="text-sm">
          <span className="mb-1 block font-medium">Model calls</span>
          <input name="maxModelCalls" type="number" min={0} step={1} defaultValue={schedule?.limits.maxModelCalls ?? ""} className={input} />
          {err("maxModelCalls")}
        </label>
        <label className="text-sm">
          <span className="mb-1 block font-medium">Retries</span>
          <input name="maxRetries" type="number" min={0} step={1} defaultValue={schedule?.limits.maxRetries ?? ""} className={input} />
          {err("maxRetries")}
        </label>
        <label className="text-sm">
          <span className="mb-1 block font-medium">Runtime (seconds)</span>
          <input name="maxRuntimeSeconds" type="number" min={0} step={1} defaultValue={schedule?.limits.maxRuntimeSeconds ?? ""} className={input} />
          {err("maxRuntimeSeconds")}
        </label>
      </fieldset>
      <label className="flex items-center gap-2 text-sm">
        <input name="enabled" type="checkbox" defaultChecked={schedule?.enabled ?? true} /> Enabled
      </label>

      <FormError message={error} />
      <div>
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? "Saving…" : schedule ? "Save changes" : "Create schedule"}
        </Button>
      </div>
    </form>
  );
}
