// Conversation history per user: the Ask page's sidebar, and the history follow-ups are rewritten with.
import type { Principal } from "../auth/roles";
import type { Db } from "../db/client";
import { NotFoundError, ValidationError } from "../errors";
import type { AskResult } from "./types";

export type Turn = { role: "user" | "assistant"; content: string };

function ownerId(principal: Principal): string {
  if (!principal.userId) throw new ValidationError("Conversations are kept for users; this API key has no user.");
  return principal.userId;
}

export async function listConversations(db: Db, principal: Principal, limit = 50) {
  return db.prisma.conversation.findMany({
    where: { userId: ownerId(principal) },
    orderBy: { updatedAt: "desc" },
    take: limit,
    select: { id: true, title: true, collectionIds: true, createdAt: true, updatedAt: true },
  });
}

export async function getConversation(db: Db, principal: Principal, id: string) {
  const conv = await db.prisma.conversation.findFirst({
    where: { id, userId: ownerId(principal) },
    include: { messages: { orderBy: { createdAt: "asc" } } },
  });
  if (!conv) throw new NotFoundError(`No conversation ${id}.`);
  return conv;
}

export async function deleteConversation(db: Db, principal: Principal, id: string): Promise<void> {
  const { count } = await db.prisma.conversation.deleteMany({ where: { id, userId: ownerId(principal) } });
  if (count === 0) throw new NotFoundError(`No conversation ${id}.`);
}

export async function createConversation(db: Db, principal: Principal, title: string, collectionIds: string[]) {
  return db.prisma.conversation.create({
    data: { userId: ownerId(principal), title: title.slice(0, 120), collectionIds },
    select: { id: true, title: true, collectionIds: true, createdAt: true, updatedAt: true },
  });
}

/** The stored turns of a conversation (for rewriting follow-ups), without a turn being regenerated. */
export async function conversationHistory(db: Db, principal: Principal, id: string, regenerate: boolean): Promise<Turn[]> {
  const conv = await getConversation(db, principal, id);
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
