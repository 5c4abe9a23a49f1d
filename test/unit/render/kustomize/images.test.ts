// Kustomize's `images` field (src/render/kustomize/images.ts): an image reference split as Kustomize splits it (a
// registry port is not a tag), the new name/tag/digest/tagSuffix rules, and which images and fields are rewritten.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImages, splitImage, updateImage } from "../../../../src/render/kustomize/images.js";
import { newRes } from "../../../../src/render/kustomize/resource.js";

const F = "kustomization.yaml";
const any = () => true;

void describe("kustomize images", () => {
  void it("split a reference into name, tag and digest; a registry's port is part of the name", () => {
    const cases: [string, [string, string, string]][] = [
      ["nginx", ["nginx", "", ""]],
      ["nginx:1.25", ["nginx", "1.25", ""]],
      ["nginx@sha256:abc", ["nginx", "", "sha256:abc"]],
      ["nginx:1.25@sha256:abc", ["nginx", "1.25", "sha256:abc"]],
      ["reg.io:5000/team/app", ["reg.io:5000/team/app", "", ""]],
      ["reg.io:5000/team/app:v2", ["reg.io:5000/team/app", "v2", ""]],
      ["reg.io:5000/app@sha256:d", ["reg.io:5000/app", "", "sha256:d"]],
    ];
    for (const [image, [name, tag, digest]] of cases) assert.deepEqual(splitImage(image), { name, tag, digest }, image);
  });

  void it("apply newName, newTag, digest and tagSuffix with Kustomize's precedence", () => {
    const base = "reg.io:5000/app:v1@sha256:old";
    assert.equal(updateImage(base, { name: "x", newName: "mirror/app" }, any), "mirror/app:v1@sha256:old");
    assert.equal(updateImage(base, { name: "x", newTag: "v2" }, any), "reg.io:5000/app:v2", "a new tag drops the digest");
    assert.equal(updateImage(base, { name: "x", digest: "sha256:new" }, any), "reg.io:5000/app@sha256:new", "a digest drops the tag");
    assert.equal(updateImage(base, { name: "x", newTag: "v2", digest: "sha256:new" }, any), "reg.io:5000/app:v2@sha256:new");
    assert.equal(updateImage("app:v1@sha256:d", { name: "x", tagSuffix: "-rc" }, any), "app:v1-rc", "a suffix appends and drops the digest");
    assert.equal(updateImage("app:v1", { name: "x", newTag: "v2", tagSuffix: "-rc" }, any), "app:v2", "newTag wins over tagSuffix");
    assert.equal(updateImage("app:v1", { name: "x", newTag: "v2" }, () => false), "app:v1", "an image that does not match is kept");
  });

  void it("rewrite matching containers and initContainers at any depth, by exact name, not CRDs", () => {
    const deploy = newRes(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "d" },
        spec: {
          template: {
            spec: {
              initContainers: [{ name: "i", image: "busybox:1" }],
              containers: [
                { name: "a", image: "nginx:1.25" },
                { name: "b", image: "nginx-exporter:1" },
                { name: "c", image: "nginx@sha256:abc" },
              ],
            },
          },
        },
      },
      F,
    );
    const crd = newRes({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "c" }, spec: { containers: [{ image: "nginx" }] } }, F);
    setImages([deploy, crd], { name: "nginx", newTag: "1.27" }, [], F);
    setImages([deploy, crd], { name: "busybox", newName: "mirror/busybox" }, [], F);
    const spec = (deploy.obj.spec as { template: { spec: { containers: { image: string }[]; initContainers: { image: string }[] } } }).template.spec;
    assert.deepEqual(
      spec.containers.map((c) => c.image),
      ["nginx:1.27", "nginx-exporter:1", "nginx:1.27"],
    );
    assert.equal(spec.initContainers[0]!.image, "mirror/busybox:1");
    assert.deepEqual(crd.obj.spec, { containers: [{ image: "nginx" }] }, "CustomResourceDefinitions are left alone");
  });

  void it("rewrite the fields the image specs name and refuse a non-string image there", () => {
    const cron = newRes({ apiVersion: "example.com/v1", kind: "Job", metadata: { name: "j" }, spec: { runner: "tool:1" } }, F);
    const spec = { group: "example.com", version: "", kind: "Job", path: "spec/runner" };
    setImages([cron], { name: "tool", digest: "sha256:ff" }, [spec], F);
    assert.deepEqual(cron.obj.spec, { runner: "tool@sha256:ff" });
    const bad = newRes({ apiVersion: "example.com/v1", kind: "Job", metadata: { name: "j" }, spec: { runner: { name: "tool" } } }, F);
    assert.throws(() => setImages([bad], { name: "tool", newTag: "2" }, [spec], F), { message: /^kustomization\.yaml: considering field 'spec\/runner' of Job j: an image must be a string at spec\/runner$/ });
  });

  void it("take a name that is not a valid regular expression literally", () => {
    const r = newRes({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ image: "app(1:v1" }, { image: "app1:v1" }] } }, F);
    setImages([r], { name: "app(1", newTag: "v2" }, [], F);
    assert.deepEqual(r.obj.spec, { containers: [{ image: "app(1:v2" }, { image: "app1:v1" }] });
  });
});
