import { adminListCubbies } from "@/lib/cubbies/admin";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/** Every cubby: names, sizes, key versions and grants (never a value). */
export const GET = route({ permission: "admin" }, async ({ access }) => ({ cubbies: await adminListCubbies(access) }));
