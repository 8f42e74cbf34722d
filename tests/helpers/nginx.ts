// deploy/nginx/sot.conf run by Debian's nginx for end-to-end tests: the production file with only its
// machine-specific lines (ports, certificate and log paths) replaced, in front of one or more app processes.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePorts } from "@/tests/helpers/app";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const NGINX = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/opt/homebrew/bin/nginx"].find((p) => existsSync(p));

export interface Proxy {
  httpsPort: number;
  httpPort: number;
  dir: string;
  stop(): Promise<void>;
}

/** sot.conf with the production-only bits replaced: the test proves the same directives work. */
function templated(upstreamPorts: number[], httpsPort: number, httpPort: number, dir: string): string {
  let conf = readFileSync(path.join(ROOT, "deploy/nginx/sot.conf"), "utf8");
  const swap = (from: string, to: string) => {
    if (!conf.includes(from)) throw new Error(`deploy/nginx/sot.conf no longer contains ${JSON.stringify(from)}: update this test`);
    conf = conf.split(from).join(to);
  };
  swap("server 127.0.0.1:3000;", upstreamPorts.map((p) => `server 127.0.0.1:${p};`).join("\n    "));
  swap("listen 443 ssl;", `listen 127.0.0.1:${httpsPort} ssl;`);
  swap("listen 80;", `listen 127.0.0.1:${httpPort};`);
  swap("/opt/homebrew/etc/nginx/certs/sot.crt", path.join(dir, "sot.crt"));
  swap("/opt/homebrew/etc/nginx/certs/sot.key", path.join(dir, "sot.key"));
  swap("/opt/homebrew/var/log/nginx/sot.access.log", path.join(dir, "access.log"));
  swap("/Users/sot/sot/.next/static/", path.join(ROOT, ".next/static") + "/");
  return conf;
}

export async function startNginx(upstream: number | number[], cert: { crt: string; key: string }): Promise<Proxy> {
  const upstreamPorts = Array.isArray(upstream) ? upstream : [upstream];
  const dir = mkdtempSync(path.join(tmpdir(), "sot-nginx-"));
  writeFileSync(path.join(dir, "sot.crt"), cert.crt);
  writeFileSync(path.join(dir, "sot.key"), cert.key, { mode: 0o600 });
  for (const t of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(path.join(dir, t));
  const [httpsPort, httpPort] = (await freePorts(2)) as [number, number];
  writeFileSync(path.join(dir, "sot.conf"), templated(upstreamPorts, httpsPort, httpPort, dir));
  const user = process.getuid?.() === 0 ? "user root;\n" : "";
  writeFileSync(
    path.join(dir, "nginx.conf"),
    `${user}worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 128; }\n` +
      `http {\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n` +
      `  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n  include ${dir}/sot.conf;\n}\n`,
  );
  const check = spawnSync(NGINX!, ["-t", "-p", dir, "-c", path.join(dir, "nginx.conf")], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
  const child: ChildProcess = spawn(NGINX!, ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr!.on("data", (d) => (out += d));
  for (let i = 0; ; i++) {
    try {
      await request(httpsPort, cert.crt, "/_nginx_probe");
      break;
    } catch {
      if (child.exitCode !== null || i > 100) throw new Error(`nginx did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    httpsPort,
    httpPort,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGQUIT");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function request(port: number, ca: string, pathname: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port, path: pathname, method: opts.method ?? "GET", servername: "sot.lan", ca, headers: { host: "sot.lan", ...opts.headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

export function makeCert(dir: string): { crt: string; key: string } {
  const res = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sot.lan", "-addext", "subjectAltName=DNS:sot.lan",
      "-keyout", path.join(dir, "k.pem"), "-out", path.join(dir, "c.pem")],
    { encoding: "utf8" },
  );
  if (res.status !== 0) throw new Error(`openssl failed: ${res.stderr}`);
  return { crt: readFileSync(path.join(dir, "c.pem"), "utf8"), key: readFileSync(path.join(dir, "k.pem"), "utf8") };
}
