// Callers of the running app over real HTTP: anonymous, a signed-in user (next-auth session cookie from
// the real credentials flow) or an API key, and one request function that reads the whole answer.
import type { TestUser } from "@/tests/helpers/auth";

export interface Caller {
  /** For messages: "anonymous", "viewer of O", "key (score) limited to O"… */
  name: string;
  /** Sent with every request: a Cookie or an Authorization header, or nothing. */
  headers: Record<string, string>;
  /** The session cookie (name=value) of a signed-in user. */
  cookie?: string;
  /** The bearer key of an API-key caller. */
  key?: string;
  user?: TestUser;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON, else null. */
  json: any;
}

export const anonymous: Caller = { name: "anonymous", headers: {} };

export function keyCaller(name: string, key: string): Caller {
  return { name, headers: { authorization: `Bearer ${key}` }, key };
}

/** One request; JSON bodies are serialised, FormData goes as multipart. Redirects are not followed. */
export async function send(baseUrl: string, caller: Caller, method: string, url: string, body?: unknown): Promise<HttpResult> {
  const headers: Record<string, string> = { ...caller.headers };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined && method !== "GET") {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(baseUrl + url, { method, headers, body: payload, redirect: "manual" });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Like send, but a status other than `expected` is an error that says what the app answered. */
export async function sendOk(baseUrl: string, caller: Caller, method: string, url: string, body: unknown, expected: number | number[]): Promise<HttpResult> {
  const res = await send(baseUrl, caller, method, url, body);
  const ok = Array.isArray(expected) ? expected.includes(res.status) : res.status === expected;
  if (!ok) throw new Error(`${caller.name}: ${method} ${url} → ${res.status}, expected ${expected}: ${res.text.slice(0, 500)}`);
  return res;
}

/** Signs in through next-auth's credentials flow (as the sign-in form does) and returns the session cookie. */
export async function signInCookie(baseUrl: string, user: Pick<TestUser, "email" | "password">): Promise<string> {
  const csrf = await fetch(`${baseUrl}/api/auth/csrf`);
  const { csrfToken } = await csrf.json();
  const csrfCookie = csrf.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const res = await fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
    body: new URLSearchParams({ csrfToken, email: user.email, password: user.password, json: "true" }),
  });
  const session = res.headers.getSetCookie().find((c) => /^(__Secure-)?next-auth\.session-token=/.test(c));
  if (!session) throw new Error(`sign-in failed (${res.status})`);
  return session.split(";")[0]!;
}

export async function userCaller(baseUrl: string, name: string, user: TestUser): Promise<Caller> {
  const cookie = await signInCookie(baseUrl, user);
  return { name, headers: { cookie }, cookie, user };
}
