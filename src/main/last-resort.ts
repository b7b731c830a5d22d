// What bng does with an error nothing else caught: log it, undo its changes to the box (the
// interface's address, receive coalescing, the nftables table) and exit 1, so a supervisor
// restarts it on a clean box instead of a process limping on or dying with the box changed.
import type { Logger } from "../log/logger.ts";

/** Installs the handlers; returns a function that removes them. */
export function installLastResort(logger: Logger, undo: () => void, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  let handled = false;
  const onFatal = (error: unknown) => {
    // A second error while undoing must not start the undo again.
    if (handled) return;
    handled = true;
    logger.error("fatal", {
      error: error instanceof Error ? (error.stack ?? error.message).split("\n").slice(0, 3).join(" | ") : String(error),
      effect: "bng undoes its changes to the box and exits 1",
    });
    try {
      undo();
    } catch (undoError) {
      logger.error("fatal-undo-failed", { error: undoError instanceof Error ? undoError.message : String(undoError) });
    }
    exit(1);
  };
  process.on("uncaughtException", onFatal);
  process.on("unhandledRejection", onFatal);
  return () => {
    process.off("uncaughtException", onFatal);
    process.off("unhandledRejection", onFatal);
  };
}
