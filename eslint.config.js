// Lint rules: the recommended sets, plus the rules that catch the async mistakes operators die of
// (a floating promise is an error nobody awaits).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "charts/", "crds/", "**/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        // node:test's describe/it return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite", "before", "after", "beforeEach", "afterEach"] }] },
      ],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    // Node's AbortSignal.timeout() is lost after a garbage collection once combined with AbortSignal.any()
    // (src/runtime/timeout.ts): a bounded wait became an endless one. The operator uses the safe one everywhere.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-properties": ["error", { object: "AbortSignal", property: "timeout", message: "use timeoutSignal() from src/runtime/timeout.ts: AbortSignal.timeout() inside AbortSignal.any() never fires after a gc on Node 20" }],
    },
  },
);
