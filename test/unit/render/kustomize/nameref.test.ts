// Kustomize's nameReference transformer (src/render/kustomize/nameref.ts): after names (and namespaces) changed, the
// fields that refer to an object by its old name take its new one. Resources are renamed here with the real prefix and
// namespace transformers, as each base of a build would; the expected objects are what `kubectl kustomize` (Kustomize
// v5.5.0) prints for the same bases, and the prefix/suffix tie-breaks are the cases of Kustomize's own
// api/filters/nameref/nameref_test.go (TestCandidatesWithDifferentPrefixSuffix, TestNamerefFilterUnhappy).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../../../src/render/objects.js";
import { makeDefaultConfig, type NameBackRef } from "../../../../src/render/kustomize/fieldspecs.js";
import { fixNameReferences } from "../../../../src/render/kustomize/nameref.js";
import { newRes, type Res } from "../../../../src/render/kustomize/resource.js";
import { addPrefixSuffix, setNamespace } from "../../../../src/render/kustomize/transformers.js";

const F = "app/kustomization.yaml";
const MALFORMED = "kubectl kustomize refuses it too, even when no name changes; write the field as Kubernetes defines it";
const config = makeDefaultConfig();
const read = (text: string): Res[] => parseAllDocuments(text).map((d) => newRes(d.toJS() as KubeObject, "r.yaml"));
const byName = (res: Res[], kind: string, name: string): KubeObject => res.find((r) => r.obj.kind === kind && r.obj.metadata.name === name)!.obj;

/** What a base with `namespace:` and `namePrefix:`/`nameSuffix:` does to its resources before the references are fixed. */
function base(text: string, o: { ns?: string; prefix?: string; suffix?: string }): Res[] {
  const res = read(text);
  if (o.ns) setNamespace(res, { namespace: o.ns, specs: config.namespace, file: F });
  addPrefixSuffix(res, o.prefix, o.suffix, o.prefix !== undefined ? config.namePrefix : config.nameSuffix, F);
  return res;
}

const secretRule = (path: string): NameBackRef => ({ group: "apps", version: "v1", kind: "Secret", fieldSpecs: [{ path }] });

/** A Secret (apps/v1, as in Kustomize's test) first named `oldName`, renamed to `name` with the given affixes. */
function candidate(name: string, prefix: string, suffix: string): Res {
  const r = newRes({ apiVersion: "apps/v1", kind: "Secret", metadata: { name } }, "c.yaml");
  r.prev.push({ kind: "Secret", name: "oldName", ns: "default" });
  if (prefix) r.prefixes.push(prefix);
  if (suffix) r.suffixes.push(suffix);
  return r;
}

function referrer(prefix: string, suffix: string, ref: unknown = { name: "oldName" }): Res {
  const r = newRes({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "dep" }, ref } as KubeObject, "d.yaml");
  if (prefix) r.prefixes.push(prefix);
  if (suffix) r.suffixes.push(suffix);
  return r;
}

