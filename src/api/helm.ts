// HelmRepository and HelmChart (source.mooring.dev/v1alpha1): Helm charts as sources, in Flux's shape.
// A HelmRepository is where charts come from (an HTTP(S) repository with an index.yaml; credentials and a CA);
// a HelmChart picks one chart of one repository and a semver range: the source controller resolves the newest
// matching version, downloads its .tgz once per digest, verifies it and stores it as an artifact, which an
// Application renders (spec.sourceRef.kind: HelmChart). docs/source.md "Helm charts".
import { type Static } from "@sinclair/typebox";
import semver from "semver";
import { Bool, Conditions, DnsName, Duration, Int, LastHandledReconcileAt, List, LOCAL_CHECKS_KEYWORD, Obj, ObservedGeneration, Optional, SHA256_DIGEST, Str, StrEnum, Time, cel, rootFields, type LocalCheck } from "./schema.js";
import { API_VERSION, SOURCE_GROUP } from "./constants.js";

export const HELM_REPOSITORY_API_VERSION = `${SOURCE_GROUP}/${API_VERSION}` as const;
export const HELM_CHART_API_VERSION = `${SOURCE_GROUP}/${API_VERSION}` as const;

/** Documented defaults (docs/api.md). */
export const HelmRepositoryDefaults = { interval: "10m", timeout: "60s", suspend: false } as const;
export const HelmChartDefaults = { interval: "10m", version: "*", suspend: false } as const;

const HAS_USERINFO = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/@?#]*@/;

