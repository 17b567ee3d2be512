// Driver for tests/test_nextauth_callback.py: runs notebook 03's NextAuth callbacks in Node.
//
// stdin: {"module": path, "offset": seconds, "rounds": [{"token", "account"?, "calls"}]}.
// Each round calls callbacks.jwt `calls` times at once (Promise.all), then callbacks.session
// with the first result. A round without "token" takes the previous round's first result.
// stdout: one JSON line {"rounds": [{"results", "session"} | {"threw"}], "fetches": [...]}.
import { pathToFileURL } from "node:url";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const job = JSON.parse(Buffer.concat(chunks).toString("utf8"));

// The dev server's clock runs `offset` seconds ahead of the wall clock: NextAuth's follows it.
const wallNow = Date.now;
Date.now = () => wallNow() + job.offset * 1000;

// Record every request the callbacks make and what came back.
const fetches = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const response = await realFetch(url, init);
  const text = await response.clone().text();
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = text;
  }
  fetches.push({
    url: String(url),
    method: init.method ?? "GET",
    authorization: new Headers(init.headers).get("authorization"),
    body: init.body === undefined ? null : String(init.body),
    status: response.status,
    answer,
  });
  return response;
};

const { callbacks } = await import(pathToFileURL(job.module).href);

const rounds = [];
let previous = null;
for (const round of job.rounds) {
  const token = round.token ?? previous;
  try {
    const results = await Promise.all(
      Array.from({ length: round.calls ?? 1 }, () =>
        callbacks.jwt({ token: { ...token }, account: round.account }),
      ),
    );
    const session = await callbacks.session({
      session: { user: { name: token.name, email: token.email }, expires: "2099-01-01" },
      token: results[0],
    });
    // JSON, as NextAuth stores the token: undefined fields disappear.
    rounds.push(JSON.parse(JSON.stringify({ results, session })));
    previous = results[0];
  } catch (error) {
    rounds.push({ threw: String(error?.stack ?? error) });
    break;
  }
}
process.stdout.write(`${JSON.stringify({ rounds, fetches })}\n`);
