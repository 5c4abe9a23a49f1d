// Mooring's API: kinds, types, constants, validation and the generated CRDs, from one source per kind.
export * from "./constants.js";
export * from "./duration.js";
export * from "./kinds.js";
export { type Condition } from "./schema.js";
export * from "./gitrepository.js";
export * from "./application.js";
export * from "./syncpolicy.js";
export * from "./helm.js";
export * from "./notification.js";
export { validate, validateYaml, assertValid, applyDefaults, defaultSyncPolicySpec, pointerToField, InvalidObjectError, type DocumentResult, type FieldError, type MooringObject, type ValidationResult } from "./validate.js";
export { KIND_DEFINITIONS, kindDefinition, allCrds, crdFor, crdYaml, generatedCrdFiles } from "./crd.js";
export { installCrds, type InstallCrdsOptions } from "./install.js";
