// Stamped by build.ts through `--define`; a run from source reports "source".
declare const BNG_BUILD_COMMIT: string | undefined;

export const VERSION = "0.1.0";
export const COMMIT: string = typeof BNG_BUILD_COMMIT === "string" ? BNG_BUILD_COMMIT : "source";

export function versionLine(): string {
  return `bng ${VERSION} (${COMMIT}), a BalanceNG-compatible load balancer for Linux`;
}
