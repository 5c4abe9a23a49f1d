// Commit metadata (author, committer, message, time) read from a raw git commit object, for the artifact's status
// and from there for every Application history entry that applies the revision: who changed what, when and why.
// A commit object is headers (`tree`, `parent`, `author`, `committer`, continuation lines of a signature…), an empty
// line, then the message. Identities are `Name <email> <unix seconds> <±hhmm>`.
import { COMMIT_MESSAGE_MAX, type CommitMetadata } from "../api/gitrepository.js";

interface Identity {
  who: string;
  /** RFC 3339, in UTC. */
  time?: string;
}

/** `Name <email> 1700000000 +0100` → "Name <email>" and the time; undefined when it is not an identity line. */
export function parseIdentity(value: string): Identity | undefined {
  const m = /^(.*<[^>]*>)\s+(-?\d+)\s+[+-]\d{4}$/.exec(value.trim());
  if (!m) {
    const who = value.trim();
    return who ? { who } : undefined;
  }
  const seconds = Number(m[2]);
  const time = Number.isFinite(seconds) && Math.abs(seconds) < 8.64e12 ? new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z") : undefined;
  return { who: m[1]!.trim(), ...(time ? { time } : {}) };
}

/** The commit's message, clipped to COMMIT_MESSAGE_MAX characters (counted as the API server does: code points). */
function clipMessage(message: string): string {
  const chars = Array.from(message.replace(/\s+$/, ""));
  return chars.length <= COMMIT_MESSAGE_MAX ? chars.join("") : `${chars.slice(0, COMMIT_MESSAGE_MAX - 1).join("")}…`;
}

/**
 * The metadata of a raw commit object (the bytes after the `commit <size>\0` header). Undefined when it has no
 * author (not a commit): the artifact is then stored without metadata rather than failing the fetch.
 */
export function parseCommit(data: Uint8Array): CommitMetadata | undefined {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
  const split = text.indexOf("\n\n");
  const head = split < 0 ? text : text.slice(0, split);
  const message = split < 0 ? "" : text.slice(split + 2);
  const headers = new Map<string, string>();
  for (const line of head.split("\n")) {
    if (line.startsWith(" ")) continue; // continuation of a multi-line header (gpgsig, mergetag)
    const sp = line.indexOf(" ");
    if (sp > 0 && !headers.has(line.slice(0, sp))) headers.set(line.slice(0, sp), line.slice(sp + 1));
  }
  const author = parseIdentity(headers.get("author") ?? "");
  if (!author) return undefined;
  const committer = parseIdentity(headers.get("committer") ?? "");
  const time = committer?.time ?? author.time;
  return {
    author: author.who.slice(0, 512),
    ...(committer ? { committer: committer.who.slice(0, 512) } : {}),
    message: clipMessage(message),
    time: time ?? new Date(0).toISOString(),
  };
}
