// The `mooring` package's public surface: the API types and validator, the renderers, and (as `mooring/runtime`)
// the controller runtime library.
export * as api from "./api/index.js";
export * as render from "./render/index.js";
export * as runtime from "./runtime/index.js";
