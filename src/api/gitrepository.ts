// GitRepository (source.mooring.dev/v1alpha1): a git repository Mooring fetches on an interval and stores
// as an artifact (a tarball of one revision) for Applications to render.
import { type Static } from "@sinclair/typebox";
import semver from "semver";
import {
  Bool, Conditions, DnsName, Duration, FULL_GIT_REF, GIT_REF_NAME, GIT_REVISION, GIT_SHA1, Int, LastHandledReconcileAt,
  LOCAL_CHECKS_KEYWORD, Obj, ObservedGeneration, Optional, SHA256_DIGEST, Str, Time, cel, rootFields, type LocalCheck,
} from "./schema.js";
import { API_VERSION, SOURCE_GROUP } from "./constants.js";

export const GIT_REPOSITORY_API_VERSION = `${SOURCE_GROUP}/${API_VERSION}` as const;

/** Documented defaults (docs/api.md); a unit test checks the schema applies exactly these. */
export const GitRepositoryDefaults = { interval: "1m", timeout: "60s", suspend: false } as const;

const SUPPORTED_SCHEMES = ["https:", "http:"];

// WHATWG URL parsing is lenient ("https:host/x", "http:///host" parse); the API server's isURL() is not:
// require the scheme and "//" and a non-empty authority before parsing.
const HAS_AUTHORITY = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]/;

function isSupportedUrl(text: string): boolean {
  if (!HAS_AUTHORITY.test(text)) return false;
  try {
    const url = new URL(text);
    return SUPPORTED_SCHEMES.includes(url.protocol) && url.hostname !== "";
  } catch {
    return false;
  }
}

const HAS_USERINFO = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/@?#]*@/;

const semverRange: LocalCheck = {
  message: "semver must be a valid semver range such as '>=1.2.0 <2.0.0', '~1.4' or '1.x'",
  check: (self: string) => semver.validRange(self) !== null,
};

export const GitRepositoryRef = Obj(
  {
    branch: Optional(Str("Branch to follow: the artifact is the branch's latest commit.", 255, { pattern: GIT_REF_NAME })),
    tag: Optional(Str("Tag to check out.", 255, { pattern: GIT_REF_NAME })),
    semver: Optional(
      Str("A semver range (for example '>=1.2.0 <2.0.0' or '~1.4'): the artifact is the highest tag that satisfies it. Tags may have a leading 'v'.", 255, {
        [LOCAL_CHECKS_KEYWORD]: [semverRange],
      }),
    ),
    commit: Optional(Str("A full 40-character commit SHA to check out; it must be reachable from the remote's branches or tags.", 40, { pattern: GIT_SHA1 })),
    name: Optional(Str("A full reference to check out, such as refs/pull/1/head or refs/heads/main.", 1024, { pattern: FULL_GIT_REF })),
  },
  "Which revision of the repository to fetch: exactly one of branch, tag, semver, commit or name. Without ref, the remote's HEAD (its default branch) is used.",
  {
    "x-kubernetes-validations": [
      cel(
        "[has(self.branch), has(self.tag), has(self.semver), has(self.commit), has(self.name)].filter(x, x).size() == 1",
        "ref must set exactly one of branch, tag, semver, commit or name (omit ref to follow the remote's default branch)",
        (self: Record<string, unknown>) => ["branch", "tag", "semver", "commit", "name"].filter((k) => self[k] !== undefined).length === 1,
      ),
    ],
  },
);
export type GitRepositoryRef = Static<typeof GitRepositoryRef>;

export const SecretReference = Obj(
  {
    name: DnsName("Name of a Secret in the GitRepository's namespace."),
  },
  "A Secret in the same namespace with credentials for the repository: 'username' and 'password' (basic auth, or a token as password), or 'bearerToken'; optionally 'ca.crt', a PEM bundle to trust for the server's TLS certificate.",
);

export const WebhookReceiver = Obj(
  {
    secretRef: Obj(
      { name: DnsName("Name of a Secret in the GitRepository's namespace; its key 'token' holds the webhook secret.") },
      "The Secret holding this receiver's secret: the HMAC key of GitHub's X-Hub-Signature-256 and of X-Mooring-Signature-256, or GitLab's X-Gitlab-Token.",
    ),
  },
  "A webhook receiver of this GitRepository's own, at /hook/<namespace>/<name> on the operator's webhook Service: a push signed with its secret triggers this GitRepository only, and the operator-wide secret no longer triggers it.",
);
export type WebhookReceiver = Static<typeof WebhookReceiver>;

