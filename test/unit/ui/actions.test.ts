// The UI's buttons (src/ui/actions.ts): each runs the `mooring` command of the same name with the signed-in user's
// client and answers { ok, message } in the command's own words, without the terminal's prefixes. No API server is
// faked: here the kubeconfig's API server is a closed port, which tests the refusal path of every action (not ok, the
// CLI's one-line explanation, no "mooring: " prefix, no credential). What each action does to an Application, the
// symbols stripped from its success lines, and an action the API server forbids run against kube-apiserver in
// test/integration/ui/browser.test.ts (sync, rollback and resume from the page; a proxy user's sync refused with 403)
// and test/integration/cli/ops.test.ts, test/integration/cli/history-rollback.test.ts (the commands themselves).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type Kube } from "../../../src/cli/kube.js";
import { runAction } from "../../../src/ui/actions.js";
import { ACTIONS } from "../../../src/ui/model.js";

const KUBE_TOKEN = "kubeconfig-t0ken-never-shown";
let kube: Kube;
let port: number;

before(async () => {
  // A kubeconfig whose API server is a closed port: every request the module makes fails to connect.
  let file: string;
  ({ file, port } = await closedPortKubeconfig("ui-actions-", { token: KUBE_TOKEN }));
  kube = connect({ kubeconfig: file });
});
after(() => kube.close());

const unreachable = () => new RegExp(`^cannot reach the API server: .*127\\.0\\.0\\.1:${port}.*; check --kubeconfig/--context and that the cluster runs$`);

void describe("runAction", () => {
  void it("knows the five actions the page offers", () => {
    assert.deepEqual([...ACTIONS], ["sync", "reconcile", "suspend", "resume", "rollback"]);
  });

  void it("answers each action the API server cannot take with not ok and the CLI's one line, without its 'mooring: ' prefix", async () => {
    for (const action of ACTIONS) {
      const r = await runAction(action, kube.client, kube.kc, "team-a", "web");
      assert.equal(r.ok, false, action);
      assert.match(r.message, unreachable(), action);
      assert.ok(!r.message.includes("\n"), `${action}: one line`);
      assert.ok(!r.message.includes(KUBE_TOKEN), `${action}: the kubeconfig's token in ${r.message}`);
    }
  });

  void it("runs as the client it is given: an impersonating client (token and proxy modes) is refused the same way", async () => {
    const asAlice = kube.client.impersonate("alice", ["dev"]);
    for (const [action, o] of [["sync", {}], ["rollback", { to: 3 }], ["suspend", {}]] as const) {
      const r = await runAction(action, asAlice, kube.kc, "team-a", "web", o);
      assert.deepEqual([r.ok, unreachable().test(r.message)], [false, true], `${action}: ${r.message}`);
      assert.ok(!r.message.includes(KUBE_TOKEN));
    }
  });
});
import { closedPortKubeconfig } from "../../support/closed-port.js";
