// The harness of one call of a cloud function (airsequel/core/functions/sandbox.py starts it).
//
// It reads one JSON object from stdin: the function's code, its language, the call's context and
// where the server's API answers (with the token minted for this call). It imports the code as a
// data: URL (so that the code's own imports cannot name local files: those need read access, which
// the process does not have), captures console.* (the first 100 lines), calls the default export
// with the context and writes one line to stdout: the marker, then {ok, data | error, logs}.

const MARKER = "\u001eairsequel-result ";
const MAX_LOGS = 100;
const MAX_LOG_CHARS = 2000;

type LogLine = { message: string; stream: "stdout" | "stderr"; utc: string };
type Input = {
  code: string;
  language: "typescript" | "javascript";
  context: {
    functionId: string;
    databaseId: string;
    method: string;
    headers: Record<string, string>;
    data: unknown;
    env: Record<string, string>;
  };
  api: { hostname: string; port: number; token: string; host: string };
};

const logs: LogLine[] = [];
let droppedLogs = 0;

function format(args: unknown[]): string {
  return args.map((arg) => (typeof arg === "string" ? arg : Deno.inspect(arg, { depth: 6 }))).join(" ");
}

function capture(stream: "stdout" | "stderr") {
  return (...args: unknown[]) => {
    if (logs.length >= MAX_LOGS) {
      droppedLogs += 1;
      return;
    }
    let message = format(args);
    if (message.length > MAX_LOG_CHARS) message = message.slice(0, MAX_LOG_CHARS) + "…";
    logs.push({ message, stream, utc: new Date().toISOString() });
  };
}

function finish(outcome: Record<string, unknown>): never {
  if (droppedLogs > 0) {
    logs.push({
      message: `(${droppedLogs} more log lines were not kept: a call keeps its first ${MAX_LOGS})`,
      stream: "stderr",
      utc: new Date().toISOString(),
    });
  }
  const line = MARKER + JSON.stringify({ ...outcome, logs }) + "\n";
  const bytes = new TextEncoder().encode(line);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  Deno.exit(0);
}

function describe(error: unknown, moduleUrl: string): string {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  return text
    .split(moduleUrl).join("function")
    .split("\n")
    .filter((line) => !line.includes("runner.ts"))
    .join("\n");
}

const input: Input = JSON.parse(await new Response(Deno.stdin.readable).text());
const mediaType = input.language === "javascript" ? "application/javascript" : "application/typescript";
const bytes = new TextEncoder().encode(input.code);
let binary = "";
for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
const moduleUrl = `data:${mediaType};base64,${btoa(binary)}`;

// One request to the server's API. Over a socket of our own rather than fetch(): fetch() sends the URL's
// host as the Host header whatever the code says, and a server with allowedHosts answers only those names.
async function post(path: string, body: string): Promise<{ status: number; text: string }> {
  const connection = await Deno.connect({ hostname: input.api.hostname, port: input.api.port });
  try {
    const payload = new TextEncoder().encode(body);
    const head = [
      `POST ${path} HTTP/1.1`,
      `Host: ${input.api.host}`,
      `Authorization: Bearer ${input.api.token}`,
      "Content-Type: application/json",
      "Accept: application/json",
      `Content-Length: ${payload.length}`,
      "Connection: close",
      "",
      "",
    ].join("\r\n");
    const request = new Uint8Array([...new TextEncoder().encode(head), ...payload]);
    let written = 0;
    while (written < request.length) written += await connection.write(request.subarray(written));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    for (;;) {
      const read = await connection.read(buffer);
      if (read === null) break;
      chunks.push(buffer.slice(0, read));
    }
    const whole = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of chunks) {
      whole.set(chunk, at);
      at += chunk.length;
    }
    const raw = new TextDecoder("latin1").decode(whole);
    const split = raw.indexOf("\r\n\r\n");
    if (split < 0) throw new Error(`${path}: the server's answer ended early`);
    const lines = raw.slice(0, split).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    const chunked = lines.some((line) => /^transfer-encoding:\s*chunked/i.test(line));
    let bodyBytes = whole.subarray(split + 4);
    if (chunked) {
      const parts: Uint8Array[] = [];
      let offset = 0;
      for (;;) {
        const lineEnd = raw.indexOf("\r\n", split + 4 + offset) - (split + 4);
        const size = parseInt(raw.slice(split + 4 + offset, split + 4 + lineEnd), 16);
        if (!size) break;
        parts.push(bodyBytes.subarray(lineEnd + 2, lineEnd + 2 + size));
        offset = lineEnd + 2 + size + 2;
      }
      bodyBytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let to = 0;
      for (const part of parts) {
        bodyBytes.set(part, to);
        to += part.length;
      }
    }
    return { status, text: new TextDecoder().decode(bodyBytes) };
  } finally {
    try {
      connection.close();
    } catch {
      // closed already
    }
  }
}

async function callApi(path: string, body: unknown): Promise<unknown> {
  const response = await post(path, JSON.stringify(body));
  const text = response.text;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = text;
  }
  if (response.status < 200 || response.status >= 300) {
    const errors = (answer as { errors?: unknown[] })?.errors;
    const message = Array.isArray(errors)
      ? errors.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join("; ")
      : text;
    throw new Error(`${path} answered ${response.status}: ${message}`);
  }
  return answer;
}

const dbPath = `/dbs/${encodeURIComponent(input.context.databaseId)}`;
const context = Object.freeze({
  ...input.context,
  sql: (query: string, params?: unknown) =>
    callApi(`${dbPath}/sql`, params === undefined ? { query } : { query, params }),
  graphql: (query: string, variables?: unknown) =>
    callApi(`${dbPath}/graphql`, variables === undefined ? { query } : { query, variables }),
});

console.log = console.info = console.debug = console.trace = console.dir = console.dirxml = capture("stdout");
console.table = console.group = console.groupCollapsed = capture("stdout");
console.warn = console.error = capture("stderr");

let exported: unknown;
try {
  exported = (await import(moduleUrl)).default;
} catch (error) {
  finish({ ok: false, error: `The function's module did not load: ${describe(error, moduleUrl)}` });
}
if (typeof exported !== "function") {
  finish({ ok: false, error: "The function's module has no default export that is a function" });
}
try {
  const returned = await (exported as (context: unknown) => unknown)(context);
  let data: unknown = null;
  if (returned !== undefined && returned !== null) {
    if (typeof returned !== "object" || !("data" in returned)) {
      finish({ ok: false, error: `A function returns {data: ...}; this one returned ${typeof returned}` });
    }
    data = (returned as { data: unknown }).data ?? null;
  }
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(data);
  } catch (error) {
    finish({ ok: false, error: `The function's data is not JSON: ${describe(error, moduleUrl)}` });
  }
  finish({ ok: true, data: encoded === undefined ? null : JSON.parse(encoded) });
} catch (error) {
  finish({ ok: false, error: describe(error, moduleUrl) });
}
