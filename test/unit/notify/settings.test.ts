// A Provider's settings as a delivery uses them (src/notify/settings.ts): spec and Secret merged, what each type
// needs, the reason a setting is refused for (InvalidSpec without a Secret, SecretInvalid with one), the secrets kept
// for redaction, and the redaction and origin helpers. (The Secret's address winning and the error texts are also in
// payload.test.ts.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Provider } from "../../../src/api/index.js";
import { originOf, ProviderConfigError, providerSettings, redact } from "../../../src/notify/settings.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const provider = (spec: Provider["spec"]): Provider => ({ apiVersion: "notification.mooring.dev/v1alpha1", kind: "Provider", metadata: { name: "p", namespace: "demo" }, spec });
const reasonOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProviderConfigError, String(e));
    return e.reason;
  }
  return "accepted";
};

void describe("providerSettings", () => {
  void it("take the spec alone when there is no Secret: address, channel, username, timeout (15 s by default)", () => {
    assert.deepEqual(providerSettings(provider({ type: "generic", address: "https://hooks.example/x" }), undefined), {
      type: "generic",
      address: "https://hooks.example/x",
      addressFromSecret: false,
      timeoutMs: 15_000,
      secrets: [],
    });
    const s = providerSettings(provider({ type: "slack", channel: "#ops", username: "mooring", timeout: "2m", secretRef: { name: "s" } }), { token: b64(" xoxb-123456 \n") });
    assert.deepEqual([s.address, s.token, s.channel, s.username, s.timeoutMs, s.secrets], [undefined, "xoxb-123456", "#ops", "mooring", 120_000, ["xoxb-123456"]]);
  });

  void it("keep a secret address, and its path, for redaction", () => {
    const s = providerSettings(provider({ type: "discord", secretRef: { name: "d" } }), { address: b64("https://discord.example/api/webhooks/1/abc?wait=true") });
    assert.deepEqual(s.secrets, ["https://discord.example/api/webhooks/1/abc?wait=true", "/api/webhooks/1/abc?wait=true"]);
    const root = providerSettings(provider({ type: "generic", secretRef: { name: "d" } }), { address: b64("https://discord.example/") });
    assert.deepEqual(root.secrets, ["https://discord.example/"], "a bare origin has no secret path");
  });

  void it("refuse what each type lacks, InvalidSpec without a Secret and SecretInvalid with one", () => {
    const cases: [Provider["spec"], Record<string, string> | undefined, string][] = [
      [{ type: "generic" }, undefined, "InvalidSpec"],
      [{ type: "msteams", secretRef: { name: "s" } }, {}, "SecretInvalid"],
      [{ type: "github" }, undefined, "InvalidSpec"],
      [{ type: "gitlab", secretRef: { name: "s" } }, { token: b64("  \n") }, "SecretInvalid"],
      [{ type: "gitea", secretRef: { name: "s" } }, { token: b64("tok-1234") }, "accepted"],
      [{ type: "slack" }, undefined, "InvalidSpec"],
      [{ type: "slack", channel: "#c", secretRef: { name: "s" } }, { token: b64("xoxb-1") }, "accepted"],
      [{ type: "slack", address: "https://hooks.slack.example/T" }, undefined, "accepted"],
      [{ type: "generic-hmac", secretRef: { name: "s" } }, { address: b64("https://h.example/x"), token: b64("key-1234") }, "accepted"],
      [{ type: "generic", address: "https://ok.example", secretRef: { name: "gone" } }, undefined, "SecretNotFound"],
    ];
    for (const [spec, data, reason] of cases) assert.equal(reasonOf(() => providerSettings(provider(spec), data)), reason, JSON.stringify(spec));
  });
});

void describe("redact and originOf", () => {
  void it("replace every secret, longest first, and leave values under 4 characters alone", () => {
    assert.equal(redact("token abcdef and abcdef-long", ["abcdef", "abcdef-long"]), "token [redacted] and [redacted]");
    assert.equal(redact("a is abc", ["abc"]), "a is abc", "too short to redact without destroying the text");
    assert.equal(redact("nothing", []), "nothing");
  });

  void it("show scheme, host and port only", () => {
    assert.equal(originOf("https://user:pw@hooks.example:8443/secret/path?q=1"), "https://hooks.example:8443");
    assert.equal(originOf("not a url"), "(an invalid URL)");
  });
});
