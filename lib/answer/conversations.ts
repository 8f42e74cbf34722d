// Conversation history: the Ask page's sidebar, and the history follow-ups are rewritten with.
// A conversation belongs to exactly one principal: the user who started it on the Ask page, or the
// API key that started it (then its creator does not see it, and the key does not see its creator's).
import { pickReadable, type AccessContext } from "../access/context";
import type { Db } from "../db/client";
import { NotFoundError, ValidationError } from "../errors";
import type { AskResult } from "./types";

export type Turn = { role: "user" | "assistant"; content: string };

/** The SQL filter that selects the caller's own conversations and nobody else's. */
function owner(ctx: AccessContext): { userId: string; apiKeyId: string | null } {
  const { userId, apiKeyId } = ctx.principal;
  if (!userId) throw new ValidationError("Conversations are kept for users and their keys; this caller has neither.");
  return { userId, apiKeyId: ctx.principal.kind === "api_key" ? apiKeyId : null };
}

export async function listConversations(ctx: AccessContext, limit = 50) {
  return ctx.db.prisma.conversation.findMany({
    where: owner(ctx),
    orderBy: { updatedAt: "desc" },
    take: limit,
    select: { id: true, title: true, collectionIds: true, createdAt: true, updatedAt: true },
  });
}

export async function getConversation(ctx: AccessContext, id: string) {
  const conv = await ctx.db.prisma.conversation.findFirst({
    where: { id, ...owner(ctx) },
    include: { messages: { orderBy: { createdAt: "asc" } } },
  });
  if (!conv) throw new NotFoundError(`No conversation ${id}.`);
  return conv;
}

export async function deleteConversation(ctx: AccessContext, id: string): Promise<void> {
  const { count } = await ctx.db.prisma.conversation.deleteMany({ where: { id, ...owner(ctx) } });
  if (count === 0) throw new NotFoundError(`No conversation ${id}.`);
}

/** A new conversation of the caller's, over `collections` (each readable by the caller, else 403; none: all they read). */
export async function createConversation(ctx: AccessContext, input: { title: string; collections?: string[] }) {
  const collectionIds = input.collections?.length ? pickReadable(ctx, input.collections) : [];
  return ctx.db.prisma.conversation.create({
    data: { ...owner(ctx), title: input.title.slice(0, 120), collectionIds },
    select: { id: true, title: true, collectionIds: true, createdAt: true, updatedAt: true },
  });
}

/** The stored turns of a conversation (for rewriting follow-ups), without a turn being regenerated. */
export async function conversationHistory(ctx: AccessContext, id: string, regenerate: boolean): Promise<Turn[]> {
  const conv = await getConversation(ctx, id);
  let turns: Turn[] = conv.messages.map((m) => ({ role: m.role as Turn["role"], content: m.content }));
  if (regenerate) turns = dropLastExchange(turns);
  return turns;
}

function dropLastExchange(turns: Turn[]): Turn[] {
  const lastUser = turns.map((t) => t.role).lastIndexOf("user");
  return lastUser >= 0 ? turns.slice(0, lastUser) : turns;
}

/** Appends the question and its answer; with `regenerate`, first removes the last question and answer. */
export async function recordTurn(db: Db, conversationId: string, question: string, result: AskResult, regenerate: boolean) {
  await db.prisma.$transaction(async (tx) => {
    if (regenerate) {
      const lastUser = await tx.conversationMessage.findFirst({
        where: { conversationId, role: "user" },
        orderBy: { createdAt: "desc" },
        select: { createdAt: true },
      });
      if (lastUser) await tx.conversationMessage.deleteMany({ where: { conversationId, createdAt: { gte: lastUser.createdAt } } });
    }
    const now = Date.now();
    await tx.conversationMessage.create({ data: { conversationId, role: "user", content: question, createdAt: new Date(now) } });
    await tx.conversationMessage.create({
      data: {
        conversationId,
        role: "assistant",
        content: result.answer,
        queryLogId: result.id,
        // +1 ms keeps the order stable even when both rows are written in the same millisecond.
        createdAt: new Date(now + 1),
        result: JSON.parse(JSON.stringify(result)),
      },
    });
    await tx.conversation.update({ where: { id: conversationId }, data: { updatedAt: new Date() } });
  });
}
