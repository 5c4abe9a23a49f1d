// Test helper: writes a directory tree into a fresh temporary directory and removes it afterwards.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Tree {
  dir: string;
  cleanup(): void;
}

/** `files` maps relative paths to contents; a value of `{ symlink: target }` creates a symlink. */
export function writeTree(files: Record<string, string | Buffer | { symlink: string }>): Tree {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-render-"));
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof content === "object" && !Buffer.isBuffer(content)) fs.symlinkSync(content.symlink, p);
    else fs.writeFileSync(p, content);
  }
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
