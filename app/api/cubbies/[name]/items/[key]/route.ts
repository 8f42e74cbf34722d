import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { deleteItem, getItem, setItem } from "@/lib/cubbies/service";
import { CUBBY_MAX_VALUE_BYTES, ITEM_KEY_RE, ITEM_KEY_RULE, type JsonValue } from "@/lib/cubbies/types";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE), key: z.string().regex(ITEM_KEY_RE, ITEM_KEY_RULE) });
const Body = z.object({
  value: z.unknown().refine((v) => v !== undefined, "required (any JSON value)"),
  /** The version the caller last read (0: the key must not exist yet); another one answers 409. */
  ifVersion: z.number().int().min(0).optional(),
});
const DeleteQuery = z.object({ ifVersion: z.coerce.number().int().min(1).optional() });

export const GET = route({ permission: "agent", params }, async ({ access, params }) => getItem(access, { cubby: params.name, key: params.key }));

/** Sets the value (JSON up to CUBBY_MAX_VALUE_BYTES). */
export const PUT = route({ permission: "agent", params, body: Body, maxBodyBytes: CUBBY_MAX_VALUE_BYTES + 4096 }, async ({ access, params, body }) =>
  setItem(access, { cubby: params.name, key: params.key, value: body.value as JsonValue, ifVersion: body.ifVersion }),
);

export const DELETE = route({ permission: "agent", params, query: DeleteQuery }, async ({ access, params, query }) =>
  deleteItem(access, { cubby: params.name, key: params.key, ifVersion: query.ifVersion }),
);