void describe("kustomize name references", () => {
  void it("rewrites every reference of the built-in rules to a renamed ConfigMap, and only of its kind", () => {
    const res = base(
      `apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      volumes:
      - {name: v, configMap: {name: cm}}
      - {name: s, secret: {secretName: cm}}
      - {name: n, configMap: {name: null}}
      containers:
      - name: c
        envFrom: [{configMapRef: {name: cm}}, {configMapRef: {optional: true}}]
        env: [{name: X, valueFrom: {configMapKeyRef: {name: cm, key: k}}}]
`,
      { prefix: "a-" },
    );
    fixNameReferences(res, config.nameReference, F);
    const pod = (byName(res, "Deployment", "a-web").spec as { template: { spec: { volumes: unknown; containers: { envFrom: unknown; env: unknown }[] } } }).template.spec;
    assert.deepEqual(pod.volumes, [
      { name: "v", configMap: { name: "a-cm" } },
      { name: "s", secret: { secretName: "cm" } },
      { name: "n", configMap: { name: null } },
    ]);
    assert.deepEqual(pod.containers[0]!.envFrom, [{ configMapRef: { name: "a-cm" } }, { configMapRef: { optional: true } }]);
    assert.deepEqual(pod.containers[0]!.env, [{ name: "X", valueFrom: { configMapKeyRef: { name: "a-cm", key: "k" } } }]);
  });

  void it("leaves references alone when no resource was renamed, and a reference to an unknown object always", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {spec: {volumes: [{name: v, configMap: {name: cm}}, {name: w, configMap: {name: gone}}]}}}\n";
    const plain = read(text);
    fixNameReferences(plain, config.nameReference, F);
    assert.deepEqual(plain.map((r) => r.obj), read(text).map((r) => r.obj));
    const renamed = base(text, { suffix: "-x" });
    fixNameReferences(renamed, config.nameReference, F);
    assert.deepEqual((byName(renamed, "Deployment", "web-x").spec as { template: unknown }).template, { spec: { volumes: [{ name: "v", configMap: { name: "cm-x" } }, { name: "w", configMap: { name: "gone" } }] } });
  });

  void it("picks the candidate in the referrer's namespace", () => {
    const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n";
    const dep = read("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: ns2}\nspec: {template: {spec: {volumes: [{name: v, configMap: {name: cm}}]}}}\n");
    const res = [...base(cm, { ns: "ns1", prefix: "one-" }), ...base(cm, { ns: "ns2", prefix: "two-" }), ...dep];
    fixNameReferences(res, config.nameReference, F);
    assert.deepEqual((dep[0]!.obj.spec as { template: unknown }).template, { spec: { volumes: [{ name: "v", configMap: { name: "two-cm" } }] } });
  });

  void it("follows roleRef's kind, and a subject's namespace only from a binding that may refer to it", () => {
    const res = [
      ...base("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader, namespace: ns2}\n", { prefix: "role-" }),
      ...base("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n", { prefix: "cr-" }),
      ...base("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: ns1}\n", { ns: "ns9", prefix: "p-" }),
      ...read(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: ns2}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: sa, namespace: ns1}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb2, namespace: ns2}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: sa, namespace: ns1}]
`),
    ];
    fixNameReferences(res, config.nameReference, F);
    const rb = byName(res, "RoleBinding", "rb");
    assert.equal((rb.roleRef as { name: string }).name, "cr-reader");
    assert.deepEqual(rb.subjects, [{ kind: "ServiceAccount", name: "sa", namespace: "ns1" }], "the SA moved to ns9, which a binding in ns2 naming ns1 cannot see");
    assert.equal((byName(res, "RoleBinding", "rb2").roleRef as { name: string }).name, "role-reader");
    const crb = byName(res, "ClusterRoleBinding", "crb");
    assert.equal((crb.roleRef as { name: string }).name, "cr-reader");
    assert.deepEqual(crb.subjects, [{ kind: "ServiceAccount", name: "p-sa", namespace: "ns9" }], "name and namespace follow the SA");
  });

  void it("rewrites subjects by name whatever their kind, as Kustomize does (a User named like the SA too)", () => {
    const res = base(
      `apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: ns1}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: ns2}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
