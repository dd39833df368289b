// Puts a finished file in its place so that a crash leaves either the old file
// or the new one, never half of one, and the new name survives power loss.
import { closeSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';

/** Renames `tmp` (already written and fsynced) to `file`, then fsyncs the folder that holds the new name. */
export function renameDurably(tmp: string, file: string): void {
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
