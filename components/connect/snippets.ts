// Ready-to-run snippets for the Connect page, filled in with the app's address, a key and a model
// (collection): curl, the openai SDK for Node and Python, and MCP client configurations (Claude Desktop
// through mcp-remote, VS Code). Pure functions, so what the page shows is what the tests run.

export interface SnippetInput {
  /** The app's public address, e.g. https://sot.lan */
  origin: string;
  /** The API key, or a placeholder when its secret is not at hand. */
  key: string;
  /** The OpenAI model: a collection slug, or `sot`. */
  model: string;
  question?: string;
}

export interface Snippets {
  openaiBaseUrl: string;
  mcpUrl: string;
  curl: string;
  node: string;
  python: string;
  claudeDesktop: string;
  vscode: string;
}

const DEFAULT_QUESTION = "What does the wiki say about our on-call rotation?";

/** A string as a POSIX shell single-quoted word. */
export const shellQuote = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

export function buildSnippets(input: SnippetInput): Snippets {
  const openaiBaseUrl = `${input.origin}/v1`;
  const mcpUrl = `${input.origin}/api/mcp`;
  const question = input.question ?? DEFAULT_QUESTION;
  const body = JSON.stringify({ model: input.model, messages: [{ role: "user", content: question }] });
  const curl = [
    `curl -sS ${shellQuote(`${openaiBaseUrl}/chat/completions`)} \\`,
    `  -H ${shellQuote(`Authorization: Bearer ${input.key}`)} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(body)}`,
  ].join("\n");
  const node = `import OpenAI from "openai";

const client = new OpenAI({ baseURL: ${JSON.stringify(openaiBaseUrl)}, apiKey: ${JSON.stringify(input.key)} });
const completion = await client.chat.completions.create({
  model: ${JSON.stringify(input.model)},
  messages: [{ role: "user", content: ${JSON.stringify(question)} }],
});
const message = completion.choices[0].message;
console.log(message.content);
for (const a of message.annotations ?? []) console.log(a.url_citation.title, a.url_citation.url);
`;
  const python = `from openai import OpenAI

client = OpenAI(base_url=${JSON.stringify(openaiBaseUrl)}, api_key=${JSON.stringify(input.key)})
completion = client.chat.completions.create(
    model=${JSON.stringify(input.model)},
    messages=[{"role": "user", "content": ${JSON.stringify(question)}}],
)
message = completion.choices[0].message
print(message.content)
for a in message.annotations or []:
    print(a.url_citation.title, a.url_citation.url)
`;
  // Claude Desktop starts local (stdio) servers; mcp-remote bridges to a remote one and adds the header.
  // (The header is passed through an environment variable: arguments with spaces break on some systems.)
  const claudeDesktop = JSON.stringify(
    {
      mcpServers: {
        sot: {
          command: "npx",
          args: ["-y", "mcp-remote", mcpUrl, "--header", "Authorization:${SOT_AUTH_HEADER}"],
          env: { SOT_AUTH_HEADER: `Bearer ${input.key}` },
        },
      },
    },
    null,
    2,
  );
  const vscode = JSON.stringify({ servers: { sot: { type: "http", url: mcpUrl, headers: { Authorization: `Bearer ${input.key}` } } } }, null, 2);
  return { openaiBaseUrl, mcpUrl, curl, node, python, claudeDesktop, vscode };
}
