// The Ask page (/): the user's conversations, collections, and a compact system status beside the chat.
import { AskApp } from "@/components/ask/ask-app";
import type { Result, Turn } from "@/components/ask/types";
import { HealthSummary } from "@/components/ui/health-summary";
import { requirePageAccess } from "@/app/_server/access";
import { readableCollections } from "@/lib/connect/collections";
import { getConversation, listConversations } from "@/lib/answer";
import { checkHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

export default async function AskPage({ searchParams }: { searchParams: Promise<{ c?: string }> }) {
  const access = await requirePageAccess("ask");
  const { principal } = access;
  const { c } = await searchParams;
  const [health, collections, conversations] = await Promise.all([
    checkHealth(),
    readableCollections(access),
    principal.userId ? listConversations(access) : Promise.resolve([]),
  ]);

  let turns: Turn[] = [];
  let conversationId: string | null = null;
  if (c && /^[0-9a-f-]{36}$/i.test(c) && principal.userId) {
    const conv = await getConversation(access, c).catch(() => null);
    if (conv) {
      conversationId = conv.id;
      for (let i = 0; i < conv.messages.length; i++) {
        const m = conv.messages[i]!;
        if (m.role !== "user") continue;
        const a = conv.messages[i + 1]?.role === "assistant" ? conv.messages[i + 1]! : null;
        const result = (a?.result ?? null) as Result | null;
        turns.push({
          key: m.id,
          question: m.content,
          answer: a?.content ?? "",
          sources: result?.sources ?? [],
          result,
          state: a ? "done" : "error",
          ...(a ? {} : { error: "No answer was stored for this question." }),
        });
      }
    }
  }

  return (
    <div>
      <h1 className="sr-only">Ask the wiki</h1>
      <AskApp
        key={conversationId ?? "new"}
        collections={collections}
        conversations={conversations}
        conversationId={conversationId}
        initialTurns={turns}
        status={<HealthSummary health={health} />}
      />
    </div>
  );
}
