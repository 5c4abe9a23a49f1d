// Kind descriptors: what the runtime needs to know to list, watch and write a kind.
// (The runtime library grows around this file; src/api describes Mooring's own kinds with the same shape.)
export interface KindDescriptor {
  group: string; // "" for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export function apiVersionOf(k: KindDescriptor): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}
