import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, createApi } from "../src/api";

function answer(status: number, body: unknown): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), { status, statusText: "Status" });
}

test("requests use relative URLs with encoded parameters", async () => {
  const urls: string[] = [];
  const api = createApi(async (url) => {
    urls.push(url);
    return answer(200, { node: { path: "", name: "m", kind: "scope", num_ops: 0 } });
  });
  await api.hierarchy({ run: "a b", tag: "t/1" }, "x/&y", 1);
  assert.deepEqual(urls, ["./hierarchy?run=a+b&tag=t%2F1&path=x%2F%26y&depth=1"]);
});

test("an error answer becomes an ApiError with the server's message", async () => {
  const api = createApi(async () => answer(404, { error: 'No run "nope" in this logdir.' }));
  await assert.rejects(api.graphs(), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 404);
    assert.equal(error.message, 'No run "nope" in this logdir.');
    return true;
  });
});

test("an error answer without JSON still says something readable", async () => {
  const api = createApi(async () => answer(500, "<html>oops</html>"));
  await assert.rejects(api.graphs(), /answered 500/);
});

test("a network failure is reported in words", async () => {
  const api = createApi(async () => {
    throw new TypeError("Failed to fetch");
  });
  await assert.rejects(api.graphs(), /Could not reach the TensorBoard server/);
});
