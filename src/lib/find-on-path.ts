import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The first executable of that name in the folders of a PATH-like list, as a shell finds it. */
export function findOnPath(binary: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}