const REPO_URL = /^(https?|oci):\/\/[^/?#\s]+([/?#]\S*)?$/;

function isRepoUrl(text: string): boolean {
  return REPO_URL.test(text);
}

const semverRange: LocalCheck = {
  message: "version must be a valid semver range such as '^1.2', '>=1.2.0 <2.0.0', '1.4.x' or an exact version",
  check: (self: string) => semver.validRange(self) !== null,
};

export const HelmRepositorySpec = Obj(
  {
    url: Str(
      "URL of the repository: an HTTP(S) Helm repository (its index.yaml is <url>/index.yaml), or an OCI registry path (oci://host/path, with type: oci: a chart is oci://host/path/<chart>, its versions are its tags).",
      2048,
      {
        minLength: 1,
        "x-kubernetes-validations": [
          cel(
            "self.matches('^(https?|oci)://[^/?#\\\\s]+([/?#]\\\\S*)?$')",
            "url must be an https://, http:// or oci:// URL such as https://charts.example.com or oci://registry.example.com/charts",
            isRepoUrl,
          ),
          cel(
            "!self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@?#]*@')",
            "url must not contain a user name or password: put credentials in the Secret named by spec.secretRef",
            (self: string) => !HAS_USERINFO.test(self),
          ),
        ],
      },
    ),
    type: Optional(StrEnum(["default", "oci"] as const, "default: an HTTP(S) repository with an index.yaml; oci: an OCI registry (url oci://…).", { default: "default" })),
    secretRef: Optional(
      Obj(
        { name: DnsName("Name of a Secret in the HelmRepository's namespace.") },
        "Credentials sent to the repository's own host (never to another host a chart URL points to): 'username' and 'password' (basic auth), or 'bearerToken'.",
      ),
    ),
    certSecretRef: Optional(
      Obj({ name: DnsName("Name of a Secret in the HelmRepository's namespace with key 'ca.crt'.") }, "A PEM CA bundle ('ca.crt') that replaces the default CAs for this repository's TLS certificate."),
    ),
    interval: Optional(Duration("How often to read the repository's index.", { default: HelmRepositoryDefaults.interval, min: "10s", field: "interval" })),
    timeout: Optional(Duration("How long one request (the index, a chart download) may take.", { default: HelmRepositoryDefaults.timeout, min: "1s", max: "1h", field: "timeout" })),
    suspend: Optional(Bool("Stop reading the repository; charts already stored stay available.", HelmRepositoryDefaults.suspend)),
  },
  "Where charts come from, and with which credentials.",
  {
    "x-kubernetes-validations": [
      cel(
        "(has(self.type) && self.type == 'oci') == self.url.startsWith('oci://')",
        "an oci:// url needs type: oci, and type: oci needs an oci:// url",
        (self: { url?: string; type?: string }) => (self.type === "oci") === (self.url ?? "").startsWith("oci://"),
      ),
    ],
  },
);
export type HelmRepositorySpec = Static<typeof HelmRepositorySpec>;

export const HelmRepositoryStatus = Obj(
  {
    observedGeneration: Optional(ObservedGeneration()),
    conditions: Optional(Conditions("Conditions: Ready, FetchFailed.")),
    index: Optional(
      Obj(
        {
          digest: Str("sha256 digest of the index.yaml last read.", 71, { pattern: SHA256_DIGEST }),
          charts: Int("How many charts the index lists.", { minimum: 0 }),
          lastUpdateTime: Time("When an index with this digest was first read."),
        },
        "The index last read.",
      ),
    ),
    lastHandledReconcileAt: Optional(LastHandledReconcileAt()),
  },
  "What the source controller observed; written only by the controller (field manager mooring-source).",
);

export const HelmRepositorySchema = Obj(
  { ...rootFields(HELM_REPOSITORY_API_VERSION, "HelmRepository"), spec: HelmRepositorySpec, status: Optional(HelmRepositoryStatus) },
  "HelmRepository is a Helm chart repository that HelmCharts download charts from.",
);
export type HelmRepository = Static<typeof HelmRepositorySchema>;

export const HelmChartSpec = Obj(
  {
    sourceRef: Obj(
      {
        kind: StrEnum(["HelmRepository", "GitRepository"] as const, "Kind of the source: HelmRepository (a published chart), or GitRepository (a chart directory in Git, whose Chart.lock / Chart.yaml dependencies are downloaded from HelmRepositories)."),
        name: DnsName("Name of a HelmRepository or GitRepository in the HelmChart's namespace."),
      },
      "Where the chart comes from (in the same namespace).",
    ),
    chart: Str(
      "HelmRepository: the chart's name in the repository's index (or its OCI repository). GitRepository: the chart's directory in the repository ('charts/shop' or './charts/shop').",
      1024,
      { minLength: 1, pattern: "^(\\./)?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$" },
    ),
    version: Optional(
      Str("A semver range (npm semantics: '^1.2', '~1.4', '>=1.2.0 <2.0.0', an exact version, '*'): the newest version in the index that satisfies it is used; pre-releases only when the range names one. Not used with a GitRepository (the chart's version is its Chart.yaml's).", 255, {
        default: HelmChartDefaults.version,
        [LOCAL_CHECKS_KEYWORD]: [semverRange],
      }),
    ),
    interval: Optional(Duration("How often to look for a newer matching version.", { default: HelmChartDefaults.interval, min: "10s", field: "interval" })),
    suspend: Optional(Bool("Stop looking for new versions; the stored chart stays available.", HelmChartDefaults.suspend)),
  },
  "Which chart, from which repository, and which versions.",
  {
    "x-kubernetes-validations": [
      cel(
        "self.sourceRef.kind != 'HelmRepository' || self.chart.matches('^[A-Za-z0-9][A-Za-z0-9_.-]*$')",
        "with a HelmRepository, chart must be the chart's name (letters, digits, '_', '.', '-'), not a path",
        (self: { sourceRef?: { kind?: string }; chart?: string }) => self.sourceRef?.kind !== "HelmRepository" || /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(self.chart ?? ""),
      ),
      cel(
        "self.sourceRef.kind != 'GitRepository' || !self.chart.matches('(^|/)[.][.](/|$)')",
        "with a GitRepository, chart must be a directory inside the repository (no '..')",
        (self: { sourceRef?: { kind?: string }; chart?: string }) => self.sourceRef?.kind !== "GitRepository" || !(self.chart ?? "").split("/").includes(".."),
      ),
    ],
  },
);
export type HelmChartSpec = Static<typeof HelmChartSpec>;

export const HelmChartArtifact = Obj(
  {
    url: Str("Where the chart (the repository's .tgz, unchanged) can be downloaded from, inside the cluster.", 2048),
    revision: Str("The chart version stored.", 255),
    digest: Str("sha256 digest of the .tgz (equal to the index's digest when it lists one).", 71, { pattern: SHA256_DIGEST }),
    size: Optional(Int("Size of the file in bytes.", { minimum: 0 })),
    lastUpdateTime: Time("When the artifact was stored."),
  },
  "The chart the controller stored.",
);

export const HelmChartStatus = Obj(
  {
    observedGeneration: Optional(ObservedGeneration()),
    conditions: Optional(Conditions("Conditions: Ready, FetchFailed, ArtifactInStorage.")),
    artifact: Optional(HelmChartArtifact),
    chartName: Optional(Str("The chart's directory inside the artifact (the chart's name): Applications render <chartName>/<spec.path>.", 253)),
    observedSourceArtifactRevision: Optional(Str("GitRepository charts: the Git revision the stored chart was built from.", 1024)),
    observedSourceArtifactDigest: Optional(Str("GitRepository charts: the digest of the GitRepository artifact the stored chart was built from.", 71, { pattern: SHA256_DIGEST })),
    dependencies: Optional(
      List(
        Obj(
          {
            name: Str("The dependency's chart name.", 253),
            version: Str("The version downloaded.", 255),
            repository: Str("The repository as Chart.yaml names it (a URL, oci://…, @name or alias:name).", 2048),
            helmRepository: Str("The HelmRepository (in the chart's namespace) it was downloaded from.", 253),
            digest: Str("sha256 digest of the dependency's .tgz.", 71, { pattern: SHA256_DIGEST }),
          },
          "A dependency downloaded into the chart's charts/ directory.",
        ),
        "GitRepository charts: the dependencies the source controller downloaded into charts/ (those vendored in Git are not listed).",
        256,
      ),
    ),
    lastHandledReconcileAt: Optional(LastHandledReconcileAt()),
  },
  "What the source controller observed; written only by the controller (field manager mooring-source).",
);
export type HelmChartStatus = Static<typeof HelmChartStatus>;

export const HelmChartSchema = Obj(
  { ...rootFields(HELM_CHART_API_VERSION, "HelmChart"), spec: HelmChartSpec, status: Optional(HelmChartStatus) },
  "HelmChart is one chart of a HelmRepository, resolved from a semver range and stored as an artifact for Applications to render.",
);
export type HelmChart = Static<typeof HelmChartSchema>;
