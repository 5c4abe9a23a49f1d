// Builds the web UI's bundle (src/ui/client → dist/ui: index.html, app.js, app.css) with the pinned esbuild from
// package-lock.json. `make ui` (part of `make build`), the Dockerfile's `npm run build` and the UI's tests run it;
// nothing is built at run time and nothing is fetched (no CDN): the bundle is our sources only.
// Usage: tsx hack/build-ui.ts [outdir]
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function buildUi(outDir = path.join(root, "dist/ui")): Promise<{ outDir: string; bytes: number }> {
  const client = path.join(root, "src/ui/client");
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(client, "main.ts")],
    outfile: path.join(outDir, "app.js"),
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2022"],
    platform: "browser",
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  });
  await copyFile(path.join(client, "index.html"), path.join(outDir, "index.html"));
  await copyFile(path.join(client, "app.css"), path.join(outDir, "app.css"));
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outDir, bytes };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, bytes } = await buildUi(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`ui: ${path.relative(process.cwd(), outDir) || "."}/app.js ${(bytes / 1024).toFixed(1)} KiB`);
}