- {kind: User, name: sa}
- {kind: ServiceAccount, name: sa, namespace: ns1}
- {kind: ServiceAccount, name: sa, namespace: other}
`,
      { prefix: "p-" },
    );
    fixNameReferences(res, config.nameReference, F);
    assert.deepEqual(byName(res, "RoleBinding", "p-rb").subjects, [
      { kind: "User", name: "p-sa", namespace: "ns1" },
      { kind: "ServiceAccount", name: "p-sa", namespace: "ns1" },
      { kind: "ServiceAccount", name: "sa", namespace: "other" },
    ]);
  });

  void it("updates scalars, list items and maps at a custom rule's path (nameref_test.go TestNamerefFilter)", () => {
    const dep = newRes({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "dep" }, seq: ["oldName", "other"], map: { name: "oldName", namespace: "default" } } as KubeObject, "d.yaml");
    const notSecret = newRes({ apiVersion: "apps/v1", kind: "NotSecret", metadata: { name: "newName2" } }, "c.yaml");
    notSecret.prev.push({ kind: "NotSecret", name: "oldName", ns: "default" });
    const res = [dep, candidate("newName", "", ""), notSecret];
    fixNameReferences(res, [{ group: "apps", version: "v1", kind: "Secret", fieldSpecs: [{ path: "seq" }, { path: "map" }] }], F);
    assert.deepEqual(dep.obj.seq, ["newName", "other"]);
    assert.deepEqual(dep.obj.map, { name: "newName", namespace: "default" });
  });

  void it("breaks ties between candidates by the referrer's prefixes and suffixes (TestCandidatesWithDifferentPrefixSuffix)", () => {
    const cases: [string, [string, string], [string, string], [string, string], string][] = [
      ["prefix match", ["prefix1", "prefix2"], ["", "suffix2"], ["prefix1", ""], "newName"],
      ["suffix match", ["", "prefix2"], ["suffix1", "suffix2"], ["", "suffix1"], "newName"],
      ["prefix suffix both match", ["prefix1", "prefix2"], ["suffix1", "suffix2"], ["prefix1", "suffix1"], "newName"],
      ["neither matches", ["prefix1", "prefix2"], ["suffix1", "suffix2"], ["prefix", "suffix"], "oldName"],
      ["prefix doesn't match", ["prefix1", "prefix2"], ["suffix", "suffix"], ["prefix", "suffix"], "oldName"],
      ["suffix doesn't match", ["prefix", "prefix"], ["suffix1", "suffix2"], ["prefix", "suffix"], "oldName"],
    ];
    for (const [what, prefixes, suffixes, [rp, rs], want] of cases) {
      const dep = referrer(rp, rs);
      fixNameReferences([dep, candidate("newName", prefixes[0], suffixes[0]), candidate("newName2", prefixes[1], suffixes[1])], [secretRule("ref/name")], F);
      assert.deepEqual(dep.obj.ref, { name: want }, what);
    }
  });

  void it("takes one of several candidates that all have the same new name", () => {
    const dep = referrer("p", "");
    fixNameReferences([dep, candidate("newName", "p", ""), candidate("newName", "p", "")], [secretRule("ref/name")], F);
    assert.deepEqual(dep.obj.ref, { name: "newName" });
  });

  void it("refuses candidates it cannot tell apart, naming the field, the referrer and the candidates", () => {
    for (const [p, s] of [
      ["prefix", "suffix"],
      ["prefix", ""],
      ["", "suffix"],
    ]) {
      const res = [referrer(p!, s!), candidate("newName", p!, s!), candidate("newName2", p!, s!)];
      assert.throws(() => fixNameReferences(res, [secretRule("ref/name")], F), {
        message: `${F}: found multiple possible referrals for ref/name = "oldName" in Deployment.v1.apps/dep.[noNs]: Secret.v1.apps/newName.[noNs], Secret.v1.apps/newName2.[noNs]`,
      });
    }
  });

  void it("refuses a map without name, a list item that is neither a string nor a map, and a path through a list of lists", () => {
    const res = base(
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\nsubjects: [{kind: ServiceAccount, namespace: default}]\n",
      { prefix: "p-" },
    );
    assert.throws(() => fixNameReferences(res, config.nameReference, F), {
      message: `r.yaml: RoleBinding p-rb: the ServiceAccount name reference at subjects is malformed (a map without a 'name' field); ${MALFORMED} (maps with the ServiceAccount's name under "name" at subjects)`,
    });
    const nested = [referrer("", "", undefined), candidate("newName", "", "")];
    nested[0]!.obj.seq = [["oldName"]];
    assert.throws(() => fixNameReferences(nested, [secretRule("seq")], F), {
      message: `d.yaml: Deployment dep: the Secret name reference at seq is malformed (a list item is neither a string nor a map); ${MALFORMED} (maps with the Secret's name under "name" at seq)`,
    });
    // kubectl kustomize: "... field 'spec/template/spec/volumes/configMap/name' ...: expected sequence or mapping node".
    const lists = base("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {spec: {volumes: [{name: v, configMap: [[cm]]}]}}}\n", { prefix: "p-" });
    assert.throws(() => fixNameReferences(lists, config.nameReference, F), {
      message: `r.yaml: Deployment p-web: the ConfigMap name reference at spec/template/spec/volumes/configMap/name is malformed (expected sequence or mapping node at spec/template/spec/volumes/configMap (path spec/template/spec/volumes/configMap/name)); ${MALFORMED} (the ConfigMap's name as a string at spec/template/spec/volumes/configMap/name)`,
    });
  });
});
