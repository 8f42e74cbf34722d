// Cubbies for admins: names, sizes, key versions and grants (never a value), and the key's lifecycle
// through SOT's own KES credential (the owner of every cubby key): grant, revoke, rotate (add a version
// and promote it), rewrap every value's data key (the plaintext never leaves KES), retire old versions
// (minDecryptionVersion) and shred. Every change is audited here and by KES.
import { requireAdmin, type AccessContext } from "../access/context";
import type { CubbyOperation } from "../agents/types";
import { auditAs, listAudit } from "../audit";
import { ConflictError, NotFoundError } from "../errors";
import { CUBBY_TO_KES, cubbyKeyName } from "../kes/service";
import * as q from "./queries";
import { rewrapView, startRewrap } from "./rewrap";
import { checkName, cubbyView, grantView, kesService } from "./service";
import type { AgentAuditEntry, CubbyAdminView, CubbyGrantView, CubbyRewrapView } from "./types";

async function cubbyRow(ctx: AccessContext, name: string): Promise<q.CubbyRow> {
  requireAdmin(ctx);
  checkName(name);
  const row = await q.cubbyByName(ctx.db.sql, name);
  if (!row) throw new NotFoundError(`Cubby "${name}"`);
  return row;
}

export async function adminListCubbies(ctx: AccessContext): Promise<CubbyAdminView[]> {
  requireAdmin(ctx);
  const kes = await kesService(ctx);
  const rows = await q.cubbiesByName(ctx.db.sql, null);
  const versions = await q.itemsByKeyVersion(ctx.db.sql);
  const rewraps = new Map((await q.latestRewraps(ctx.db.sql)).map((r) => [r.cubby_id, rewrapView(r)]));
  return Promise.all(
    rows.map(async (r) => {
      const keyName = cubbyKeyName(r.name);
      const [key, grants] = await Promise.all([kes.getKey(keyName), kes.listGrants(keyName)]);
      const itemsByKeyVersion = Object.fromEntries(versions.filter((v) => v.cubby_id === r.id).map((v) => [v.version, v.n]));
      return { ...cubbyView(r, key, []), grants: grants.map(grantView), itemsByKeyVersion, rewrap: rewraps.get(r.id) ?? null };
    }),
  );
}

/** A cubby's grants (404 for an unknown cubby): for the approval gate, which asks whether an agent is new to it. */
export async function adminCubbyGrants(ctx: AccessContext, name: string): Promise<CubbyGrantView[]> {
  await cubbyRow(ctx, name);
  return (await (await kesService(ctx)).listGrants(cubbyKeyName(name))).map(grantView);
}

export async function adminGrant(
  ctx: AccessContext,
  name: string,
  input: { agent: string; operations: CubbyOperation[]; expiresAt?: string | null },
): Promise<CubbyGrantView> {
  await cubbyRow(ctx, name);
  const agent = await ctx.db.prisma.agent.findUnique({ where: { name: input.agent }, select: { disabledAt: true } });
  if (!agent || agent.disabledAt) throw new NotFoundError(`Agent "${input.agent}" (unknown agent)`);
  const kes = await kesService(ctx);
  const g = await kes.grant(cubbyKeyName(name), `agent:${input.agent}`, {
    operations: [...new Set(input.operations.map((o) => CUBBY_TO_KES[o]))],
    expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
  });
  await auditAs(ctx, "cubby.grant", `cubby:${name}`, { agent: input.agent, operations: input.operations, expiresAt: input.expiresAt ?? null });
  return grantView(g);
}

export async function adminRevoke(ctx: AccessContext, name: string, agent: string): Promise<{ revoked: number }> {
  await cubbyRow(ctx, name);
  const r = await (await kesService(ctx)).revoke(cubbyKeyName(name), `agent:${agent}`);
  await auditAs(ctx, "cubby.revoke", `cubby:${name}`, { agent, revoked: r.revoked });
  return r;
}

export type KeyAction = "rotate" | "rewrap" | "retire" | "shred";

export interface KeyActionResult {
  action: KeyAction;
  currentVersion: number;
  minDecryptionVersion: number;
  status: string;
  /** rewrap: the background job that moves every value to the current version (follow it on the admin page). */
  rewrap?: CubbyRewrapView;
}

/**
 * rotate: a new key version, promoted (new values use it; old ones still open). rewrap: every value's
 * data key rewrapped by the current version. retire: versions below the current one refused (409 while
 * values still use them: rewrap first). shred: the key's material destroyed; no value opens again.
 */
export async function adminKeyAction(ctx: AccessContext, name: string, action: KeyAction): Promise<KeyActionResult> {
  const row = await cubbyRow(ctx, name);
  const kes = await kesService(ctx);
  const keyName = cubbyKeyName(name);
  if (action === "rewrap") {
    // A background job (one KES call per value): the page follows its progress.
    const rewrap = await startRewrap(ctx, name);
    const key = await kes.getKey(keyName);
    return { action, currentVersion: key.currentVersion, minDecryptionVersion: key.minDecryptionVersion, status: key.status, rewrap };
  }
  if (action === "rotate") {
    const added = await kes.addVersion(keyName);
    await kes.promote(keyName, Math.max(...added.versions));
  } else if (action === "retire") {
    const key = await kes.getKey(keyName);
    const below = (await q.itemsByKeyVersion(ctx.db.sql)).filter((v) => v.cubby_id === row.id && Number(v.version) < key.currentVersion);
    const n = below.reduce((s, v) => s + v.n, 0);
    if (n > 0) throw new ConflictError(`${n} value${n > 1 ? "s" : ""} of cubby "${name}" still use an older key version: rewrap first.`);
    await kes.setMinDecryptionVersion(keyName, key.currentVersion);
  } else {
    await kes.shred(keyName);
  }
  const key = await kes.getKey(keyName);
  await auditAs(ctx, `cubby.${action}`, `cubby:${name}`, { currentVersion: key.currentVersion, minDecryptionVersion: key.minDecryptionVersion });
  return { action, currentVersion: key.currentVersion, minDecryptionVersion: key.minDecryptionVersion, status: key.status };
}

/** The newest audit entries of agents, cubbies and KES (allowed and refused), newest first. */
export async function agentsAudit(ctx: AccessContext, limit = 50): Promise<AgentAuditEntry[]> {
  requireAdmin(ctx);
  const pages = await Promise.all(["kes.", "cubby.", "agent."].map((action) => listAudit(ctx, { action, limit })));
  return pages
    .flatMap((p) => p.entries)
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .slice(0, limit)
    .map((e) => {
      const d = (e.details ?? {}) as { allowed?: unknown; reason?: unknown };
      return {
        id: e.id,
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        allowed: typeof d.allowed === "boolean" ? d.allowed : null,
        reason: typeof d.reason === "string" ? d.reason : null,
      };
    });
}

/**
 * Cubbies holding values whose key is shredded (restored from a backup, or left after a shred): what the
 * backup page lists, since those values never open again. Names and counts only.
 */
export async function adminUnreadableCubbies(ctx: AccessContext): Promise<Array<{ name: string; items: number }>> {
  requireAdmin(ctx);
  return q.unreadableCubbies(ctx.db.sql);
}
