import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** One stored file, ready to send. */
export interface StoredFile {
  readonly body: Readable;
  readonly length: number | undefined;
}

/**
 * Where an image's files live once made: a folder per image, named by the digest of its bytes,
 * written whole or not at all. Files never change once stored, so nothing here updates one.
 */
export interface MediaStore {
  /** Whether every file of this image is stored. */
  has(id: string): Promise<boolean>;
  /** Stores the image's files; an image another process stored meanwhile stands. */
  put(id: string, files: ReadonlyMap<string, Buffer>): Promise<void>;
  /** The file, or undefined when there is none of that name. */
  read(id: string, name: string): Promise<StoredFile | undefined>;
}

export const MEDIA_STORE = Symbol('MediaStore');

/**
 * DATA_DIR/media/<id>/: files are written to a staging folder first, then renamed, so an image is
 * whole or absent even when a process stops halfway.
 */
export class DiskMediaStore implements MediaStore {
  constructor(private readonly root: string) {}

  has(id: string): Promise<boolean> {
    return exists(path.join(this.root, id));
  }

  async put(id: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
    const folder = path.join(this.root, id);
    const staging = path.join(this.root, `.${id}-${process.pid}-${Date.now()}`);
    await mkdir(staging, { recursive: true });
    try {
      for (const [name, bytes] of files) await writeFile(path.join(staging, name), bytes);
      await rename(staging, folder).catch(async (error: unknown) => {
        if (!(await exists(folder))) throw error;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async read(id: string, name: string): Promise<StoredFile | undefined> {
    const file = path.join(this.root, id, name);
    const found = await stat(file).catch(() => undefined);
    return found?.isFile() ? { body: createReadStream(file), length: found.size } : undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
