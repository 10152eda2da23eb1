/** What an operator asks to deploy, and the version label and image it comes to. */

import { TealError } from "../domain/errors.ts";
import { imageFor, type ServiceUnit } from "./service-unit.ts";

export interface DeployRequest {
  /** Required unless an image is given: then its tag (or digest) is the version. */
  readonly version?: string;
  /** docker runtime: the image to run instead of the configured one. */
  readonly image?: string;
  /** Overrides the service's strategy: "blueGreen", "canary" (the configured steps) or a preset. */
  readonly strategy?: string;
  readonly command?: string | readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The version label and image of a deploy request. A docker service deploys the given image (its
 * tag is the version when none is given) or its configured one with `{version}` filled in.
 */
export function versionAndImage(
  unit: ServiceUnit,
  request: DeployRequest,
): { version: string; image: string | null } {
  const rt = unit.config.runtime;
  if (rt.type !== "docker") {
    if (request.image !== undefined) {
      throw new TealError(
        "INVALID_REQUEST",
        `image: ${unit.name} runs with runtime type ${rt.type}, which has no images; leave out --image, or use runtime type docker`,
      );
    }
    if (request.version === undefined)
      throw new TealError("INVALID_REQUEST", "version: is required, e.g. v2");
    return { version: request.version, image: null };
  }
  if (request.image !== undefined)
    return { version: request.version ?? tagOf(request.image), image: request.image };
  if (request.version === undefined) {
    throw new TealError(
      "INVALID_REQUEST",
      `version: is required (or give --image repo:tag, whose tag becomes the version); ${unit.name} runs ${rt.image}`,
    );
  }
  return { version: request.version, image: imageFor(rt.image, request.version) };
}

/** "repo:tag" -> "tag"; "repo@sha256:…" -> "sha256:…"; "repo" -> "latest". */
export function tagOf(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(at + 1);
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? image.slice(colon + 1) : "latest";
}
