// How to start bng again as a child process: the executable alone when compiled, the runtime
// plus the entry script when run from source.

export function isCompiled(): boolean {
  return Bun.main.startsWith("/$bunfs/");
}

export function selfCommand(): string[] {
  return isCompiled() ? [process.execPath] : [process.execPath, Bun.main];
}
