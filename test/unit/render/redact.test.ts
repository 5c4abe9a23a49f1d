// Secret values masked in render messages (src/render/redact.ts): a real Go-template chart that `fail`s with values
// from a Secret, rendered with the pinned helm, gives a message quoting them; the mask takes every such string out of
// the outcome the controller logs, records as an event and writes to status. The controller wiring (Secrets read for
// valuesFrom/substituteFrom, the Rendered condition and events) is test/integration/render/controller-failures.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { render, RenderError } from "../../../src/render/index.js";
import type { RenderOutcome } from "../../../src/render/outcome.js";
import { MASK, SecretMask, redact } from "../../../src/render/redact.js";
import { writeTree } from "./tree.js";

const CHART = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
const SOURCE = { revision: "main@sha1:0123", digest: "sha256:ab" };

/** The message of the RenderError a Go chart failing with `fail <expr>` gives, with `values` as valuesFrom. */
function failMessage(expr: string, values: Record<string, unknown>): string {
  const t = writeTree({ "app/Chart.yaml": CHART, "app/templates/cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  a: {{ fail ${expr} }}\n` });
  try {
    render(t.dir, "app", { type: "helm", helm: { releaseName: "r", namespace: "ns", valuesFrom: [values] } });
  } catch (err) {
    assert.ok(err instanceof RenderError, `a RenderError, not ${String(err)}`);
    return err.message;
  } finally {
    t.cleanup();
  }
  assert.fail("the render succeeded");
}

const failed = (message: string): RenderOutcome => ({ kind: "renderFailed", source: SOURCE, reason: "RenderFailed", message, fresh: true });

void describe("SecretMask", () => {
  void it("masks the values a chart's `fail` quotes, from a Secret's values document, wherever they appear", () => {
    // The Secret as InputReader reads it: values.yaml of a Secret, decoded, and the values parsed from it.
    const data = { "values.yaml": "db:\n  password: hunter2-s3cret\n  port: 54321\nuser: app\n", other: "kept-out-too" };
    const values = { db: { password: "hunter2-s3cret", port: 54321 }, user: "app" };
    const message = failMessage('(printf "login %s:%s@db:%v refused (%s)" .Values.user .Values.db.password .Values.db.port .Values.db.password)', values);
    assert.equal(message, "app/templates/cm.yaml:6: the chart failed the render: login app:hunter2-s3cret@db:54321 refused (hunter2-s3cret)");
    const mask = new SecretMask();
    mask.add(data);
    mask.addValues(values);
    const out = mask.outcome(failed(message));
    assert.deepEqual(out, failed(`app/templates/cm.yaml:6: the chart failed the render: login app:${MASK}@db:${MASK} refused (${MASK})`));
    // "app" is shorter than 4 characters: masking it would mask the message ("app/templates").
    assert.equal(mask.redact("kept-out-too and app"), `${MASK} and app`);
  });

  void it("masks a multi-line value line by line, and as JSON escapes it", () => {
    const key = "-----BEGIN KEY-----\nMIIEsecretkeymaterial\n-----END KEY-----";
    const message = failMessage(".Values.key", { key });
    assert.match(message, /MIIEsecretkeymaterial/);
    const mask = new SecretMask();
    mask.addValues({ key, quote: 'pa"ss\\word' });
    assert.doesNotMatch(mask.redact(message), /MIIE|BEGIN KEY|END KEY/);
    assert.equal(mask.redact(`first line: -----BEGIN KEY-----`), `first line: ${MASK}`);
    assert.equal(mask.redact(`literal ${JSON.stringify('pa"ss\\word')} is not key=value`), `literal "${MASK}" is not key=value`);
  });

  void it("masks every outcome that has a message, and leaves the others as they are", () => {
    const mask = new SecretMask();
    mask.add({ token: "tok-0123456789" });
    const outcomes: RenderOutcome[] = [
      { kind: "invalidSpec", message: "bad tok-0123456789" },
      { kind: "noSource", reason: "SourceNotFound", message: "tok-0123456789", recheck: { kind: "onChange" } },
      { kind: "inputsFailed", source: SOURCE, reason: "RenderFailed", message: "x tok-0123456789 y" },
      failed("tok-0123456789"),
      { kind: "retry", condition: "Rendered", reason: "RenderFailed", message: "render of Application a/b failed: tok-0123456789" },
    ];
    for (const o of outcomes) {
      const out = mask.outcome(o);
      assert.ok("message" in out && !out.message.includes("tok-0123456789") && out.message.includes(MASK), JSON.stringify(out));
      assert.deepEqual({ ...out, message: "" }, { ...o, message: "" });
    }
    const rendered: RenderOutcome = { kind: "rendered", source: SOURCE, render: { url: "http://x/a.json", digest: "sha256:cd", size: 1, objects: 1, type: "plain", path: "./" }, fresh: false };
    assert.equal(mask.outcome(rendered), rendered);
    const clean = failed("nothing secret here");
    assert.equal(mask.outcome(clean), clean);
    assert.equal(new SecretMask().outcome(failed("tok-0123456789")).kind, "renderFailed");
  });

  void it("collects short strings not at all, and the strings longest first", () => {
    const mask = new SecretMask();
    mask.add({ a: "abc", b: "abcd", c: "abcdef" });
    mask.addValues({ n: 7, big: 123456, flag: true, list: ["abcdefgh", null] });
    assert.deepEqual(mask.strings, ["abcdefgh", "123456", "abcdef", "abcd"]);
  });
});

void describe("redact", () => {
  void it("replaces a secret containing another whole, and the start of a secret a shortened message ends with", () => {
    assert.equal(redact("s3cret-long and s3cret", ["s3cret", "s3cret-long"]), `${MASK} and ${MASK}`);
    assert.equal(redact("helm failed (exit 1): password hunter2-s…", ["hunter2-s3cret"]), `helm failed (exit 1): password ${MASK}…`);
    // Not when the start is shorter than 4 characters, and not without the mark of a cut.
    assert.equal(redact("password hun…", ["hunter2-s3cret"]), "password hun…");
    assert.equal(redact("password hunter2-s", ["hunter2-s3cret"]), "password hunter2-s");
  });
});
