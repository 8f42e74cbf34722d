import NextAuth from "next-auth";
import { authOptions } from "@/lib/auth/session";

export const dynamic = "force-dynamic";

async function handler(request: Request, context: { params: Promise<{ nextauth: string[] }> }) {
  // next-auth v4 reads params synchronously; Next 16 hands them over as a promise.
  return NextAuth(request as never, { params: await context.params } as never, authOptions());
}

export { handler as GET, handler as POST };
