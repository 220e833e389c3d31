import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { default as Sharp, Metadata } from 'sharp';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { mediaAddress, type MediaImage, storedWidths } from '../content/media-images.js';
import { InvalidInputException } from '../http/api-error.js';
import { isSingleLine } from '../lib/single-line.js';
import { MEDIA_STORE, type MediaStore, type StoredFile } from './media-store.js';

/** What an upload may be: the formats browsers and cameras give (HEIC is converted by phones). */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff']);
/** Past this many pixels an image is refused before it is decoded: a decompression bomb. */
const MAX_PIXELS = 50_000_000;
const FILE_NAME = /^(?:[1-9]\d{0,4}\.(?:jpg|png|webp)|[1-9]\d{0,4}x[1-9]\d{0,4}\.(?:jpg|png))$/;
const MEDIA_ID = /^[0-9a-f]{16}$/;

/** An image stored: the address Markdown gives it, and its size. */
export interface StoredImage {
  readonly address: string;
  readonly width: number;
  readonly height: number;
}

/** The longest description an image may have: a sentence or two. */
const ALT_MAX = 300;

/** An image stored with its description, and the Markdown that shows it. */
export interface DescribedImage extends StoredImage {
  readonly markdown: string;
}

/**
 * Images uploaded on the desk, made at each width a page may ask for, in their own format and in
 * WebP, and kept in the media store (DATA_DIR or a bucket). Turned upright and stripped of their
 * metadata (a photo's EXIF carries where it was taken); named by a digest of their bytes, so the
 * same image stored twice is one.
 */
@Injectable()
export class MediaLibrary {
  private readonly logger = new Logger('Media');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(MEDIA_STORE) private readonly store: MediaStore,
  ) {}

  /**
   * An upload from an editor (the desk's article editor, the API): its description checked first,
   * since every image an article shows needs one, then the image stored.
   */
  async upload(body: unknown, altParam: unknown): Promise<DescribedImage> {
    const alt = (typeof altParam === 'string' ? altParam : '').trim();
    if (alt === '') throw InvalidInputException.field('alt', 'describe the image', 'isNotBlank');
    if (alt.length > ALT_MAX || !isSingleLine(alt) || /[[\]]/.test(alt))
      throw InvalidInputException.field(
        'alt',
        `one line of at most ${ALT_MAX} characters, without brackets`,
        'alt',
      );
    if (!Buffer.isBuffer(body) || body.length === 0)
      throw InvalidInputException.field('file', 'send the image as the body (image/*)', 'image-format');
    const stored = await this.add(body);
    return { ...stored, markdown: `![${alt}](${stored.address})` };
  }

  /** sharp and its libvips, loaded at the first image: a start need not pay for them. */
  private sharp: Promise<{ default: typeof Sharp }> | undefined;

  async add(bytes: Buffer): Promise<StoredImage> {
    const { default: sharp } = await (this.sharp ??= import('sharp'));
    const id = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    let metadata: Metadata;
    try {
      metadata = await sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' }).metadata();
    } catch {
      throw InvalidInputException.field('file', 'is not an image this service can read', 'image-format');
    }
    if (!ACCEPTED_FORMATS.has(metadata.format))
      throw InvalidInputException.field(
        'file',
        'must be a JPEG, PNG, WebP, GIF, AVIF or TIFF image',
        'image-format',
      );
    // EXIF orientations 5 to 8 turn the picture a quarter: its width is the stored height.
    const turned = (metadata.orientation ?? 1) >= 5;
    const width = turned ? metadata.height : metadata.width;
    const height = turned ? metadata.width : metadata.height;
    if (!width || !height) throw InvalidInputException.field('file', 'has no size', 'image-format');
    const image: Omit<MediaImage, 'base'> = { id, width, height, ext: metadata.hasAlpha ? 'png' : 'jpg' };
    const stored = { address: mediaAddress(this.config.publicUrl, image), width, height };
    if (await this.store.has(id)) return stored;

    const files = new Map<string, Buffer>();
    for (const size of storedWidths(width)) {
      const resized = () =>
        sharp(bytes, { limitInputPixels: MAX_PIXELS, animated: false })
          .rotate()
          .resize({ width: size, withoutEnlargement: true });
      const own =
        image.ext === 'png'
          ? resized().png({ compressionLevel: 9, palette: true })
          : resized().flatten({ background: '#ffffff' }).jpeg({ quality: 82, mozjpeg: true });
      files.set(`${size}.${image.ext}`, await own.toBuffer());
      files.set(`${size}.webp`, await resized().webp({ quality: 80 }).toBuffer());
    }
    await this.store.put(id, files);
    this.logger.log({ id, width, height }, 'Image stored');
    return stored;
  }

  /**
   * The file an address under /media names, or undefined. `<width>x<height>.<ext>` (the address
   * Markdown carries) is the largest width stored.
   */
  async file(id: string, name: string): Promise<(StoredFile & { type: string }) | undefined> {
    if (!MEDIA_ID.test(id) || !FILE_NAME.test(name)) return undefined;
    const original = /^(\d+)x\d+\.(jpg|png)$/.exec(name);
    const fileName = original ? `${storedWidths(Number(original[1])).at(-1)}.${original[2]}` : name;
    const file = await this.store.read(id, fileName);
    if (!file) return undefined;
    const ext = fileName.slice(fileName.lastIndexOf('.') + 1);
    return { ...file, type: ext === 'jpg' ? 'image/jpeg' : `image/${ext}` };
  }
}
