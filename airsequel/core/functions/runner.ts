// The harness of one call of a cloud function (airsequel/core/functions/sandbox.py starts it).
//
// It reads one JSON object from stdin: the function's code, its language, the call's context and
// where the server's API answers (with the token minted for this call). It imports the code as a
// data: URL (so that the code's own imports cannot name local files: those need read access, which
// the process does not have), captures console.* (the first 100 lines), calls the default export
// with the context and writes one line to stdout: the marker, then {ok, data | error, logs}.

const MARKER = "\u001eairsequel-result ";
const MAX_LOGS = 100;
const MAX_LOG_CHARS = 4000;

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
  api: { base: string; token: string; host: string };
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

async function callApi(path: string, body: unknown): Promise<unknown> {
  const response = await fetch(input.api.base + path, {
    method: "POST",
    headers: {
      "Authorization": `Bearer ${input.api.token}`,
      "Content-Type": "application/json",
      "Host": input.api.host,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = text;
  }
  if (!response.ok) {
    const errors = (answer as { errors?: unknown[] })?.errors;
    const message = Array.isArray(errors) ? errors.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join("; ") : text;
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

console.log = console.info = console.debug = console.trace = capture("stdout");
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
