/** The one step runner behind smoke checks and hooks: order, the stop at the first failure, names. */

import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { describe, it } from "node:test";
import { type HttpStep, runSteps, type StepOutcome } from "../../src/deploy/steps.ts";

interface Call extends HttpStep {
  readonly http: { readonly answer: StepOutcome; readonly label: string };
}

const call = (label: string, ok: boolean, name?: string): Call => ({
  ...(name !== undefined && { name }),
  timeoutMs: 1_000,
  http: { label, answer: { ok, detail: ok ? "status 200" : "status 503" } },
});

function kinds(asked: string[]) {
  return {
    http: async (step: Call) => {
      asked.push(step.http.label);
      return step.http.answer;
    },
    httpName: (step: Call) => `CALL ${step.http.label}`,
    command: { cwd: tmpdir(), env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
  };
}

describe("the step runner", () => {
  it("runs http and command steps in order, naming each by its name, its call or its command line", async () => {
    const asked: string[] = [];
    const report = await runSteps<Call>(
      [
        call("a", true),
        { command: "echo from the command", timeoutMs: 5_000 },
        call("b", true, "second call"),
      ],
      kinds(asked),
    );
    assert.equal(report.ok, true);
    assert.deepEqual(asked, ["a", "b"]);
    assert.deepEqual(
      report.results.map(({ name, ok, detail }) => ({ name, ok, detail })),
      [
        { name: "CALL a", ok: true, detail: "status 200" },
        { name: "echo from the command", ok: true, detail: "exit code 0" },
        { name: "second call", ok: true, detail: "status 200" },
      ],
    );
    assert.deepEqual(report.results[1]?.output, ["from the command"]);
  });

  it("stops at the first failing step and reports only the steps that ran", async () => {
    const asked: string[] = [];
    const report = await runSteps<Call>(
      [call("a", true), { command: ["sh", "-c", "exit 3"], timeoutMs: 5_000 }, call("never", true)],
      kinds(asked),
    );
    assert.equal(report.ok, false);
    assert.deepEqual(asked, ["a"]);
    assert.deepEqual(
      report.results.map(({ name, detail }) => `${name}: ${detail}`),
      ["CALL a: status 200", "sh -c exit 3: exit code 3"],
    );
  });

  it("rejects with the signal's reason once aborted, without starting another step", async () => {
    const asked: string[] = [];
    const controller = new AbortController();
    const reason = new Error("deployment aborted");
    const stepKinds = kinds(asked);
    const pending = runSteps<Call>(
      [call("a", true), call("b", true)],
      {
        ...stepKinds,
        http: async (step) => {
          controller.abort(reason);
          return stepKinds.http(step);
        },
      },
      controller.signal,
    );
    await assert.rejects(pending, (err) => err === reason);
    assert.deepEqual(asked, ["a"]);
  });
});