export const GitRepositorySpec = Obj(
  {
    url: Str("URL of the repository. Supported schemes: https, and http (for in-cluster servers and tests). ssh:// and user@host:path addresses are not supported.", 2048, {
      minLength: 1,
      "x-kubernetes-validations": [
        cel(
          "isURL(self) && url(self).getScheme() in ['https', 'http'] && url(self).getHostname() != ''",
          "url must be an https:// or http:// URL such as https://github.com/org/repo.git: the supported schemes are https and http (ssh://, git:// and user@host:path addresses are not supported)",
          isSupportedUrl,
        ),
        cel(
          "!self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@?#]*@')",
          "url must not contain a user name or password: put credentials in the Secret named by spec.secretRef",
          (self: string) => !HAS_USERINFO.test(self),
        ),
      ],
    }),
    ref: Optional(GitRepositoryRef),
    interval: Optional(Duration("How often to check the remote for a new revision.", { default: GitRepositoryDefaults.interval, min: "10s", field: "interval" })),
    timeout: Optional(Duration("How long one fetch (clone or fetch of the remote) may take before it fails.", {
      default: GitRepositoryDefaults.timeout,
      min: "1s",
      max: "1h",
      field: "timeout",
    })),
    secretRef: Optional(SecretReference),
    webhook: Optional(WebhookReceiver),
    ignore: Optional(
      Str(
        "Paths to leave out of the artifact, in .gitignore format (one pattern a line, '#' comments, '!' to re-include). Applied on top of a .mooringignore file in the repository, if any.",
        65536,
      ),
    ),
    suspend: Optional(Bool("Stop fetching new revisions; the last artifact stays available to Applications.", GitRepositoryDefaults.suspend)),
  },
  "Which repository to fetch, which revision, how often, and with which credentials.",
);
export type GitRepositorySpec = Static<typeof GitRepositorySpec>;

/** Most characters of a commit message kept in status (the subject and the start of the body). */
export const COMMIT_MESSAGE_MAX = 1024;

export const CommitMetadata = Obj(
  {
    author: Str("The commit's author: Name <email>.", 512),
    committer: Optional(Str("The commit's committer: Name <email> (often the author, or the forge that merged it).", 512)),
    message: Str(`The commit message, its first ${COMMIT_MESSAGE_MAX} characters.`, COMMIT_MESSAGE_MAX + 32),
    time: Time("When the commit was made (the committer's date)."),
  },
  "Who made the commit, when, and why: read from the commit object itself.",
);
export type CommitMetadata = Static<typeof CommitMetadata>;

export const Artifact = Obj(
  {
    url: Str("Where the artifact (a gzipped tarball) can be downloaded from, inside the cluster.", 2048),
    revision: Str("The git revision the artifact holds: <ref>@sha1:<commit>, for example main@sha1:1a2b…", 1024, { pattern: GIT_REVISION }),
    digest: Str("sha256 digest of the artifact file.", 71, { pattern: SHA256_DIGEST }),
    size: Optional(Int("Size of the artifact file in bytes.", { minimum: 0 })),
    lastUpdateTime: Time("When the artifact was last stored (it changes only when the revision or the ignore rules change)."),
    commit: Optional(CommitMetadata),
  },
  "The artifact the controller stored for the current revision.",
);
export type Artifact = Static<typeof Artifact>;

export const GitRepositoryStatus = Obj(
  {
    observedGeneration: Optional(ObservedGeneration()),
    conditions: Optional(Conditions("Conditions: Ready, Reconciling, Stalled, ArtifactInStorage, FetchFailed.")),
    artifact: Optional(Artifact),
    lastHandledReconcileAt: Optional(LastHandledReconcileAt()),
  },
  "What the source controller observed; written only by the controller (field manager mooring-source).",
);
export type GitRepositoryStatus = Static<typeof GitRepositoryStatus>;

export const GitRepositorySchema = Obj(
  {
    ...rootFields(GIT_REPOSITORY_API_VERSION, "GitRepository"),
    spec: GitRepositorySpec,
    status: Optional(GitRepositoryStatus),
  },
  "GitRepository is a git repository that Mooring fetches on an interval and stores as an artifact for Applications to render.",
);
export type GitRepository = Static<typeof GitRepositorySchema>;
