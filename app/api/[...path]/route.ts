import { NotFoundError } from "@/lib/errors";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

// Any /api path no route file serves: a JSON 404 (instead of the HTML not-found page) for every method.
const notFound = route({ permission: "public" }, async ({ request }) => {
  throw new NotFoundError(`API route ${new URL(request.url).pathname}`);
});
export const GET = notFound;
export const POST = notFound;
export const PUT = notFound;
export const PATCH = notFound;
export const DELETE = notFound;
