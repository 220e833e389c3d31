import type { Readable } from 'node:stream';
import { Logger, ServiceUnavailableException } from '@nestjs/common';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../config/app-config.js';
import type { MediaStore, StoredFile } from './media-store.js';

/** The object written last: an image whose marker is missing was not stored whole. */
const COMPLETE = 'complete';

const TYPES: Readonly<Record<string, string>> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

/** The SDK is 25 packages and half a second of a start: loaded when the first image is. */
type Sdk = typeof S3Sdk;

/**
 * Images in an S3-compatible bucket, under `<prefix><id>/`. Pages still link /media/…: this
 * service reads the object and sends it, so a bucket may stay private and a change of storage
 * breaks no address; a CDN in front of /media caches what never changes.
 */
export class S3MediaStore implements MediaStore {
  private readonly logger = new Logger('Media');
  private client: Promise<{ sdk: Sdk; s3: S3Client }> | undefined;

  constructor(private readonly settings: S3Settings) {}

  async has(id: string): Promise<boolean> {
    const { sdk, s3 } = await this.connect();
    try {
      await s3.send(new sdk.HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.key(id, COMPLETE) }));
      return true;
    } catch (error) {
      if (notFound(error)) return false;
      throw this.unavailable('look up', error);
    }
  }

  async put(id: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
    const { sdk, s3 } = await this.connect();
    const write = (name: string, body: Buffer, type: string) =>
      s3.send(
        new sdk.PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.key(id, name),
          Body: body,
          ContentType: type,
          CacheControl: 'public, max-age=31536000, immutable',
        }),
      );
    try {
      await Promise.all(
        [...files].map(([name, bytes]) =>
          write(name, bytes, TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream'),
        ),
      );
      await write(COMPLETE, Buffer.from([...files.keys()].join('\n')), 'text/plain');
    } catch (error) {
      throw this.unavailable('store', error);
    }
  }

  async read(id: string, name: string): Promise<StoredFile | undefined> {
    const { sdk, s3 } = await this.connect();
    try {
      const object = await s3.send(
        new sdk.GetObjectCommand({ Bucket: this.settings.bucket, Key: this.key(id, name) }),
      );
      // In Node the SDK's body is the HTTP response itself, a Readable.
      return { body: object.Body as Readable, length: object.ContentLength };
    } catch (error) {
      if (notFound(error)) return undefined;
      throw this.unavailable('read', error);
    }
  }

  private key(id: string, name: string): string {
    return `${this.settings.prefix}${id}/${name}`;
  }

  private connect(): Promise<{ sdk: Sdk; s3: S3Client }> {
    return (this.client ??= import('@aws-sdk/client-s3').then((sdk) => ({
      sdk,
      s3: new sdk.S3Client({
        region: this.settings.region,
        endpoint: this.settings.endpoint,
        forcePathStyle: this.settings.forcePathStyle,
        credentials: this.settings.credentials,
        // Checksums only where S3 asks for them: many S3-compatible services refuse the newer ones.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
      }),
    })));
  }

  /** The bucket's failure as a 503 that says what to do; the details go to the log. */
  private unavailable(doing: string, error: unknown): ServiceUnavailableException {
    const { name, message } = error as Error;
    this.logger.error(
      { bucket: this.settings.bucket, error: `${name}: ${message}` },
      `Could not ${doing} an image`,
    );
    return new ServiceUnavailableException('The image storage (S3_BUCKET) did not answer; try again shortly');
  }
}

function notFound(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    failure.name === 'NotFound' || failure.name === 'NoSuchKey' || failure.$metadata?.httpStatusCode === 404
  );
}
