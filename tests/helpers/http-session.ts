// Signing in over plain HTTP, through next-auth's own credentials endpoint (CSRF token and all), for
// tests that need a session cookie or want to count sign-in attempts without a browser.

export interface SignInResult {
  /** "next-auth.session-token=…", or null when the sign-in was refused. */
  cookie: string | null;
  status: number;
}

/** One sign-in attempt; `headers` may add e.g. X-Real-IP (the test server trusts it from loopback). */
export async function signInOverHttp(baseUrl: string, email: string, password: string, headers: Record<string, string> = {}): Promise<SignInResult> {
  const csrf = await fetch(`${baseUrl}/api/auth/csrf`, { headers });
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const csrfCookie = csrf.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const res = await fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { ...headers, "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
    body: new URLSearchParams({ csrfToken, email, password, json: "true" }),
  });
  await res.body?.cancel();
  const session = res.headers.getSetCookie().find((c) => c.startsWith("next-auth.session-token="));
  return { cookie: session ? session.split(";")[0]! : null, status: res.status };
}

/** Reads one counter from /api/metrics (Prometheus text), 0 when absent. */
export async function metricValue(baseUrl: string, token: string, line: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/api/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found ? Number(found.slice(line.length + 1)) : 0;
}
