// Code a newcomer can read (issue 15): no file in src/ over 400 lines and no function, method or arrow function over
// 60 lines (its span, from the first line of its declaration to its closing brace; a nested function counts in its
// parent's span too). A long function is split into named steps; what cannot be split yet is listed below with the
// reason, and the list must stay true: an entry that no longer exceeds its limit fails the test until removed.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 60;

/** Files allowed over MAX_FILE_LINES, by path under src/, with why. */
const LONG_FILES: Record<string, string> = {
  "render/kustomize/fieldspecs-data.ts": "a data table: Kustomize's built-in field specs transcribed from its Go source, one entry a line",
};

/** Functions allowed over MAX_FUNCTION_LINES, as "<path under src/>:<name>", with why. */
const LONG_FUNCTIONS: Record<string, string> = {};

export interface Finding {
  key: string;
  lines: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

/** A function's name for the report: its own, its variable's or property's, else its kind and line. */
function nameOf(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (node.name) return node.name.getText(sf);
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name) return parent.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return "constructor";
  return `${ts.SyntaxKind[node.kind]}@${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
}

/** Every function-like node with a body longer than `max` lines in one file's text. */
export function longFunctions(file: string, text: string, max = MAX_FUNCTION_LINES): Finding[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Finding[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const first = sf.getLineAndCharacterOfPosition(fn.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(fn.getEnd()).line;
      if (last - first + 1 > max) out.push({ key: nameOf(fn, sf), lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function lineCount(text: string): number {
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

const files = sourceFiles(path.join(ROOT, "src"))
  .map((f) => ({ rel: path.relative(path.join(ROOT, "src"), f).split(path.sep).join("/"), text: readFileSync(f, "utf8") }))
  .sort((a, b) => a.rel.localeCompare(b.rel));

describe("source size", () => {
  it(`no file in src/ is over ${MAX_FILE_LINES} lines, except the listed ones`, () => {
    const long = files.filter((f) => lineCount(f.text) > MAX_FILE_LINES).map((f) => `${f.rel} (${lineCount(f.text)} lines)`);
    assert.deepEqual(long.filter((l) => !(l.split(" ")[0]! in LONG_FILES)), [], "split these files by concern, or list one with its reason");
    const stale = Object.keys(LONG_FILES).filter((rel) => !long.some((l) => l.startsWith(`${rel} `)));
    assert.deepEqual(stale, [], "listed but no longer over the limit (or gone): remove from LONG_FILES");
  });

  it(`no function in src/ is over ${MAX_FUNCTION_LINES} lines, except the listed ones`, () => {
    const found = files.flatMap((f) => longFunctions(f.rel, f.text).map((x) => ({ key: `${f.rel}:${x.key}`, lines: x.lines })));
    assert.deepEqual(
      found.filter((x) => !(x.key in LONG_FUNCTIONS)).map((x) => `${x.key} (${x.lines} lines)`),
      [],
      "extract named steps from these, or list one with its reason",
    );
    const stale = Object.keys(LONG_FUNCTIONS).filter((k) => !found.some((x) => x.key === k));
    assert.deepEqual(stale, [], "listed but no longer over the limit (or gone): remove from LONG_FUNCTIONS");
  });

  it("the check sees a long function, a long method and a long arrow function", () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const x${i} = ${i};`).join("\n");
    const text = `function f() {\n${body}\n}\nclass C {\n  m() {\n${body}\n  }\n}\nconst g = () => {\n${body}\n};\nfunction short() {\n  return 1;\n}\n`;
    assert.deepEqual(longFunctions("t.ts", text).map((x) => x.key), ["f", "m", "g"]);
  });
});
