// Strategic merge of lists with merge keys where kyaml's filters decide the result (reliability bug 10, remaining
// part; src/render/kustomize/assoc.ts): duplicate keys in a list keyed by a pair (Service ports: port and protocol;
// container ports: containerPort and protocol), items lacking the key, and those lists in parts of the target the
// patch does not name. Each case is rendered by `kubectl kustomize` (the oracle) and by Mooring, and the list kubectl
// printed is asserted too, so a case that no longer shows the behaviour is noticed.
import * as fs from "node:fs";
import * as os from "node:os";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { expectSameAsKubectl, writeCase, type Obj } from "./oracle.js";

type Json = Record<string, unknown>;

const service = (ports: string): string => `apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: web}\n  ports: ${ports}\n`;
const servicePatch = (ports: string): string => `patches:\n- patch: |\n    {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: ${ports}}}\n`;
const deployment = (container: string): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - ${container}\n`;
const containerPatch = (body: string): string =>
  `patches:\n- patch: |\n    {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [${body}]}}}}\n`;

const servicePorts = (objs: Obj[]): unknown => (objs.find((o) => o.kind === "Service") as unknown as { spec: Json }).spec.ports;
const container = (objs: Obj[]): Json =>
  (objs.find((o) => o.kind === "Deployment") as unknown as { spec: { template: { spec: { containers: Json[] } } } }).spec.template.spec.containers[0]!;

void describe("kustomize: strategic merge of lists with merge keys, as kyaml's filters do it", () => {
  const work = fs.mkdtempSync(`${os.tmpdir()}/mooring-kustomize-merge-keys-`);
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  async function build(resource: string, kustomization: string): Promise<Obj[]> {
    const dir = writeCase(work, { "r.yaml": resource, "kustomization.yaml": `resources: [r.yaml]\n${kustomization}` });
    return expectSameAsKubectl(dir, "");
  }

  void it("Service ports duplicated by port, a patch item with port and protocol: one port 80 (the last duplicate), the patch's item lost", async () => {
    const objs = await build(service("[{port: 80, name: a}, {port: 80, name: b}, {port: 81}]"), servicePatch("[{port: 80, protocol: TCP, name: c}]"));
    assert.deepEqual(servicePorts(objs), [{ port: 80, name: "b" }, { port: 81 }]);
  });

  void it("Service ports, patch items by port only and by port and protocol", async () => {
    await build(service("[{port: 80, protocol: TCP, name: a}, {port: 80, name: b}, {port: 81, protocol: UDP}]"), servicePatch("[{port: 81, protocol: UDP, name: u}, {port: 82, name: n}]"));
  });

  void it("Service ports with both keys, duplicated, in a patch that names other fields only", async () => {
    const objs = await build(service("[{port: 80, protocol: TCP, name: a}, {port: 80, protocol: TCP, name: b}, {port: 81}]"), "patches:\n- patch: |\n    {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: NodePort}}\n");
    assert.equal((servicePorts(objs) as unknown[]).length < 3, true, "kubectl kept every duplicate: the case no longer shows the merge");
  });

  void it("container ports duplicated by containerPort, one with a protocol, a patch on the container's image", async () => {
    await build(deployment("{name: web, image: nginx, ports: [{containerPort: 8080, name: a}, {containerPort: 8080, protocol: TCP, name: b}, {containerPort: 9090}]}"), containerPatch("{name: web, image: nginx:1.27}"));
  });

  void it("container ports: a patch adds a port with a protocol to ports without protocols", async () => {
    await build(deployment("{name: web, image: nginx, ports: [{containerPort: 8080, name: a}, {containerPort: 8080, name: b}]}"), containerPatch("{name: web, ports: [{containerPort: 9090, protocol: UDP, name: m}]}"));
  });

  void it("an env entry without a name, the patch naming env: kubectl keeps little of the list", async () => {
    const objs = await build(deployment("{name: web, image: nginx, env: [{name: A, value: '1'}, {value: nameless}, {name: B, value: '2'}]}"), containerPatch("{name: web, env: [{name: C, value: '3'}]}"));
    assert.ok((container(objs).env as unknown[]).length < 4, "kubectl kept the whole list: the case no longer shows kyaml's matching");
  });

  void it("an env entry without a name, the patch naming other fields of the container", async () => {
    await build(deployment("{name: web, image: nginx, env: [{name: A, value: '1'}, {value: nameless}, {name: B, value: '2'}]}"), containerPatch("{name: web, image: nginx:1.27}"));
  });

  void it("an env entry without a name, the patch not naming the container", async () => {
    await build(deployment("{name: web, image: nginx, env: [{value: nameless}, {name: A, value: '1'}]}"), "patches:\n- patch: |\n    {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2}}\n");
  });

  void it("a patch item deleting a port duplicated in the target", async () => {
    await build(service("[{port: 80, name: a}, {port: 80, name: b}, {port: 81}]"), servicePatch("[{port: 80, $patch: delete}]"));
  });
});
